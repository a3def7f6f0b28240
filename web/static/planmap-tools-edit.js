/*
 * planmap web map — editing on the map (served page only, signed-in planners): a feature's popup offers "Sửa"
 * (edit: its properties as a form in the side panel, typed as the layer's queryables say; save is a PUT, delete a
 * DELETE — OGC API – Features Part 4) and, on the proposals layer, "Xét duyệt" (decide: POST proposals/{id}/status).
 *
 * Every write names the state it was made from: the ETag read when the form opened goes back as If-Match. When a
 * colleague changed the feature since, the server refuses with 412 and changes nothing; the form then shows the
 * conflict — what the server has now next to what the planner typed or chose — and offers to load the current
 * version (with its new ETag), keeping the planner's values in view so they can redo the change. It never
 * overwrites silently. Values reach the page as text only (textContent, input values), never as HTML.
 */
(function () {
  'use strict';

  const {el, fmt, cssId} = window.planmap.helpers;
  const PROPOSALS = 'proposals';
  const ACCURACY = ['exact', 'approximate', 'schematic', 'synthetic']; // layers/provenance.py, best to weakest
  const PROVENANCE = new Set(['source', 'accuracy']); // left out when empty: the server then fills them in
  const HIDDEN = {proposals: new Set(['report'])}; // per layer: kept as they are, not shown (a check's whole report)
  const DECISIONS = [['approved', 'decideApprove'], ['rejected', 'decideReject'], ['submitted', 'decideReturn']];
  const SUMMARY = ['name', 'kind', 'verdict', 'commune', 'checked_by', 'checked_at', 'status'];
  const LONG_TEXT = 60; // characters: a longer text value gets a textarea

  /** A value as compared and shown in a conflict: null, undefined and '' are all "empty". */
  function norm(value) {
    if (value === null || value === undefined || value === '') return '';
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }

  const sameGeometry = (a, b) => JSON.stringify(a || null) === JSON.stringify(b || null);

  class Editor {
    constructor(app) {
      this.app = app;
      this.tools = app.tools;
      this.queryables = {}; // layer id → {field: JSON-schema type}
      this.cur = null; // the feature in the form: {st, fid, mode: 'edit'|'decide', etag, props, geometry, deleted}
      this.conflict = null; // the last refused write: {kind, problem, mine, now, loaded}
      this.msg = null; // the status line: {key, vals, state} or {problem, state}
      this.i18n = []; // [node, () => text] of the current form, re-run on a language change
      this.seq = 0;
      this.body = this.tools.panel('edit', 'editTitle', 'toolEdit',
        {open: () => this.showMarker(), close: () => this.hideMarker()});
      this.tools.buttons.edit.hidden = true; // shown once a feature is opened from its popup
      this.title = this.tools.panels.edit.querySelector('.pm-tool-title');
      this.head = el('div', {cls: 'pm-edit-head', attrs: {id: 'pm-edit-head'}});
      this.conflictBox = el('div', {cls: 'pm-conflict', attrs: {id: 'pm-edit-conflict', role: 'alert',
        tabindex: '-1', hidden: ''}});
      this.form = el('form', {cls: 'pm-edit-form', attrs: {id: 'pm-edit-form', novalidate: ''}});
      this.form.addEventListener('submit', (ev) => { ev.preventDefault(); this.save(); });
      this.actions = el('div', {cls: 'pm-edit-actions'});
      this.status = el('p', {cls: 'pm-tool-status', attrs: {id: 'pm-edit-status', 'aria-live': 'polite'}});
      this.body.append(this.head, this.status, this.conflictBox, this.form, this.actions);
      app.parts.popups.addAction((st, feature) => this.popupAction(st, feature));
      app.map.on('popupopen', (ev) => { this.popup = ev.popup; });
      app.on('user', () => this.userChanged());
      app.translated(() => this.relabel());
    }

    t(key) { return this.app.t(key); }

    get planner() {
      const u = this.tools.user;
      return Boolean(u && (u.role === 'planner' || u.role === 'admin'));
    }

    /** `node`'s text (or another property, e.g. 'title'), now and after every language change, while this form
     * is shown. */
    txt(node, fn, prop) {
      this.i18n.push([node, fn, prop || 'textContent']);
      node[prop || 'textContent'] = fn();
      return node;
    }

    /** A button of this form (its label kept in the page's language by relabel, not by the app for ever). */
    button(id, key, onClick, cls) {
      const b = this.txt(el('button', {cls: 'pm-btn ' + (cls || ''), attrs: {type: 'button', id}}), () => this.t(key));
      b.addEventListener('click', onClick);
      return b;
    }

    relabel() {
      const decide = this.cur && this.cur.mode === 'decide';
      this.title.textContent = this.t(decide ? 'decideTitle' : 'editTitle');
      for (const [node, fn, prop] of this.i18n) node[prop] = fn();
      this.renderStatus();
    }

    // ---------------------------------------------------------------- the popup's action, signing in and out

    popupAction(st, feature) {
      if (!this.planner || feature.id === undefined || feature.id === null) return null;
      const decide = st.id === PROPOSALS;
      const button = el('button', {cls: 'pm-btn pm-btn-primary pm-popup-action',
        attrs: {type: 'button', id: decide ? 'pm-popup-decide' : 'pm-popup-edit'},
        text: this.t(decide ? 'popupDecide' : 'popupEdit')});
      button.addEventListener('click', () => this.open(st, feature.id, decide ? 'decide' : 'edit'));
      return button;
    }

    /** Signed in or out: an open popup gains or drops its action (its content is built again); signed out, the
     * form is closed. */
    userChanged() {
      if (this.popup && this.popup.isOpen()) this.popup.update();
      if (this.planner) return;
      this.cur = null;
      this.conflict = null;
      this.hideMarker();
      this.tools.toggle('edit', false);
      this.tools.buttons.edit.hidden = true;
      this.clear();
    }

    clear() {
      this.i18n = [];
      this.head.replaceChildren();
      this.form.replaceChildren();
      this.actions.replaceChildren();
      this.conflictBox.replaceChildren();
      this.conflictBox.hidden = true;
      this.msg = null;
      this.relabel();
    }

    // ---------------------------------------------------------------- talking to the server

    itemUrl(id, fid) {
      return `collections/${encodeURIComponent(id)}/items/${encodeURIComponent(fid)}`;
    }

    /** The feature as the server has it now, with its ETag (never from the browser's cache). */
    async fetchFeature(id, fid) {
      const res = await this.app.api(this.itemUrl(id, fid), {headers: {Accept: 'application/geo+json'},
        cache: 'no-store'});
      if (!res.ok) throw await this.failure(res);
      return {feature: await res.json(), etag: res.headers.get('ETag')};
    }

    async fetchQueryables(id) {
      if (this.queryables[id]) return this.queryables[id];
      const res = await this.app.api(`collections/${encodeURIComponent(id)}/queryables?f=json`,
        {headers: {Accept: 'application/schema+json, application/json'}});
      if (!res.ok) throw await this.failure(res);
      const doc = await res.json();
      const out = {};
      for (const [name, schema] of Object.entries(doc.properties || {})) {
        if (name !== 'geometry' && schema && schema.type) out[name] = schema.type;
      }
      this.queryables[id] = out;
      return out;
    }

    /** A failed response as an Error carrying its problem document (detail, detail_vi, status, current_etag). */
    async failure(res) {
      let doc = {};
      try { doc = await res.json(); } catch (e) { /* not JSON */ }
      const err = new Error(doc.detail || `HTTP ${res.status}`);
      err.problem = Object.assign({status: res.status}, doc);
      return err;
    }

    problemText(problem) {
      return (this.app.lang === 'vi' && problem.detail_vi) || problem.detail || problem.title
        || `HTTP ${problem.status}`;
    }

    setMsg(msg) {
      this.msg = msg;
      this.renderStatus();
    }

    /** A failure shown in the status line: the server's own words (Vietnamese first), or the network error. */
    failed(err) {
      const problem = err.problem || {detail: err.message, status: 0};
      this.setMsg({problem, state: 'error'});
    }

    renderStatus() {
      const m = this.msg;
      if (!m) { this.tools.setStatus(this.status, '', null); return; }
      const text = m.problem ? `${this.t('editError')}: ${this.problemText(m.problem)}`
        : fmt(this.t(m.key), m.vals || {});
      this.tools.setStatus(this.status, text, m.state);
      if (m.problem) this.status.dataset.http = String(m.problem.status || 0);
      else delete this.status.dataset.http;
    }

    // ---------------------------------------------------------------- opening a feature

    /** Open a feature in the panel: read it (and its ETag) and the layer's field types, then show the form. */
    async open(st, fid, mode) {
      const seq = ++this.seq;
      this.hideMarker();
      this.cur = {st, fid, mode, etag: null, props: {}, geometry: null, deleted: false};
      this.conflict = null;
      this.clear();
      this.tools.buttons.edit.hidden = false;
      this.tools.toggle('edit', true);
      this.app.map.closePopup();
      this.setMsg({key: 'editLoading', state: 'busy'});
      let got;
      try {
        [got] = await Promise.all([this.fetchFeature(st.id, fid),
          mode === 'edit' ? this.fetchQueryables(st.id) : null]);
      } catch (err) {
        if (seq === this.seq) this.failed(err);
        return;
      }
      if (seq !== this.seq) return;
      this.take(got);
      this.setMsg(null);
      this.render();
      const first = this.body.querySelector('.pm-edit-form input, .pm-edit-form select, .pm-edit-form textarea,'
        + ' .pm-decide button:not([disabled])');
      if (first) first.focus();
    }

    /** The server's version of the feature becomes the form's: its properties, geometry and ETag. */
    take({feature, etag}) {
      Object.assign(this.cur, {etag, props: Object.assign({}, feature.properties || {}),
        geometry: feature.geometry, moved: false});
      this.body.dataset.etag = etag || '';
    }

    render() {
      const cur = this.cur;
      const app = this.app;
      this.i18n = [];
      const name = cur.props.name || cur.props.full_name || cur.props.ref || `#${cur.fid}`;
      this.head.replaceChildren(
        this.txt(el('div', {cls: 'pm-popup-layer'}), () => app.title(cur.st)),
        el('h3', {cls: 'pm-popup-title', attrs: {id: 'pm-edit-name'}, text: name}),
        el('p', {cls: 'pm-tool-hint', text: `${cur.st.id} #${cur.fid}`}));
      if (cur.mode === 'decide') this.renderDecision(); else this.renderForm();
      this.relabel();
      this.showMarker();
    }

    // ---------------------------------------------------------------- the edit form

    renderForm() {
      const cur = this.cur;
      const hidden = HIDDEN[cur.st.id] || new Set();
      const types = this.queryables[cur.st.id] || {};
      this.controls = [];
      const rows = [];
      for (const [name, type] of Object.entries(types)) {
        if (hidden.has(name)) continue;
        const control = this.control(name, type, cur.props[name]);
        this.controls.push({name, type, node: control});
        const label = this.txt(el('span', {cls: 'pm-field-label'}), () => this.app.fieldLabel(name));
        const parts = [label, control, ...this.suggestions(name, control)];
        if (name === 'source') parts.push(this.txt(el('span', {cls: 'pm-tool-hint'}), () => this.t('editSourceHint')));
        parts.push(el('span', {cls: 'pm-edit-mine', attrs: {hidden: ''}})); // what the planner typed, after a conflict
        rows.push(el('label', {cls: 'pm-field', data: {field: name}}, parts));
      }
      if (cur.geometry && cur.geometry.type === 'Point') rows.push(this.positionRow());
      this.form.replaceChildren(...rows, el('button', {attrs: {type: 'submit', hidden: ''}})); // Enter saves
      this.renderActions();
      if (this.conflict && this.conflict.loaded) this.showMine();
    }

    /** The input of one property, typed as the queryables say; `accuracy` is a choice of the vocabulary. */
    control(name, type, value) {
      const app = this.app;
      const id = 'pm-edit-f-' + cssId(name);
      const data = {field: name, type};
      let node;
      if (name === 'accuracy') {
        node = el('select', {attrs: {id}, data});
        const options = (value === null || value === undefined || value === '' ? [''] : []).concat(ACCURACY);
        if (value && !ACCURACY.includes(value)) options.push(String(value));
        for (const v of options) {
          node.append(this.txt(el('option', {attrs: {value: v}}),
            () => (v ? app.valueText('accuracy', v) : this.t('editAccuracyUnset'))));
        }
      } else if (type === 'boolean') {
        node = el('select', {attrs: {id}, data});
        for (const [v, key] of [['', 'editEmpty'], ['true', 'yes'], ['false', 'no']]) {
          node.append(this.txt(el('option', {attrs: {value: v}}), () => this.t(key)));
        }
      } else if (type === 'integer' || type === 'number') {
        node = el('input', {attrs: {id, type: 'number', step: type === 'integer' ? '1' : 'any',
          inputmode: type === 'integer' ? 'numeric' : 'decimal'}, data});
      } else if (value !== null && value !== undefined && norm(value).length > LONG_TEXT) {
        node = el('textarea', {attrs: {id, rows: '3', spellcheck: 'false'}, data});
      } else {
        node = el('input', {attrs: {id, type: 'text', autocomplete: 'off', spellcheck: 'false'}, data});
      }
      this.setValue(node, type, value);
      return node;
    }

    /** A coded text field (status, kind, …: the codes web/labels.json names) suggests its codes as the planner
     * types, and says what the code in the field means. */
    suggestions(name, control) {
      const table = this.app.labels.values[name];
      if (!table || control.tagName === 'SELECT') return [];
      const list = el('datalist', {attrs: {id: control.id + '-codes'}}, Object.keys(table).map((code) =>
        this.txt(el('option', {attrs: {value: code}}), () => this.app.valueText(name, code), 'label')));
      control.setAttribute('list', list.id);
      const meaning = el('span', {cls: 'pm-tool-hint pm-edit-meaning'});
      const say = () => { meaning.textContent = table[control.value] ? this.app.valueText(name, control.value) : ''; };
      control.addEventListener('input', say);
      this.i18n.push([meaning, () => (table[control.value] ? this.app.valueText(name, control.value) : ''),
        'textContent']);
      say();
      return [list, meaning];
    }

    setValue(node, type, value) {
      if (value === null || value === undefined) node.value = '';
      else if (type === 'boolean') node.value = value ? 'true' : 'false';
      else node.value = typeof value === 'object' ? JSON.stringify(value) : String(value);
    }

    /** A point's position; its marker on the map can be dragged (Leaflet's marker keeps it keyboard-focusable). */
    positionRow() {
      this.position = el('span', {cls: 'pm-edit-position', attrs: {id: 'pm-edit-position'}});
      this.txt(this.position, () => {
        const [lon, lat] = this.cur.geometry.coordinates;
        const nf = (v) => this.app.nf(v, {minimumFractionDigits: 6, maximumFractionDigits: 6});
        return `${nf(lat)}, ${nf(lon)}` + (this.cur.moved ? ` (${this.t('editMoved')})` : '');
      });
      return el('div', {cls: 'pm-field'}, [
        this.txt(el('span', {cls: 'pm-field-label'}), () => this.t('editPosition')), this.position]);
    }

    showMarker() {
      const cur = this.cur;
      this.hideMarker();
      if (!cur || cur.mode !== 'edit' || cur.deleted || !cur.geometry || cur.geometry.type !== 'Point') return;
      if (this.tools.panels.edit.hidden) return;
      const [lon, lat] = cur.geometry.coordinates;
      this.marker = L.marker([lat, lon], {draggable: true, keyboard: true, autoPan: true,
        title: this.t('editDragHint'), alt: this.t('editDragHint'), icon: new L.Icon.Default(), zIndexOffset: 1000})
        .addTo(this.app.map);
      this.marker.getElement().classList.add('pm-edit-marker');
      this.marker.on('dragend', () => {
        const ll = this.marker.getLatLng();
        cur.geometry = {type: 'Point', coordinates: [Number(ll.lng.toFixed(7)), Number(ll.lat.toFixed(7))]};
        cur.moved = true;
        this.relabel();
      });
    }

    hideMarker() {
      if (this.marker) this.app.map.removeLayer(this.marker);
      this.marker = null;
    }

    renderActions() {
      if (this.cur.deleted) { this.actions.replaceChildren(); return; }
      const save = this.button('pm-edit-save', 'editSave', () => this.save(), 'pm-btn-primary');
      const del = this.button('pm-edit-delete', 'editDelete', () => this.askDelete(), 'pm-btn-danger');
      this.confirmBox = el('div', {cls: 'pm-edit-confirm', attrs: {id: 'pm-edit-confirm', hidden: ''}});
      this.actions.replaceChildren(el('div', {cls: 'pm-btn-row'}, [save, del]), this.confirmBox);
    }

    /** What the form says now: {props} (every property of the feature, the shown ones as typed), or {error}. */
    typed() {
      const props = Object.assign({}, this.cur.props);
      for (const {name, type, node} of this.controls || []) {
        const raw = node.value;
        if (node.validity && node.validity.badInput) return {error: {key: 'editBadNumber', field: name}};
        if (raw === '' || raw === undefined) {
          if (PROVENANCE.has(name)) delete props[name]; else props[name] = null;
        } else if (type === 'integer' || type === 'number') {
          const n = Number(raw);
          if (!Number.isFinite(n)) return {error: {key: 'editBadNumber', field: name}};
          props[name] = n;
        } else if (type === 'boolean') {
          props[name] = raw === 'true';
        } else {
          props[name] = raw;
        }
      }
      return {props};
    }

    async save() {
      const cur = this.cur;
      if (!cur || cur.mode !== 'edit' || cur.deleted || !cur.etag) return;
      const typed = this.typed();
      if (typed.error) {
        this.setMsg({key: typed.error.key, vals: {field: this.app.fieldLabel(typed.error.field)}, state: 'error'});
        return;
      }
      const mine = {props: typed.props, geometry: cur.geometry};
      this.setMsg({key: 'editSaving', state: 'busy'});
      let res;
      try {
        res = await this.app.api(this.itemUrl(cur.st.id, cur.fid), {method: 'PUT', body: JSON.stringify(
          {type: 'Feature', id: cur.fid, properties: typed.props, geometry: cur.geometry}),
        headers: {'Content-Type': 'application/geo+json', 'If-Match': cur.etag, Accept: 'application/json'}});
      } catch (err) {
        this.failed(err);
        return;
      }
      if (res.status === 412) { await this.refused('save', res, mine); return; }
      if (!res.ok) { this.failed(await this.failure(res)); return; }
      this.afterWrite('editSaved');
    }

    askDelete() {
      const box = this.confirmBox;
      const no = this.button('pm-edit-delete-no', 'editCancel', () => { box.hidden = true; box.replaceChildren(); });
      const yes = this.button('pm-edit-delete-yes', 'editDeleteYes', () => this.remove(), 'pm-btn-danger');
      box.replaceChildren(this.txt(el('p', {attrs: {id: 'pm-edit-confirm-text'}}),
        () => fmt(this.t('editDeleteAsk'), {fid: this.cur.fid})), el('div', {cls: 'pm-btn-row'}, [yes, no]));
      box.setAttribute('role', 'alertdialog');
      box.setAttribute('aria-labelledby', 'pm-edit-confirm-text');
      box.hidden = false;
      no.focus();
    }

    async remove() {
      const cur = this.cur;
      if (!cur || cur.deleted || !cur.etag) return;
      this.setMsg({key: 'editDeleting', state: 'busy'});
      let res;
      try {
        res = await this.app.api(this.itemUrl(cur.st.id, cur.fid), {method: 'DELETE', headers: {'If-Match': cur.etag}});
      } catch (err) {
        this.failed(err);
        return;
      }
      if (res.status === 412) {
        await this.refused('delete', res, {props: Object.assign({}, cur.props), geometry: cur.geometry});
        return;
      }
      if (!res.ok) { this.failed(await this.failure(res)); return; }
      cur.deleted = true;
      this.conflict = null;
      this.conflictBox.hidden = true;
      this.hideMarker();
      for (const node of this.form.elements) node.disabled = true;
      this.renderActions();
      this.setMsg({key: 'editDeleted', vals: {fid: cur.fid}, state: 'done'});
      await this.app.parts.layers.reloadLayer(cur.st.id);
    }

    /** A write went through: the form shows the server's new version (and ETag), the layer is drawn again. */
    async afterWrite(key, vals) {
      const cur = this.cur;
      this.conflict = null;
      this.conflictBox.hidden = true;
      try {
        this.take(await this.fetchFeature(cur.st.id, cur.fid));
      } catch (err) {
        this.failed(err);
        return;
      }
      this.render();
      this.setMsg({key, vals, state: 'done'});
      await this.app.parts.layers.reloadLayer(cur.st.id);
    }

    // ---------------------------------------------------------------- a proposal's decision

    renderDecision() {
      const cur = this.cur;
      const app = this.app;
      const props = cur.props;
      const rows = SUMMARY.filter((k) => norm(props[k]) !== '').map((k) => el('tr', {data: {field: k}}, [
        this.txt(el('th'), () => app.fieldLabel(k)),
        this.txt(el('td'), () => (k === 'verdict' ? this.t('status_' + props[k]) : app.valueText(k, props[k])))]));
      this.form.replaceChildren(el('table', {cls: 'pm-report-context pm-decide-summary'}, [el('tbody', {}, rows)]));
      const buttons = DECISIONS.map(([status, key]) => {
        const b = this.button(`pm-decide-${status}`, key, () => this.decide(status),
          status === 'approved' ? 'pm-btn-primary' : '');
        const current = props.status === status;
        b.disabled = current;
        b.setAttribute('aria-pressed', String(current));
        b.dataset.status = status;
        if (status === 'submitted') this.txt(b, () => this.t('decideReturnTitle'), 'title');
        return b;
      });
      this.actions.replaceChildren(el('div', {cls: 'pm-btn-row pm-decide', attrs: {role: 'group'}}, buttons));
      this.actions.dataset.status = props.status || '';
    }

    async decide(status) {
      const cur = this.cur;
      if (!cur || cur.mode !== 'decide' || !cur.etag) return;
      this.setMsg({key: 'decideSending', state: 'busy'});
      let res;
      try {
        res = await this.app.api(`proposals/${encodeURIComponent(cur.fid)}/status`, {method: 'POST',
          body: JSON.stringify({status}),
          headers: {'Content-Type': 'application/json', 'If-Match': cur.etag, Accept: 'application/json'}});
      } catch (err) {
        this.failed(err);
        return;
      }
      if (res.status === 412) {
        await this.refused('status', res, {props: Object.assign({}, cur.props, {status}), geometry: cur.geometry});
        return;
      }
      if (!res.ok) { this.failed(await this.failure(res)); return; }
      this.afterWrite('decideDone', {status: this.app.valueText('status', status)});
    }

    // ---------------------------------------------------------------- a conflict (412)

    /** The server refused a write made from an old state: nothing changed there. Read what it has now and show it
     * next to the planner's version; the planner decides what happens next. */
    async refused(kind, res, mine) {
      const cur = this.cur;
      const problem = (await this.failure(res)).problem;
      let now = null;
      try {
        now = await this.fetchFeature(cur.st.id, cur.fid);
      } catch (err) {
        if (!err.problem || err.problem.status !== 404) { this.failed(err); return; }
      }
      this.conflict = {kind, problem, mine, now, loaded: false};
      this.setMsg(null);
      this.renderConflict();
      this.conflictBox.scrollIntoView({block: 'nearest'});
      this.conflictBox.focus({preventScroll: true});
    }

    /** The fields where the server's version and the planner's differ (a proposal's status always shown). */
    differences() {
      const c = this.conflict;
      const hidden = HIDDEN[this.cur.st.id] || new Set();
      const nowProps = (c.now && c.now.feature.properties) || {};
      const names = Array.from(new Set([...Object.keys(c.mine.props), ...Object.keys(nowProps)]))
        .filter((k) => !hidden.has(k));
      const out = names.filter((k) => norm(nowProps[k]) !== norm(c.mine.props[k])
        || (c.kind === 'status' && k === 'status'));
      return {fields: out, nowProps, geometry: c.now && !sameGeometry(c.now.feature.geometry, c.mine.geometry)};
    }

    renderConflict() {
      const c = this.conflict;
      const app = this.app;
      const box = this.conflictBox;
      box.replaceChildren();
      box.hidden = false;
      box.dataset.kind = c.kind;
      box.dataset.state = c.loaded ? 'loaded' : 'conflict';
      const show = (k, v) => (norm(v) === '' ? this.t('editEmpty') : app.valueText(k, v));
      if (!c.now) { // gone since: nothing to load
        box.append(this.txt(el('strong', {cls: 'pm-conflict-title'}), () => this.t('editConflictTitle')),
          this.txt(el('p'), () => this.t('editGone')));
        return;
      }
      const diff = this.differences();
      const title = c.kind === 'status' && !c.loaded
        ? () => fmt(this.t('decideConflict'), {status: app.valueText('status', diff.nowProps.status)})
        : () => this.t(c.loaded ? 'editReloadedTitle' : 'editConflictTitle');
      box.append(this.txt(el('strong', {cls: 'pm-conflict-title', attrs: {id: 'pm-edit-conflict-title'}}), title));
      if (!c.loaded) {
        box.append(el('p', {cls: 'pm-conflict-detail'}, [this.txt(el('span'), () => this.problemText(c.problem))]),
          this.txt(el('p', {cls: 'pm-conflict-kept'}), () => this.t('editConflictKept')));
      } else {
        const key = {save: 'editReloaded', delete: 'editReloadedDelete', status: 'decideReloaded'}[c.kind];
        box.append(this.txt(el('p'), () => this.t(key)));
      }
      const mineKey = {save: 'editConflictYours', delete: 'editConflictOpened', status: 'editConflictChosen'}[c.kind];
      const rows = diff.fields.map((k) => {
        const cells = [this.txt(el('th', {attrs: {scope: 'row'}}), () => app.fieldLabel(k)),
          this.txt(el('td', {cls: 'pm-conflict-now'}), () => show(k, diff.nowProps[k])),
          this.txt(el('td', {cls: 'pm-conflict-mine'}), () => show(k, c.mine.props[k]))];
        if (c.loaded && c.kind === 'save' && norm(diff.nowProps[k]) !== norm(c.mine.props[k])) {
          const reuse = this.button(`pm-edit-reuse-${cssId(k)}`, 'editReuse', () => this.reuse(k));
          reuse.dataset.field = k;
          this.txt(reuse, () => this.t('editReuseTitle'), 'title');
          cells.push(el('td', {}, [reuse]));
        }
        return el('tr', {data: {field: k}}, cells);
      });
      if (diff.geometry) {
        rows.push(el('tr', {data: {field: 'geometry'}}, [
          this.txt(el('th', {attrs: {scope: 'row'}}), () => this.t('editConflictGeometry')),
          this.txt(el('td', {attrs: {colspan: '2'}}), () => this.t('editGeometryChanged'))]));
      }
      if (rows.length) {
        const head = el('tr', {}, [this.txt(el('th', {attrs: {scope: 'col'}}), () => this.t('editConflictField')),
          this.txt(el('th', {attrs: {scope: 'col'}}), () => this.t('editConflictServer')),
          this.txt(el('th', {attrs: {scope: 'col'}}), () => this.t(mineKey))]);
        box.append(el('table', {cls: 'pm-conflict-table', attrs: {id: 'pm-edit-conflict-table'}}, [
          el('thead', {}, [head]), el('tbody', {}, rows)]));
      } else {
        box.append(this.txt(el('p'), () => this.t('editConflictSame')));
      }
      if (!c.loaded) box.append(el('div', {cls: 'pm-btn-row'}, [
        this.button('pm-edit-reload', 'editReload', () => this.loadCurrent(), 'pm-btn-primary')]));
    }

    /** "Load the current version": the server's version (and its ETag) into the form; the conflict table stays,
     * so what the planner typed is still in view (and can be put back field by field). */
    async loadCurrent() {
      const c = this.conflict;
      if (!c || !c.now) return;
      let got;
      try {
        got = await this.fetchFeature(this.cur.st.id, this.cur.fid); // the newest, should it have moved on again
      } catch (err) {
        this.failed(err);
        return;
      }
      c.now = got;
      c.loaded = true;
      this.take(got);
      this.render();
      this.renderConflict();
      this.setMsg({key: 'editLoaded', state: 'done'});
      const first = this.body.querySelector('.pm-edit-form input, .pm-edit-form select, .pm-edit-form textarea,'
        + ' .pm-decide button:not([disabled])');
      if (first) first.focus();
    }

    /** Under each field the planner had typed otherwise: "you typed …". */
    showMine() {
      const c = this.conflict;
      if (!c || c.kind !== 'save') return;
      for (const {name, node} of this.controls || []) {
        const mine = c.mine.props[name];
        if (norm(mine) === norm(this.cur.props[name])) continue;
        const hint = node.parentElement.querySelector('.pm-edit-mine');
        hint.hidden = false;
        this.txt(hint, () => `${this.t('editConflictYours')}: ${norm(mine) === '' ? this.t('editEmpty')
          : this.app.valueText(name, mine)}`);
      }
    }

    reuse(field) {
      const c = this.conflict;
      const item = (this.controls || []).find((x) => x.name === field);
      if (!c || !item) return;
      this.setValue(item.node, item.type, c.mine.props[field]);
      item.node.dispatchEvent(new Event('input'));
      item.node.focus();
    }
  }

  window.planmap.part('edit', (app) => new Editor(app));
})();
