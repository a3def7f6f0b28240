/*
 * planmap web map — the layers part: the catalog of collections, each layer's state (app.layers), loading its
 * features (whole, or by the visible bbox for large layers; from window.PLANMAP_DATA in an offline copy), drawing
 * them with their styles (web/styles.json), and the 2025 / pre-2025 administrative switch.
 *
 * Events it emits: 'catalog' (the list of layers changed), 'catalogError' (it could not be read), 'layer' (st: a
 * layer was switched, drawn or its loading state changed), 'select' ({st, feature, latlng}: a feature was clicked).
 * It starts on the shell's 'start'.
 */
(function () {
  'use strict';

  const {el, cssId, local} = window.planmap.helpers;
  const ADMIN_KEY = 'planmap.admin';
  const OUTLINE = 'province'; // the layer drawn as the outline in force for the administrative version shown
  const PANES = {admin: 405, polygons: 410, lines: 420, points: 430};
  const DAY_MS = 24 * 3600 * 1000;

  function geometryKind(type) {
    const t = String(type || '').toLowerCase();
    if (t.includes('point')) return 'point';
    if (t.includes('line')) return 'line';
    return 'polygon';
  }

  /** The features in force on `day` (ISO date): valid_from ≤ day ≤ valid_to, an open or missing end always
   * covering; all of them when none is (as layers/admin.py does for the province's outline). */
  function inForce(features, day) {
    const date = (value) => (value ? String(value).slice(0, 10) : null);
    const chosen = features.filter((f) => {
      const p = f.properties || {};
      const from = date(p.valid_from);
      const to = date(p.valid_to);
      return (!from || from <= day) && (!to || to >= day);
    });
    return chosen.length ? chosen : features;
  }

  class Layers {
    constructor(app) {
      this.app = app;
      this.map = app.map;
      this.cfg = app.cfg;
      this.styles = app.cfg.styles;
      this.admin = local.get(ADMIN_KEY) === 'pre2025' ? 'pre2025' : '2025';
      for (const [name, z] of Object.entries(PANES)) this.map.createPane('pm-' + name).style.zIndex = z;
      app.on('start', () => this.start());
    }

    /** The day whose administrative units are shown: the reform date (2025), or the day before it (pre-2025). */
    adminDay() {
      const reform = this.cfg.reformDate;
      if (this.admin === '2025') return reform;
      return new Date(Date.parse(reform) - DAY_MS).toISOString().slice(0, 10);
    }

    /** The collections document: from the API, or embedded in an offline copy of the page. */
    async fetchCatalog() {
      if (this.cfg.offline) return {collections: this.cfg.offline.collections};
      const res = await this.app.api('collections', {headers: {Accept: 'application/json'}});
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.json();
    }

    layerState(meta, defaults) {
      const kind = geometryKind(meta.geometryType);
      const spec = this.styles.layers[meta.id] || {};
      const style = Object.assign({}, spec, {base: Object.assign({}, this.styles.fallback[kind], spec.base || {})});
      const cluster = kind === 'point' && (spec.cluster !== undefined ? spec.cluster
        : meta.numberOfFeatures > (this.styles.clusterThreshold || 100));
      const st = {
        id: meta.id, meta, kind, style, cluster,
        byBbox: !this.cfg.offline && meta.numberOfFeatures > (this.styles.bboxThreshold || 200),
        on: defaults.has(meta.id), seen: new Set(), count: 0, loaded: false, loadedBounds: null, abort: null,
        doc: null,
      };
      if (this.cfg.offline) st.on = true; // an offline copy holds just the layers that were on
      else if (meta.id === 'communes') st.on = st.on && this.admin === '2025';
      else if (meta.id === 'districts') st.on = this.admin === 'pre2025' || defaults.has('districts');
      st.state = st.on ? 'loading' : 'off'; // off, loading, ready or error
      st.group = cluster
        ? L.markerClusterGroup({
          chunkedLoading: true, showCoverageOnHover: false, disableClusteringAtZoom: 14, maxClusterRadius: 50,
          iconCreateFunction: (c) => this.clusterIcon(st, c)})
        : L.featureGroup();
      return st;
    }

    async start() {
      let doc;
      try {
        doc = await this.fetchCatalog();
      } catch (err) {
        this.app.emit('catalogError', err);
        console.warn('planmap: cannot read the collections', err);
        return;
      }
      const defaults = new Set(this.styles.defaults || []);
      for (const meta of doc.collections) this.app.layers.set(meta.id, this.layerState(meta, defaults));
      this.app.emit('catalog');
      this.map.on('moveend', () => this.refreshVisible());
      await Promise.all(Array.from(this.app.layers.values()).filter((st) => st.on).map((st) => this.setLayer(st, true)));
      this.app.ready();
    }

    /** Re-read the collections (after signing in or out): new layers are listed (off), vanished ones removed. */
    async reloadCatalog() {
      const layers = this.app.layers;
      const doc = await this.fetchCatalog();
      const ids = new Set(doc.collections.map((m) => m.id));
      for (const [id, st] of Array.from(layers.entries())) {
        if (ids.has(id)) continue;
        if (st.abort) st.abort.abort();
        this.map.removeLayer(st.group);
        layers.delete(id);
      }
      for (const meta of doc.collections) {
        const st = layers.get(meta.id);
        if (st) st.meta = meta;
        else layers.set(meta.id, this.layerState(meta, new Set()));
      }
      this.app.emit('catalog');
      document.documentElement.dataset.planmapLayers = Array.from(layers.keys()).join(',');
    }

    /** Draw a layer again from the server (e.g. the proposals layer after a save). */
    async reloadLayer(id) {
      const st = this.app.layers.get(id);
      if (!st) return;
      st.loaded = false;
      st.loadedBounds = null;
      await this.setLayer(st, true);
    }

    clusterIcon(st, cluster) {
      const n = cluster.getChildCount();
      const size = n < 10 ? 30 : n < 100 ? 36 : 42;
      const inner = el('div', {style: {background: st.style.clusterColor || '#636363'}}, [el('span', {text: n})]);
      return L.divIcon({html: inner, className: `marker-cluster pm-cluster pm-f pm-l-${cssId(st.id)}`,
        iconSize: L.point(size, size)});
    }

    setAdmin(value) {
      this.admin = value;
      local.set(ADMIN_KEY, value);
      const communes = this.app.layers.get('communes');
      const districts = this.app.layers.get('districts');
      if (communes) this.setLayer(communes, value === '2025');
      if (districts) this.setLayer(districts, value === 'pre2025');
      const outline = this.app.layers.get(OUTLINE);
      if (outline && outline.doc) this.draw(outline, outline.doc);
    }

    async setLayer(st, on) {
      st.on = on;
      if (on) {
        st.group.addTo(this.map);
        this.app.emit('layer', st);
        await this.load(st);
      } else {
        if (st.abort) st.abort.abort();
        this.map.removeLayer(st.group);
        this.setState(st, 'off');
      }
    }

    refreshVisible() {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(() => {
        for (const st of this.app.layers.values()) if (st.on && st.byBbox) this.load(st);
      }, 150);
    }

    setState(st, state) {
      st.state = state;
      this.app.emit('layer', st);
    }

    /** Fetch a collection's features: whole for small layers, by the visible bbox (padded) for large ones. */
    async load(st) {
      const view = this.map.getBounds();
      const fresh = st.loaded && (!st.byBbox || (st.loadedBounds && st.loadedBounds.contains(view)));
      if (fresh) {
        if (!st.abort) this.setState(st, 'ready');
        return;
      }
      if (this.cfg.offline) {
        st.doc = (window.PLANMAP_DATA || {})[st.id] || {type: 'FeatureCollection', features: []};
        st.loaded = true;
        this.draw(st, st.doc);
        this.setState(st, 'ready');
        return;
      }
      const bbox = st.byBbox ? view.pad(0.5) : null;
      if (st.abort) st.abort.abort();
      const ctl = new AbortController();
      st.abort = ctl;
      const params = new URLSearchParams({limit: '10000'});
      if (bbox) {
        const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
        params.set('bbox', [clamp(bbox.getWest(), -180, 180), clamp(bbox.getSouth(), -90, 90),
          clamp(bbox.getEast(), -180, 180), clamp(bbox.getNorth(), -90, 90)].map((v) => v.toFixed(5)).join(','));
      }
      this.setState(st, 'loading');
      st.timing = {requested: performance.now()};
      try {
        const res = await this.app.api(`collections/${encodeURIComponent(st.id)}/items?${params}`,
          {headers: {Accept: 'application/geo+json'}, signal: ctl.signal});
        if (!res.ok) throw new Error('HTTP ' + res.status);
        const doc = await res.json();
        st.timing.received = performance.now();
        if (ctl.signal.aborted || !st.on) return;
        st.doc = doc;
        st.truncated = doc.numberMatched > doc.numberReturned;
        st.loadedBounds = bbox;
        st.loaded = true;
        this.draw(st, doc);
        st.timing.drawn = performance.now();
        this.setState(st, 'ready');
      } catch (err) {
        if (err.name === 'AbortError') return;
        console.warn(`planmap: layer ${st.id} failed to load`, err);
        this.setState(st, 'error');
      } finally {
        if (st.abort === ctl) st.abort = null;
      }
    }

    /** The path style of a feature: the layer's base, its class (`by`), its plan phase. */
    styleFor(st, props) {
      const spec = st.style;
      const sty = Object.assign({}, spec.base);
      if (spec.by && spec.classes) Object.assign(sty, spec.classes[String(props[spec.by])] || {});
      if (spec.phase && spec.phase.classes) Object.assign(sty, spec.phase.classes[String(props[spec.phase.field])] || {});
      return sty;
    }

    draw(st, doc) {
      const paneName = 'pm-' + (st.style.pane || {point: 'points', line: 'lines', polygon: 'polygons'}[st.kind]);
      const cls = `pm-f pm-l-${cssId(st.id)}`;
      const features = st.id === OUTLINE ? inForce(doc.features || [], this.adminDay()) : doc.features || [];
      const drawn = [];
      st.seen = new Set();
      for (const f of features) {
        const props = f.properties || {};
        if (!f.geometry) continue;
        const sty = Object.assign(this.styleFor(st, props), {pane: paneName, className: cls});
        if (st.style.by && props[st.style.by] !== undefined && props[st.style.by] !== null) {
          st.seen.add(String(props[st.style.by]));
        }
        let layer;
        try {
          layer = L.GeoJSON.geometryToLayer(f, {
            pointToLayer: (feature, latlng) => L.circleMarker(latlng, sty),
            style: () => sty,
          });
        } catch (err) {
          continue; // an empty or invalid geometry is skipped, not fatal
        }
        if (layer.setStyle && st.kind !== 'point') layer.setStyle(sty);
        layer.feature = f;
        layer.on('click', (ev) => {
          if (this.app.mode) return; // a tool (measuring) takes the map's clicks
          L.DomEvent.stopPropagation(ev);
          this.app.emit('select', {st, feature: f, latlng: ev.latlng});
        });
        drawn.push(layer);
      }
      st.group.clearLayers();
      if (st.cluster) st.group.addLayers(drawn);
      else for (const layer of drawn) st.group.addLayer(layer);
      st.count = drawn.length;
      this.app.emit('layer', st);
    }

    /** Per-layer load timings (ms since navigation), for diagnosis and the browser tests. */
    timings() {
      const out = {};
      for (const st of this.app.layers.values()) if (st.timing) out[st.id] = Object.assign({}, st.timing);
      return out;
    }
  }

  window.planmap.part('layers', (app) => new Layers(app));
})();
