/*
 * planmap web map — the terrain part (served page only): the slope of the elevation model in force (GET /terrain) as
 * an overlay the planner switches on in the layer panel ("Địa hình (độ dốc) / Terrain (slope)"), with its classes in
 * the legend, and the outline of the model's coverage, labelled: outside it terrain is unknown, never flat.
 */
(function () {
  'use strict';

  const {el} = window.planmap.helpers;
  const OVERLAY_OPACITY = 0.7;
  const OUTLINE = {color: '#5a3d1e', weight: 2, dashArray: '6 4', fill: false, interactive: false};

  window.planmap.part('terrain', (app) => {
    const map = app.map;
    const state = {doc: null, group: null, on: false};
    const legendBlock = el('div', {cls: 'pm-legend-layer pm-terrain-legend', attrs: {id: 'pm-terrain-legend'}});

    function legend() {
      const doc = state.doc;
      const rows = (doc.overlay.legend || []).map((c) => el('li', {}, [
        el('span', {cls: 'pm-terrain-swatch', style: {background: c.colour}}),
        el('span', {text: c[app.lang] || c.vi})]));
      const statement = el('p', {cls: 'pm-terrain-statement', text: doc.statement[app.lang] || doc.statement.vi});
      legendBlock.replaceChildren(app.label('terrainLegend', 'h3'), el('ul', {}, rows), statement);
    }

    function show(on) {
      state.on = on;
      if (!state.group) return;
      if (on) {
        state.group.addTo(map);
        legend();
        const box = document.getElementById('pm-legend');
        // first under the legend's title: the overlay covers everything else drawn, so its key comes first
        if (box && !box.contains(legendBlock)) box.insertBefore(legendBlock, box.children[1] || null);
      } else {
        map.removeLayer(state.group);
        legendBlock.remove();
      }
    }

    /** The panel's terrain section (again after each render of the panel, which rebuilds its body). */
    function panelRow() {
      const panel = app.parts.panel;
      if (!state.group || !panel || !panel.body || panel.body.querySelector('.pm-terrain-box')) return;
      const input = el('input', {attrs: {type: 'checkbox', id: 'pm-toggle-terrain'}, data: {terrain: 'slope'}});
      input.checked = state.on;
      input.addEventListener('change', () => show(input.checked));
      panel.body.append(el('section', {cls: 'pm-group-box pm-terrain-box'}, [
        app.label('terrainGroup', 'h2', {cls: 'pm-group-title'}),
        el('ul', {cls: 'pm-group'}, [el('li', {cls: 'pm-layer', data: {layer: 'terrain'}}, [
          el('label', {cls: 'pm-layer-row', attrs: {for: input.id}}, [input, app.label('terrainSlope', 'span')])])])]));
    }

    app.on('catalog', panelRow);
    app.translated(() => { if (state.on && state.doc) legend(); });
    app.on('start', () => {
      app.api('terrain').then((resp) => (resp.ok ? resp.json() : null)).then((doc) => {
        if (!doc || !doc.available || !doc.overlay) return;
        state.doc = doc;
        const [w, s, e, n] = doc.overlay.bounds;
        const image = L.imageOverlay('terrain/slope.png', [[s, w], [n, e]],
          {opacity: OVERLAY_OPACITY, className: 'pm-terrain-slope', interactive: false});
        const outline = L.geoJSON(doc.coverage, {style: () => OUTLINE});
        // the label sits on the outline's northern edge, where the known and the unknown meet
        const top = outline.getBounds();
        const label = L.tooltip({permanent: true, direction: 'bottom', className: 'pm-terrain-label', interactive: false})
          .setLatLng([top.getNorth(), top.getCenter().lng]);
        app.translated(() => label.setContent(app.t('terrainCoverage')));
        state.group = L.layerGroup([image, outline, label]);
        panelRow();
        if (state.on) show(true);
      }).catch(() => {}); // no terrain on this server: the map works without it
    });
    return {show, get doc() { return state.doc; }};
  });
})();
