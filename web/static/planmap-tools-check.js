/*
 * planmap web map — the check tool (served page only): a proposed site drawn on the map (a point or a polygon,
 * with leaflet-draw), checked against the plan's rules by the server (POST /checks), and its evidence drawn on the
 * map by role. The report itself is the report part's (planmap-tools-report.js).
 */
(function () {
  'use strict';

  const {el} = window.planmap.helpers;
  const KINDS = ['fuel_station', 'lpg_station', 'industrial_cluster', 'industrial_park', 'factory'];
  const ROLE_STYLE = {
    site: {color: '#08519c', weight: 3, fillColor: '#4292c6', fillOpacity: 0.15, radius: 7},
    distance: {color: '#d7301f', weight: 3, dashArray: '6 4'},
    nearest: {color: '#d7301f', weight: 2, fillColor: '#fc9272', fillOpacity: 0.9, radius: 6},
    threshold_zone: {color: '#fd8d3c', weight: 1.5, dashArray: '4 3', fillColor: '#fdae6b', fillOpacity: 0.12},
    corridor: {color: '#7a0177', weight: 1.5, fillColor: '#c51b8a', fillOpacity: 0.25},
    overlap: {color: '#a50f15', weight: 2, fillColor: '#e31a1c', fillOpacity: 0.45},
    conflicting_area: {color: '#993404', weight: 1.5, fillColor: '#ec7014', fillOpacity: 0.15},
    plan_area: {color: '#238b45', weight: 2, dashArray: '6 3', fillColor: '#74c476', fillOpacity: 0.15},
    outside_part: {color: '#e31a1c', weight: 2, fillColor: '#fb6a4a', fillOpacity: 0.35},
  };

  class Check {
    constructor(app) {
      this.app = app;
      this.map = app.map;
      this.tools = app.tools;
      this.site = null; // the GeoJSON geometry of the site to check
      this.report = null;
      this.kinds = null;
      this.map.createPane('pm-evidence').style.zIndex = 630;
      this.evidence = L.featureGroup().addTo(this.map);
      this.build();
    }

    get lang() { return this.app.lang; }

    build() {
      const app = this.app;
      const tools = this.tools;
      const body = tools.panel('check', 'checkTitle', 'toolCheck',
        {open: () => this.loadKinds(), close: () => this.stopDrawing()});
      this.kindSelect = el('select', {attrs: {id: 'pm-check-kind'}});
      app.translated(() => this.renderKinds());
      this.nameInput = el('input', {attrs: {id: 'pm-check-name', type: 'text', maxlength: '200', autocomplete: 'off'}});
      const point = tools.button('pm-check-point', 'checkPoint', () => this.startDrawing('point'));
      const polygon = tools.button('pm-check-polygon', 'checkPolygon', () => this.startDrawing('polygon'));
      app.translated(() => { point.title = app.t('checkPointTitle'); polygon.title = app.t('checkPolygonTitle'); });
      const run = tools.button('pm-check-run', 'checkRun', () => this.run());
      this.status = el('p', {cls: 'pm-tool-status', attrs: {id: 'pm-check-status', 'aria-live': 'polite'}});
      app.translated(() => { if (!this.report && !this.status.dataset.state) this.status.textContent = app.t('checkHint'); });
      this.reportBox = el('div', {cls: 'pm-report', attrs: {id: 'pm-check-report'}, data: {evidence: '0'}});
      body.append(tools.field('checkKind', this.kindSelect), tools.field('checkName', this.nameInput),
        el('div', {cls: 'pm-btn-row'}, [point, polygon, run]), this.status, this.reportBox);
      this.map.on(L.Draw.Event.CREATED, (ev) => {
        this.drawer = null;
        this.setSite(ev.layer.toGeoJSON().geometry);
        this.run();
      });
    }

    renderKinds() {
      const current = this.kindSelect.value || 'fuel_station';
      const kinds = this.kinds || Object.fromEntries(KINDS.map((k) => [k, null]));
      const label = (k) => (this.app.t('kind_' + k) !== 'kind_' + k ? this.app.t('kind_' + k) : (kinds[k] || k));
      this.kindSelect.replaceChildren(...Object.keys(kinds).map((k) => el('option', {attrs: {value: k}, text: label(k)})));
      this.kindSelect.value = current in kinds ? current : Object.keys(kinds)[0];
    }

    /** The proposal kinds the server's rules know (GET /rules), once. */
    async loadKinds() {
      if (this.kinds || this.kindsLoading) return;
      this.kindsLoading = true;
      try {
        const res = await this.app.api(`rules?${new URLSearchParams({lang: this.lang})}`,
          {headers: {Accept: 'application/json'}});
        if (res.ok) {
          const doc = await res.json();
          if (doc.kinds && Object.keys(doc.kinds).length) { this.kinds = doc.kinds; this.renderKinds(); }
        }
      } catch (e) { /* the built-in list stays */ }
      this.kindsLoading = false;
    }

    startDrawing(mode) {
      this.stopDrawing();
      this.app.parts.measure.stop();
      const shape = {color: '#08519c', weight: 3, fillOpacity: 0.1};
      this.drawer = mode === 'point'
        ? new L.Draw.Marker(this.map, {icon: new L.Icon.Default(), repeatMode: false})
        : new L.Draw.Polygon(this.map, {showArea: false, allowIntersection: false, shapeOptions: shape,
          repeatMode: false});
      this.drawer.enable();
      this.map.getContainer().dataset.drawing = mode;
    }

    stopDrawing() {
      if (this.drawer) this.drawer.disable();
      this.drawer = null;
      delete this.map.getContainer().dataset.drawing;
    }

    setSite(geometry) {
      this.site = geometry;
      this.evidence.clearLayers();
      this.drawEvidence({type: 'FeatureCollection', features: [{type: 'Feature', properties: {role: 'site'}, geometry}]});
    }

    /** The style of an evidence role (ROLE_STYLE), also used by the report's evidence legend. */
    roleStyle(role) {
      return ROLE_STYLE[role] || ROLE_STYLE.site;
    }

    drawEvidence(fc) {
      for (const f of (fc && fc.features) || []) {
        if (!f.geometry) continue;
        const role = (f.properties && f.properties.role) || 'site';
        const sty = Object.assign({pane: 'pm-evidence', interactive: false, className: `pm-ev pm-ev-${role}`},
          this.roleStyle(role));
        try {
          const layer = L.GeoJSON.geometryToLayer(f, {pointToLayer: (feat, ll) => L.circleMarker(ll, sty),
            style: () => sty});
          if (layer.setStyle) layer.setStyle(sty);
          layer.role = role;
          this.evidence.addLayer(layer);
        } catch (e) { /* an empty geometry is skipped */ }
      }
      this.reportBox.dataset.evidence = String(this.evidence.getLayers().length);
    }

    /** The evidence roles now drawn. */
    roles() {
      return new Set(this.evidence.getLayers().map((l) => l.role));
    }

    /** The proposal as a GeoJSON feature: the site, its kind and name. */
    feature() {
      const props = {kind: this.kindSelect.value};
      const name = this.nameInput.value.trim();
      if (name) props.name = name;
      return {type: 'Feature', properties: props, geometry: this.site};
    }

    /** POST the proposal to /checks (with `params`): the response, or an Error with the server's problem text. */
    async post(path, params, accept) {
      const headers = {'Content-Type': 'application/json'};
      if (accept) headers.Accept = accept;
      const res = await this.app.api(`${path}?${new URLSearchParams(Object.assign({}, params, {lang: this.lang}))}`,
        {method: 'POST', headers, body: JSON.stringify(this.feature())});
      if (!res.ok) throw new Error(await this.tools.problem(res));
      return res;
    }

    async run() {
      const app = this.app;
      if (!this.site) { this.tools.setStatus(this.status, app.t('checkNoSite'), 'error'); return; }
      const seq = (this.seq = (this.seq || 0) + 1);
      this.report = null;
      this.reportBox.replaceChildren();
      this.setSite(this.site);
      this.tools.setStatus(this.status, app.t('checkRunning'), 'busy');
      let report;
      try {
        report = await (await this.post('checks', {}, 'application/json')).json();
      } catch (err) {
        if (seq === this.seq) this.tools.setStatus(this.status, `${app.t('checkError')}: ${err.message}`, 'error');
        return;
      }
      if (seq !== this.seq) return;
      this.report = report;
      this.reportLang = this.lang;
      this.tools.setStatus(this.status, '', 'done');
      for (const r of report.results || []) this.drawEvidence(r.evidence);
      app.parts.report.render();
    }
  }

  window.planmap.part('check', (app) => new Check(app));
})();
