/*
 * planmap web map — the sign-in tool (served page only): a planner's token checked by the server (GET map/session)
 * and kept for this tab (sessionStorage), which the core's api() then sends. Signing in or out re-reads the layers
 * (internal layers are the signed-in planners') and tells the other tools ('user' event, app.tools.user).
 */
(function () {
  'use strict';

  const {el, fmt, session, TOKEN_KEY} = window.planmap.helpers;

  class Auth {
    constructor(app) {
      this.app = app;
      this.tools = app.tools;
      const tools = this.tools;
      const body = tools.panel('auth', 'authTitle', 'toolSignIn');
      this.tokenInput = el('input', {attrs: {id: 'pm-token', type: 'password', autocomplete: 'off', spellcheck: 'false'}});
      const signIn = tools.button('pm-signin', 'authSignIn', () => this.signIn(this.tokenInput.value.trim()),
        'pm-btn-primary');
      const signOut = tools.button('pm-signout', 'authSignOut', () => this.signOut());
      this.status = el('p', {cls: 'pm-tool-status', attrs: {id: 'pm-auth-status', 'aria-live': 'polite'}});
      this.tokenInput.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') signIn.click(); });
      app.translated(() => this.render());
      body.append(tools.field('authToken', this.tokenInput), el('div', {cls: 'pm-btn-row'}, [signIn, signOut]),
        this.status);
      this.restore();
    }

    render() {
      const app = this.app;
      const u = this.tools.user;
      document.documentElement.dataset.planmapRole = u ? u.role : 'anonymous';
      this.tools.buttons.auth.textContent = u ? u.name : app.t('toolSignIn');
      if (this.status.dataset.state === 'error') return;
      this.status.textContent = u ? fmt(app.t('authAs'), {name: u.name, role: app.t('role_' + u.role)}) : app.t('authNone');
      this.status.dataset.role = u ? u.role : 'anonymous';
    }

    /** Who a token belongs to (GET map/session answers 200 even for a bad token: no console error); for a token
     * refused, the server's reason (not valid, expired, account disabled) is kept in this.reason. */
    async whoAmI(token) {
      this.reason = null;
      const res = await fetch('map/session', {headers: {Accept: 'application/json', Authorization: 'Bearer ' + token}});
      if (!res.ok) return null;
      const who = await res.json();
      if (who && who.valid && who.role !== 'anonymous') return who;
      this.reason = who && who.reason ? who.reason : null;
      return null;
    }

    /** The planner now signed in (or none): shown, the layers re-read, the other tools told. */
    async setUser(who, reload) {
      this.tools.user = who;
      this.render();
      if (reload) await this.app.parts.layers.reloadCatalog();
      this.app.emit('user', who);
    }

    /** The token kept from before a reload of the page, if it is still good. */
    async restore() {
      const token = session.get(TOKEN_KEY);
      if (!token) { this.render(); return; }
      const who = await this.whoAmI(token).catch(() => null);
      if (!who) session.remove(TOKEN_KEY);
      await this.setUser(who, !who);
    }

    async signIn(token) {
      delete this.status.dataset.state;
      if (!token) return;
      const who = await this.whoAmI(token).catch(() => null);
      if (!who) {
        const reason = this.reason && (this.reason[this.app.lang] || this.reason.vi);
        this.tools.setStatus(this.status, reason || this.app.t('authBad'), 'error');
        return;
      }
      session.set(TOKEN_KEY, token);
      this.tokenInput.value = '';
      await this.setUser(who, true);
    }

    async signOut() {
      session.remove(TOKEN_KEY);
      delete this.status.dataset.state;
      await this.setUser(null, true);
    }
  }

  window.planmap.part('auth', (app) => new Auth(app));
})();
