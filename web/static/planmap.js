/*
 * planmap web map: the province's plan layers drawn from planmap's own OGC API – Features.
 * Vietnamese first, English on a toggle. Data values only ever reach the page as text (textContent),
 * never as HTML. Styles, labels and defaults are data (web/styles.json, web/labels.json).
 */
(function () {
  'use strict';

  const LANG_KEY = 'planmap.lang';
  const ADMIN_KEY = 'planmap.admin';
  const TOKEN_KEY = 'planmap.token';
  const SVG_NS = 'http://www.w3.org/2000/svg';

  // ---------------------------------------------------------------- small helpers

  /** An element with text, classes, attributes and children; never parses HTML. */
  function el(tag, opts, children) {
    const node = document.createElement(tag);
    const o = opts || {};
    if (o.cls) node.className = o.cls;
    if (o.text !== undefined && o.text !== null) node.textContent = String(o.text);
    if (o.title) node.title = o.title;
    if (o.attrs) for (const [k, v] of Object.entries(o.attrs)) node.setAttribute(k, v);
    if (o.data) for (const [k, v] of Object.entries(o.data)) node.dataset[k] = v;
    if (o.style) Object.assign(node.style, o.style);
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  /** A small inline SVG icon from path data (constants only). */
  function icon(paths, size) {
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', size || 18);
    svg.setAttribute('height', size || 18);
    svg.setAttribute('aria-hidden', 'true');
    for (const d of paths) {
      const p = document.createElementNS(SVG_NS, 'path');
      p.setAttribute('d', d);
      svg.append(p);
    }
    return svg;
  }

  const ICONS = {
    ruler: ['M3 17l14-14 4 4-14 14H3v-4z', 'M7 13l2 2M10 10l2 2M13 7l2 2'],
    area: ['M4 20V8l8-5 8 5v12H4z', 'M4 20l16-12'],
    clear: ['M6 6l12 12M18 6L6 18'],
    search: ['M10 4a6 6 0 1 1 0 12a6 6 0 0 1 0-12z', 'M15 15l5 5'],
  };

  function cssId(id) {
    return String(id).replace(/[^A-Za-z0-9_-]/g, '_');
  }

  function geometryKind(type) {
    const t = String(type || '').toLowerCase();
    if (t.includes('point')) return 'point';
    if (t.includes('line')) return 'line';
    if (t.includes('polygon')) return 'polygon';
    return 'polygon';
  }

  function storageGet(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  function storageSet(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: not remembered */ }
  }

  /** A name folded for search: no diacritics (đ → d), lower case. */
  function fold(text) {
    return String(text || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[đĐ]/g, 'd')
      .toLowerCase().replace(/\s+/g, ' ').trim();
  }

  function sessionGet(key) {
    try { return window.sessionStorage.getItem(key); } catch (e) { return null; }
  }

  /** Geodesic area (m²) of a ring of LatLngs on the WGS84 sphere. */
  function ringArea(latlngs) {
    const r = 6378137;
    const rad = Math.PI / 180;
    let sum = 0;
    for (let i = 0; i < latlngs.length; i++) {
      const a = latlngs[i];
      const b = latlngs[(i + 1) % latlngs.length];
      sum += (b.lng - a.lng) * rad * (2 + Math.sin(a.lat * rad) + Math.sin(b.lat * rad));
    }
    return Math.abs(sum * r * r / 2);
  }

  // ---------------------------------------------------------------- the application

  class PlanMap {
    constructor(map, cfg, handles) {
      this.map = map;
      this.cfg = cfg;
      this.labels = cfg.labels;
      this.styles = cfg.styles;
      this.lang = storageGet(LANG_KEY) === 'en' ? 'en' : 'vi';
      this.admin = storageGet(ADMIN_KEY) === 'pre2025' ? 'pre2025' : '2025';
      this.layers = new Map();
      this.translators = [];
      this.measure = null;
      this.backgrounds = {};
      if (handles && handles.hillshade) this.backgrounds.relief = handles.hillshade;
      if (cfg.osm && cfg.osm.url) {
        this.backgrounds.osm = L.tileLayer(cfg.osm.url, {maxZoom: 19, attribution: cfg.osm.attribution});
      }
      window.planmapReady = false;
      proj4.defs('EPSG:9213', cfg.vn2000);
      this.toVn2000 = proj4('EPSG:4326', 'EPSG:9213');
      map.setMinZoom(6);
      map.setMaxZoom(19); // no tile layer sets it; marker clustering needs it
      this.setupPanes();
      map.fitBounds(cfg.home, {padding: [10, 10]});
      this.buildChrome();
      this.start();
    }

    /** fetch() of a planmap URL, with the signed-in planner's token (sessionStorage) if there is one. */
    api(url, opts) {
      const o = Object.assign({}, opts || {});
      const headers = new Headers(o.headers || {});
      const token = sessionGet(TOKEN_KEY);
      if (token) headers.set('Authorization', 'Bearer ' + token);
      o.headers = headers;
      return fetch(url, o);
    }

    t(key) {
      const ui = this.labels.ui;
      return (ui[this.lang] && ui[this.lang][key]) || ui.vi[key] || key;
    }

    /** Register a function re-run whenever the language changes (and run it now). */
    translated(fn) {
      this.translators.push(fn);
      fn();
    }

    setupPanes() {
      const panes = {admin: 405, polygons: 410, lines: 420, points: 430, measure: 640};
      for (const [name, z] of Object.entries(panes)) {
        const pane = this.map.createPane('pm-' + name);
        pane.style.zIndex = z;
      }
      this.map.getPane('pm-measure').style.pointerEvents = 'none';
    }

    // ---------------------------------------------------------------- chrome: controls around the map

    buildChrome() {
      const map = this.map;
      const corners = map._controlCorners;
      corners.topcenter = L.DomUtil.create('div', 'leaflet-top pm-top-center', map._controlContainer);
      L.control.scale({imperial: false, position: 'bottomleft', maxWidth: 160}).addTo(map);
      this.buildHeader();
      this.buildMeasure();
      this.buildCoordinates();
      this.buildNote();
      this.buildPanel();
      this.buildAttribution();
      this.buildLegend();
      for (const plugin of window.planmap.plugins) plugin(this);
      this.translated(() => {
        document.documentElement.lang = this.lang;
        document.title = this.t('title');
        const fs = map.getContainer().querySelector('.leaflet-control-zoom-fullscreen');
        if (fs) fs.title = this.t('fullscreen');
        const zin = map.getContainer().querySelector('.leaflet-control-zoom-in');
        const zout = map.getContainer().querySelector('.leaflet-control-zoom-out');
        if (zin) zin.title = this.lang === 'vi' ? 'Phóng to' : 'Zoom in';
        if (zout) zout.title = this.lang === 'vi' ? 'Thu nhỏ' : 'Zoom out';
      });
    }

    control(position, build) {
      const Ctl = L.Control.extend({
        onAdd: () => {
          const box = build();
          L.DomEvent.disableClickPropagation(box);
          L.DomEvent.disableScrollPropagation(box);
          return box;
        },
      });
      return new Ctl({position}).addTo(this.map);
    }

    buildHeader() {
      this.control('topcenter', () => {
        const title = el('h1', {cls: 'pm-title'});
        const input = el('input', {cls: 'pm-search-input', attrs: {type: 'search', autocomplete: 'off', id: 'pm-search'}});
        const button = el('button', {cls: 'pm-search-button', attrs: {type: 'submit'}}, [icon(ICONS.search, 16)]);
        const form = el('form', {cls: 'pm-search', attrs: {role: 'search'}}, [input, button]);
        const results = el('ul', {cls: 'pm-search-results', attrs: {id: 'pm-search-results'}});
        const lang = el('button', {cls: 'pm-lang', attrs: {type: 'button', id: 'pm-lang'}});
        const api = el('a', {cls: 'pm-api-link', attrs: {href: '?f=html'}});
        form.addEventListener('submit', (ev) => {
          ev.preventDefault();
          this.search(input.value, results);
        });
        input.addEventListener('keydown', (ev) => {
          if (ev.key === 'Escape') { results.replaceChildren(); input.value = ''; }
        });
        input.addEventListener('focus', () => results.classList.remove('pm-folded'));
        this.searchResults = results;
        lang.addEventListener('click', () => this.setLang(this.lang === 'vi' ? 'en' : 'vi'));
        this.translated(() => {
          title.textContent = this.t('title');
          input.placeholder = this.t('search');
          input.setAttribute('aria-label', this.t('search'));
          button.title = this.t('searchButton');
          button.setAttribute('aria-label', this.t('searchButton'));
          lang.textContent = this.t('language');
          lang.title = this.t('languageTitle');
          api.textContent = this.t('apiLink');
        });
        this.headerTools = el('div', {cls: 'pm-header-tools'});
        return el('div', {cls: 'pm-header'}, [
          el('div', {cls: 'pm-header-row'}, [title, lang, this.cfg.offline ? null : api]), form, results,
          this.headerTools]);
      });
    }

    setLang(lang) {
      this.lang = lang;
      storageSet(LANG_KEY, lang);
      for (const fn of this.translators) fn();
      this.map.closePopup();
    }

    // ---------------------------------------------------------------- measurement

    buildMeasure() {
      this.measureLayer = L.layerGroup().addTo(this.map);
      this.control('topleft', () => {
        const make = (mode, paths) => {
          const b = el('a', {cls: 'pm-measure-' + mode, attrs: {href: '#', role: 'button'}}, [icon(paths)]);
          b.addEventListener('click', (ev) => {
            ev.preventDefault();
            if (mode === 'clear') { this.stopMeasure(); this.measureLayer.clearLayers(); return; }
            if (this.measure && this.measure.mode === mode) this.stopMeasure();
            else this.startMeasure(mode);
          });
          this.translated(() => {
            const key = {distance: 'measureDistance', area: 'measureArea', clear: 'measureClear'}[mode];
            b.title = this.t(key);
            b.setAttribute('aria-label', this.t(key));
          });
          return b;
        };
        return el('div', {cls: 'leaflet-bar pm-measure'}, [
          make('distance', ICONS.ruler), make('area', ICONS.area), make('clear', ICONS.clear)]);
      });
      this.onMeasureClick = (ev) => this.addMeasurePoint(ev.latlng);
      this.onMeasureMove = (ev) => this.updateMeasure(ev.latlng);
      this.onMeasureKey = (ev) => { if (ev.key === 'Escape') this.stopMeasure(); };
      this.onMeasureDbl = () => this.stopMeasure();
    }

    startMeasure(mode) {
      this.stopMeasure();
      const opts = {pane: 'pm-measure', className: 'pm-measure-shape', color: '#d7301f', weight: 2.5,
                    dashArray: '6 4', interactive: false, fillOpacity: 0.12};
      const shape = mode === 'area' ? L.polygon([], opts) : L.polyline([], opts);
      shape.addTo(this.measureLayer);
      const tip = L.tooltip({permanent: true, direction: 'right', offset: [12, 0], className: 'pm-measure-tip'});
      this.measure = {mode, points: [], shape, tip};
      this.map.doubleClickZoom.disable();
      this.map.getContainer().classList.add('pm-measuring');
      this.map.on('click', this.onMeasureClick);
      this.map.on('mousemove', this.onMeasureMove);
      this.map.on('dblclick', this.onMeasureDbl);
      document.addEventListener('keydown', this.onMeasureKey);
      this.setMeasureText(this.t('measureHint'), this.map.getCenter());
    }

    stopMeasure() {
      const m = this.measure;
      if (!m) return;
      this.measure = null;
      this.map.off('click', this.onMeasureClick);
      this.map.off('mousemove', this.onMeasureMove);
      this.map.off('dblclick', this.onMeasureDbl);
      document.removeEventListener('keydown', this.onMeasureKey);
      this.map.getContainer().classList.remove('pm-measuring');
      setTimeout(() => this.map.doubleClickZoom.enable(), 0);
      if (m.points.length < 2) { this.measureLayer.removeLayer(m.shape); this.map.closeTooltip(m.tip); return; }
      m.shape.setLatLngs(m.points);
      const last = m.points[m.points.length - 1];
      m.shape.bindTooltip(this.measureText(m.points, m.mode), {permanent: true, className: 'pm-measure-tip',
                                                              direction: 'right', offset: [12, 0]});
      m.shape.openTooltip(last);
      this.map.closeTooltip(m.tip);
    }

    addMeasurePoint(latlng) {
      const m = this.measure;
      if (!m) return;
      const prev = m.points[m.points.length - 1];
      if (prev && this.map.latLngToContainerPoint(prev).distanceTo(this.map.latLngToContainerPoint(latlng)) < 3) return;
      m.points.push(latlng);
      this.updateMeasure(latlng);
    }

    updateMeasure(cursor) {
      const m = this.measure;
      if (!m || !m.points.length) return;
      const pts = m.points.concat([cursor]);
      m.shape.setLatLngs(pts);
      this.setMeasureText(this.measureText(pts, m.mode), cursor);
    }

    setMeasureText(text, latlng) {
      const m = this.measure;
      m.tip.setContent(el('span', {text}));
      m.tip.setLatLng(latlng);
      if (!this.map.hasLayer(m.tip)) m.tip.addTo(this.map);
    }

    measureText(pts, mode) {
      const nf = (v, d) => v.toLocaleString(this.lang === 'vi' ? 'vi-VN' : 'en-GB', {maximumFractionDigits: d});
      if (mode === 'area') {
        const a = pts.length >= 3 ? ringArea(pts) : 0;
        return a >= 1e6 ? `${nf(a / 1e6, 2)} km² (${nf(a / 1e4, 0)} ha)` : `${nf(a / 1e4, 2)} ha (${nf(a, 0)} m²)`;
      }
      let d = 0;
      for (let i = 1; i < pts.length; i++) d += this.map.distance(pts[i - 1], pts[i]);
      return d >= 1000 ? `${nf(d / 1000, 2)} km` : `${nf(d, 0)} m`;
    }

    // ---------------------------------------------------------------- coordinates

    buildCoordinates() {
      this.control('bottomleft', () => {
        const wgs = el('div', {cls: 'pm-coords-wgs'});
        const vn = el('div', {cls: 'pm-coords-vn2000'});
        const box = el('div', {cls: 'pm-coords', attrs: {id: 'pm-coords', 'aria-live': 'off'}}, [wgs, vn]);
        const show = (latlng) => {
          const nf = (v, d) => v.toLocaleString(this.lang === 'vi' ? 'vi-VN' : 'en-GB',
            {minimumFractionDigits: d, maximumFractionDigits: d});
          const [x, y] = this.toVn2000.forward([latlng.lng, latlng.lat]);
          box.dataset.lat = latlng.lat.toFixed(6);
          box.dataset.lon = latlng.lng.toFixed(6);
          box.dataset.x = x.toFixed(2);
          box.dataset.y = y.toFixed(2);
          wgs.textContent = `${this.t('wgs84')}: ${nf(latlng.lat, 5)}° N, ${nf(latlng.lng, 5)}° E`;
          vn.textContent = this.lang === 'vi'
            ? `${this.t('vn2000')}: X ${nf(y, 1)} m, Y ${nf(x, 1)} m`
            : `${this.t('vn2000')}: E ${nf(x, 1)} m, N ${nf(y, 1)} m`;
        };
        this.map.on('mousemove', (ev) => { this.lastMouse = ev.latlng; show(ev.latlng); });
        this.translated(() => {
          if (this.lastMouse) show(this.lastMouse);
          else { wgs.textContent = this.t('coordsHint'); vn.textContent = this.t('vn2000'); }
        });
        return box;
      });
    }

    // ---------------------------------------------------------------- accuracy note, attribution

    buildNote() {
      this.noteList = el('ul', {cls: 'pm-note-list'});
      this.noteHead = el('strong');
      this.control('bottomleft', () => el('div', {cls: 'pm-note', attrs: {id: 'pm-note', role: 'note'}},
        [this.noteHead, this.noteList]));
    }

    renderNote() {
      const items = [];
      for (const st of this.layers.values()) {
        const mix = st.meta.accuracy || {};
        const inexact = Object.entries(mix).filter(([k]) => k !== 'exact');
        if (!inexact.length) continue;
        const parts = inexact.map(([k, n]) => `${this.valueText('accuracy', k)} ${n}`).join(', ');
        items.push(el('li', {data: {layer: st.id}}, [el('span', {cls: 'pm-note-layer', text: this.title(st)}),
          document.createTextNode(` (${parts})`)]));
      }
      this.noteHead.textContent = items.length ? this.t('note') : this.t('noteAllExact');
      this.noteList.replaceChildren(...items);
    }

    buildAttribution() {
      this.attribution = el('div', {cls: 'pm-attribution leaflet-control-attribution'});
      this.control('bottomright', () => this.attribution);
    }

    renderAttribution() {
      const texts = new Set(['Leaflet', 'planmap']);
      for (const st of this.layers.values()) if (st.on && st.meta.attribution) texts.add(st.meta.attribution);
      if (this.backgrounds.osm && this.map.hasLayer(this.backgrounds.osm)) texts.add(this.cfg.osm.attribution);
      this.attribution.textContent = Array.from(texts).join(' | ');
    }

    // ---------------------------------------------------------------- layer panel

    buildPanel() {
      this.panelBody = el('div', {cls: 'pm-panel-body'});
      const head = el('button', {cls: 'pm-panel-head', attrs: {type: 'button', 'aria-expanded': 'true'}});
      const panel = el('div', {cls: 'pm-panel leaflet-bar', attrs: {id: 'pm-panel'}}, [head, this.panelBody]);
      head.addEventListener('click', () => {
        const open = panel.classList.toggle('pm-collapsed');
        head.setAttribute('aria-expanded', String(!open));
      });
      this.translated(() => { head.textContent = this.t('layers'); });
      this.control('topright', () => panel);
    }

    renderPanel() {
      const body = this.panelBody;
      body.replaceChildren();
      // administrative units before / after 1 July 2025
      const adminBox = el('fieldset', {cls: 'pm-admin'});
      const legend = el('legend');
      adminBox.append(legend);
      for (const [value, key] of [['2025', 'admin2025'], ['pre2025', 'adminPre2025']]) {
        const input = el('input', {attrs: {type: 'radio', name: 'pm-admin', value}, data: {admin: value}});
        input.checked = this.admin === value;
        input.addEventListener('change', () => { if (input.checked) this.setAdmin(value); });
        const text = el('span');
        this.translated(() => { text.textContent = this.t(key); });
        adminBox.append(el('label', {cls: 'pm-admin-option'}, [input, text]));
      }
      this.translated(() => { legend.textContent = this.t('admin'); });
      body.append(adminBox);
      // collections by group
      const order = this.cfg.groupOrder || Object.keys(this.labels.groups);
      const groups = new Map();
      for (const st of this.layers.values()) {
        const g = order.includes(st.meta.group) ? st.meta.group : 'other';
        if (!groups.has(g)) groups.set(g, []);
        groups.get(g).push(st);
      }
      for (const g of order) {
        if (!groups.has(g)) continue;
        const heading = el('h2', {cls: 'pm-group-title', data: {group: g}});
        this.translated(() => { heading.textContent = this.labels.groups[g][this.lang]; });
        const list = el('ul', {cls: 'pm-group', data: {group: g}});
        for (const st of groups.get(g)) list.append(this.layerRow(st));
        body.append(el('section', {cls: 'pm-group-box'}, [heading, list]));
      }
      // backgrounds
      const bgHead = el('h2', {cls: 'pm-group-title'});
      this.translated(() => { bgHead.textContent = this.t('background'); });
      const bgList = el('ul', {cls: 'pm-group'});
      for (const [key, layer] of Object.entries(this.backgrounds)) {
        const input = el('input', {attrs: {type: 'checkbox'}, data: {background: key}});
        input.checked = this.map.hasLayer(layer);
        input.addEventListener('change', () => {
          if (input.checked) layer.addTo(this.map); else this.map.removeLayer(layer);
          this.renderAttribution();
        });
        const text = el('span');
        this.translated(() => { text.textContent = this.t(key === 'relief' ? 'relief' : 'osm'); });
        bgList.append(el('li', {}, [el('label', {cls: 'pm-layer-row'}, [input, text])]));
      }
      if (Object.keys(this.backgrounds).length) body.append(el('section', {cls: 'pm-group-box'}, [bgHead, bgList]));
    }

    layerRow(st) {
      const input = el('input', {attrs: {type: 'checkbox', id: 'pm-toggle-' + cssId(st.id)}, data: {layer: st.id}});
      input.checked = st.on;
      input.addEventListener('change', () => this.setLayer(st, input.checked));
      st.checkbox = input;
      st.countEl = el('span', {cls: 'pm-count'});
      const name = el('span', {cls: 'pm-layer-name'});
      this.translated(() => { name.textContent = this.title(st); });
      const swatch = this.swatch(st, st.style.base);
      st.row = el('li', {cls: 'pm-layer', data: {layer: st.id, state: st.on ? 'loading' : 'off'}},
        [el('label', {cls: 'pm-layer-row', attrs: {for: input.id}}, [input, swatch, name, st.countEl])]);
      return st.row;
    }

    title(st) {
      const titles = st.meta.titles || {};
      return titles[this.lang] || titles.vi || st.meta.title || st.id;
    }

    // ---------------------------------------------------------------- legend

    buildLegend() {
      this.legendBody = el('div', {cls: 'pm-legend-body'});
      const head = el('h2', {cls: 'pm-legend-title'});
      this.translated(() => { head.textContent = this.t('legend'); this.renderLegend(); });
      this.control('bottomright', () => el('div', {cls: 'pm-legend leaflet-bar', attrs: {id: 'pm-legend'}},
        [head, this.legendBody]));
    }

    renderLegend() {
      if (!this.legendBody) return;
      const blocks = [];
      for (const st of this.layers.values()) {
        if (!st.on) continue;
        const rows = [];
        const spec = st.style;
        if (spec.by && spec.classes) {
          const seen = st.seen.size ? Array.from(st.seen) : Object.keys(spec.classes);
          for (const value of Object.keys(spec.classes).filter((v) => seen.includes(v))
            .concat(seen.filter((v) => !(v in spec.classes)))) {
            rows.push(this.legendRow(st, this.styleFor(st, {[spec.by]: value}), this.valueText(spec.by, value)));
          }
        }
        if (spec.phase && spec.phase.classes) {
          for (const value of Object.keys(spec.phase.classes)) {
            const props = {[spec.phase.field]: value};
            const sty = Object.assign({}, spec.base, spec.phase.classes[value], {fillOpacity: 0});
            rows.push(this.legendRow(st, sty, `${this.fieldLabel(spec.phase.field)} ${this.valueText(spec.phase.field, value)}`, props));
          }
        }
        if (!rows.length) rows.push(this.legendRow(st, spec.base, this.title(st)));
        blocks.push(el('div', {cls: 'pm-legend-layer', data: {layer: st.id}}, [
          el('h3', {text: this.title(st)}), el('ul', {}, rows)]));
      }
      if (!blocks.length) blocks.push(el('p', {cls: 'pm-legend-empty', text: this.t('legendEmpty')}));
      this.legendBody.replaceChildren(...blocks);
    }

    legendRow(st, sty, text) {
      return el('li', {}, [this.swatch(st, sty), el('span', {text})]);
    }

    /** A symbol (SVG) drawn with a path style: a square for areas, a stroke for lines, a dot for points. */
    swatch(st, sty) {
      const svg = document.createElementNS(SVG_NS, 'svg');
      svg.setAttribute('viewBox', '0 0 20 14');
      svg.setAttribute('width', '20');
      svg.setAttribute('height', '14');
      svg.setAttribute('class', 'pm-swatch');
      let shape;
      if (st.kind === 'point') {
        shape = document.createElementNS(SVG_NS, 'circle');
        shape.setAttribute('cx', '10');
        shape.setAttribute('cy', '7');
        shape.setAttribute('r', String(Math.min(6, Math.max(3, sty.radius || 5))));
      } else if (st.kind === 'line') {
        shape = document.createElementNS(SVG_NS, 'path');
        shape.setAttribute('d', 'M1 10 L8 4 L12 9 L19 3');
        shape.setAttribute('fill', 'none');
      } else {
        shape = document.createElementNS(SVG_NS, 'rect');
        shape.setAttribute('x', '2');
        shape.setAttribute('y', '2');
        shape.setAttribute('width', '16');
        shape.setAttribute('height', '10');
      }
      const stroke = sty.stroke === false ? 'none' : (sty.color || '#3388ff');
      shape.setAttribute('stroke', stroke);
      shape.setAttribute('stroke-width', String(Math.min(4, sty.weight === undefined ? 2 : sty.weight)));
      if (sty.dashArray) shape.setAttribute('stroke-dasharray', sty.dashArray);
      if (st.kind !== 'line') {
        const filled = sty.fill !== false;
        shape.setAttribute('fill', filled ? (sty.fillColor || stroke) : 'none');
        shape.setAttribute('fill-opacity', String(filled ? Math.max(0.15, sty.fillOpacity === undefined ? 0.2 : sty.fillOpacity) : 0));
      }
      svg.append(shape);
      return svg;
    }

    // ---------------------------------------------------------------- labels

    fieldLabel(field) {
      const f = this.labels.fields[field];
      return (f && (f[this.lang] || f.vi)) || field;
    }

    valueText(field, value) {
      if (value === null || value === undefined) return '';
      const table = this.labels.values[field];
      const entry = table && table[String(value)];
      if (entry) return entry[this.lang] || entry.vi;
      if (typeof value === 'boolean') return this.t(value ? 'yes' : 'no');
      if (typeof value === 'number') {
        return /(^|_)(id|code|year)$/.test(field) ? String(value)
          : value.toLocaleString(this.lang === 'vi' ? 'vi-VN' : 'en-GB', {maximumFractionDigits: 2});
      }
      if (typeof value === 'object') return JSON.stringify(value);
      return String(value);
    }

    // ---------------------------------------------------------------- layers

    /** The collections document: from the API, or embedded in an offline copy of the page. */
    async fetchCatalog() {
      if (this.cfg.offline) return {collections: this.cfg.offline.collections};
      const res = await this.api('collections', {headers: {Accept: 'application/json'}});
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.json();
    }

    layerState(meta, defaults) {
      const kind = geometryKind(meta.geometryType);
      const spec = this.styles.layers[meta.id] || {};
      const style = Object.assign({}, spec, {base: Object.assign({}, this.styles.fallback[kind], spec.base || {})});
      const cluster = kind === 'point' && (spec.cluster !== undefined ? spec.cluster
        : meta.numberOfFeatures > (this.styles.clusterThreshold || 100));
      const st = {
        id: meta.id, meta, kind, style, cluster,
        byBbox: !this.cfg.offline && meta.numberOfFeatures > (this.styles.bboxThreshold || 200),
        on: defaults.has(meta.id), seen: new Set(), count: 0, loaded: false, loadedBounds: null, abort: null,
        doc: null,
      };
      if (this.cfg.offline) st.on = true; // an offline copy holds just the layers that were on
      else if (meta.id === 'communes') st.on = st.on && this.admin === '2025';
      else if (meta.id === 'districts') st.on = this.admin === 'pre2025' || defaults.has('districts');
      st.group = cluster
        ? L.markerClusterGroup({
          chunkedLoading: true, showCoverageOnHover: false, disableClusteringAtZoom: 14, maxClusterRadius: 50,
          iconCreateFunction: (c) => this.clusterIcon(st, c)})
        : L.featureGroup();
      return st;
    }

    async start() {
      let doc;
      try {
        doc = await this.fetchCatalog();
      } catch (err) {
        this.noteHead.textContent = this.t('loadError');
        console.warn('planmap: cannot read the collections', err);
        return;
      }
      const defaults = new Set(this.styles.defaults || []);
      for (const meta of doc.collections) this.layers.set(meta.id, this.layerState(meta, defaults));
      this.renderPanel();
      this.renderNote();
      this.renderLegend();
      this.renderAttribution();
      this.translated(() => { this.renderNote(); this.updateCounts(); });
      this.map.on('moveend', () => this.refreshVisible());
      const first = Array.from(this.layers.values()).filter((st) => st.on).map((st) => this.setLayer(st, true));
      await Promise.all(first);
      window.planmapReady = true;
      window.planmapReadyAt = performance.now();
      document.documentElement.dataset.planmapReady = 'true';
    }

    /** Re-read the collections (after signing in or out): new layers are listed (off), vanished ones removed. */
    async reloadCatalog() {
      const doc = await this.fetchCatalog();
      const ids = new Set(doc.collections.map((m) => m.id));
      for (const [id, st] of Array.from(this.layers.entries())) {
        if (ids.has(id)) continue;
        if (st.abort) st.abort.abort();
        this.map.removeLayer(st.group);
        this.layers.delete(id);
      }
      for (const meta of doc.collections) {
        const st = this.layers.get(meta.id);
        if (st) st.meta = meta;
        else this.layers.set(meta.id, this.layerState(meta, new Set()));
      }
      this.renderPanel();
      this.renderNote();
      this.renderLegend();
      this.renderAttribution();
      this.updateCounts();
      document.documentElement.dataset.planmapLayers = Array.from(this.layers.keys()).join(',');
    }

    /** Draw a layer again from the server (e.g. the proposals layer after a save). */
    async reloadLayer(id) {
      const st = this.layers.get(id);
      if (!st) return;
      st.loaded = false;
      st.loadedBounds = null;
      await this.setLayer(st, true);
    }

    clusterIcon(st, cluster) {
      const n = cluster.getChildCount();
      const size = n < 10 ? 30 : n < 100 ? 36 : 42;
      const inner = el('div', {style: {background: st.style.clusterColor || '#636363'}}, [el('span', {text: n})]);
      return L.divIcon({html: inner, className: `marker-cluster pm-cluster pm-f pm-l-${cssId(st.id)}`,
        iconSize: L.point(size, size)});
    }

    setAdmin(value) {
      this.admin = value;
      storageSet(ADMIN_KEY, value);
      const communes = this.layers.get('communes');
      const districts = this.layers.get('districts');
      if (communes) this.setLayer(communes, value === '2025');
      if (districts) this.setLayer(districts, value === 'pre2025');
      const province = this.layers.get('province');
      if (province && province.doc) this.draw(province, province.doc);
    }

    async setLayer(st, on) {
      st.on = on;
      if (st.checkbox) st.checkbox.checked = on;
      if (on) {
        st.group.addTo(this.map);
        this.renderLegend();
        this.renderAttribution();
        await this.load(st);
      } else {
        if (st.abort) st.abort.abort();
        this.map.removeLayer(st.group);
        this.setState(st, 'off');
        this.renderLegend();
        this.renderAttribution();
      }
    }

    refreshVisible() {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(() => {
        for (const st of this.layers.values()) if (st.on && st.byBbox) this.load(st);
      }, 150);
    }

    setState(st, state) {
      if (st.row) st.row.dataset.state = state;
      this.updateCount(st);
    }

    updateCounts() {
      for (const st of this.layers.values()) this.updateCount(st);
    }

    updateCount(st) {
      if (!st.countEl) return;
      const state = st.row ? st.row.dataset.state : '';
      let text = '';
      if (state === 'loading') text = '…';
      else if (state === 'error') text = '!';
      else if (st.on && st.loaded) text = String(st.count);
      st.countEl.textContent = text;
      st.countEl.title = state === 'error' ? this.t('loadError')
        : state === 'loading' ? this.t('loading')
          : st.truncated ? this.t('truncated').replace('{n}', st.count) : `${st.count} ${this.t('features')}`;
      if (st.row) st.row.dataset.count = String(st.count);
    }

    /** Fetch a collection's features: whole for small layers, by the visible bbox (padded) for large ones. */
    async load(st) {
      let bbox = null;
      const view = this.map.getBounds();
      const fresh = st.loaded && (!st.byBbox || (st.loadedBounds && st.loadedBounds.contains(view)));
      if (fresh) {
        if (!st.abort) this.setState(st, 'ready');
        return;
      }
      if (this.cfg.offline) {
        const doc = (window.PLANMAP_DATA || {})[st.id] || {type: 'FeatureCollection', features: []};
        st.doc = doc;
        st.loaded = true;
        this.draw(st, doc);
        this.setState(st, 'ready');
        return;
      }
      if (st.byBbox) bbox = view.pad(0.5);
      if (st.abort) st.abort.abort();
      const ctl = new AbortController();
      st.abort = ctl;
      const params = new URLSearchParams({limit: '10000'});
      if (bbox) {
        const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
        params.set('bbox', [clamp(bbox.getWest(), -180, 180), clamp(bbox.getSouth(), -90, 90),
          clamp(bbox.getEast(), -180, 180), clamp(bbox.getNorth(), -90, 90)].map((v) => v.toFixed(5)).join(','));
      }
      this.setState(st, 'loading');
      st.timing = {requested: performance.now()};
      try {
        const res = await this.api(`collections/${encodeURIComponent(st.id)}/items?${params}`,
          {headers: {Accept: 'application/geo+json'}, signal: ctl.signal});
        if (!res.ok) throw new Error('HTTP ' + res.status);
        const doc = await res.json();
        st.timing.received = performance.now();
        if (ctl.signal.aborted || !st.on) return;
        st.doc = doc;
        st.truncated = doc.numberMatched > doc.numberReturned;
        st.loadedBounds = bbox;
        st.loaded = true;
        this.draw(st, doc);
        st.timing.drawn = performance.now();
        this.setState(st, 'ready');
      } catch (err) {
        if (err.name === 'AbortError') return;
        console.warn(`planmap: layer ${st.id} failed to load`, err);
        this.setState(st, 'error');
      } finally {
        if (st.abort === ctl) st.abort = null;
      }
    }

    styleFor(st, props) {
      const spec = st.style;
      const sty = Object.assign({}, spec.base);
      if (spec.by && spec.classes) Object.assign(sty, spec.classes[String(props[spec.by])] || {});
      if (spec.phase && spec.phase.classes) Object.assign(sty, spec.phase.classes[String(props[spec.phase.field])] || {});
      return sty;
    }

    draw(st, doc) {
      const paneName = 'pm-' + (st.style.pane || {point: 'points', line: 'lines', polygon: 'polygons'}[st.kind]);
      const cls = `pm-f pm-l-${cssId(st.id)}`;
      const drawn = [];
      st.seen = new Set();
      for (const f of doc.features || []) {
        const props = f.properties || {};
        if (st.id === 'province' && props.version && props.version !== this.admin) continue;
        if (!f.geometry) continue;
        const sty = Object.assign(this.styleFor(st, props), {pane: paneName, className: cls});
        if (st.style.by && props[st.style.by] !== undefined && props[st.style.by] !== null) {
          st.seen.add(String(props[st.style.by]));
        }
        let layer;
        try {
          layer = L.GeoJSON.geometryToLayer(f, {
            pointToLayer: (feature, latlng) => L.circleMarker(latlng, sty),
            style: () => sty,
          });
        } catch (err) {
          continue; // an empty or invalid geometry is skipped, not fatal
        }
        if (layer.setStyle && st.kind !== 'point') layer.setStyle(sty);
        layer.feature = f;
        layer.on('click', (ev) => {
          if (this.measure) return;
          L.DomEvent.stopPropagation(ev);
          this.openPopup(st, f, ev.latlng);
        });
        drawn.push(layer);
      }
      st.group.clearLayers();
      if (st.cluster) st.group.addLayers(drawn);
      else for (const layer of drawn) st.group.addLayer(layer);
      st.count = drawn.length;
      this.updateCount(st);
      this.renderLegend();
    }

    // ---------------------------------------------------------------- popups

    openPopup(st, feature, latlng) {
      L.popup({maxWidth: 380, className: 'pm-popup-wrap', autoPanPaddingTopLeft: [60, 240],
        autoPanPaddingBottomRight: [300, 60]})
        .setLatLng(latlng)
        .setContent(() => this.popupContent(st, feature))
        .openOn(this.map);
    }

    popupContent(st, feature) {
      const props = feature.properties || {};
      const name = props.name || props.full_name || props.ref || `#${feature.id}`;
      const rows = [];
      for (const [key, value] of Object.entries(props)) {
        if (value === null || value === undefined || value === '') continue;
        if (st.id === 'proposals' && key === 'report') continue; // the whole check report: too long for a popup
        rows.push(el('tr', {data: {field: key}}, [el('th', {text: this.fieldLabel(key)}),
          el('td', {text: this.valueText(key, value)})]));
      }
      return el('div', {cls: 'pm-popup', data: {layer: st.id, fid: String(feature.id)}}, [
        el('div', {cls: 'pm-popup-layer', text: this.title(st)}),
        el('h3', {cls: 'pm-popup-title', text: name}),
        el('div', {cls: 'pm-popup-scroll'}, [el('table', {cls: 'pm-popup-table'}, [el('tbody', {}, rows)])]),
      ]);
    }

    // ---------------------------------------------------------------- search

    async search(query, list) {
      const q = String(query || '').trim();
      list.replaceChildren();
      if (!q) return;
      let doc;
      try {
        if (this.cfg.offline) {
          doc = {results: this.searchOffline(q, 12)};
        } else {
          const res = await this.api(`search?${new URLSearchParams({q, limit: '12'})}`,
            {headers: {Accept: 'application/json'}});
          if (!res.ok) throw new Error('HTTP ' + res.status);
          doc = await res.json();
        }
      } catch (err) {
        list.append(el('li', {cls: 'pm-search-none', text: this.t('searchError')}));
        return;
      }
      if (!doc.results.length) {
        list.append(el('li', {cls: 'pm-search-none', text: this.t('searchNone')}));
        return;
      }
      for (const hit of doc.results) {
        const st = this.layers.get(hit.collection);
        const button = el('button', {cls: 'pm-search-hit', attrs: {type: 'button'},
          data: {layer: hit.collection, fid: String(hit.id)}}, [
          el('span', {cls: 'pm-search-name', text: hit.name}),
          el('span', {cls: 'pm-search-layer', text: st ? this.title(st) : hit.collection})]);
        button.addEventListener('click', () => this.goTo(hit));
        list.append(el('li', {}, [button]));
      }
      this.goTo(doc.results[0]);
    }

    /** Search the embedded data of an offline copy: every word of the query in the folded name. */
    searchOffline(q, limit) {
      const words = fold(q).split(' ').filter(Boolean);
      const want = fold(q);
      const hits = [];
      for (const [id, doc] of Object.entries(window.PLANMAP_DATA || {})) {
        for (const f of doc.features || []) {
          const p = f.properties || {};
          const name = p.name || p.full_name || p.ref;
          if (!name || !f.geometry) continue;
          const folded = fold(name);
          if (!words.every((w) => folded.includes(w))) continue;
          const rank = folded === want ? 0 : folded.startsWith(want) ? 1 : folded.includes(want) ? 2 : 3;
          hits.push({rank, collection: id, id: f.id, name: String(name), feature: f});
        }
      }
      hits.sort((a, b) => a.rank - b.rank || a.name.length - b.name.length || a.name.localeCompare(b.name));
      return hits.slice(0, limit).map((h) => {
        const b = L.geoJSON(h.feature).getBounds();
        return {collection: h.collection, id: h.id, name: h.name, feature: h.feature,
          bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]};
      });
    }

    /** Zoom to a search hit, switch its layer on and show its popup. */
    async goTo(hit) {
      const [w, s, e, n] = hit.bbox;
      const bounds = L.latLngBounds([s, w], [n, e]);
      if (w === e && s === n) this.map.setView(bounds.getCenter(), Math.max(this.map.getZoom(), 15));
      else this.map.fitBounds(bounds, {maxZoom: 15, padding: [40, 40]});
      this.lastHit = hit;
      const st = this.layers.get(hit.collection);
      if (!st) return;
      if (!st.on) this.setLayer(st, true);
      if (hit.feature) { // offline: the feature is at hand
        this.searchResults.classList.add('pm-folded');
        this.openPopup(st, hit.feature, bounds.getCenter());
        return;
      }
      try {
        const res = await this.api(`collections/${encodeURIComponent(hit.collection)}/items/${encodeURIComponent(hit.id)}`,
          {headers: {Accept: 'application/geo+json'}});
        if (!res.ok) return;
        const feature = await res.json();
        if (this.lastHit !== hit) return;
        this.searchResults.classList.add('pm-folded'); // out of the popup's way; focusing the box shows it again
        this.openPopup(st, feature, bounds.getCenter());
      } catch (err) {
        console.warn('planmap: cannot open the found feature', err);
      }
    }
  }

  /** Per-layer load timings (ms since navigation), for diagnosis and the browser tests. */
  PlanMap.prototype.timings = function () {
    const out = {};
    for (const st of this.layers.values()) if (st.timing) out[st.id] = Object.assign({}, st.timing);
    return out;
  };

  window.planmap = {
    plugins: (window.planmap && window.planmap.plugins) || [], // tools added by other scripts: fn(app)
    helpers: {el, icon, cssId, fold, TOKEN_KEY},
    init(map, cfg, handles) {
      const app = new PlanMap(map, cfg, handles);
      window.planmapApp = app;
      return app;
    },
  };
})();
