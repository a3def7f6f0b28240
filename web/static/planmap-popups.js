/*
 * planmap web map — the popups part: a clicked or found feature's properties as a table, labelled in the page's
 * language, and below it the actions other parts add (addAction: e.g. a planner's "edit"). Opens on the layers'
 * 'select' event ({st, feature, latlng}).
 */
(function () {
  'use strict';

  const {el} = window.planmap.helpers;
  const SKIP = {proposals: new Set(['report'])}; // per layer: fields too long for a popup (a check's whole report)

  window.planmap.part('popups', (app) => {
    const actions = []; // (st, feature) → an element (a button) or null, asked each time a popup opens

    function content(st, feature) {
      const props = feature.properties || {};
      const name = props.name || props.full_name || props.ref || `#${feature.id}`;
      const skip = SKIP[st.id] || new Set();
      const rows = [];
      for (const [key, value] of Object.entries(props)) {
        if (value === null || value === undefined || value === '' || skip.has(key)) continue;
        rows.push(el('tr', {data: {field: key}}, [el('th', {text: app.fieldLabel(key)}),
          el('td', {text: app.valueText(key, value)})]));
      }
      const extra = actions.map((fn) => fn(st, feature)).filter(Boolean);
      return el('div', {cls: 'pm-popup', data: {layer: st.id, fid: String(feature.id)}}, [
        el('div', {cls: 'pm-popup-layer', text: app.title(st)}),
        el('h3', {cls: 'pm-popup-title', text: name}),
        el('div', {cls: 'pm-popup-scroll'}, [el('table', {cls: 'pm-popup-table'}, [el('tbody', {}, rows)])]),
        extra.length ? el('div', {cls: 'pm-popup-actions'}, extra) : null,
      ]);
    }

    app.on('select', ({st, feature, latlng}) => {
      L.popup({maxWidth: 380, className: 'pm-popup-wrap', autoPanPaddingTopLeft: [60, 240],
        autoPanPaddingBottomRight: [300, 60]})
        .setLatLng(latlng)
        .setContent(() => content(st, feature))
        .openOn(app.map);
    });
    return {content, addAction: (fn) => actions.push(fn)};
  });
})();
