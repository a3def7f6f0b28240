/*
 * planmap web map — the tools part (served page only; the offline copy has no tools): the dock of the tools'
 * panels with a header button each, the form parts they share, the signed-in planner (tools.user, set by the auth
 * part), problem texts and downloads. The tools are the parts check, export and auth; app.tools is this object.
 * Every value from the server or the user reaches the page as text (textContent), never as HTML.
 */
(function () {
  'use strict';

  const {el} = window.planmap.helpers;

  class Tools {
    constructor(app) {
      this.app = app;
      this.user = null; // the signed-in planner {name, role}, or null
      this.panels = {};
      this.buttons = {};
      this.hooks = {};
      app.tools = this;
      this.dock = el('div', {cls: 'pm-dock', attrs: {id: 'pm-dock'}});
      app.control('topleft', () => this.dock);
    }

    /** The site being checked (a GeoJSON geometry) — the check part's; the browser tests read it here. */
    get site() {
      return this.app.parts.check ? this.app.parts.check.site : null;
    }

    /** A tool's panel in the dock and its button in the header; `hooks.open` / `hooks.close` run on showing and
     * hiding it. Returns the panel's body. */
    panel(name, titleKey, buttonKey, hooks) {
      const app = this.app;
      const button = app.label(buttonKey, 'button', {cls: 'pm-tool-button', attrs: {type: 'button',
        id: `pm-tool-${name}`, 'aria-expanded': 'false'}});
      button.addEventListener('click', () => this.toggle(name));
      app.headerTools.append(button);
      const close = el('button', {cls: 'pm-tool-close', attrs: {type: 'button'}, text: '×'});
      close.addEventListener('click', () => this.toggle(name, false));
      app.translated(() => { close.title = app.t('checkClose'); });
      const body = el('div', {cls: 'pm-tool-body'});
      const box = el('section', {cls: 'pm-tool leaflet-bar', attrs: {id: `pm-${name}`, hidden: ''}},
        [el('div', {cls: 'pm-tool-head'}, [app.label(titleKey, 'h2', {cls: 'pm-tool-title'}), close]), body]);
      this.dock.append(box);
      this.panels[name] = box;
      this.buttons[name] = button;
      this.hooks[name] = hooks || {};
      return body;
    }

    /** Show (open true), hide (false) or switch a tool's panel; showing one hides the others. */
    toggle(name, open) {
      const show = open === undefined ? this.panels[name].hidden : open;
      for (const [other, box] of Object.entries(this.panels)) {
        const was = !box.hidden;
        box.hidden = other === name ? !show : true;
        this.buttons[other].setAttribute('aria-expanded', String(!box.hidden));
        this.buttons[other].classList.toggle('pm-active', !box.hidden);
        const hook = this.hooks[other][box.hidden ? 'close' : 'open'];
        if (hook && (other === name || was !== !box.hidden)) hook();
      }
    }

    field(labelKey, control) {
      return el('label', {cls: 'pm-field'}, [this.app.label(labelKey, 'span', {cls: 'pm-field-label'}), control]);
    }

    /** A <select>: options [value, label key] (a key starting with '=' is the text itself). */
    select(id, options) {
      return el('select', {attrs: {id}}, options.map(([value, key]) => this.app.label(
        key.startsWith('=') ? () => key.slice(1) : key, 'option', {attrs: {value}})));
    }

    button(id, key, onClick, cls) {
      const b = this.app.label(key, 'button', {cls: 'pm-btn ' + (cls || ''), attrs: {type: 'button', id}});
      b.addEventListener('click', onClick);
      return b;
    }

    setStatus(box, text, state) {
      box.textContent = text;
      if (state) box.dataset.state = state; else delete box.dataset.state;
    }

    /** The problem text of a failed response (planmap's JSON problem: detail / detail_vi). */
    async problem(res) {
      let text = `HTTP ${res.status}`;
      try {
        const doc = await res.json();
        text = (this.app.lang === 'vi' && doc.detail_vi) || doc.detail || doc.title || text;
      } catch (e) { /* not JSON */ }
      return text;
    }

    saveBlob(blob, name) {
      const url = URL.createObjectURL(blob);
      const a = el('a', {attrs: {href: url, download: name}, style: {display: 'none'}});
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    }
  }

  window.planmap.part('tools', (app) => new Tools(app));
})();
