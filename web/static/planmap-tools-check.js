/*
 * planmap web map — the check tool (served page only): a proposed site drawn on the map (a point or a polygon,
 * with leaflet-draw), checked against the plan's rules by the server (POST /checks), and its evidence drawn on the
 * map by role. The report itself is the report part's (planmap-tools-report.js).
 */
(function () {
  'use strict';

  const {el} = window.planmap.helpers;
  const FALLBACK_STYLE = {color: '#333333', weight: 2, fillOpacity: 0.1, radius: 6};

  class Check {
    constructor(app) {
      this.app = app;
      this.map = app.map;
      this.tools = app.tools;
      this.site = null; // the GeoJSON geometry of the site to check
      this.report = null;
      this.kinds = null; // proposal kinds and evidence roles come from the server's rules (GET /rules)
      this.roleTable = {};
      this.kindLabels = {};
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
        if (!this.drawer) return; // another tool's drawing (the suggestions' search area)
        this.drawer = null;
        this.setSite(ev.layer.toGeoJSON().geometry);
        this.run();
      });
    }

    renderKinds() {
      const current = this.kindSelect.value || 'fuel_station';
      const kinds = this.kinds || {};
      const label = (k) => ((this.kindLabels[k] || {})[this.lang] || kinds[k] || k);
      this.kindSelect.replaceChildren(...Object.keys(kinds).map((k) => el('option', {attrs: {value: k}, text: label(k)})));
      this.kindSelect.value = current in kinds ? current : Object.keys(kinds)[0];
    }

    /** The proposal kinds and evidence roles (labels, styles) of the server's rules (GET /rules), once. */
    async loadKinds() {
      if (this.kinds || this.kindsLoading) return;
      this.kindsLoading = true;
      try {
        const res = await this.app.api(`rules?${new URLSearchParams({lang: this.lang})}`,
          {headers: {Accept: 'application/json'}});
        if (res.ok) {
          const doc = await res.json();
          this.roleTable = doc.roles || {};
          this.kindLabels = doc.kind_labels || {};
          if (doc.kinds && Object.keys(doc.kinds).length) { this.kinds = doc.kinds; this.renderKinds(); }
        }
      } catch (e) {
        this.status.textContent = this.app.t('loadError');
      }
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

    /** The style of an evidence role (the rule types' own, from GET /rules), also used by the report's legend. */
    roleStyle(role) {
      const known = this.roleTable[role] || this.roleTable.site;
      return (known && known.style) || FALLBACK_STYLE;
    }

    /** The legend label of an evidence role, in the page's language. */
    roleLabel(role) {
      const known = this.roleTable[role];
      return known ? known[this.lang] || known.vi : role;
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
