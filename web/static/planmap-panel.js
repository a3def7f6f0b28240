/*
 * planmap web map — the layer panel part: the administrative version shown (2025 / pre-2025), the layers by group
 * with a switch, symbol and feature count each, and the backgrounds.
 */
(function () {
  'use strict';

  const {el, fmt, cssId} = window.planmap.helpers;
  const ADMIN = [['2025', 'admin2025'], ['pre2025', 'adminPre2025']];

  class Panel {
    constructor(app) {
      this.app = app;
      this.rows = new Map(); // layer id → {row, checkbox, count}
      this.body = el('div', {cls: 'pm-panel-body'});
      const head = app.label('layers', 'button', {cls: 'pm-panel-head', attrs: {type: 'button', 'aria-expanded': 'true'}});
      const panel = el('div', {cls: 'pm-panel leaflet-bar', attrs: {id: 'pm-panel'}}, [head, this.body]);
      head.addEventListener('click', () => {
        const folded = panel.classList.toggle('pm-collapsed');
        head.setAttribute('aria-expanded', String(!folded));
      });
      app.translated(() => { for (const st of app.layers.values()) this.update(st); });
      app.control('topright', () => panel);
      app.on('catalog', () => this.render());
      app.on('layer', (st) => this.update(st));
    }

    render() {
      const app = this.app;
      const layers = app.parts.layers;
      this.rows.clear();
      this.body.replaceChildren();
      const adminBox = el('fieldset', {cls: 'pm-admin'}, [app.label('admin', 'legend')]);
      for (const [value, key] of ADMIN) {
        const input = el('input', {attrs: {type: 'radio', name: 'pm-admin', value}, data: {admin: value}});
        input.checked = layers.admin === value;
        input.addEventListener('change', () => { if (input.checked) layers.setAdmin(value); });
        adminBox.append(el('label', {cls: 'pm-admin-option'}, [input, app.label(key)]));
      }
      this.body.append(adminBox);
      const order = app.cfg.groupOrder || Object.keys(app.labels.groups);
      const groups = new Map();
      for (const st of app.layers.values()) {
        const g = order.includes(st.meta.group) ? st.meta.group : 'other';
        if (!groups.has(g)) groups.set(g, []);
        groups.get(g).push(st);
      }
      for (const g of order) {
        if (!groups.has(g)) continue;
        const heading = app.label(() => app.labels.groups[g][app.lang], 'h2', {cls: 'pm-group-title', data: {group: g}});
        const list = el('ul', {cls: 'pm-group', data: {group: g}}, groups.get(g).map((st) => this.layerRow(st)));
        this.body.append(el('section', {cls: 'pm-group-box'}, [heading, list]));
      }
      const backgrounds = Object.entries(app.backgrounds).map(([key, layer]) => this.backgroundRow(key, layer));
      if (backgrounds.length) {
        this.body.append(el('section', {cls: 'pm-group-box'}, [
          app.label('background', 'h2', {cls: 'pm-group-title'}),
          el('ul', {cls: 'pm-group'}, backgrounds)]));
      }
      for (const st of app.layers.values()) this.update(st);
    }

    layerRow(st) {
      const app = this.app;
      const checkbox = el('input', {attrs: {type: 'checkbox', id: 'pm-toggle-' + cssId(st.id)}, data: {layer: st.id}});
      checkbox.checked = st.on;
      checkbox.addEventListener('change', () => app.parts.layers.setLayer(st, checkbox.checked));
      const count = el('span', {cls: 'pm-count'});
      const name = app.label(() => app.title(st), 'span', {cls: 'pm-layer-name'});
      const swatch = app.parts.legend.swatch(st, st.style.base);
      const row = el('li', {cls: 'pm-layer', data: {layer: st.id, state: st.state}},
        [el('label', {cls: 'pm-layer-row', attrs: {for: checkbox.id}}, [checkbox, swatch, name, count])]);
      this.rows.set(st.id, {row, checkbox, count});
      return row;
    }

    backgroundRow(key, layer) {
      const app = this.app;
      const basemaps = app.parts.basemaps;
      const input = el('input', {attrs: {type: 'checkbox'}, data: {background: key}});
      input.checked = app.map.hasLayer(layer);
      input.addEventListener('change', () => {
        if (input.checked && basemaps.exclusive(key)) this.hideOtherBackgrounds(key);
        if (input.checked) layer.addTo(app.map); else app.map.removeLayer(layer);
        if (input.checked) basemaps.shown(key);
        app.emit('background', key);
      });
      const info = basemaps.info(key);
      const name = info ? el('span', {text: info.title, title: info.attribution})
        : app.label(key === 'relief' ? 'relief' : 'osm');
      return el('li', {}, [el('label', {cls: 'pm-layer-row'}, [input, name])]);
    }

    /** One covering background at a time: switching one on switches the others off (the relief stays). */
    hideOtherBackgrounds(key) {
      const app = this.app;
      for (const input of this.body.querySelectorAll('input[data-background]')) {
        const other = input.dataset.background;
        if (other === key || !app.parts.basemaps.exclusive(other)) continue;
        input.checked = false;
        app.map.removeLayer(app.backgrounds[other]);
      }
    }

    /** A layer's row: its switch, loading state and feature count. */
    update(st) {
      const ui = this.rows.get(st.id);
      if (!ui) return;
      const t = (key) => this.app.t(key);
      ui.checkbox.checked = st.on;
      ui.row.dataset.state = st.state;
      ui.row.dataset.count = String(st.count);
      const text = {loading: '…', error: '!'}[st.state];
      ui.count.textContent = text || (st.on && st.loaded ? String(st.count) : '');
      ui.count.title = st.state === 'error' ? t('loadError') : st.state === 'loading' ? t('loading')
        : st.truncated ? fmt(t('truncated'), {n: st.count}) : `${st.count} ${t('features')}`;
    }
  }

  window.planmap.part('panel', (app) => new Panel(app));
})();
