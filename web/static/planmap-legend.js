/*
 * planmap web map — the legend part: a symbol and a label for each class of every layer shown (the classes its
 * features use, when known), and the symbol (swatch) the layer panel shows for each layer.
 */
(function () {
  'use strict';

  const {el, svg} = window.planmap.helpers;

  /** A symbol (SVG) drawn with a path style: a square for areas, a stroke for lines, a dot for points. */
  function swatch(st, sty) {
    const box = svg('svg', {viewBox: '0 0 20 14', width: 20, height: 14, class: 'pm-swatch'});
    let shape;
    if (st.kind === 'point') shape = svg('circle', {cx: 10, cy: 7, r: Math.min(6, Math.max(3, sty.radius || 5))});
    else if (st.kind === 'line') shape = svg('path', {d: 'M1 10 L8 4 L12 9 L19 3', fill: 'none'});
    else shape = svg('rect', {x: 2, y: 2, width: 16, height: 10});
    const stroke = sty.stroke === false ? 'none' : (sty.color || '#3388ff');
    shape.setAttribute('stroke', stroke);
    shape.setAttribute('stroke-width', String(Math.min(4, sty.weight === undefined ? 2 : sty.weight)));
    if (sty.dashArray) shape.setAttribute('stroke-dasharray', sty.dashArray);
    if (st.kind !== 'line') {
      const filled = sty.fill !== false;
      const opacity = Math.max(0.15, sty.fillOpacity === undefined ? 0.2 : sty.fillOpacity);
      shape.setAttribute('fill', filled ? (sty.fillColor || stroke) : 'none');
      shape.setAttribute('fill-opacity', String(filled ? opacity : 0));
    }
    box.append(shape);
    return box;
  }

  window.planmap.part('legend', (app) => {
    const body = el('div', {cls: 'pm-legend-body'});
    const head = app.label('legend', 'h2', {cls: 'pm-legend-title'});
    const row = (st, sty, text) => el('li', {}, [swatch(st, sty), el('span', {text})]);

    /** The rows of one layer: its classes (those its drawn features use, else all), its plan phases. */
    function rows(st) {
      const spec = st.style;
      const styleFor = (props) => app.parts.layers.styleFor(st, props);
      const out = [];
      if (spec.by && spec.classes) {
        const seen = st.seen.size ? Array.from(st.seen) : Object.keys(spec.classes);
        for (const value of Object.keys(spec.classes).filter((v) => seen.includes(v))
          .concat(seen.filter((v) => !(v in spec.classes)))) {
          out.push(row(st, styleFor({[spec.by]: value}), app.valueText(spec.by, value)));
        }
      }
      if (spec.phase && spec.phase.classes) {
        const field = spec.phase.field;
        for (const value of Object.keys(spec.phase.classes)) {
          const sty = Object.assign({}, spec.base, spec.phase.classes[value], {fillOpacity: 0});
          out.push(row(st, sty, `${app.fieldLabel(field)} ${app.valueText(field, value)}`));
        }
      }
      if (!out.length) out.push(row(st, spec.base, app.title(st)));
      return out;
    }

    function render() {
      const blocks = [];
      for (const st of app.layers.values()) {
        if (!st.on) continue;
        blocks.push(el('div', {cls: 'pm-legend-layer', data: {layer: st.id}}, [
          el('h3', {text: app.title(st)}), el('ul', {}, rows(st))]));
      }
      if (!blocks.length) blocks.push(el('p', {cls: 'pm-legend-empty', text: app.t('legendEmpty')}));
      body.replaceChildren(...blocks);
    }

    app.translated(render);
    app.control('bottomright', () => el('div', {cls: 'pm-legend leaflet-bar', attrs: {id: 'pm-legend'}}, [head, body]));
    app.on('catalog', render);
    app.on('layer', render);
    return {render, swatch};
  });
})();
