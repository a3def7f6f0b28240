/*
 * planmap web map — the network coverage tool (served page only): for the fuel or LPG network and a distance D,
 * the straight-line distance to the nearest station drawn as a classed overlay with its legend (D marked), the
 * communes mostly beyond D outlined, a before/after switch (existing stations; existing + planned) and the table of
 * communes with the population beyond D. Everything comes from GET /analysis/coverage; values reach the page as
 * text only.
 */
(function () {
  'use strict';

  const {el, fmt} = window.planmap.helpers;
  const BEYOND_STYLE = {color: '#111111', weight: 2.5, dashArray: '6 4', fill: false, interactive: false};
  const KM = 1000;

  class Coverage {
    constructor(app) {
      this.app = app;
      this.map = app.map;
      this.tools = app.tools;
      this.doc = null; // the last result of GET /analysis/coverage
      this.state = 'before';
      this.overlay = null;
      this.map.createPane('pm-coverage').style.zIndex = 350; // above the backgrounds, below the layers
      this.beyond = L.geoJSON(null, {style: () => BEYOND_STYLE, pane: 'pm-coverage'});
      this.build();
    }

    build() {
      const app = this.app;
      const tools = this.tools;
      const body = tools.panel('coverage', 'coverageTitle', 'toolCoverage');
      this.network = tools.select('pm-coverage-network', [['fuel', 'coverageFuel'], ['lpg', 'coverageLpg']]);
      this.distance = el('input', {attrs: {id: 'pm-coverage-distance', type: 'number', min: '0.5', max: '50',
        step: '0.5', value: '3'}});
      const run = tools.button('pm-coverage-run', 'coverageRun', () => this.run(), 'pm-btn-primary');
      this.status = el('p', {cls: 'pm-tool-status', attrs: {id: 'pm-coverage-status', 'aria-live': 'polite'}});
      app.translated(() => { if (!this.doc && !this.status.dataset.state) this.status.textContent = app.t('coverageHint'); });
      this.result = el('div', {cls: 'pm-coverage', attrs: {id: 'pm-coverage-result', hidden: ''}});
      body.append(tools.field('coverageNetwork', this.network), tools.field('coverageDistance', this.distance),
        el('div', {cls: 'pm-btn-row'}, [run]), this.status, this.result);
      app.translated(() => { if (this.doc) this.render(); });
    }

    async run() {
      const app = this.app;
      const tools = this.tools;
      const km = Number(this.distance.value);
      if (!Number.isFinite(km) || km < 0.5 || km > 50) {
        tools.setStatus(this.status, app.t('coverageBadDistance'), 'error');
        return;
      }
      const params = new URLSearchParams({network: this.network.value, distance_m: String(Math.round(km * KM)),
        lang: app.lang});
      tools.setStatus(this.status, app.t('coverageRunning'), 'busy');
      try {
        const res = await app.api(`analysis/coverage?${params}`, {headers: {Accept: 'application/json'}});
        if (!res.ok) {
          tools.setStatus(this.status, `${app.t('coverageError')}: ${await tools.problem(res)}`, 'error');
          return;
        }
        this.doc = await res.json();
        this.query = params;
        tools.setStatus(this.status, '', null);
        this.render();
      } catch (err) {
        tools.setStatus(this.status, `${app.t('coverageError')}: ${err.message}`, 'error');
      }
    }

    /** The overlay of the chosen state on the map, the communes beyond D, and the panel's texts and table. */
    render() {
      const app = this.app;
      const doc = this.doc;
      const lang = app.lang;
      this.drawOverlay();
      this.beyond.clearLayers();
      this.beyond.addData(doc.beyond);
      this.beyond.addTo(this.map);
      const kind = el('p', {cls: 'pm-coverage-kind', attrs: {id: 'pm-coverage-kind'}},
        [el('strong', {text: app.t('coverageKind') + ': '}), doc.distance_kind[lang] || doc.distance_kind.vi]);
      kind.title = doc.distance_kind.why[lang] || doc.distance_kind.why.vi;
      const why = el('p', {cls: 'pm-tool-hint', text: doc.distance_kind.why[lang] || doc.distance_kind.why.vi});
      const note = el('p', {cls: 'pm-coverage-note', attrs: {id: 'pm-coverage-note'}},
        [doc.indicative[lang], ' ', doc.notes.after[lang], ' ', doc.notes.population[lang]].map((t) => String(t)));
      const states = el('div', {cls: 'pm-btn-row', attrs: {id: 'pm-coverage-states', role: 'group'}},
        ['before', 'after'].map((state) => {
          const b = this.tools.button(`pm-coverage-${state}`, state === 'before' ? 'coverageBefore' : 'coverageAfter',
            () => { this.state = state; this.render(); });
          b.setAttribute('aria-pressed', String(state === this.state));
          b.classList.toggle('pm-active', state === this.state);
          return b;
        }));
      this.result.replaceChildren(kind, why, states, this.legend(), this.summary(), this.table(), note,
        el('div', {cls: 'pm-btn-row'}, [
          this.tools.button('pm-coverage-csv', 'coverageCsv', () => this.download()),
          this.tools.button('pm-coverage-clear', 'coverageClear', () => this.clear())]));
      this.result.hidden = false;
      this.result.dataset.state = this.state;
    }

    drawOverlay() {
      const o = this.doc.overlay[this.state];
      const [w, s, e, n] = o.bounds;
      if (this.overlay) this.overlay.remove();
      this.overlay = L.imageOverlay('data:image/png;base64,' + o.png, [[s, w], [n, e]],
        {pane: 'pm-coverage', opacity: 0.75, interactive: false, className: 'pm-coverage-overlay'}).addTo(this.map);
      this.overlay.getElement().dataset.state = this.state;
    }

    legend() {
      const app = this.app;
      const d = this.doc.distance_m;
      const items = this.doc.legend.map((c) => el('li', {cls: 'pm-coverage-class', data: {holds: String(c.holds_distance)}},
        [el('span', {cls: 'pm-coverage-swatch', style: {background: c.colour}}), c.label[app.lang] || c.label.vi,
          c.holds_distance ? el('strong', {text: ' ← ' + fmt(app.t('coverageDistanceMark'),
            {d: app.nf(d / KM, {maximumFractionDigits: 1})})}) : null]));
      return el('div', {cls: 'pm-coverage-legend', attrs: {id: 'pm-coverage-legend'}},
        [app.label('coverageLegend', 'h3', {cls: 'pm-tool-sub'}), el('ul', {}, items),
          el('p', {cls: 'pm-tool-hint', text: app.t('coverageBeyondOutline')})]);
    }

    summary() {
      const app = this.app;
      const s = this.doc.summary;
      const b = s[this.state];
      const people = b.population_beyond === null ? app.t('coverageUnknown') : app.nf(b.population_beyond);
      const text = fmt(app.t('coverageSummary'), {
        stations: this.doc.stations[this.state].count,
        area: app.nf(b.area_beyond_km2, {maximumFractionDigits: 0}),
        share: app.nf(100 * b.share_beyond, {maximumFractionDigits: 1}),
        people,
        entirely: b.communes_entirely_beyond.length,
        mostly: b.communes_mostly_beyond.length,
      });
      const out = [el('p', {cls: 'pm-coverage-summary', attrs: {id: 'pm-coverage-summary'}, text})];
      if (s.communes_population_unknown.length) {
        out.push(el('p', {cls: 'pm-tool-hint', text: fmt(app.t('coveragePopulationUnknown'),
          {n: s.communes_population_unknown.length, names: s.communes_population_unknown.join(', ')})}));
      }
      return el('div', {}, out);
    }

    /** Communes with people or area beyond D (before or after), most people beyond first. */
    table() {
      const app = this.app;
      const pop = (v) => (v === null || v === undefined ? app.t('coverageUnknown') : app.nf(v));
      const rows = this.doc.communes.filter((c) => c.before.share_beyond > 0 || c.after.share_beyond > 0)
        .sort((a, b) => (b.before.population_beyond ?? -1) - (a.before.population_beyond ?? -1)
          || b.before.share_beyond - a.before.share_beyond);
      const head = el('tr', {}, ['coverageCommune', 'coverageShare', 'coveragePopBefore', 'coveragePopAfter']
        .map((k) => app.label(k, 'th')));
      const body = rows.map((c) => el('tr', {data: {code: c.code || '', beyond: c.beyond || ''}}, [
        el('td', {text: c.name}),
        el('td', {text: app.nf(100 * c[this.state].share_beyond, {maximumFractionDigits: 0}) + '%'}),
        el('td', {text: pop(c.before.population_beyond)}),
        el('td', {text: pop(c.after.population_beyond)})]));
      return el('div', {cls: 'pm-coverage-table-box'}, [el('table', {cls: 'pm-coverage-table',
        attrs: {id: 'pm-coverage-table'}}, [el('thead', {}, [head]), el('tbody', {}, body)])]);
    }

    async download() {
      const params = new URLSearchParams(this.query);
      params.set('f', 'csv');
      const res = await this.app.api(`analysis/coverage?${params}`);
      if (!res.ok) {
        this.tools.setStatus(this.status, `${this.app.t('coverageError')}: ${await this.tools.problem(res)}`, 'error');
        return;
      }
      this.tools.saveBlob(await res.blob(), `coverage_${params.get('network')}_${params.get('distance_m')}m.csv`);
    }

    clear() {
      if (this.overlay) this.overlay.remove();
      this.overlay = null;
      this.beyond.remove();
      this.doc = null;
      this.result.hidden = true;
      this.result.replaceChildren();
      this.tools.setStatus(this.status, this.app.t('coverageHint'), null);
    }
  }

  window.planmap.part('coverage', (app) => new Coverage(app));
})();
