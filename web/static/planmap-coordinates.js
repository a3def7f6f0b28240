/*
 * planmap web map — the coordinates part: the mouse position read out in WGS84 and in VN-2000 metres
 * (TM-3 106°30′, EPSG:9213, through proj4 with the page's definition).
 */
(function () {
  'use strict';

  const {el} = window.planmap.helpers;

  window.planmap.part('coordinates', (app) => {
    proj4.defs('EPSG:9213', app.cfg.vn2000);
    const toVn2000 = proj4('EPSG:4326', 'EPSG:9213');
    const wgs = el('div', {cls: 'pm-coords-wgs'});
    const vn = el('div', {cls: 'pm-coords-vn2000'});
    const box = el('div', {cls: 'pm-coords', attrs: {id: 'pm-coords', 'aria-live': 'off'}}, [wgs, vn]);
    let last = null;

    function show(latlng) {
      const nf = (v, d) => app.nf(v, {minimumFractionDigits: d, maximumFractionDigits: d});
      const [x, y] = toVn2000.forward([latlng.lng, latlng.lat]);
      box.dataset.lat = latlng.lat.toFixed(6);
      box.dataset.lon = latlng.lng.toFixed(6);
      box.dataset.x = x.toFixed(2);
      box.dataset.y = y.toFixed(2);
      wgs.textContent = `${app.t('wgs84')}: ${nf(latlng.lat, 5)}° N, ${nf(latlng.lng, 5)}° E`;
      vn.textContent = app.lang === 'vi'
        ? `${app.t('vn2000')}: X ${nf(y, 1)} m, Y ${nf(x, 1)} m`
        : `${app.t('vn2000')}: E ${nf(x, 1)} m, N ${nf(y, 1)} m`;
    }

    app.map.on('mousemove', (ev) => { last = ev.latlng; show(ev.latlng); });
    app.translated(() => {
      if (last) show(last);
      else { wgs.textContent = app.t('coordsHint'); vn.textContent = app.t('vn2000'); }
    });
    app.control('bottomleft', () => box);
    return {toVn2000};
  });
})();
