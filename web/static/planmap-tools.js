/*
 * planmap web map tools: check a proposed site (issue 4), exports (issue 5), signing in (issue 6).
 * Loaded after planmap.js on the served page only (the offline copy has no checks or exports).
 * Every value from the server or the user reaches the page as text (textContent), never as HTML.
 */
(function () {
  'use strict';

  const {el, TOKEN_KEY} = window.planmap.helpers;
  const KINDS = ['fuel_station', 'lpg_station', 'industrial_cluster', 'industrial_park', 'factory'];
  const ROLES = ['site', 'distance', 'nearest', 'threshold_zone', 'corridor', 'overlap', 'conflicting_area',
    'plan_area', 'outside_part'];
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
  const STATUS_CLASS = {pass: 'pass', fail: 'fail', warn: 'warn', unknown: 'unknown', not_applicable: 'na'};

  function fmt(text, values) {
    return String(text).replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
  }

  /** The problem text of a failed response (planmap's JSON problem: detail / detail_vi). */
  async function problem(res, lang) {
    let text = `HTTP ${res.status}`;
    try {
      const doc = await res.json();
      text = (lang === 'vi' && doc.detail_vi) || doc.detail || doc.title || text;
    } catch (e) { /* not JSON */ }
    return text;
  }

  /** The file name of a download response (Content-Disposition), else `fallback`. */
  function fileName(res, fallback) {
    const cd = res.headers.get('Content-Disposition') || '';
    const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(cd);
    if (star) { try { return decodeURIComponent(star[1]); } catch (e) { /* fall through */ } }
    const plain = /filename\s*=\s*"?([^";]+)"?/.exec(cd);
    return plain ? plain[1] : fallback;
  }

  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = el('a', {attrs: {href: url, download: name}, style: {display: 'none'}});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  function viewBbox(map) {
    const b = map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(',');
  }

  class Tools {
    constructor(app) {
      this.app = app;
      this.map = app.map;
      this.user = null;
      this.site = null; // the GeoJSON geometry of the site to check
      this.report = null;
      this.kinds = null;
      this.panels = {};
      app.tools = this;
      this.map.createPane('pm-evidence').style.zIndex = 630;
      this.evidence = L.featureGroup().addTo(this.map);
      this.buildButtons();
      this.buildDock();
      this.buildCheck();
      this.buildExport();
      this.buildAuth();
      this.restoreSession();
    }

    t(key) { return this.app.t(key); }

    translated(fn) { this.app.translated(fn); }

    get lang() { return this.app.lang; }

    // ---------------------------------------------------------------- header buttons and the side dock

    buildButtons() {
      const bar = this.app.headerTools;
      this.buttons = {};
      for (const [name, key] of [['check', 'toolCheck'], ['export', 'toolExport'], ['auth', 'toolSignIn']]) {
        const b = el('button', {cls: 'pm-tool-button', attrs: {type: 'button', id: `pm-tool-${name}`,
          'aria-expanded': 'false'}});
        b.addEventListener('click', () => this.toggle(name));
        this.translated(() => {
          b.textContent = name === 'auth' && this.user ? this.user.name : this.t(key);
        });
        this.buttons[name] = b;
        bar.append(b);
      }
    }

    buildDock() {
      this.dock = el('div', {cls: 'pm-dock', attrs: {id: 'pm-dock'}});
      this.app.control('topleft', () => this.dock);
    }

    panel(name, titleKey) {
      const title = el('h2', {cls: 'pm-tool-title'});
      const close = el('button', {cls: 'pm-tool-close', attrs: {type: 'button'}, text: '×'});
      close.addEventListener('click', () => this.toggle(name, false));
      this.translated(() => { title.textContent = this.t(titleKey); close.title = this.t('checkClose'); });
      const body = el('div', {cls: 'pm-tool-body'});
      const box = el('section', {cls: 'pm-tool leaflet-bar', attrs: {id: `pm-${name}`, hidden: ''}},
        [el('div', {cls: 'pm-tool-head'}, [title, close]), body]);
      this.dock.append(box);
      this.panels[name] = box;
      return body;
    }

    toggle(name, open) {
      const box = this.panels[name];
      const show = open === undefined ? box.hidden : open;
      for (const [other, b] of Object.entries(this.panels)) {
        b.hidden = other === name ? !show : true;
        this.buttons[other].setAttribute('aria-expanded', String(!b.hidden));
        this.buttons[other].classList.toggle('pm-active', !b.hidden);
      }
      if (show && name === 'check') this.loadKinds();
      if (!show && name === 'check') this.stopDrawing();
    }

    field(labelKey, control) {
      const text = el('span', {cls: 'pm-field-label'});
      this.translated(() => { text.textContent = this.t(labelKey); });
      return el('label', {cls: 'pm-field'}, [text, control]);
    }

    select(id, options) {
      const s = el('select', {attrs: {id}});
      for (const [value, key] of options) {
        const o = el('option', {attrs: {value}});
        this.translated(() => { o.textContent = key.startsWith('=') ? key.slice(1) : this.t(key); });
        s.append(o);
      }
      return s;
    }

    button(id, key, onClick, cls) {
      const b = el('button', {cls: 'pm-btn ' + (cls || ''), attrs: {type: 'button', id}});
      this.translated(() => { b.textContent = this.t(key); });
      b.addEventListener('click', onClick);
      return b;
    }

    // ---------------------------------------------------------------- issue 4: check a site

    buildCheck() {
      const body = this.panel('check', 'checkTitle');
      this.kindSelect = el('select', {attrs: {id: 'pm-check-kind'}});
      this.renderKinds();
      this.translated(() => this.renderKinds());
      this.nameInput = el('input', {attrs: {id: 'pm-check-name', type: 'text', maxlength: '200', autocomplete: 'off'}});
      const point = this.button('pm-check-point', 'checkPoint', () => this.startDrawing('point'));
      const polygon = this.button('pm-check-polygon', 'checkPolygon', () => this.startDrawing('polygon'));
      this.translated(() => { point.title = this.t('checkPointTitle'); polygon.title = this.t('checkPolygonTitle'); });
      this.runButton = this.button('pm-check-run', 'checkRun', () => this.runCheck());
      this.checkStatus = el('p', {cls: 'pm-tool-status', attrs: {id: 'pm-check-status', 'aria-live': 'polite'}});
      this.translated(() => { if (!this.report && !this.checkStatus.dataset.state) this.checkStatus.textContent = this.t('checkHint'); });
      this.reportBox = el('div', {cls: 'pm-report', attrs: {id: 'pm-check-report'}, data: {evidence: '0'}});
      this.translated(() => { if (this.report) this.renderReport(); });
      body.append(this.field('checkKind', this.kindSelect), this.field('checkName', this.nameInput),
        el('div', {cls: 'pm-btn-row'}, [point, polygon, this.runButton]), this.checkStatus, this.reportBox);
      this.map.on(L.Draw.Event.CREATED, (ev) => {
        this.drawer = null;
        this.setSite(ev.layer.toGeoJSON().geometry);
        this.runCheck();
      });
    }

    renderKinds() {
      const current = this.kindSelect.value || 'fuel_station';
      const kinds = this.kinds || Object.fromEntries(KINDS.map((k) => [k, null]));
      this.kindSelect.replaceChildren(...Object.keys(kinds).map((k) => el('option', {attrs: {value: k},
        text: this.t('kind_' + k) !== 'kind_' + k ? this.t('kind_' + k) : (kinds[k] || k)})));
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
      this.app.stopMeasure();
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
      this.clearEvidence();
      this.drawEvidence({type: 'FeatureCollection', features: [{type: 'Feature', properties: {role: 'site'}, geometry}]});
    }

    clearEvidence() {
      this.evidence.clearLayers();
      this.reportBox.dataset.evidence = '0';
    }

    roleStyle(role) {
      return Object.assign({pane: 'pm-evidence', interactive: false, className: `pm-ev pm-ev-${role}`},
        ROLE_STYLE[role] || ROLE_STYLE.site);
    }

    drawEvidence(fc) {
      let n = 0;
      for (const f of (fc && fc.features) || []) {
        if (!f.geometry) continue;
        const role = (f.properties && f.properties.role) || 'site';
        const sty = this.roleStyle(role);
        try {
          const layer = L.GeoJSON.geometryToLayer(f, {pointToLayer: (feat, ll) => L.circleMarker(ll, sty),
            style: () => sty});
          if (layer.setStyle) layer.setStyle(sty);
          layer.role = role;
          this.evidence.addLayer(layer);
          n += 1;
        } catch (e) { /* an empty geometry is skipped */ }
      }
      this.reportBox.dataset.evidence = String(this.evidence.getLayers().length);
      return n;
    }

    feature() {
      const props = {kind: this.kindSelect.value};
      const name = this.nameInput.value.trim();
      if (name) props.name = name;
      return {type: 'Feature', properties: props, geometry: this.site};
    }

    setStatus(box, text, state) {
      box.textContent = text;
      if (state) box.dataset.state = state; else delete box.dataset.state;
    }

    async runCheck() {
      if (!this.site) { this.setStatus(this.checkStatus, this.t('checkNoSite'), 'error'); return; }
      const seq = (this.checkSeq = (this.checkSeq || 0) + 1);
      this.report = null;
      this.reportBox.replaceChildren();
      this.setSite(this.site);
      this.setStatus(this.checkStatus, this.t('checkRunning'), 'busy');
      let report;
      try {
        const res = await this.app.api(`checks?${new URLSearchParams({lang: this.lang})}`, {method: 'POST',
          headers: {'Content-Type': 'application/json', Accept: 'application/json'},
          body: JSON.stringify(this.feature())});
        if (!res.ok) {
          const text = await problem(res, this.lang);
          if (seq === this.checkSeq) this.setStatus(this.checkStatus, `${this.t('checkError')}: ${text}`, 'error');
          return;
        }
        report = await res.json();
      } catch (err) {
        if (seq === this.checkSeq) this.setStatus(this.checkStatus, `${this.t('checkError')}: ${err.message}`, 'error');
        return;
      }
      if (seq !== this.checkSeq) return;
      this.report = report;
      this.reportLang = this.lang;
      this.setStatus(this.checkStatus, '', 'done');
      for (const r of report.results || []) this.drawEvidence(r.evidence);
      this.renderReport();
    }

    nf(v, d) {
      return Number(v).toLocaleString(this.lang === 'vi' ? 'vi-VN' : 'en-GB', {maximumFractionDigits: d});
    }

    renderReport() {
      const r = this.report;
      const box = this.reportBox;
      if (this.reportLang !== this.lang) { this.runCheck(); return; } // messages come from the server: ask again
      const verdict = el('div', {cls: `pm-verdict pm-st-${STATUS_CLASS[r.verdict] || 'unknown'}`,
        attrs: {id: 'pm-check-verdict'}, data: {verdict: r.verdict}}, [
        el('span', {cls: 'pm-verdict-label', text: this.t('verdict') + ': '}),
        el('strong', {text: this.t('status_' + r.verdict)})]);
      const name = r.proposal && r.proposal.properties && r.proposal.properties.name;
      const head = el('p', {cls: 'pm-report-kind'}, [
        el('span', {text: r.kind_label || this.t('kind_' + r.kind)}),
        name ? el('span', {cls: 'pm-report-name', text: ' — ' + name}) : null]);
      const ctx = r.context || {};
      const ctxRows = [];
      const row = (key, value) => {
        if (value) ctxRows.push(el('tr', {}, [el('th', {text: this.t(key)}), el('td', {text: value})]));
      };
      row('ctxCommune', ctx.commune && ctx.commune.name);
      row('ctxDistrict', ctx.district_pre2025 && ctx.district_pre2025.name);
      const names = (list) => (list || []).map((x) => x.name || `#${x.id}`).join(', ');
      row('ctxParks', names(ctx.industrial_parks));
      row('ctxClusters', names(ctx.industrial_clusters));
      row('ctxMinerals', names(ctx.mineral_areas));
      const rules = el('ol', {cls: 'pm-rules'});
      for (const res of r.results || []) if (res.status !== 'not_applicable') rules.append(this.ruleItem(res));
      box.replaceChildren(verdict, head, this.reportActions(),
        el('table', {cls: 'pm-report-context'}, [el('tbody', {}, ctxRows)]), this.evidenceLegend(), rules);
    }

    ruleItem(res) {
      const status = res.status || 'unknown';
      const badge = el('span', {cls: `pm-badge pm-st-${STATUS_CLASS[status] || 'unknown'}`,
        text: this.t('status_' + status)});
      const parts = [el('div', {cls: 'pm-rule-head'}, [badge, el('strong', {cls: 'pm-rule-title', text: res.title || res.rule})]),
        el('code', {cls: 'pm-rule-id', text: res.rule})];
      if (res.message) parts.push(el('p', {cls: 'pm-rule-message', text: res.message}));
      const facts = [];
      const unit = res.unit ? ' ' + res.unit : '';
      if (res.measured !== null && res.measured !== undefined) {
        facts.push(`${this.t('ruleMeasured')}: ${typeof res.measured === 'number' ? this.nf(res.measured, 1) : res.measured}${unit}`);
      }
      if (res.threshold !== null && res.threshold !== undefined) {
        const th = res.threshold;
        const text = typeof th === 'number' ? this.nf(th, 2)
          : Array.isArray(th) ? th.map((v) => (typeof v === 'number' ? this.nf(v, 2) : String(v))).join('–')
            : JSON.stringify(th);
        facts.push(`${this.t('ruleThreshold')}: ${text}${unit}`);
      }
      if (res.confidence) facts.push(`${this.t('ruleConfidence')}: ${this.t('conf_' + res.confidence)}`);
      if (facts.length) parts.push(el('p', {cls: 'pm-rule-facts', text: facts.join(' · ')}));
      if (res.legal_basis && res.legal_basis.length) {
        parts.push(el('div', {cls: 'pm-rule-basis'}, [el('span', {text: this.t('ruleBasis') + ':'}),
          el('ul', {}, res.legal_basis.map((b) => el('li', {text: [b.document, b.article].filter(Boolean).join(', ')
            + (b.note ? ` — ${b.note}` : '')})))]));
      }
      if (res.caveats) parts.push(el('p', {cls: 'pm-rule-caveats', text: `${this.t('ruleCaveats')}: ${res.caveats}`}));
      if (res.note) parts.push(el('p', {cls: 'pm-rule-caveats', text: res.note}));
      return el('li', {cls: 'pm-rule', data: {rule: res.rule, status}}, parts);
    }

    evidenceLegend() {
      const present = new Set(this.evidence.getLayers().map((l) => l.role));
      const rows = ROLES.filter((r) => present.has(r)).map((role) => {
        const s = ROLE_STYLE[role];
        const sw = el('span', {cls: 'pm-ev-swatch', style: {borderColor: s.color,
          borderStyle: s.dashArray ? 'dashed' : 'solid',
          background: s.fillColor ? s.fillColor : 'transparent', opacity: '0.85'}});
        if (role === 'distance') sw.classList.add('pm-ev-swatch-line');
        if (role === 'nearest' || (role === 'site' && this.site && this.site.type === 'Point')) {
          sw.classList.add('pm-ev-swatch-dot');
        }
        return el('li', {data: {role}}, [sw, el('span', {text: this.t('role_' + role)})]);
      });
      return el('div', {cls: 'pm-ev-legend', attrs: {id: 'pm-ev-legend'}}, [
        el('h3', {text: this.t('evidenceLegend')}), el('ul', {}, rows)]);
    }

    reportActions() {
      const print = this.button('pm-check-print', 'checkPrint', () => this.printReport());
      const pdf = this.button('pm-check-pdf', 'checkPdf', () => this.pdfReport());
      const row = el('div', {cls: 'pm-btn-row pm-report-actions'}, [print, pdf]);
      if (this.user && (this.user.role === 'planner' || this.user.role === 'admin')) {
        row.append(this.button('pm-check-save', 'checkSave', () => this.saveProposal(), 'pm-btn-primary'));
      }
      this.saveStatus = el('p', {cls: 'pm-tool-status', attrs: {id: 'pm-save-status', 'aria-live': 'polite'}});
      return el('div', {}, [row, this.saveStatus]);
    }

    async reportFile(f) {
      const res = await this.app.api(`checks?${new URLSearchParams({f, lang: this.lang})}`, {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify(this.feature())});
      if (!res.ok) throw new Error(await problem(res, this.lang));
      return res.blob();
    }

    async printReport() {
      const win = window.open('', '_blank'); // opened now, while the click still counts as the user's
      try {
        const blob = await this.reportFile('html');
        const url = URL.createObjectURL(new Blob([blob], {type: 'text/html;charset=utf-8'}));
        if (win) win.location.href = url; else window.open(url, '_blank');
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
      } catch (err) {
        if (win) win.close();
        this.setStatus(this.saveStatus, `${this.t('checkError')}: ${err.message}`, 'error');
      }
    }

    async pdfReport() {
      try {
        saveBlob(await this.reportFile('pdf'), 'planmap-kiem-tra.pdf');
      } catch (err) {
        this.setStatus(this.saveStatus, `${this.t('checkError')}: ${err.message}`, 'error');
      }
    }

    async saveProposal() {
      this.setStatus(this.saveStatus, this.t('checkSaving'), 'busy');
      try {
        const res = await this.app.api(`proposals?${new URLSearchParams({lang: this.lang})}`, {method: 'POST',
          headers: {'Content-Type': 'application/json', Accept: 'application/json'},
          body: JSON.stringify(this.feature())});
        if (!res.ok) throw new Error(await problem(res, this.lang));
        const doc = await res.json();
        this.setStatus(this.saveStatus, fmt(this.t('checkSaved'), {id: doc.id, status: doc.status}), 'done');
        this.saveStatus.dataset.id = String(doc.id);
        await this.app.reloadCatalog();
        await this.app.reloadLayer('proposals');
      } catch (err) {
        this.setStatus(this.saveStatus, `${this.t('checkError')}: ${err.message}`, 'error');
      }
    }

    // ---------------------------------------------------------------- issue 5: exports

    buildExport() {
      const body = this.panel('export', 'exportTitle');
      this.exportStatus = el('p', {cls: 'pm-tool-status', attrs: {id: 'pm-export-status', 'aria-live': 'polite'}});
      const heading = (key) => {
        const h = el('h3', {cls: 'pm-tool-sub'});
        this.translated(() => { h.textContent = this.t(key); });
        return h;
      };
      const format = this.select('pm-export-format', ['gpkg', 'shp', 'kml', 'geojson', 'csv', 'dxf', 'fgb']
        .map((f) => [f, '=' + {gpkg: 'GeoPackage', shp: 'Shapefile (zip)', kml: 'KML', geojson: 'GeoJSON',
          csv: 'CSV', dxf: 'DXF (AutoCAD)', fgb: 'FlatGeobuf'}[f]]));
      const crs = this.select('pm-export-crs', [['EPSG:4326', '=WGS84 (EPSG:4326)'],
        ['EPSG:9213', '=VN-2000 TM-3 106°30′ (EPSG:9213)'], ['EPSG:3405', '=VN-2000 UTM 48N (EPSG:3405)']]);
      const dataView = el('input', {attrs: {type: 'checkbox', id: 'pm-export-view'}});
      const dataButton = this.button('pm-export-data', 'exportDataButton', () => this.exportData(
        format.value, crs.value, dataView.checked), 'pm-btn-primary');
      const preset = this.select('pm-export-preset', [['cluster-plan-2030', 'presetClusters'],
        ['overview', 'presetOverview']]);
      const size = this.select('pm-export-size', [['A4', '=A4'], ['A3', '=A3'], ['A1', '=A1']]);
      size.value = 'A3';
      const orientation = this.select('pm-export-orientation', [['landscape', 'landscape'], ['portrait', 'portrait']]);
      const mapFormat = this.select('pm-export-mapformat', [['pdf', '=PDF'], ['png', '=PNG']]);
      const mapView = el('input', {attrs: {type: 'checkbox', id: 'pm-export-mapview'}});
      const mapButton = this.button('pm-export-map', 'exportMapButton', () => this.exportMap({
        preset: preset.value, size: size.value, orientation: orientation.value, f: mapFormat.value}, mapView.checked),
      'pm-btn-primary');
      const offline = this.button('pm-export-offline', 'exportOfflineButton', () => this.exportOffline(), 'pm-btn-primary');
      const hint = el('p', {cls: 'pm-tool-hint'});
      this.translated(() => { hint.textContent = this.t('exportOfflineHint'); });
      const check = (input, key) => {
        const text = el('span');
        this.translated(() => { text.textContent = this.t(key); });
        return el('label', {cls: 'pm-check-row'}, [input, text]);
      };
      body.append(heading('exportData'), this.field('exportFormat', format), this.field('exportCrs', crs),
        check(dataView, 'exportView'), el('div', {cls: 'pm-btn-row'}, [dataButton]),
        heading('exportMap'), this.field('exportPreset', preset), this.field('exportSize', size),
        this.field('exportOrientation', orientation), this.field('exportFormat', mapFormat),
        check(mapView, 'exportView'), el('div', {cls: 'pm-btn-row'}, [mapButton]),
        heading('exportOffline'), hint, el('div', {cls: 'pm-btn-row'}, [offline]), this.exportStatus);
    }

    visibleIds() {
      return Array.from(this.app.layers.values()).filter((st) => st.on).map((st) => st.id);
    }

    async download(url, fallback) {
      this.setStatus(this.exportStatus, this.t('exportWorking'), 'busy');
      try {
        const res = await this.app.api(url);
        if (!res.ok) {
          this.setStatus(this.exportStatus, `${this.t('exportError')}: ${await problem(res, this.lang)}`, 'error');
          return;
        }
        const name = fileName(res, fallback);
        saveBlob(await res.blob(), name);
        this.setStatus(this.exportStatus, fmt(this.t('exportDone'), {name}), 'done');
      } catch (err) {
        this.setStatus(this.exportStatus, `${this.t('exportError')}: ${err.message}`, 'error');
      }
    }

    exportData(format, crs, inView) {
      const ids = this.visibleIds();
      if (!ids.length) { this.setStatus(this.exportStatus, this.t('exportNoLayers'), 'error'); return null; }
      const params = new URLSearchParams({collections: ids.join(','), format, crs, lang: this.lang});
      if (inView) params.set('bbox', viewBbox(this.map));
      return this.download(`exports/data?${params}`, `planmap.${format}`);
    }

    exportMap(opts, inView) {
      const params = new URLSearchParams(Object.assign({lang: this.lang}, opts));
      if (opts.preset === 'overview') {
        const ids = this.visibleIds();
        if (!ids.length) { this.setStatus(this.exportStatus, this.t('exportNoLayers'), 'error'); return null; }
        params.set('collections', ids.join(','));
      }
      if (inView) params.set('bbox', viewBbox(this.map));
      return this.download(`exports/map?${params}`, `planmap.${opts.f}`);
    }

    exportOffline() {
      const ids = this.visibleIds();
      if (!ids.length) { this.setStatus(this.exportStatus, this.t('exportNoLayers'), 'error'); return null; }
      const params = new URLSearchParams({collections: ids.join(','), lang: this.lang});
      return this.download(`exports/offline-map?${params}`, 'planmap-offline.zip');
    }

    // ---------------------------------------------------------------- issue 6: signing in

    buildAuth() {
      const body = this.panel('auth', 'authTitle');
      this.tokenInput = el('input', {attrs: {id: 'pm-token', type: 'password', autocomplete: 'off',
        spellcheck: 'false'}});
      const signIn = this.button('pm-signin', 'authSignIn', () => this.signIn(this.tokenInput.value.trim()),
        'pm-btn-primary');
      const signOut = this.button('pm-signout', 'authSignOut', () => this.signOut());
      this.authStatus = el('p', {cls: 'pm-tool-status', attrs: {id: 'pm-auth-status', 'aria-live': 'polite'}});
      this.tokenInput.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') signIn.click(); });
      this.translated(() => this.renderAuth());
      body.append(this.field('authToken', this.tokenInput), el('div', {cls: 'pm-btn-row'}, [signIn, signOut]),
        this.authStatus);
    }

    renderAuth() {
      if (this.authStatus.dataset.state === 'error') return;
      const u = this.user;
      this.authStatus.textContent = u ? fmt(this.t('authAs'), {name: u.name, role: this.t('role_' + u.role)})
        : this.t('authNone');
      this.authStatus.dataset.role = u ? u.role : 'anonymous';
      this.buttons.auth.textContent = u ? u.name : this.t('toolSignIn');
      document.documentElement.dataset.planmapRole = u ? u.role : 'anonymous';
    }

    /** Who a token belongs to (GET map/session answers 200 even for a bad token: no console error). */
    async whoAmI(token) {
      const res = await fetch('map/session', {headers: {Accept: 'application/json', Authorization: 'Bearer ' + token}});
      if (!res.ok) return null;
      const who = await res.json();
      return who && who.valid && who.role !== 'anonymous' ? who : null;
    }

    async restoreSession() {
      let token = null;
      try { token = window.sessionStorage.getItem(TOKEN_KEY); } catch (e) { /* no storage */ }
      if (!token) { this.renderAuth(); return; }
      const who = await this.whoAmI(token).catch(() => null);
      if (!who) { this.forget(); this.renderAuth(); await this.app.reloadCatalog(); return; }
      this.user = who;
      this.renderAuth();
      if (this.report) this.renderReport();
    }

    forget() {
      try { window.sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* no storage */ }
    }

    async signIn(token) {
      delete this.authStatus.dataset.state;
      if (!token) return;
      const who = await this.whoAmI(token).catch(() => null);
      if (!who) {
        this.setStatus(this.authStatus, this.t('authBad'), 'error');
        return;
      }
      try { window.sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* not remembered */ }
      this.user = who;
      this.tokenInput.value = '';
      this.renderAuth();
      await this.app.reloadCatalog();
      if (this.report) this.renderReport();
    }

    async signOut() {
      this.forget();
      this.user = null;
      delete this.authStatus.dataset.state;
      this.renderAuth();
      await this.app.reloadCatalog();
      if (this.report) this.renderReport();
    }
  }

  window.planmap.plugins.push((app) => { if (!app.cfg.offline) new Tools(app); });
})();
