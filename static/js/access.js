// Who may control: the server says so in an "access" event on every connect. With a token
// required and not presented, the page watches read-only (controls disabled, a badge) and asks
// for the token once; the token is kept for this tab only (sessionStorage) and sent with every
// (re)connect. It is never shown: the input is a password field, cleared after use.

const TOKEN_KEY = "monitor.token";
const DISMISSED_KEY = "monitor.token.dismissed";

function session(action) {
  try { return action(window.sessionStorage); } catch (e) { return null; }   // storage disabled
}

/** The token this tab presents at connect, or "" for none. */
export function storedToken() {
  return session((s) => s.getItem(TOKEN_KEY)) || "";
}

export class AccessControl {
  constructor(conn, controls, els) {
    this.conn = conn;
    this.controls = controls;
    this.els = els;
    this.modal = bootstrap.Modal.getOrCreateInstance(els.modal);
    this.state = null;
    els.unlock.addEventListener("click", () => this.ask(""));
    // Closed without a token (Watch only, Escape): do not ask again in this tab.
    els.modal.addEventListener("hidden.bs.modal", () => {
      if (this.readOnly()) session((s) => s.setItem(DISMISSED_KEY, "1"));
    });
    els.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const token = els.input.value.trim();
      if (!token) {
        els.error.textContent = "Enter the token, or choose Watch only.";
        return;
      }
      els.input.value = "";
      session((s) => { s.setItem(TOKEN_KEY, token); s.removeItem(DISMISSED_KEY); });
      els.error.textContent = "Checking…";
      this.conn.reconnect();   // the token goes with the connect; the next "access" event answers
    });
    els.modal.addEventListener("shown.bs.modal", () => els.input.focus());
  }

  readOnly() {
    return !!this.state && !!this.state.token_required && !this.state.control;
  }

  /** The server's verdict for this connection: {token_required, control, reason?}. */
  update(access) {
    this.state = access;
    const readOnly = this.readOnly();
    this.els.badge.classList.toggle("d-none", !readOnly);
    this.els.unlock.classList.toggle("d-none", !readOnly);
    this.controls.setReadOnly(readOnly);
    if (!readOnly) {
      this.els.error.textContent = "";
      this.modal.hide();
      return;
    }
    if (access.reason === "token rejected") {
      session((s) => s.removeItem(TOKEN_KEY));
      this.ask("Token rejected: try again.");
    } else if (!session((s) => s.getItem(DISMISSED_KEY))) {
      this.ask("");
    }
  }

  ask(message) {
    this.els.error.textContent = message;
    this.modal.show();
  }
}
