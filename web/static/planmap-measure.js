/*
 * planmap web map — the measure part: distance and area measured by clicking on the map (geodesic), shown in a
 * tooltip. While measuring, app.mode is 'measure': clicks on features then measure instead of opening popups.
 */
(function () {
  'use strict';

  const {el, icon} = window.planmap.helpers;
  const ICONS = {
    distance: ['M3 17l14-14 4 4-14 14H3v-4z', 'M7 13l2 2M10 10l2 2M13 7l2 2'],
    area: ['M4 20V8l8-5 8 5v12H4z', 'M4 20l16-12'],
    clear: ['M6 6l12 12M18 6L6 18'],
  };
  const TITLES = {distance: 'measureDistance', area: 'measureArea', clear: 'measureClear'};
  const SHAPE = {pane: 'pm-measure', className: 'pm-measure-shape', color: '#d7301f', weight: 2.5, dashArray: '6 4',
    interactive: false, fillOpacity: 0.12};
  const TIP = {permanent: true, direction: 'right', offset: [12, 0], className: 'pm-measure-tip'};

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

  class Measure {
    constructor(app) {
      this.app = app;
      this.map = app.map;
      this.current = null;
      const pane = this.map.createPane('pm-measure');
      pane.style.zIndex = 640;
      pane.style.pointerEvents = 'none';
      this.layer = L.layerGroup().addTo(this.map);
      app.control('topleft', () => el('div', {cls: 'leaflet-bar pm-measure'},
        Object.keys(ICONS).map((mode) => this.button(mode))));
      this.onClick = (ev) => this.addPoint(ev.latlng);
      this.onMove = (ev) => this.update(ev.latlng);
      this.onKey = (ev) => { if (ev.key === 'Escape') this.stop(); };
      this.onDbl = () => this.stop();
    }

    button(mode) {
      const b = el('a', {cls: 'pm-measure-' + mode, attrs: {href: '#', role: 'button'}}, [icon(ICONS[mode])]);
      b.addEventListener('click', (ev) => {
        ev.preventDefault();
        if (mode === 'clear') { this.stop(); this.layer.clearLayers(); return; }
        if (this.current && this.current.mode === mode) this.stop();
        else this.start(mode);
      });
      this.app.translated(() => {
        b.title = this.app.t(TITLES[mode]);
        b.setAttribute('aria-label', this.app.t(TITLES[mode]));
      });
      return b;
    }

    start(mode) {
      this.stop();
      const map = this.map;
      const shape = mode === 'area' ? L.polygon([], SHAPE) : L.polyline([], SHAPE);
      shape.addTo(this.layer);
      this.current = {mode, points: [], shape, tip: L.tooltip(TIP)};
      this.app.mode = 'measure';
      map.doubleClickZoom.disable();
      map.getContainer().classList.add('pm-measuring');
      map.on('click', this.onClick);
      map.on('mousemove', this.onMove);
      map.on('dblclick', this.onDbl);
      document.addEventListener('keydown', this.onKey);
      this.setText(this.app.t('measureHint'), map.getCenter());
    }

    stop() {
      const m = this.current;
      const map = this.map;
      if (!m) return;
      this.current = null;
      this.app.mode = null;
      map.off('click', this.onClick);
      map.off('mousemove', this.onMove);
      map.off('dblclick', this.onDbl);
      document.removeEventListener('keydown', this.onKey);
      map.getContainer().classList.remove('pm-measuring');
      setTimeout(() => map.doubleClickZoom.enable(), 0);
      map.closeTooltip(m.tip);
      if (m.points.length < 2) { this.layer.removeLayer(m.shape); return; }
      m.shape.setLatLngs(m.points);
      m.shape.bindTooltip(this.text(m.points, m.mode), TIP);
      m.shape.openTooltip(m.points[m.points.length - 1]);
    }

    addPoint(latlng) {
      const m = this.current;
      if (!m) return;
      const prev = m.points[m.points.length - 1];
      if (prev && this.map.latLngToContainerPoint(prev).distanceTo(this.map.latLngToContainerPoint(latlng)) < 3) return;
      m.points.push(latlng);
      this.update(latlng);
    }

    update(cursor) {
      const m = this.current;
      if (!m || !m.points.length) return;
      const pts = m.points.concat([cursor]);
      m.shape.setLatLngs(pts);
      this.setText(this.text(pts, m.mode), cursor);
    }

    setText(text, latlng) {
      const m = this.current;
      m.tip.setContent(el('span', {text}));
      m.tip.setLatLng(latlng);
      if (!this.map.hasLayer(m.tip)) m.tip.addTo(this.map);
    }

    text(pts, mode) {
      const nf = (v, d) => this.app.nf(v, {maximumFractionDigits: d});
      if (mode === 'area') {
        const a = pts.length >= 3 ? ringArea(pts) : 0;
        return a >= 1e6 ? `${nf(a / 1e6, 2)} km² (${nf(a / 1e4, 0)} ha)` : `${nf(a / 1e4, 2)} ha (${nf(a, 0)} m²)`;
      }
      let d = 0;
      for (let i = 1; i < pts.length; i++) d += this.map.distance(pts[i - 1], pts[i]);
      return d >= 1000 ? `${nf(d / 1000, 2)} km` : `${nf(d, 0)} m`;
    }
  }

  window.planmap.part('measure', (app) => new Measure(app));
})();
