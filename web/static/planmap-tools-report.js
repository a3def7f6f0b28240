/*
 * planmap web map — the check report (served page only): the check tool's result in its panel — verdict, the
 * site's context, each rule with its measure, threshold and legal basis, a legend of the evidence drawn — and its
 * actions: print (HTML), PDF, and saving the site as a proposal (planners).
 */
(function () {
  'use strict';

  const {el, fmt} = window.planmap.helpers;
  const STATUS_CLASS = {pass: 'pass', fail: 'fail', warn: 'warn', unknown: 'unknown', not_applicable: 'na'};
  const stClass = (status) => `pm-st-${STATUS_CLASS[status] || 'unknown'}`;

  class Report {
    constructor(app) {
      this.app = app;
      this.tools = app.tools;
      this.check = app.parts.check;
      const again = () => { if (this.check.report) this.render(); };
      app.translated(again);
      app.on('user', again); // the save button is the planners'
    }

    t(key) { return this.app.t(key); }

    nf(v, d) { return this.app.nf(v, {maximumFractionDigits: d}); }

    render() {
      const check = this.check;
      const r = check.report;
      if (check.reportLang !== this.app.lang) { check.run(); return; } // messages come from the server: ask again
      const verdict = el('div', {cls: `pm-verdict ${stClass(r.verdict)}`, attrs: {id: 'pm-check-verdict'},
        data: {verdict: r.verdict}}, [
        el('span', {cls: 'pm-verdict-label', text: this.t('verdict') + ': '}),
        el('strong', {text: this.t('status_' + r.verdict)})]);
      const note = r.verdict_note ? el('p', {cls: 'pm-verdict-note', attrs: {id: 'pm-check-verdict-note'},
        data: {indicative: String(Boolean(r.indicative))}, text: r.verdict_note}) : null;
      const name = r.proposal && r.proposal.properties && r.proposal.properties.name;
      const head = el('p', {cls: 'pm-report-kind'}, [
        el('span', {text: r.kind_label || r.kind}),
        name ? el('span', {cls: 'pm-report-name', text: ' — ' + name}) : null]);
      const ctx = r.context || {};
      const ctxRows = [];
      const row = (key, value) => {
        if (value) ctxRows.push(el('tr', {}, [el('th', {text: this.t(key)}), el('td', {text: value})]));
      };
      const names = (list) => (list || []).map((x) => x.name || `#${x.id}`).join(', ');
      row('ctxCommune', ctx.commune && ctx.commune.name);
      row('ctxDistrict', ctx.district_pre2025 && ctx.district_pre2025.name);
      row('ctxParks', names(ctx.industrial_parks));
      row('ctxClusters', names(ctx.industrial_clusters));
      row('ctxMinerals', names(ctx.mineral_areas));
      row('ctxTerrain', this.terrainText(ctx.terrain));
      const rules = el('ol', {cls: 'pm-rules'});
      for (const res of r.results || []) if (res.status !== 'not_applicable') rules.append(this.ruleItem(res));
      check.reportBox.replaceChildren(...[verdict, note, head, this.actions(),
        el('table', {cls: 'pm-report-context'}, [el('tbody', {}, ctxRows)]), this.evidenceLegend(), rules,
        this.notInForce(r),
        r.disclaimer ? el('p', {cls: 'pm-report-disclaimer', attrs: {id: 'pm-check-disclaimer'}, text: r.disclaimer})
          : null].filter(Boolean));
    }

    /** The site's elevation range and slope from the DEM, or why they are unknown (never zero). */
    terrainText(t) {
      if (!t) return '';
      if (t.elevation_min_m === null || t.elevation_min_m === undefined) {
        return `${this.t('status_unknown')}: ${t.note || ''}`;
      }
      return fmt(this.t('ctxTerrainText'), {zmin: this.nf(t.elevation_min_m, 0), zmax: this.nf(t.elevation_max_m, 0),
        range: this.nf(t.elevation_range_m, 0), mean: this.nf(t.slope_mean_pct, 1), meanDeg: this.nf(t.slope_mean_deg, 1),
        max: this.nf(t.slope_max_pct, 1), maxDeg: this.nf(t.slope_max_deg, 1), res: this.nf(t.resolution_m, 0)});
    }

    ruleItem(res) {
      const status = res.status || 'unknown';
      const badge = el('span', {cls: `pm-badge ${stClass(status)}`, text: this.t('status_' + status)});
      const parts = [el('div', {cls: 'pm-rule-head'}, [badge, el('strong', {cls: 'pm-rule-title', text: res.title || res.rule})]),
        el('code', {cls: 'pm-rule-id', text: res.rule})];
      if (res.message) parts.push(el('p', {cls: 'pm-rule-message', text: res.message}));
      const facts = [];
      const unit = res.unit ? ' ' + res.unit : '';
      const given = (v) => v !== null && v !== undefined;
      if (given(res.measured)) {
        facts.push(`${this.t('ruleMeasured')}: ${typeof res.measured === 'number' ? this.nf(res.measured, 1) : res.measured}${unit}`);
      }
      if (given(res.threshold)) {
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
      } else if (res.confidence === 'policy') { // the department's own value: no legal text, and it says so
        parts.push(el('div', {cls: 'pm-rule-basis', text: `${this.t('ruleBasis')}: ${this.t('ruleNoBasis')}`}));
      }
      if (res.caveats) parts.push(el('p', {cls: 'pm-rule-caveats', text: `${this.t('ruleCaveats')}: ${res.caveats}`}));
      if (res.note) parts.push(el('p', {cls: 'pm-rule-caveats', text: res.note}));
      const evidence = this.evidenceLine(res);
      if (evidence) parts.push(evidence);
      return el('li', {cls: 'pm-rule', data: {rule: res.rule, status, evidenceAccuracy: res.evidence_accuracy || ''}},
        parts);
    }

    /** What a result rests on: the weakest accuracy of the deciding features, and which they are. */
    evidenceLine(res) {
      if (!res.evidence_accuracy) return null;
      const searched = res.evidence_searched;
      const where = searched ? `${this.t('ruleEvidenceLayer')} ${searched.layer} (${searched.features})`
        : (res.evidence_features || []).slice(0, 3).map((f) => `${f.layer} #${f.id}`).join(', ');
      const sources = searched ? (searched.sources || [])
        : Array.from(new Set((res.evidence_features || []).map((f) => f.source).filter(Boolean)));
      const text = `${this.t('ruleEvidence')}: ${this.app.valueText('accuracy', res.evidence_accuracy)} — ${where}`
        + (sources.length ? ` · ${sources.slice(0, 2).join('; ')}` : '');
      return el('p', {cls: `pm-rule-evidence pm-acc-${res.evidence_accuracy}`, text});
    }

    notInForce(r) {
      const list = r.not_in_force || [];
      if (!list.length) return null;
      return el('details', {cls: 'pm-not-in-force'}, [el('summary', {text: this.t('ruleNotInForce')}),
        el('ul', {}, list.map((x) => el('li', {text: `${x.title}: ${x.note}`})))]);
    }

    evidenceLegend() {
      const check = this.check;
      const present = check.roles();
      const order = Object.keys(check.roleTable);
      const rows = order.filter((r) => present.has(r)).map((role) => {
        const s = check.roleStyle(role);
        const sw = el('span', {cls: 'pm-ev-swatch', style: {borderColor: s.color,
          borderStyle: s.dashArray ? 'dashed' : 'solid',
          background: s.fillColor ? s.fillColor : 'transparent', opacity: '0.85'}});
        if (role === 'distance') sw.classList.add('pm-ev-swatch-line');
        if (role === 'nearest' || (role === 'site' && check.site && check.site.type === 'Point')) {
          sw.classList.add('pm-ev-swatch-dot');
        }
        return el('li', {data: {role}}, [sw, el('span', {text: check.roleLabel(role)})]);
      });
      return el('div', {cls: 'pm-ev-legend', attrs: {id: 'pm-ev-legend'}}, [
        el('h3', {text: this.t('evidenceLegend')}), el('ul', {}, rows)]);
    }

    actions() {
      const tools = this.tools;
      const row = el('div', {cls: 'pm-btn-row pm-report-actions'}, [
        tools.button('pm-check-print', 'checkPrint', () => this.print()),
        tools.button('pm-check-pdf', 'checkPdf', () => this.pdf())]);
      if (tools.user && (tools.user.role === 'planner' || tools.user.role === 'admin')) {
        row.append(tools.button('pm-check-save', 'checkSave', () => this.save(), 'pm-btn-primary'));
      }
      this.status = el('p', {cls: 'pm-tool-status', attrs: {id: 'pm-save-status', 'aria-live': 'polite'}});
      return el('div', {}, [row, this.status]);
    }

    failed(err) {
      this.tools.setStatus(this.status, `${this.t('checkError')}: ${err.message}`, 'error');
    }

    async print() {
      const win = window.open('', '_blank'); // opened now, while the click still counts as the user's
      try {
        const blob = await (await this.check.post('checks', {f: 'html'})).blob();
        const url = URL.createObjectURL(new Blob([blob], {type: 'text/html;charset=utf-8'}));
        if (win) win.location.href = url; else window.open(url, '_blank');
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
      } catch (err) {
        if (win) win.close();
        this.failed(err);
      }
    }

    async pdf() {
      try {
        this.tools.saveBlob(await (await this.check.post('checks', {f: 'pdf'})).blob(), 'planmap-kiem-tra.pdf');
      } catch (err) {
        this.failed(err);
      }
    }

    async save() {
      const app = this.app;
      this.tools.setStatus(this.status, this.t('checkSaving'), 'busy');
      try {
        const doc = await (await this.check.post('proposals', {}, 'application/json')).json();
        this.tools.setStatus(this.status, fmt(this.t('checkSaved'), {id: doc.id, status: doc.status}), 'done');
        this.status.dataset.id = String(doc.id);
        await app.parts.layers.reloadCatalog();
        await app.parts.layers.reloadLayer('proposals');
      } catch (err) {
        this.failed(err);
      }
    }
  }

  window.planmap.part('report', (app) => new Report(app));
})();
