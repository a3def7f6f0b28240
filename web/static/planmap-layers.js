/*
 * planmap web map — the layers part: the catalog of collections, each layer's state (app.layers), loading its
 * features (whole, or by the visible bbox for large layers; from window.PLANMAP_DATA in an offline copy), drawing
 * them with their styles (web/styles.json), and the 2025 / pre-2025 administrative switch.
 *
 * Layers of more than styles.json's `tileThreshold` features are drawn from planmap's vector tiles instead
 * (/collections/{id}/tiles/WebMercatorQuad/{z}/{x}/{y}, by protomaps-leaflet on canvas) with the same styles; a
 * click on them asks the items endpoint for the features under the pointer, and opens the same popup.
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
  // A click on a layer drawn from tiles looks for features this many pixels around the pointer: a point's symbol,
  // a line's stroke, or the polygon right under it.
  const PICK_PX = {point: 8, line: 5, polygon: 1};
  const PICK_LIMIT = 50; // features asked for around a click (a handful are there; this only bounds the answer)
  const TILE_DATA_ZOOM = 18; // the deepest tiles fetched; deeper views scale them up (a z18 tile is ~150 m wide)
  const LEAFLET_PATH = {color: '#3388ff', weight: 3, opacity: 1, fillOpacity: 0.2, radius: 10}; // Leaflet defaults

  function dashes(text) {
    return String(text || '').split(/[ ,]+/).filter(Boolean).map(Number).filter((v) => v >= 0);
  }

  /** Draws one collection's tile features on canvas as Leaflet would draw its GeoJSON (the same styles.json
   * path options: colour, weight, dash, fill and their opacities, circle radius). */
  class TileSymbolizer {
    constructor(layers, st) {
      this.layers = layers;
      this.st = st;
    }

    draw(ctx, geom, z, feature) {
      const sty = Object.assign({}, LEAFLET_PATH, this.layers.styleFor(this.st, feature.props || {}));
      const kind = feature.geomType;
      ctx.save();
      ctx.lineJoin = 'round';
      ctx.lineCap = 'round';
      ctx.lineWidth = sty.weight;
      ctx.strokeStyle = sty.color;
      ctx.setLineDash(dashes(sty.dashArray));
      ctx.beginPath();
      if (kind === 1) { // points: circles of the style's radius
        for (const part of geom) for (const pt of part) {
          ctx.moveTo(pt.x + sty.radius, pt.y);
          ctx.arc(pt.x, pt.y, sty.radius, 0, 2 * Math.PI);
        }
      } else {
        for (const part of geom) {
          part.forEach((pt, i) => (i ? ctx.lineTo(pt.x, pt.y) : ctx.moveTo(pt.x, pt.y)));
          if (kind === 3) ctx.closePath();
        }
      }
      if (kind !== 2 && sty.fill !== false) {
        ctx.globalAlpha = sty.fillOpacity;
        ctx.fillStyle = sty.fillColor || sty.color;
        ctx.fill('evenodd');
      }
      if (sty.stroke !== false && sty.weight > 0) {
        ctx.globalAlpha = sty.opacity;
        ctx.stroke();
      }
      ctx.restore();
    }
  }

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
      const byTiles = !this.cfg.offline && meta.numberOfFeatures > (this.styles.tileThreshold || Infinity)
        && Boolean(window.protomapsL);
      const cluster = !byTiles && kind === 'point' && (spec.cluster !== undefined ? spec.cluster
        : meta.numberOfFeatures > (this.styles.clusterThreshold || 100));
      const st = {
        id: meta.id, meta, kind, style, cluster, byTiles,
        byBbox: !byTiles && !this.cfg.offline && meta.numberOfFeatures > (this.styles.bboxThreshold || 200),
        on: defaults.has(meta.id), seen: new Set(), count: 0, loaded: false, loadedBounds: null, abort: null,
        doc: null,
      };
      if (this.cfg.offline) st.on = true; // an offline copy holds just the layers that were on
      else if (meta.id === 'communes') st.on = st.on && this.admin === '2025';
      else if (meta.id === 'districts') st.on = this.admin === 'pre2025' || defaults.has('districts');
      st.state = st.on ? 'loading' : 'off'; // off, loading, ready or error
      if (byTiles) st.group = this.tileLayer(st);
      else st.group = cluster
        ? L.markerClusterGroup({
          chunkedLoading: true, showCoverageOnHover: false, disableClusteringAtZoom: 14, maxClusterRadius: 50,
          iconCreateFunction: (c) => this.clusterIcon(st, c)})
        : L.featureGroup();
      return st;
    }

    paneOf(st) {
      return 'pm-' + (st.style.pane || {point: 'points', line: 'lines', polygon: 'polygons'}[st.kind]);
    }

    /** A canvas layer of the collection's vector tiles (protomaps-leaflet), in the layer's pane, drawn with its
     * styles; its container carries the layer's class like the features of a GeoJSON layer. */
    tileLayer(st) {
      const layer = protomapsL.leafletLayer({
        url: this.tileSource(st),
        paintRules: [{dataLayer: st.id, symbolizer: new TileSymbolizer(this, st)}],
        labelRules: [],
        maxDataZoom: TILE_DATA_ZOOM,
        pane: this.paneOf(st),
        attribution: st.meta.attribution || '',
      });
      layer.on('add', () => L.DomUtil.addClass(layer.getContainer(), `pm-f pm-tiles pm-l-${cssId(st.id)}`));
      layer.on('loading', () => { if (st.on) this.setState(st, 'loading'); });
      layer.on('load', () => { if (st.on) this.setState(st, 'ready'); });
      return layer;
    }

    /** Where protomaps-leaflet reads a layer's tiles: planmap's z/x/y URL, fetched with the signed-in planner's
     * token like every other request of the page (an internal layer's tiles need it); a tile the server refuses
     * (the layer just became invisible to this user) is drawn empty. */
    tileSource(st) {
      const base = `collections/${encodeURIComponent(st.id)}/tiles/WebMercatorQuad/`;
      return {
        getZxy: async (z, x, y, signal) => {
          const res = await this.app.api(`${base}${z}/${x}/${y}`,
            {headers: {Accept: 'application/vnd.mapbox-vector-tile'}, signal});
          return res.ok ? {data: await res.arrayBuffer()} : null;
        },
      };
    }

    paneZ(st) {
      return PANES[this.paneOf(st).slice(3)] || 0;
    }

    /** A click on the map: the popup of what is drawn on top there.  A GeoJSON feature clicked (`under`) yields to
     * the features of layers drawn from tiles in a higher pane (their canvas takes no clicks of its own). */
    async selectAt(latlng, under) {
      const above = under ? this.paneZ(under.st) : -Infinity;
      const tiled = Array.from(this.app.layers.values()).filter((st) => st.on && st.byTiles && this.paneZ(st) > above);
      const picked = tiled.length ? await this.pickFromTiles(latlng, tiled) : null;
      const chosen = picked || under;
      if (chosen) this.app.emit('select', Object.assign({latlng}, chosen));
    }

    /** The feature of the layers drawn from tiles under a point (top-most pane first, then points, lines,
     * polygons): asked of the items endpoint for a few pixels around it; {st, feature} or null. */
    async pickFromTiles(latlng, tiled) {
      const rank = {point: 0, line: 1, polygon: 2};
      tiled.sort((a, b) => (this.paneZ(b) - this.paneZ(a)) || (rank[a.kind] - rank[b.kind]));
      const at = this.map.latLngToContainerPoint(latlng);
      for (const st of tiled) {
        const r = PICK_PX[st.kind];
        const sw = this.map.containerPointToLatLng([at.x - r, at.y + r]);
        const ne = this.map.containerPointToLatLng([at.x + r, at.y - r]);
        const params = new URLSearchParams({
          bbox: [sw.lng, sw.lat, ne.lng, ne.lat].map((v) => v.toFixed(7)).join(','), limit: String(PICK_LIMIT)});
        let doc;
        try {
          const res = await this.app.api(`collections/${encodeURIComponent(st.id)}/items?${params}`,
            {headers: {Accept: 'application/geo+json'}});
          if (!res.ok) continue;
          doc = await res.json();
        } catch (err) {
          console.warn(`planmap: features of ${st.id} under the pointer could not be read`, err);
          continue;
        }
        const hits = (doc.features || []).filter((f) => f.geometry);
        if (!hits.length) continue;
        const distance = (f) => {
          if (f.geometry.type !== 'Point') return 0;
          const [lon, lat] = f.geometry.coordinates;
          return at.distanceTo(this.map.latLngToContainerPoint([lat, lon]));
        };
        // points: the nearest; lines and polygons: the last drawn (on top), as the tiles paint in id order
        return {st, feature: hits.reduce((a, b) => (distance(b) <= distance(a) ? b : a))};
      }
      return null;
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
      this.map.on('click', (ev) => { if (!this.app.mode) this.selectAt(ev.latlng, null); });
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
      if (st.byTiles) { // a fresh tile layer: protomaps-leaflet keeps the tiles it has drawn
        this.map.removeLayer(st.group);
        st.group = this.tileLayer(st);
        if (st.on) await this.setLayer(st, true);
        return;
      }
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

    /** A layer drawn from tiles is ready once the tiles in view are drawn (Leaflet's 'load' of the grid). */
    tilesDrawn(st) {
      st.loaded = true;
      st.count = st.meta.numberOfFeatures;
      if (!st.group.isLoading()) {
        this.setState(st, 'ready');
        return Promise.resolve();
      }
      return new Promise((resolve) => st.group.once('load', resolve));
    }

    /** Fetch a collection's features: whole for small layers, by the visible bbox (padded) for large ones. */
    async load(st) {
      if (st.byTiles) return this.tilesDrawn(st);
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
      const paneName = this.paneOf(st);
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
          this.selectAt(ev.latlng, {st, feature: f});
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
