/*
 * planmap web map — the core: the one namespace (window.planmap), the DOM/text/storage helpers, the language, and
 * the app shell that creates the map's frame (header, scale) and starts the parts.
 *
 * Every other script of the map is a part: planmap.part(name, (app) => part) registers it, and init() sets the parts
 * up in the order their scripts were loaded (web/page.py lists them), keeping each as app.parts[name]. Parts speak to
 * each other through app events (app.on / app.emit: 'start' from the shell; 'catalog', 'catalogError', 'layer',
 * 'select' from the layers part; 'background' from the panel; 'user' from the sign-in tool) or through app.parts.
 * All scripts are classic scripts, so the offline copy works from file:// too. Data values only ever reach the page as
 * text (textContent), never as HTML. Styles, labels and defaults are data (web/styles.json, web/labels.json).
 */
(function () {
  'use strict';

  const LANG_KEY = 'planmap.lang';
  const TOKEN_KEY = 'planmap.token';
  const SVG_NS = 'http://www.w3.org/2000/svg';

  // ---------------------------------------------------------------- helpers (planmap.helpers)

  /** An element with text, classes, attributes and children; never parses HTML. */
  function el(tag, opts, children) {
    const node = document.createElement(tag);
    const o = opts || {};
    if (o.cls) node.className = o.cls;
    if (o.text !== undefined && o.text !== null) node.textContent = String(o.text);
    if (o.title) node.title = o.title;
    if (o.attrs) for (const [k, v] of Object.entries(o.attrs)) node.setAttribute(k, v);
    if (o.data) for (const [k, v] of Object.entries(o.data)) node.dataset[k] = v;
    if (o.style) Object.assign(node.style, o.style);
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  /** An SVG element with attributes (constants only). */
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
  }

  /** A small inline SVG icon from path data (constants only). */
  function icon(paths, size) {
    const box = svg('svg', {viewBox: '0 0 24 24', width: size || 18, height: size || 18, 'aria-hidden': 'true'});
    for (const d of paths) box.append(svg('path', {d}));
    return box;
  }

  /** `text` with each {name} replaced by values[name]. */
  function fmt(text, values) {
    return String(text).replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
  }

  function cssId(id) {
    return String(id).replace(/[^A-Za-z0-9_-]/g, '_');
  }

  /** get/set/remove on a Web Storage that may be missing (private mode, file://): nothing is remembered then. */
  function keyStore(storage) {
    const use = (fn, fallback) => { try { return fn(storage()); } catch (e) { return fallback; } };
    return {
      get: (key) => use((s) => s.getItem(key), null),
      set: (key, value) => use((s) => s.setItem(key, value)),
      remove: (key) => use((s) => s.removeItem(key)),
    };
  }

  const local = keyStore(() => window.localStorage);
  const session = keyStore(() => window.sessionStorage);

  // ---------------------------------------------------------------- the app shell

  class App {
    constructor(map, cfg, handles) {
      this.map = map;
      this.cfg = cfg;
      this.labels = cfg.labels;
      this.lang = local.get(LANG_KEY) === 'en' ? 'en' : 'vi';
      this.layers = new Map(); // id → layer state, filled by the layers part
      this.parts = {};
      this.handlers = {};
      this.translators = [];
      this.mode = null; // the part that takes the map's clicks now (e.g. 'measure'); null: clicks open popups
      this.backgrounds = {}; // key → Leaflet layer, offered in the layer panel
      if (handles && handles.hillshade) this.backgrounds.relief = handles.hillshade;
      if (cfg.osm && cfg.osm.url) {
        this.backgrounds.osm = L.tileLayer(cfg.osm.url, {maxZoom: 19, attribution: cfg.osm.attribution});
      }
      map.setMinZoom(6);
      map.setMaxZoom(19); // no tile layer sets it; marker clustering needs it
      map.fitBounds(cfg.home, {padding: [10, 10]});
      map._controlCorners.topcenter = L.DomUtil.create('div', 'leaflet-top pm-top-center', map._controlContainer);
      L.control.scale({imperial: false, position: 'bottomleft', maxWidth: 160}).addTo(map);
      this.buildHeader();
      this.translated(() => {
        document.documentElement.lang = this.lang;
        document.title = this.t('title');
        const titles = {'.leaflet-control-zoom-fullscreen': this.t('fullscreen'),
          '.leaflet-control-zoom-in': this.lang === 'vi' ? 'Phóng to' : 'Zoom in',
          '.leaflet-control-zoom-out': this.lang === 'vi' ? 'Thu nhỏ' : 'Zoom out'};
        for (const [selector, title] of Object.entries(titles)) {
          const button = map.getContainer().querySelector(selector);
          if (button) button.title = title;
        }
      });
    }

    // ---------------------------------------------------------------- events between the parts

    on(name, fn) {
      (this.handlers[name] = this.handlers[name] || []).push(fn);
    }

    emit(name, arg) {
      for (const fn of this.handlers[name] || []) fn(arg);
    }

    /** The default layers are drawn: tell the browser tests (and anyone timing the page). */
    ready() {
      window.planmapReady = true;
      window.planmapReadyAt = performance.now();
      document.documentElement.dataset.planmapReady = 'true';
    }

    /** fetch() of a planmap URL, with the signed-in planner's token (sessionStorage) if there is one. */
    api(url, opts) {
      const o = Object.assign({}, opts || {});
      const headers = new Headers(o.headers || {});
      const token = session.get(TOKEN_KEY);
      if (token) headers.set('Authorization', 'Bearer ' + token);
      o.headers = headers;
      return fetch(url, o);
    }

    /** A Leaflet control at `position` whose box `build()` makes; clicks and scrolls stay in the box. */
    control(position, build) {
      const Ctl = L.Control.extend({
        onAdd: () => {
          const box = build();
          L.DomEvent.disableClickPropagation(box);
          L.DomEvent.disableScrollPropagation(box);
          return box;
        },
      });
      return new Ctl({position}).addTo(this.map);
    }

    // ---------------------------------------------------------------- language and labels

    t(key) {
      const ui = this.labels.ui;
      return (ui[this.lang] && ui[this.lang][key]) || ui.vi[key] || key;
    }

    /** Register a function re-run whenever the language changes (and run it now). */
    translated(fn) {
      this.translators.push(fn);
      fn();
    }

    /** An element (a span by default) showing the label `text` (a key of labels.ui, or a function giving the
     * text), kept in the page's language. */
    label(text, tag, opts) {
      const node = el(tag || 'span', opts);
      this.translated(() => { node.textContent = typeof text === 'function' ? text() : this.t(text); });
      return node;
    }

    setLang(lang) {
      this.lang = lang;
      local.set(LANG_KEY, lang);
      for (const fn of this.translators) fn();
      this.map.closePopup();
    }

    /** A number in the page's language, with `opts` of toLocaleString (e.g. maximumFractionDigits). */
    nf(value, opts) {
      return Number(value).toLocaleString(this.lang === 'vi' ? 'vi-VN' : 'en-GB', opts);
    }

    fieldLabel(field) {
      const f = this.labels.fields[field];
      return (f && (f[this.lang] || f.vi)) || field;
    }

    valueText(field, value) {
      if (value === null || value === undefined) return '';
      const table = this.labels.values[field];
      const entry = table && table[String(value)];
      if (entry) return entry[this.lang] || entry.vi;
      if (typeof value === 'boolean') return this.t(value ? 'yes' : 'no');
      if (typeof value === 'number') {
        return /(^|_)(id|code|year)$/.test(field) ? String(value) : this.nf(value, {maximumFractionDigits: 2});
      }
      if (typeof value === 'object') return JSON.stringify(value);
      return String(value);
    }

    /** A layer's title in the page's language. */
    title(st) {
      const titles = st.meta.titles || {};
      return titles[this.lang] || titles.vi || st.meta.title || st.id;
    }

    // ---------------------------------------------------------------- header: title, language, the parts' slots

    buildHeader() {
      this.control('topcenter', () => {
        const title = el('h1', {cls: 'pm-title'});
        const lang = el('button', {cls: 'pm-lang', attrs: {type: 'button', id: 'pm-lang'}});
        const api = el('a', {cls: 'pm-api-link', attrs: {href: '?f=html'}});
        // the supervision page (indicators against targets) beside the map; it needs the server
        const supervision = el('a', {cls: 'pm-api-link', attrs: {href: 'supervision', id: 'pm-supervision-link'}});
        lang.addEventListener('click', () => this.setLang(this.lang === 'vi' ? 'en' : 'vi'));
        this.translated(() => {
          title.textContent = this.t('title');
          lang.textContent = this.t('language');
          lang.title = this.t('languageTitle');
          api.textContent = this.t('apiLink');
          supervision.textContent = this.t('toolSupervision');
          supervision.title = this.t('toolSupervisionTitle');
        });
        this.headerTools = el('div', {cls: 'pm-header-tools'}); // the tools' buttons
        this.header = el('div', {cls: 'pm-header'}, [
          el('div', {cls: 'pm-header-row'}, [title, lang, this.cfg.offline ? null : supervision,
            this.cfg.offline ? null : api]), this.headerTools]);
        return this.header;
      });
    }
  }

  // ---------------------------------------------------------------- the namespace

  const parts = [];

  window.planmap = {
    /** The registered parts, in load order: {name, setup}. */
    parts,
    /** Register a part: `setup(app)` runs once at init, after the parts registered before it. */
    part(name, setup) {
      if (parts.some((p) => p.name === name)) throw new Error(`planmap: part ${name} registered twice`);
      parts.push({name, setup});
    },
    helpers: {el, svg, icon, fmt, cssId, local, session, TOKEN_KEY},
    init(map, cfg, handles) {
      window.planmapReady = false;
      const app = new App(map, cfg, handles);
      window.planmapApp = app;
      for (const {name, setup} of parts) app.parts[name] = setup(app);
      app.emit('start');
      return app;
    },
  };
})();
