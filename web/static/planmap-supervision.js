/*
 * planmap — the supervision page ("Thống kê / Giám sát quy hoạch"): the plans' indicators on a date against their
 * targets, with the change since a comparison date, a choropleth of the chosen indicator by 2025 commune or
 * pre-2025 district, and the server's SVG charts (the indicator at each year end; the indicator per unit).
 *
 * Everything comes from GET /indicators, GET /indicators/chart and the units' outlines from
 * /collections/{units}/items; values reach the page as text only (the charts are planmap's own SVG, parsed as XML,
 * never as HTML). Labels are web/labels.json's (ui.sup*); the language is the map's (localStorage planmap.lang).
 */
(function () {
  'use strict';

  const {el, fmt, local} = window.planmap.helpers;
  const LANG_KEY = 'planmap.lang';
  // sequential classes of the choropleth (light → dark); units without a value are grey
  const RAMP = ['#eff3ff', '#bdd7e7', '#6baed6', '#3182bd', '#08519c'];
  const NO_DATA = '#d9d9d9';
  const UNIT_STYLE = {color: '#4a5561', weight: 1, opacity: 0.9, fillOpacity: 0.75};
  const CHOSEN_STYLE = {color: '#111111', weight: 3};
  const CONFIDENCE = {verified: 'supConfVerified', secondary: 'supConfSecondary', unverified: 'supConfUnverified',
    not_sourced: 'supConfNotSourced'};
  const SMALL = 10; // figures below it are written with two decimals (densities), others with one
  const BASIS_CHARS = 48; // the target's document, cut in the table (whole in its tooltip)
  const UNITS_LIMIT = 1000; // more than the 92 communes or 17 districts: every unit in one page

  function cut(text, n) {
    return text.length <= n ? text : text.slice(0, n - 1) + '…';
  }

  /** A query string of the parameters that have a value. */
  function query(values) {
    return new URLSearchParams(Object.entries(values).filter(([, v]) => v !== null && v !== undefined && v !== ''));
  }

  class Supervision {
    constructor(cfg) {
      this.cfg = cfg;
      this.labels = cfg.labels;
      this.lang = local.get(LANG_KEY) === 'en' ? 'en' : 'vi';
      this.doc = null;
      this.indicator = null; // id of the indicator on the map and in the charts
      this.sinceTouched = false;
      this.seq = 0;
      this.outlines = {}; // "layer@day" → GeoJSON of the units
      this.translators = [];
      this.buildControls();
      this.buildMap();
      document.getElementById('sup-lang').addEventListener('click', () => this.setLang(this.lang === 'vi' ? 'en' : 'vi'));
      this.translated(() => {
        document.documentElement.lang = this.lang;
        document.title = this.t('supTitle');
        document.getElementById('sup-title').textContent = this.t('supTitle');
        document.getElementById('sup-map-link').textContent = this.t('supMapLink');
        const lang = document.getElementById('sup-lang');
        lang.textContent = this.t('language');
        lang.title = this.t('languageTitle');
      });
      this.load();
    }

    // ---------------------------------------------------------------- language and numbers

    t(key) {
      const ui = this.labels.ui;
      return (ui[this.lang] && ui[this.lang][key]) || ui.vi[key] || key;
    }

    text(obj) {
      if (obj === null || obj === undefined) return '';
      if (typeof obj === 'string') return obj;
      return obj[this.lang] || obj.vi || '';
    }

    translated(fn) {
      this.translators.push(fn);
      fn();
    }

    /** A figure in the page's language: `digits` decimals at most (by default 2 below 10, e.g. 0,35 stations per
     * 10.000 people, else 1). */
    nf(value, digits) {
      if (value === null || value === undefined) return '—';
      const d = digits === undefined ? (Math.abs(value) < SMALL ? 2 : 1) : digits;
      return Number(value).toLocaleString(this.lang === 'vi' ? 'vi-VN' : 'en-GB', {maximumFractionDigits: d});
    }

    signed(value) {
      if (value === null || value === undefined) return '—';
      return (value > 0 ? '+' : value < 0 ? '−' : '±') + this.nf(Math.abs(value));
    }

    setLang(lang) {
      this.lang = lang;
      local.set(LANG_KEY, lang);
      for (const fn of this.translators) fn();
      if (this.doc) this.redraw();
    }

    // ---------------------------------------------------------------- controls

    buildControls() {
      const box = document.getElementById('sup-controls');
      const today = this.cfg.today;
      this.date = el('input', {attrs: {id: 'sup-date', type: 'date', value: today, max: today}});
      this.since = el('input', {attrs: {id: 'sup-since', type: 'date', value: this.yearBefore(today)}});
      this.by = el('select', {attrs: {id: 'sup-by'}});
      this.choice = el('select', {attrs: {id: 'sup-indicator'}});
      const byOptions = [['commune', 'supByCommune'], ['district', 'supByDistrict']];
      this.translated(() => {
        const chosen = this.by.value || 'commune';
        this.by.replaceChildren(...byOptions.map(([v, k]) => el('option', {attrs: {value: v}, text: this.t(k)})));
        this.by.value = chosen;
      });
      this.date.addEventListener('change', () => {
        if (!this.date.value) return;
        if (!this.sinceTouched) this.since.value = this.yearBefore(this.date.value);
        this.load();
      });
      this.since.addEventListener('change', () => { this.sinceTouched = true; this.load(); });
      this.by.addEventListener('change', () => this.load());
      this.choice.addEventListener('change', () => this.choose(this.choice.value));
      const field = (key, input) => el('label', {cls: 'sup-field'}, [this.label(key), input]);
      box.append(field('supDate', this.date), field('supSince', this.since), field('supBy', this.by),
        field('supIndicator', this.choice));
    }

    label(key, tag, opts) {
      const node = el(tag || 'span', opts);
      this.translated(() => { node.textContent = this.t(key); });
      return node;
    }

    yearBefore(day) {
      const [y, m, d] = day.split('-').map(Number);
      const dd = m === 2 && d === 29 ? 28 : d;
      return `${String(y - 1).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(dd).padStart(2, '0')}`;
    }

    status(text, state) {
      const node = document.getElementById('sup-status');
      node.textContent = text || '';
      if (state) node.dataset.state = state; else delete node.dataset.state;
    }

    async problem(res) {
      let text = `HTTP ${res.status}`;
      try {
        const doc = await res.json();
        text = (this.lang === 'vi' && doc.detail_vi) || doc.detail || doc.title || text;
      } catch (e) { /* not JSON */ }
      return text;
    }

    // ---------------------------------------------------------------- loading

    setReady(ready) {
      window.supervisionReady = ready;
      document.documentElement.dataset.supReady = String(ready);
    }

    async load() {
      const seq = ++this.seq;
      this.setReady(false);
      const params = query({date: this.date.value, since: this.since.value, by: this.by.value, lang: this.lang});
      this.status(this.t('supLoading'), 'busy');
      try {
        const res = await fetch(`indicators?${params}`, {headers: {Accept: 'application/json'}});
        if (!res.ok) {
          this.status(`${this.t('supError')}: ${await this.problem(res)}`, 'error');
          return;
        }
        const doc = await res.json();
        if (seq !== this.seq) return;
        this.doc = doc;
        const mapped = doc.indicators.filter((i) => i.by_unit);
        if (!mapped.some((i) => i.id === this.indicator)) this.indicator = mapped.length ? mapped[0].id : null;
        this.render();
        await Promise.all([this.choropleth(), this.charts()]);
        if (seq !== this.seq) return;
        this.status('', null);
        this.setReady(true);
      } catch (err) {
        if (seq === this.seq) this.status(`${this.t('supError')}: ${err.message}`, 'error');
      }
    }

    choose(id) {
      this.indicator = id;
      this.redraw();
    }

    /** The tables, map and charts again from the last answer (another indicator chosen, another language). */
    redraw() {
      this.render();
      this.setReady(false);
      const seq = ++this.seq;
      Promise.all([this.choropleth(), this.charts()]).then(() => { if (seq === this.seq) this.setReady(true); },
        (err) => { if (seq === this.seq) this.status(`${this.t('supError')}: ${err.message}`, 'error'); });
    }

    current() {
      return this.doc && this.doc.indicators.find((i) => i.id === this.indicator);
    }

    // ---------------------------------------------------------------- the tables

    render() {
      const doc = this.doc;
      this.choice.replaceChildren(...doc.indicators.filter((i) => i.by_unit).map((i) =>
        el('option', {attrs: {value: i.id}, text: `${this.text(i.title)} (${this.text(i.unit)})`})));
      if (this.indicator) this.choice.value = this.indicator;
      const sections = doc.plans.map((plan) => {
        const rows = doc.indicators.filter((i) => i.plan === plan.id);
        if (!rows.length) return null;
        const head = el('tr', {}, ['supColIndicator', 'supColValue', 'supColTarget', 'supColProgress', 'supColChange',
          'supColBasis', 'supColConfidence'].map((k) => el('th', {text: k === 'supColChange'
          ? fmt(this.t(k), {since: doc.since ? this.day(doc.since) : '—'}) : this.t(k)})));
        return el('section', {cls: 'sup-plan', data: {plan: plan.id}}, [
          el('h2', {text: this.text(plan.title)}),
          el('table', {cls: 'sup-table'}, [el('thead', {}, [head]), el('tbody', {}, rows.map((i) => this.row(i)))])]);
      });
      const when = el('p', {cls: 'sup-when', attrs: {id: 'sup-when'}, text: fmt(this.t('supWhen'), {
        date: this.day(doc.date), since: doc.since ? this.day(doc.since) : '—',
        units: doc.units ? `${doc.units.count} ${this.t(doc.units.layer === 'districts' ? 'supDistricts' : 'supCommunes')}` : '—'})});
      document.getElementById('sup-tables').replaceChildren(when, ...sections.filter(Boolean));
      this.footer();
    }

    day(iso) {
      const [y, m, d] = iso.split('-');
      return this.lang === 'vi' ? `${d}/${m}/${y}` : iso;
    }

    row(i) {
      const unit = this.text(i.unit);
      const value = el('td', {cls: 'sup-value', data: {value: i.value === null ? '' : String(i.value)}},
        [el('span', {cls: 'sup-figure', text: `${this.nf(i.value)} ${unit}`})]);
      if (i.indicative || i.honesty_note) {
        const note = this.text(i.honesty_note);
        value.append(el('span', {cls: 'sup-honesty', text: `⚠ ${this.t('supIndicative')}`,
          title: note || this.t('supIndicativeTitle'), data: {accuracy: i.accuracy || ''}}));
      }
      const target = el('td', {cls: 'sup-target', data: {value: i.target === null ? '' : String(i.target)}, text:
        i.target === null || i.target === undefined ? '—'
          : `${this.nf(i.target)} ${unit}` + (i.target_year ? ` (${i.target_year})` : '')});
      const progress = el('td', {cls: 'sup-progress-cell'});
      if (i.progress !== null && i.progress !== undefined) {
        const pct = Math.max(0, Math.min(1, i.progress)) * 100;
        progress.append(el('div', {cls: 'sup-progress', data: {progress: String(i.progress)},
          title: `${this.nf(100 * i.progress, 1)}%`}, [
          el('div', {cls: 'sup-progress-bar' + (i.progress >= 1 ? ' sup-done' : ''), style: {width: `${pct}%`}})]),
        el('span', {cls: 'sup-progress-text', text: `${this.nf(100 * i.progress, 0)}%`}));
      } else {
        progress.textContent = '—';
      }
      const change = el('td', {cls: 'sup-change' + (i.change > 0 ? ' sup-up' : i.change < 0 ? ' sup-down' : ''),
        data: {value: i.change === null || i.change === undefined ? '' : String(i.change)}, text: this.signed(i.change)});
      const basis = i.target_basis;
      const documentText = basis && basis.document ? basis.document : '';
      const basisCell = el('td', {cls: 'sup-basis', text: documentText ? cut(documentText, BASIS_CHARS) : '—',
        title: [documentText, basis && basis.note ? basis.note : ''].filter(Boolean).join(' — '),
        data: {document: documentText}});
      const conf = i.target_confidence;
      const confCell = el('td', {cls: 'sup-confidence' + (conf === 'not_sourced' ? ' sup-not-sourced' : ''),
        data: {confidence: conf || ''}, text: conf ? this.t(CONFIDENCE[conf] || conf) : '—'});
      const name = el('td', {cls: 'sup-name', title: this.text(i.definition)}, [
        el('span', {text: this.text(i.title)}),
        i.by_unit ? el('span', {cls: 'sup-mappable', text: ' ◧', title: this.t('supMappable')}) : null]);
      const tr = el('tr', {cls: 'sup-row' + (i.id === this.indicator ? ' sup-chosen' : ''), data: {id: i.id}},
        [name, value, target, progress, change, basisCell, confCell]);
      if (i.by_unit) {
        tr.tabIndex = 0;
        tr.addEventListener('click', () => this.choose(i.id));
        tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') this.choose(i.id); });
      }
      return tr;
    }

    footer() {
      const revs = (this.doc.inputs && this.doc.inputs.revisions_on_date) || {};
      const items = Object.entries(revs).map(([layer, rev]) => el('li', {data: {layer}, text: `${layer}: ` +
        (rev === null || rev === undefined ? this.t('supShipped') : fmt(this.t('supRevision'), {id: rev}))}));
      document.getElementById('sup-footer').replaceChildren(
        el('p', {text: this.t('supDataNote')}),
        el('p', {}, [el('strong', {text: this.t('supTrace') + ' '}),
          el('a', {attrs: {href: `indicators?${query({date: this.doc.date, since: this.doc.since, by: this.doc.by,
            f: 'json'})}`, id: 'sup-json-link'}, text: 'JSON'}), ' · ',
          el('a', {attrs: {href: `indicators?${query({date: this.doc.date, since: this.doc.since, by: this.doc.by,
            f: 'csv'})}`, id: 'sup-csv-link'}, text: 'CSV'})]),
        el('ul', {cls: 'sup-revisions', attrs: {id: 'sup-revisions'}}, items));
    }

    // ---------------------------------------------------------------- the map

    buildMap() {
      const map = L.map('sup-map', {zoomControl: true, attributionControl: false, minZoom: 6, maxZoom: 16,
        zoomSnap: 0.25});
      map.fitBounds(this.cfg.home, {padding: [6, 6]});
      L.control.scale({imperial: false, position: 'bottomleft', maxWidth: 120}).addTo(map);
      this.map = map;
      this.units = L.geoJSON(null, {style: (f) => this.unitStyle(f), onEachFeature: (f, layer) => this.onUnit(f, layer)});
      this.units.addTo(map);
      const Legend = L.Control.extend({onAdd: () => {
        this.legendBox = el('div', {cls: 'sup-legend', attrs: {id: 'sup-legend'}});
        L.DomEvent.disableClickPropagation(this.legendBox);
        L.DomEvent.disableScrollPropagation(this.legendBox);
        return this.legendBox;
      }});
      new Legend({position: 'bottomright'}).addTo(map);
    }

    async outline(layer, day) {
      const key = `${layer}@${day}`;
      if (!this.outlines[key]) {
        const params = new URLSearchParams({limit: String(UNITS_LIMIT), properties: 'code,name', datetime: day});
        const res = await fetch(`collections/${encodeURIComponent(layer)}/items?${params}`,
          {headers: {Accept: 'application/geo+json'}});
        if (!res.ok) throw new Error(await this.problem(res));
        this.outlines[key] = await res.json();
      }
      return this.outlines[key];
    }

    /** Class breaks: one class per value when the values are few whole numbers (counts), else equal steps from 0
     * (or the least value, if negative) to the largest value. */
    classes(values) {
      const known = values.filter((v) => v !== null && v !== undefined);
      if (!known.length) return [];
      const lo = Math.min(0, ...known);
      const hi = Math.max(...known);
      if (hi === lo) return [{from: lo, to: hi, colour: RAMP[RAMP.length - 1]}];
      if (known.every(Number.isInteger) && hi - lo < RAMP.length) {
        const n = hi - lo + 1;
        return Array.from({length: n}, (_, k) => ({from: lo + k, to: lo + k,
          colour: RAMP[Math.round(k * (RAMP.length - 1) / (n - 1))]}));
      }
      const step = (hi - lo) / RAMP.length;
      return RAMP.map((colour, k) => ({from: lo + k * step, to: k === RAMP.length - 1 ? hi : lo + (k + 1) * step, colour}));
    }

    colour(value) {
      if (value === null || value === undefined || !this.breaks.length) return NO_DATA;
      const found = this.breaks.find((c, k) => value <= c.to || k === this.breaks.length - 1);
      return found ? found.colour : NO_DATA;
    }

    unitStyle(feature) {
      const v = this.values ? this.values.get(String(feature.properties.code)) : undefined;
      return Object.assign({}, UNIT_STYLE, {fillColor: this.colour(v ? v.value : null)},
        feature.properties.code === this.chosenUnit ? CHOSEN_STYLE : {});
    }

    onUnit(feature, layer) {
      const code = String(feature.properties.code);
      layer.on('click', () => this.zoomTo(code));
      layer.bindTooltip(() => {
        const i = this.current();
        const v = this.values ? this.values.get(code) : undefined;
        const value = v && v.value !== null ? `${this.nf(v.value)} ${i ? this.text(i.unit) : ''}` : this.t('supNoData');
        const change = v && v.change !== null && v.change !== undefined ? ` (${this.signed(v.change)})` : '';
        return `${feature.properties.name}: ${value}${change}`;
      }, {sticky: true, className: 'sup-tooltip'});
    }

    zoomTo(code) {
      let target = null;
      this.units.eachLayer((layer) => { if (String(layer.feature.properties.code) === code) target = layer; });
      if (!target) return;
      this.chosenUnit = code;
      this.units.setStyle((f) => this.unitStyle(f));
      target.bringToFront();
      this.map.fitBounds(target.getBounds(), {padding: [12, 12], animate: false});
      document.documentElement.dataset.supUnit = code;
    }

    async choropleth() {
      const i = this.current();
      const doc = this.doc;
      this.values = new Map();
      this.chosenUnit = null;
      if (!i || !doc.units) {
        this.units.clearLayers();
        this.breaks = [];
        this.legend(null);
        return;
      }
      for (const u of i.by_unit) this.values.set(String(u.code), u);
      this.breaks = this.classes(i.by_unit.map((u) => u.value));
      const outlines = await this.outline(doc.units.layer, doc.units.day);
      if (this.current() !== i) return;
      this.units.clearLayers();
      this.units.addData(outlines);
      this.units.eachLayer((layer) => {
        const path = layer.getElement && layer.getElement();
        if (path) {
          path.classList.add('sup-unit');
          path.dataset.code = String(layer.feature.properties.code);
        }
      });
      this.legend(i);
    }

    legend(i) {
      const box = this.legendBox;
      if (!i) {
        box.replaceChildren(el('p', {text: this.t('supNoUnits')}));
        return;
      }
      const unit = this.text(i.unit);
      const items = this.breaks.map((c) => el('li', {cls: 'sup-legend-class'}, [
        el('span', {cls: 'sup-swatch', style: {background: c.colour}}),
        c.from === c.to ? this.nf(c.to) : `${this.nf(c.from)} – ${this.nf(c.to)}`]));
      if (i.by_unit.some((u) => u.value === null || u.value === undefined)) {
        items.push(el('li', {cls: 'sup-legend-class sup-legend-nodata'}, [
          el('span', {cls: 'sup-swatch', style: {background: NO_DATA}}), this.t('supNoData')]));
      }
      const parts = [el('strong', {text: this.text(i.title)}), el('div', {cls: 'sup-legend-unit', text: unit}),
        el('ul', {}, items)];
      if (i.indicative || i.honesty_note) {
        parts.push(el('p', {cls: 'sup-legend-note', text: `⚠ ${this.text(i.honesty_note) || this.t('supIndicativeTitle')}`}));
      }
      box.replaceChildren(...parts);
    }

    // ---------------------------------------------------------------- the charts (SVG drawn by the server)

    async svgInto(id, params) {
      const box = document.getElementById(id);
      const seq = this.seq;
      const res = await fetch(`indicators/chart?${params}`, {headers: {Accept: 'image/svg+xml'}});
      if (seq !== this.seq) return; // a later question's chart is coming
      if (!res.ok) {
        box.replaceChildren(el('p', {cls: 'sup-chart-error', text: `${this.t('supError')}: ${await this.problem(res)}`}));
        return;
      }
      const text = await res.text();
      if (seq !== this.seq) return;
      const parsed = new DOMParser().parseFromString(text, 'image/svg+xml');
      const root = parsed.documentElement;
      if (root.nodeName !== 'svg') {
        box.replaceChildren(el('p', {cls: 'sup-chart-error', text: this.t('supError')}));
        return;
      }
      box.replaceChildren(document.importNode(root, true));
    }

    async charts() {
      const i = this.current();
      const series = document.getElementById('sup-chart-series');
      const units = document.getElementById('sup-chart-units');
      if (!i) {
        series.replaceChildren();
        units.replaceChildren();
        return;
      }
      const doc = this.doc;
      const common = {indicator: i.id, date: doc.date, lang: this.lang};
      await Promise.all([
        this.svgInto('sup-chart-series', query({...common, kind: 'series'})),
        doc.units ? this.svgInto('sup-chart-units', query({...common, kind: 'units', by: doc.by, since: doc.since}))
          : Promise.resolve(units.replaceChildren()),
      ]);
      for (const bar of units.querySelectorAll('.pm-bar')) {
        const go = () => this.zoomTo(bar.dataset.code);
        bar.addEventListener('click', go);
        bar.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') go(); });
      }
    }
  }

  function start() {
    const cfg = JSON.parse(document.getElementById('sup-config').textContent);
    window.supervision = new Supervision(cfg);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
