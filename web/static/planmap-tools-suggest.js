/*
 * planmap web map — the site suggestions tool (served page only): a kind, a search area (the province, a commune,
 * a pre-2025 district, a polygon drawn on the map or a corridor along a road), how many sites and the planner's
 * preferences are sent to POST /suggestions; the answer's suitability surface is drawn as an image overlay with
 * its legend, the candidates as numbered sites, each with its score and a button opening its check report in the
 * check tool's report view (planmap-tools-report.js); the rules that could not be assessed and the indicative note
 * are shown as the server words them; the candidates export as a file (the layers' export formats).
 */
(function () {
  'use strict';

  const {el} = window.planmap.helpers;
  const PREFERENCES = ['near_road', 'far_from_stations', 'flat', 'in_cluster_plan'];
  const POLYGON_KINDS = ['industrial_cluster', 'industrial_park', 'factory'];
  const AREAS = [['province', 'suggestAreaProvince'], ['commune', 'suggestAreaCommune'],
    ['district', 'suggestAreaDistrict'], ['polygon', 'suggestAreaPolygon'], ['road', 'suggestAreaRoad']];
  const EXPORTS = [['gpkg', '=GeoPackage'], ['kml', '=KML'], ['shp', '=Shapefile (zip)'], ['geojson', '=GeoJSON'],
    ['csv', '=CSV'], ['dxf', '=DXF']];
  const SITE_STYLE = {color: '#08306b', weight: 2, fillColor: '#2171b5', fillOpacity: 0.35};

  class Suggest {
    constructor(app) {
      this.app = app;
      this.map = app.map;
      this.tools = app.tools;
      this.answer = null; // the last answer of POST /suggestions
      this.polygon = null; // a search area drawn on the map (GeoJSON geometry)
      this.overlay = null;
      this.map.createPane('pm-suggest').style.zIndex = 620;
      this.sites = L.featureGroup().addTo(this.map);
      this.build();
    }

    t(key) { return this.app.t(key); }

    build() {
      const app = this.app;
      const tools = this.tools;
      const body = tools.panel('suggest', 'suggestTitle', 'toolSuggest', {open: () => this.loadKinds(),
        close: () => this.stopDrawing()});
      this.kindSelect = el('select', {attrs: {id: 'pm-suggest-kind'}});
      this.kindSelect.addEventListener('change', () => this.showFields());
      this.areaSelect = tools.select('pm-suggest-area', AREAS);
      this.areaSelect.addEventListener('change', () => this.showFields());
      this.place = el('input', {attrs: {id: 'pm-suggest-place', type: 'text', maxlength: '100', autocomplete: 'off'}});
      this.corridor = el('input', {attrs: {id: 'pm-suggest-corridor', type: 'number', min: '1', max: '10000',
        step: '50', value: '500'}});
      this.draw = tools.button('pm-suggest-draw', 'suggestDraw', () => this.startDrawing());
      this.k = el('input', {attrs: {id: 'pm-suggest-k', type: 'number', min: '1', max: '20', value: '5'}});
      this.cell = el('input', {attrs: {id: 'pm-suggest-cell', type: 'number', min: '10', max: '5000', step: '10',
        value: '100'}});
      this.areaHa = el('input', {attrs: {id: 'pm-suggest-area-ha', type: 'number', min: '0.1', max: '1000',
        step: '1', value: '50'}});
      this.spacing = el('input', {attrs: {id: 'pm-suggest-spacing', type: 'number', min: '0', max: '50000',
        step: '100', placeholder: '—'}});
      this.strict = el('input', {attrs: {id: 'pm-suggest-strict', type: 'checkbox'}});
      this.sliders = {};
      const prefs = PREFERENCES.map((name) => {
        const slider = el('input', {attrs: {id: `pm-suggest-pref-${name}`, type: 'range', min: '0', max: '5',
          step: '0.5', value: name === 'near_road' ? '1' : '0'}});
        const shown = el('output', {cls: 'pm-suggest-weight', text: slider.value});
        slider.addEventListener('input', () => { shown.textContent = slider.value; });
        this.sliders[name] = slider;
        return el('label', {cls: 'pm-field pm-suggest-pref'}, [
          app.label('pref_' + name, 'span', {cls: 'pm-field-label'}), slider, shown]);
      });
      this.fields = {
        place: tools.field('suggestPlace', this.place), corridor: tools.field('suggestCorridor', this.corridor),
        draw: el('div', {cls: 'pm-btn-row'}, [this.draw]), areaHa: tools.field('suggestAreaHa', this.areaHa)};
      const run = tools.button('pm-suggest-run', 'suggestRun', () => this.run());
      const clear = tools.button('pm-suggest-clear', 'suggestClear', () => this.clear());
      this.status = el('p', {cls: 'pm-tool-status', attrs: {id: 'pm-suggest-status', 'aria-live': 'polite'}});
      app.translated(() => { if (!this.answer && !this.status.dataset.state) this.status.textContent = this.t('suggestHint'); });
      this.format = tools.select('pm-suggest-format', EXPORTS);
      this.exportButton = tools.button('pm-suggest-export', 'suggestExport', () => this.exportFile());
      this.result = el('div', {cls: 'pm-suggest-result', attrs: {id: 'pm-suggest-result'}});
      body.append(tools.field('suggestKind', this.kindSelect), tools.field('suggestArea', this.areaSelect),
        this.fields.place, this.fields.corridor, this.fields.draw,
        el('div', {cls: 'pm-suggest-numbers'}, [tools.field('suggestK', this.k), tools.field('suggestCell', this.cell),
          this.fields.areaHa, tools.field('suggestSpacing', this.spacing)]),
        app.label('suggestPrefs', 'h3', {cls: 'pm-suggest-subtitle'}), ...prefs,
        el('label', {cls: 'pm-suggest-strict'}, [this.strict, app.label('suggestStrict', 'span')]),
        el('div', {cls: 'pm-btn-row'}, [run, clear]), this.status, this.result,
        el('div', {cls: 'pm-btn-row'}, [this.format, this.exportButton]));
      this.map.on(L.Draw.Event.CREATED, (ev) => {
        if (!this.drawer) return; // the check tool's drawing
        this.drawer = null;
        delete this.map.getContainer().dataset.drawing;
        this.polygon = ev.layer.toGeoJSON().geometry;
        this.sites.clearLayers();
        this.sites.addLayer(L.geoJSON(this.polygon, {pane: 'pm-suggest', interactive: false,
          style: () => ({color: '#6a51a3', weight: 2, dashArray: '6 4', fillOpacity: 0.05})}));
        this.tools.setStatus(this.status, this.t('suggestDrawn'), 'done');
      });
      app.translated(() => { if (this.answer) this.render(); });
      this.showFields();
    }

    /** The kinds of the server's rules, as the check tool has them (GET /rules, once). */
    async loadKinds() {
      const check = this.app.parts.check;
      await check.loadKinds();
      const kinds = check.kinds || {};
      const current = this.kindSelect.value || 'fuel_station';
      this.kindSelect.replaceChildren(...Object.keys(kinds).map((k) => el('option', {attrs: {value: k},
        text: ((check.kindLabels[k] || {})[this.app.lang]) || kinds[k] || k})));
      this.kindSelect.value = current in kinds ? current : Object.keys(kinds)[0];
      this.showFields();
    }

    /** Only the fields the chosen area and kind use (`hidden`, which the fields' own display would override). */
    showFields() {
      const mode = this.areaSelect.value;
      const show = (node, on) => { node.hidden = !on; node.style.display = on ? '' : 'none'; };
      show(this.fields.place, ['commune', 'district', 'road'].includes(mode));
      show(this.fields.corridor, mode === 'road');
      show(this.fields.draw, mode === 'polygon');
      show(this.fields.areaHa, POLYGON_KINDS.includes(this.kindSelect.value));
    }

    startDrawing() {
      this.stopDrawing();
      this.app.parts.check.stopDrawing();
      this.app.parts.measure.stop();
      this.drawer = new L.Draw.Polygon(this.map, {showArea: false, allowIntersection: false, repeatMode: false,
        shapeOptions: {color: '#6a51a3', weight: 2, fillOpacity: 0.05}});
      this.drawer.enable();
      this.map.getContainer().dataset.drawing = 'suggest-area';
    }

    stopDrawing() {
      if (this.drawer) this.drawer.disable();
      this.drawer = null;
    }

    /** The request body from the form (an Error naming what is missing). */
    body() {
      const body = {kind: this.kindSelect.value, k: Number(this.k.value), cell_m: Number(this.cell.value),
        strict: this.strict.checked, lang: this.app.lang, preferences: {}};
      for (const name of PREFERENCES) body.preferences[name] = Number(this.sliders[name].value);
      const mode = this.areaSelect.value;
      const place = this.place.value.trim();
      if (['commune', 'district', 'road'].includes(mode)) {
        if (!place) throw new Error(this.t('suggestNoPlace'));
        body.area = {[mode]: place};
        if (mode === 'road') body.area.corridor_m = Number(this.corridor.value);
      } else if (mode === 'polygon') {
        if (!this.polygon) throw new Error(this.t('suggestNoPolygon'));
        body.area = {polygon: this.polygon};
      }
      if (POLYGON_KINDS.includes(body.kind) && this.areaHa.value) body.area_ha = Number(this.areaHa.value);
      if (this.spacing.value) body.min_spacing_m = Number(this.spacing.value);
      return body;
    }

    async post(params, body) {
      const res = await this.app.api(`suggestions?${new URLSearchParams(params)}`, {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
      if (!res.ok) throw new Error(await this.tools.problem(res));
      return res;
    }

    async run() {
      let body;
      try { body = this.body(); } catch (err) { this.tools.setStatus(this.status, err.message, 'error'); return; }
      const seq = (this.seq = (this.seq || 0) + 1);
      this.tools.setStatus(this.status, this.t('suggestRunning'), 'busy');
      let answer;
      try {
        answer = await (await this.post({f: 'json'}, body)).json();
      } catch (err) {
        if (seq === this.seq) this.tools.setStatus(this.status, `${this.t('suggestError')}: ${err.message}`, 'error');
        return;
      }
      if (seq !== this.seq) return;
      this.answer = answer;
      this.lastBody = body;
      this.tools.setStatus(this.status, '', 'done');
      this.render();
      this.draw_();
    }

    /** Take the surface, the candidates and the drawn area off the map. */
    clear() {
      this.seq = (this.seq || 0) + 1; // an answer still on its way is dropped
      if (this.overlay) this.map.removeLayer(this.overlay);
      this.overlay = null;
      this.sites.clearLayers();
      this.polygon = null;
      this.answer = null;
      this.result.replaceChildren();
      delete this.result.dataset.candidates;
      this.tools.setStatus(this.status, this.t('suggestHint'));
    }

    /** The surface overlay and the numbered candidates on the map. */
    draw_() {
      const a = this.answer;
      if (this.overlay) this.map.removeLayer(this.overlay);
      const [w, s, e, n] = a.surface.bounds;
      this.overlay = L.imageOverlay(`data:${a.surface.media_type};base64,${a.surface.png}`, [[s, w], [n, e]],
        {pane: 'pm-suggest', opacity: 0.8, interactive: false, className: 'pm-suggest-surface'}).addTo(this.map);
      this.sites.clearLayers();
      for (const c of a.candidates) {
        const layer = L.geoJSON(c.geometry, {pane: 'pm-suggest', style: () => SITE_STYLE,
          pointToLayer: (f, ll) => L.circleMarker(ll, Object.assign({radius: 9}, SITE_STYLE))});
        layer.eachLayer((part) => {
          part.bindTooltip(String(c.rank), {permanent: true, direction: 'center', className: 'pm-suggest-rank'});
          part.on('click', () => this.openReport(c));
        });
        this.sites.addLayer(layer);
      }
      const bounds = a.candidates.length ? this.sites.getBounds() : this.overlay.getBounds();
      if (bounds.isValid()) this.map.fitBounds(bounds, {padding: [40, 40], maxZoom: 14, animate: false});
      this.result.dataset.candidates = String(a.candidates.length);
    }

    render() {
      const a = this.answer;
      const nf = (v, d) => this.app.nf(v, {maximumFractionDigits: d});
      const parts = [el('p', {cls: 'pm-suggest-summary', attrs: {id: 'pm-suggest-summary'},
        text: `${a.kind_label} — ${a.area.name || this.t('suggestAreaPolygon')}: ${nf(a.cells.feasible, 0)} / `
          + `${nf(a.cells.in_area, 0)} ${this.t('suggestCellsFeasible')} (${nf(a.cells.cell_m, 0)} m)`})];
      if (a.unassessed_rules.length) {
        parts.push(el('div', {cls: 'pm-suggest-unassessed', attrs: {id: 'pm-suggest-unassessed', role: 'note'}}, [
          el('strong', {text: this.t('suggestUnassessed')}),
          el('ul', {}, a.unassessed_rules.map((u) => el('li', {data: {rule: u.rule}}, [
            el('code', {text: u.rule}), el('span', {text: ` ${u.title}: ${u.reason || ''} — ${u.verify}`})])))]));
      }
      parts.push(el('p', {cls: 'pm-suggest-note', attrs: {id: 'pm-suggest-note'}, text: a.note}));
      const list = el('ol', {cls: 'pm-suggest-list', attrs: {id: 'pm-suggest-list'}});
      for (const c of a.candidates) {
        const open = this.tools.button(`pm-suggest-report-${c.rank}`, 'suggestReport', () => this.openReport(c),
          'pm-btn-small');
        const parts_ = Object.entries(c.components).map(([name, p]) => `${this.t('pref_' + name)}: `
          + (p.score === null ? '—' : nf(p.score, 2)));
        list.append(el('li', {cls: 'pm-suggest-item', data: {rank: String(c.rank), verdict: c.verdict}}, [
          el('strong', {text: `#${c.rank} — ${this.t('suggestScore')} ${nf(c.score, 3)}`}),
          el('span', {cls: 'pm-suggest-parts', text: parts_.length ? ` (${parts_.join('; ')})` : ''}),
          el('span', {cls: 'pm-suggest-where', text: ' ' + (((c.report.context || {}).commune || {}).name || '')}),
          open]));
      }
      if (!a.candidates.length) list.append(el('li', {text: this.t('suggestNone')}));
      parts.push(list, this.legend(a.surface.legend));
      this.result.replaceChildren(...parts);
      this.exportButton.disabled = !a.candidates.length;
    }

    legend(legend) {
      const lang = this.app.lang;
      return el('div', {cls: 'pm-suggest-legend', attrs: {id: 'pm-suggest-legend'}}, [
        el('strong', {text: legend.title[lang] || legend.title.vi}),
        el('ul', {}, legend.classes.map((c) => el('li', {}, [
          el('span', {cls: 'pm-suggest-swatch', style: {background: c.colour}}), el('span', {text: c[lang] || c.vi})])))]);
    }

    /** A candidate's report, shown by the check tool's own report view (its site, kind and name set). */
    openReport(c) {
      const check = this.app.parts.check;
      check.kindSelect.value = this.answer.kind;
      check.nameInput.value = (c.report.proposal.properties || {}).name || '';
      check.setSite(c.geometry);
      check.report = c.report;
      check.reportLang = this.app.lang;
      for (const r of c.report.results || []) check.drawEvidence(r.evidence);
      this.tools.toggle('check', true);
      this.app.parts.report.render();
    }

    async exportFile() {
      if (!this.lastBody) return;
      const fmt = this.format.value;
      this.tools.setStatus(this.status, this.t('suggestExporting'), 'busy');
      try {
        const res = await this.post({f: fmt}, this.lastBody);
        const match = /filename="?([^";]+)"?/.exec(res.headers.get('Content-Disposition') || '');
        this.tools.saveBlob(await res.blob(), match ? match[1] : `planmap-suggestions.${fmt}`);
        this.tools.setStatus(this.status, this.t('suggestExported'), 'done');
      } catch (err) {
        this.tools.setStatus(this.status, `${this.t('suggestError')}: ${err.message}`, 'error');
      }
    }
  }

  window.planmap.part('suggest', (app) => new Suggest(app));
})();
