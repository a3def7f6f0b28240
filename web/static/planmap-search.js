/*
 * planmap web map — the search part: the header's search box, names found by the server's /search (or, in an
 * offline copy, in the embedded data, without diacritics), zooming to a hit and opening its popup.
 */
(function () {
  'use strict';

  const {el, icon} = window.planmap.helpers;
  const SEARCH_ICON = ['M10 4a6 6 0 1 1 0 12a6 6 0 0 1 0-12z', 'M15 15l5 5'];
  const LIMIT = 12;

  /** A name folded for search: no diacritics (đ → d), lower case. */
  function fold(text) {
    return String(text || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[đĐ]/g, 'd')
      .toLowerCase().replace(/\s+/g, ' ').trim();
  }

  /** Search the embedded data of an offline copy: every word of the query in the folded name. */
  function searchOffline(q, limit) {
    const want = fold(q);
    const words = want.split(' ').filter(Boolean);
    const hits = [];
    for (const [id, doc] of Object.entries(window.PLANMAP_DATA || {})) {
      for (const f of doc.features || []) {
        const p = f.properties || {};
        const name = p.name || p.full_name || p.ref;
        if (!name || !f.geometry) continue;
        const folded = fold(name);
        if (!words.every((w) => folded.includes(w))) continue;
        const rank = folded === want ? 0 : folded.startsWith(want) ? 1 : folded.includes(want) ? 2 : 3;
        hits.push({rank, collection: id, id: f.id, name: String(name), feature: f});
      }
    }
    hits.sort((a, b) => a.rank - b.rank || a.name.length - b.name.length || a.name.localeCompare(b.name));
    return hits.slice(0, limit).map((h) => {
      const b = L.geoJSON(h.feature).getBounds();
      return {collection: h.collection, id: h.id, name: h.name, feature: h.feature,
        bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]};
    });
  }

  class Search {
    constructor(app) {
      this.app = app;
      const input = el('input', {cls: 'pm-search-input', attrs: {type: 'search', autocomplete: 'off', id: 'pm-search'}});
      const button = el('button', {cls: 'pm-search-button', attrs: {type: 'submit'}}, [icon(SEARCH_ICON, 16)]);
      const form = el('form', {cls: 'pm-search', attrs: {role: 'search'}}, [input, button]);
      this.results = el('ul', {cls: 'pm-search-results', attrs: {id: 'pm-search-results'}});
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        this.search(input.value);
      });
      input.addEventListener('keydown', (ev) => {
        if (ev.key === 'Escape') { this.results.replaceChildren(); input.value = ''; }
      });
      input.addEventListener('focus', () => this.results.classList.remove('pm-folded'));
      app.translated(() => {
        input.placeholder = app.t('search');
        input.setAttribute('aria-label', app.t('search'));
        button.title = app.t('searchButton');
        button.setAttribute('aria-label', app.t('searchButton'));
      });
      app.header.insertBefore(form, app.headerTools);
      app.header.insertBefore(this.results, app.headerTools);
    }

    async find(q) {
      if (this.app.cfg.offline) return searchOffline(q, LIMIT);
      const res = await this.app.api(`search?${new URLSearchParams({q, limit: String(LIMIT)})}`,
        {headers: {Accept: 'application/json'}});
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return (await res.json()).results;
    }

    async search(query) {
      const app = this.app;
      const list = this.results;
      const q = String(query || '').trim();
      list.replaceChildren();
      if (!q) return;
      let results;
      try {
        results = await this.find(q);
      } catch (err) {
        list.append(el('li', {cls: 'pm-search-none', text: app.t('searchError')}));
        return;
      }
      if (!results.length) {
        list.append(el('li', {cls: 'pm-search-none', text: app.t('searchNone')}));
        return;
      }
      for (const hit of results) {
        const st = app.layers.get(hit.collection);
        const button = el('button', {cls: 'pm-search-hit', attrs: {type: 'button'},
          data: {layer: hit.collection, fid: String(hit.id)}}, [
          el('span', {cls: 'pm-search-name', text: hit.name}),
          el('span', {cls: 'pm-search-layer', text: st ? app.title(st) : hit.collection})]);
        button.addEventListener('click', () => this.goTo(hit));
        list.append(el('li', {}, [button]));
      }
      this.goTo(results[0]);
    }

    /** Zoom to a search hit, switch its layer on and show its popup. */
    async goTo(hit) {
      const app = this.app;
      const map = app.map;
      const [w, s, e, n] = hit.bbox;
      const bounds = L.latLngBounds([s, w], [n, e]);
      if (w === e && s === n) map.setView(bounds.getCenter(), Math.max(map.getZoom(), 15));
      else map.fitBounds(bounds, {maxZoom: 15, padding: [40, 40]});
      this.lastHit = hit;
      const st = app.layers.get(hit.collection);
      if (!st) return;
      if (!st.on) app.parts.layers.setLayer(st, true);
      let feature = hit.feature; // offline: the feature is at hand
      if (!feature) {
        try {
          const res = await app.api(`collections/${encodeURIComponent(hit.collection)}/items/${encodeURIComponent(hit.id)}`,
            {headers: {Accept: 'application/geo+json'}});
          if (!res.ok) return;
          feature = await res.json();
        } catch (err) {
          console.warn('planmap: cannot open the found feature', err);
          return;
        }
        if (this.lastHit !== hit) return;
      }
      this.results.classList.add('pm-folded'); // out of the popup's way; focusing the box shows it again
      app.emit('select', {st, feature, latlng: bounds.getCenter()});
    }
  }

  window.planmap.part('search', (app) => new Search(app));
})();
