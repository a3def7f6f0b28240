/*
 * planmap web map — the base maps part: the office's own backgrounds (`planmap serve --basemap FILE`: MBTiles,
 * PMTiles, GeoTIFF), each offered in the panel's backgrounds with its title and shown with its attribution. Raster
 * tiles are a Leaflet tile layer; vector tiles (MVT) are drawn on canvas by protomaps-leaflet with generic paint rules
 * that fit any schema (areas filled lightly, lines grey, points as dots). Every tile comes from planmap itself.
 * One background at a time among these and OpenStreetMap; the relief shading stays on top of any of them.
 */
(function () {
  'use strict';

  const KEY = 'basemap:';
  const MAX_ZOOM = 19; // the map's own maximum (planmap.js): tiles beyond a file's zoom range are enlarged
  // protomaps-leaflet draws a vector tile of zoom z over four map tiles of zoom z + 1 (its default: vector tiles
  // are made for 512-pixel display), so a vector base map shows from one zoom above its first.
  const VECTOR_LEVEL_DIFF = 1;
  // Generic symbols of a vector background: quiet enough that the plan layers stay readable above them.
  const VECTOR = {fill: '#e9e4d4', fillOpacity: 0.7, outline: '#b9b2a0', line: '#8c8c8c', lineWidth: 1,
    point: '#6f6f6f', pointRadius: 2};

  function bounds(b) {
    const [w, s, e, n] = b.bounds;
    return L.latLngBounds([[s, w], [n, e]]);
  }

  /** The first map zoom at which a base map shows. */
  function firstZoom(b) {
    return b.kind === 'vector' ? b.minzoom + VECTOR_LEVEL_DIFF : b.minzoom;
  }

  function rasterLayer(b) {
    return L.tileLayer(b.url, {minZoom: b.minzoom, maxNativeZoom: b.maxzoom, maxZoom: MAX_ZOOM, bounds: bounds(b),
      className: 'pm-basemap pm-basemap-' + b.id});
  }

  /** Paint rules for every layer of the tileset: areas, lines and points each get one generic symbol. */
  function vectorRules(P, b) {
    const is = (type) => (zoom, feature) => feature.geomType === type;
    const rules = [];
    for (const layer of b.vector_layers || []) {
      rules.push({dataLayer: layer.id, filter: is(P.GeomType.Polygon), symbolizer: new P.PolygonSymbolizer(
        {fill: VECTOR.fill, opacity: VECTOR.fillOpacity, stroke: VECTOR.outline, width: 0.5})});
      rules.push({dataLayer: layer.id, filter: is(P.GeomType.Line), symbolizer: new P.LineSymbolizer(
        {color: VECTOR.line, width: VECTOR.lineWidth})});
      rules.push({dataLayer: layer.id, filter: is(P.GeomType.Point), symbolizer: new P.CircleSymbolizer(
        {radius: VECTOR.pointRadius, fill: VECTOR.point})});
    }
    return rules;
  }

  function vectorLayer(b) {
    const P = window.protomapsL;
    if (!P) return null; // the page loads protomaps-leaflet only when the server offers a vector base map
    return P.leafletLayer({url: b.url, paintRules: vectorRules(P, b), labelRules: [], maxDataZoom: b.maxzoom,
      levelDiff: VECTOR_LEVEL_DIFF, minZoom: firstZoom(b), maxZoom: MAX_ZOOM, bounds: bounds(b), attribution: b.attribution,
      className: 'pm-basemap pm-basemap-' + b.id});
  }

  window.planmap.part('basemaps', (app) => {
    const map = app.map;
    const described = new Map(); // background key → the base map's description (cfg.basemaps)
    for (const b of app.cfg.basemaps || []) {
      const layer = b.kind === 'vector' ? vectorLayer(b) : rasterLayer(b);
      if (!layer) continue;
      app.backgrounds[KEY + b.id] = layer;
      described.set(KEY + b.id, b);
    }

    /** Switched on: if the view shows none of it (elsewhere, or zoomed out beyond its range), go to it. */
    function reveal(b) {
      const area = bounds(b);
      const zoom = map.getZoom();
      const first = firstZoom(b);
      if (map.getBounds().intersects(area) && zoom >= first) return;
      const center = area.contains(map.getCenter()) ? map.getCenter() : area.getCenter();
      map.setView(center, Math.max(first, Math.min(Math.max(zoom, map.getBoundsZoom(area)), b.maxzoom)));
    }

    return {
      /** The description of a background key's base map, or undefined for the relief and OpenStreetMap. */
      info: (key) => described.get(key),
      /** Backgrounds that cover the map (shown one at a time): the base maps and OpenStreetMap. */
      exclusive: (key) => described.has(key) || key === 'osm',
      /** Attribution texts of the base maps now shown. */
      attributions: () => Array.from(described).filter(([key]) => map.hasLayer(app.backgrounds[key]))
        .map(([, b]) => b.attribution).filter(Boolean),
      shown(key) {
        const b = described.get(key);
        if (b) reveal(b);
      },
    };
  });
})();
