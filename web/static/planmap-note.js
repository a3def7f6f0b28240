/*
 * planmap web map — the note part: the accuracy note (which layers hold approximate or synthetic data, and how much)
 * and the attribution of the layers and backgrounds now shown.
 */
(function () {
  'use strict';

  const {el} = window.planmap.helpers;

  window.planmap.part('note', (app) => {
    const head = el('strong');
    const list = el('ul', {cls: 'pm-note-list'});
    const attribution = el('div', {cls: 'pm-attribution leaflet-control-attribution'});
    let read = false; // the catalog has been read: until then the note has nothing to say

    function renderNote() {
      if (!read) return;
      const items = [];
      for (const st of app.layers.values()) {
        const inexact = Object.entries(st.meta.accuracy || {}).filter(([k]) => k !== 'exact');
        if (!inexact.length) continue;
        const parts = inexact.map(([k, n]) => `${app.valueText('accuracy', k)} ${n}`).join(', ');
        items.push(el('li', {data: {layer: st.id}}, [el('span', {cls: 'pm-note-layer', text: app.title(st)}),
          document.createTextNode(` (${parts})`)]));
      }
      head.textContent = items.length ? app.t('note') : app.t('noteAllExact');
      list.replaceChildren(...items);
    }

    function renderAttribution() {
      const texts = new Set(['Leaflet', 'planmap']);
      for (const st of app.layers.values()) if (st.on && st.meta.attribution) texts.add(st.meta.attribution);
      if (app.backgrounds.osm && app.map.hasLayer(app.backgrounds.osm)) texts.add(app.cfg.osm.attribution);
      for (const text of app.parts.basemaps.attributions()) texts.add(text);
      attribution.textContent = Array.from(texts).join(' | ');
    }

    app.control('bottomleft', () => el('div', {cls: 'pm-note', attrs: {id: 'pm-note', role: 'note'}}, [head, list]));
    app.control('bottomright', () => attribution);
    app.translated(renderNote);
    app.on('catalog', () => { read = true; renderNote(); renderAttribution(); });
    app.on('catalogError', () => { head.textContent = app.t('loadError'); });
    app.on('layer', renderAttribution);
    app.on('background', renderAttribution);
    return {renderNote, renderAttribution};
  });
})();
