/*
 * planmap web map — the export tool (served page only): the layers shown as data (GeoPackage, Shapefile, KML, …
 * in WGS84 or VN-2000), as a printed map (PDF/PNG), or as an offline copy of this map (a zip that opens from disk).
 */
(function () {
  'use strict';

  const {el, fmt} = window.planmap.helpers;
  const FORMATS = {gpkg: 'GeoPackage', shp: 'Shapefile (zip)', kml: 'KML', geojson: 'GeoJSON', csv: 'CSV',
    dxf: 'DXF (AutoCAD)', fgb: 'FlatGeobuf'};
  const CRSS = {'EPSG:4326': 'WGS84 (EPSG:4326)', 'EPSG:9213': 'VN-2000 TM-3 106°30′ (EPSG:9213)',
    'EPSG:3405': 'VN-2000 UTM 48N (EPSG:3405)'};
  const fixed = (texts) => Object.entries(texts).map(([value, text]) => [value, '=' + text]);

  /** The file name of a download response (Content-Disposition), else `fallback`. */
  function fileName(res, fallback) {
    const cd = res.headers.get('Content-Disposition') || '';
    const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(cd);
    if (star) { try { return decodeURIComponent(star[1]); } catch (e) { /* fall through */ } }
    const plain = /filename\s*=\s*"?([^";]+)"?/.exec(cd);
    return plain ? plain[1] : fallback;
  }

  function viewBbox(map) {
    const b = map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(',');
  }

  class Export {
    constructor(app) {
      this.app = app;
      this.tools = app.tools;
      this.build();
    }

    build() {
      const app = this.app;
      const tools = this.tools;
      const body = tools.panel('export', 'exportTitle', 'toolExport');
      this.status = el('p', {cls: 'pm-tool-status', attrs: {id: 'pm-export-status', 'aria-live': 'polite'}});
      const heading = (key) => app.label(key, 'h3', {cls: 'pm-tool-sub'});
      const check = (input, key) => el('label', {cls: 'pm-check-row'}, [input, app.label(key)]);
      const row = (button) => el('div', {cls: 'pm-btn-row'}, [button]);
      const format = tools.select('pm-export-format', fixed(FORMATS));
      const crs = tools.select('pm-export-crs', fixed(CRSS));
      const dataView = el('input', {attrs: {type: 'checkbox', id: 'pm-export-view'}});
      const dataButton = tools.button('pm-export-data', 'exportDataButton', () => this.exportData(
        format.value, crs.value, dataView.checked), 'pm-btn-primary');
      const preset = tools.select('pm-export-preset', [['cluster-plan-2030', 'presetClusters'],
        ['overview', 'presetOverview']]);
      const size = tools.select('pm-export-size', fixed({A4: 'A4', A3: 'A3', A1: 'A1'}));
      size.value = 'A3';
      const orientation = tools.select('pm-export-orientation', [['landscape', 'landscape'], ['portrait', 'portrait']]);
      const mapFormat = tools.select('pm-export-mapformat', fixed({pdf: 'PDF', png: 'PNG'}));
      const mapView = el('input', {attrs: {type: 'checkbox', id: 'pm-export-mapview'}});
      const mapButton = tools.button('pm-export-map', 'exportMapButton', () => this.exportMap({
        preset: preset.value, size: size.value, orientation: orientation.value, f: mapFormat.value}, mapView.checked),
      'pm-btn-primary');
      const offline = tools.button('pm-export-offline', 'exportOfflineButton', () => this.exportOffline(),
        'pm-btn-primary');
      // the network coverage table shown by the coverage tool, added to the data (a CSV) and to the printed map
      this.coverage = el('input', {attrs: {type: 'checkbox', id: 'pm-export-coverage'}});
      const coverageRow = check(this.coverage, 'exportCoverage');
      const coverageShown = () => {
        const part = app.parts.coverage;
        coverageRow.style.display = part && part.doc ? '' : 'none';
      };
      tools.hooks.export.open = coverageShown;
      coverageShown();
      body.append(coverageRow, heading('exportData'), tools.field('exportFormat', format),
        tools.field('exportCrs', crs), check(dataView, 'exportView'), row(dataButton),
        heading('exportMap'), tools.field('exportPreset', preset), tools.field('exportSize', size),
        tools.field('exportOrientation', orientation), tools.field('exportFormat', mapFormat),
        check(mapView, 'exportView'), row(mapButton),
        heading('exportOffline'), app.label('exportOfflineHint', 'p', {cls: 'pm-tool-hint'}), row(offline),
        this.status);
    }

    /** The ids of the layers shown, or null (and says so) when none is. */
    shownIds() {
      const ids = Array.from(this.app.layers.values()).filter((st) => st.on).map((st) => st.id);
      if (ids.length) return ids.join(',');
      this.tools.setStatus(this.status, this.app.t('exportNoLayers'), 'error');
      return null;
    }

    /** `params` with the coverage table's network and D when asked for and the coverage tool shows one. */
    withCoverage(params) {
      const part = this.app.parts.coverage;
      if (this.coverage.checked && part && part.doc) {
        params.set('coverage', part.doc.network);
        params.set('coverage_distance_m', String(part.doc.distance_m));
      }
      return params;
    }

    async download(url, fallback) {
      const app = this.app;
      const tools = this.tools;
      tools.setStatus(this.status, app.t('exportWorking'), 'busy');
      try {
        const res = await app.api(url);
        if (!res.ok) {
          tools.setStatus(this.status, `${app.t('exportError')}: ${await tools.problem(res)}`, 'error');
          return;
        }
        const name = fileName(res, fallback);
        tools.saveBlob(await res.blob(), name);
        tools.setStatus(this.status, fmt(app.t('exportDone'), {name}), 'done');
      } catch (err) {
        tools.setStatus(this.status, `${app.t('exportError')}: ${err.message}`, 'error');
      }
    }

    exportData(format, crs, inView) {
      const ids = this.shownIds();
      if (!ids) return null;
      const params = new URLSearchParams({collections: ids, format, crs, lang: this.app.lang});
      if (inView) params.set('bbox', viewBbox(this.app.map));
      this.withCoverage(params);
      return this.download(`exports/data?${params}`, `planmap.${format}`);
    }

    exportMap(opts, inView) {
      const params = new URLSearchParams(Object.assign({lang: this.app.lang}, opts));
      if (opts.preset === 'overview') {
        const ids = this.shownIds();
        if (!ids) return null;
        params.set('collections', ids);
      }
      if (inView) params.set('bbox', viewBbox(this.app.map));
      this.withCoverage(params);
      return this.download(`exports/map?${params}`, `planmap.${opts.f}`);
    }

    exportOffline() {
      const ids = this.shownIds();
      if (!ids) return null;
      const params = new URLSearchParams({collections: ids, lang: this.app.lang});
      return this.download(`exports/offline-map?${params}`, 'planmap-offline.zip');
    }
  }

  window.planmap.part('export', (app) => new Export(app));
})();
