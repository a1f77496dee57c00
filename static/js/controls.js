// The control panel: start/stop streaming, per-symbol risk pause/resume and limits, strategies
// on/off with their parameters. Every command is a Socket.IO event with an acknowledgement;
// the result shows in one line. Inputs the user is editing are never overwritten by a push.
// Read-only (a token is required and this tab has none) disables every control.

const ACK_TIMEOUT_MS = 5000;

// Units of the risk limits (RiskLimits in strategies/risk.py); 0 disables a limit.
const UNITS = {
  max_position: "lots", max_order_qty: "lots", max_notional: "quote", max_drawdown: "quote",
  max_daily_loss: "quote", price_collar_bps: "bps", max_book_age_ms: "ms", max_orders_per_sec: "per s",
  max_open_orders: "orders",
};

function formatValue(value) {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(+value.toPrecision(10));
  if (value === null || value === undefined) return "";
  return String(value);
}

function parseValue(text, original) {
  const trimmed = text.trim();
  if (typeof original === "boolean") return ["1", "true", "yes", "on"].includes(trimmed.toLowerCase());
  if (typeof original === "number" || original === null) {
    if (trimmed === "" && original === null) return null;
    const n = Number(trimmed);
    return Number.isFinite(n) ? n : trimmed;
  }
  return trimmed;
}

function describeState(state) {
  if (!state || typeof state !== "object") return "";
  return Object.entries(state)
    .filter(([, v]) => v !== null && v !== "" && typeof v !== "object")
    .slice(0, 5)
    .map(([k, v]) => `${k} ${typeof v === "number" ? +v.toPrecision(6) : v}`)
    .join(" · ");
}

/** Build a grid of labelled inputs for a flat {name: value} mapping. */
function fieldGrid(container, values, className) {
  container.replaceChildren();
  for (const [name, value] of Object.entries(values || {})) {
    const wrap = document.createElement("div");
    wrap.className = className;
    const id = `${container.id || className}-${name}-${Math.random().toString(36).slice(2, 7)}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = UNITS[name] ? `${name} (${UNITS[name]})` : name;
    label.title = "0 disables a limit";
    const input = document.createElement("input");
    input.id = id;
    input.className = "form-control form-control-xs num";
    input.name = name;
    input.value = formatValue(value);
    input.dataset.original = JSON.stringify(value);
    input.addEventListener("input", () => { input.dataset.dirty = "1"; });
    wrap.append(label, input);
    container.append(wrap);
  }
}

function refreshFields(container, values) {
  for (const input of container.querySelectorAll("input")) {
    if (input.dataset.dirty === "1" || document.activeElement === input) continue;
    const value = values ? values[input.name] : undefined;
    const text = formatValue(value);
    if (input.value !== text) input.value = text;
    input.dataset.original = JSON.stringify(value ?? null);
  }
}

function readFields(container) {
  const out = {};
  for (const input of container.querySelectorAll("input")) {
    out[input.name] = parseValue(input.value, JSON.parse(input.dataset.original || "null"));
  }
  return out;
}

function clearDirty(container) {
  for (const input of container.querySelectorAll("input")) delete input.dataset.dirty;
}

export class ControlPanel {
  constructor(socket, store, els) {
    this.socket = socket;
    this.store = store;
    this.els = els;
    this.symbol = null;
    this.strategyKey = null;
    this.limitsKey = null;
    this.strategyEls = new Map();
    this.readOnly = false;
    this.streaming = null;
    els.start.addEventListener("click", () => this.send("stream", { action: "start" }, "streaming started"));
    els.stop.addEventListener("click", () => this.send("stream", { action: "stop" }, "streaming stopped"));
    els.pause.addEventListener("click", () =>
      this.send("risk", { symbol: this.symbol, action: "pause" }, `${this.symbol} paused`));
    els.resume.addEventListener("click", () =>
      this.send("risk", { symbol: this.symbol, action: "resume" }, `${this.symbol} resumed`));
    els.limitsApply.addEventListener("click", () => {
      const limits = readFields(els.limitsForm);
      this.send("risk", { symbol: this.symbol, action: "limits", limits }, `${this.symbol} limits applied`)
        .then((ok) => { if (ok) clearDirty(els.limitsForm); });
    });
  }

  /** Emit a control event and show its acknowledgement; resolves to ack.ok. */
  send(event, payload, successText) {
    return new Promise((resolve) => {
      if (!this.socket.connected) {
        this.showAck(false, "not connected");
        resolve(false);
        return;
      }
      this.socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, ack) => {
        if (err) {
          this.showAck(false, `${event}: no answer from the server`);
          resolve(false);
        } else if (!ack || !ack.ok) {
          this.showAck(false, (ack && ack.error) || `${event} refused`);
          resolve(false);
        } else {
          this.showAck(true, successText);
          resolve(true);
        }
      });
    });
  }

  showAck(ok, text) {
    const el = this.els.ackLine;
    el.textContent = (ok ? "✓ " : "✗ ") + text;
    el.title = text;
    el.classList.toggle("ok", ok);
    el.classList.toggle("err", !ok);
    clearTimeout(this.ackTimer);
    this.ackTimer = setTimeout(() => { el.textContent = ""; }, ok ? 4000 : 10000);
  }

  setStreaming(streaming) {
    this.streaming = streaming;
    this.els.start.disabled = this.readOnly || streaming === true;
    this.els.stop.disabled = this.readOnly || streaming === false;
  }

  setReadOnly(readOnly) {
    if (readOnly === this.readOnly) return;
    this.readOnly = readOnly;
    this.els.panel.classList.toggle("read-only", readOnly);
    this.setStreaming(this.streaming);
    this.strategyKey = null;   // rebuilt with the toggles enabled or not
    this.limitsKey = null;
    if (this.symbol) this.update();
  }

  show(symbol) {
    this.symbol = symbol;
    this.strategyKey = null;
    this.limitsKey = null;
    this.els.symbolLabel.textContent = symbol;
    this.update();
  }

  update() {
    const st = this.store.symbol(this.symbol);
    const s = st.strategy;
    this.updateRisk(s ? s.risk : null);
    this.updateStrategies(s ? s.strategies || [] : []);
  }

  updateRisk(risk) {
    const badge = this.els.riskState;
    const state = risk ? risk.state : "—";
    if (badge.textContent !== state) {
      badge.textContent = state;
      badge.className = `badge risk-badge ${state}`;
    }
    const reason = risk && risk.reason ? risk.reason : "";
    if (this.els.riskReason.textContent !== reason) this.els.riskReason.textContent = reason;
    this.els.pause.disabled = this.readOnly || !risk || state === "HALTED";
    this.els.resume.disabled = this.readOnly || !risk || state === "ACTIVE";
    this.els.limitsApply.disabled = this.readOnly;
    const limits = risk ? risk.limits || {} : {};
    const key = `${this.symbol}|${Object.keys(limits).join(",")}`;
    if (key !== this.limitsKey) {
      fieldGrid(this.els.limitsForm, limits, "limit");
      this.limitsKey = key;
    } else {
      refreshFields(this.els.limitsForm, limits);
    }
  }

  updateStrategies(list) {
    const key = `${this.symbol}|` + list.map((s) => `${s.name}:${Object.keys(s.params || {}).join(",")}`).join(";");
    if (key !== this.strategyKey) {
      this.buildStrategies(list);
      this.strategyKey = key;
    }
    for (const s of list) {
      const els = this.strategyEls.get(s.name);
      if (!els) continue;
      if (!els.pending && els.toggle.checked !== !!s.enabled) els.toggle.checked = !!s.enabled;
      const text = describeState(s.state);
      if (els.state.textContent !== text) {
        els.state.textContent = text;
        els.state.title = text;
      }
      refreshFields(els.params, s.params);
    }
  }

  buildStrategies(list) {
    const container = this.els.strategyList;
    container.replaceChildren();
    this.strategyEls.clear();
    if (!list.length) {
      const empty = document.createElement("div");
      empty.className = "small text-body-secondary";
      empty.textContent = "No strategies on this symbol.";
      container.append(empty);
      return;
    }
    for (const s of list) {
      const box = document.createElement("div");
      box.className = "strategy";
      box.dataset.strategy = s.name;
      const head = document.createElement("div");
      head.className = "strategy-head";
      const check = document.createElement("div");
      check.className = "form-check form-switch";
      const toggle = document.createElement("input");
      toggle.className = "form-check-input strategy-toggle";
      toggle.type = "checkbox";
      toggle.role = "switch";
      toggle.id = `strategy-${this.symbol}-${s.name}`;
      toggle.checked = !!s.enabled;
      toggle.disabled = this.readOnly;
      toggle.setAttribute("aria-label", `${s.name} on/off`);
      const name = document.createElement("label");
      name.className = "form-check-label strategy-name";
      name.htmlFor = toggle.id;
      name.textContent = s.name;
      check.append(toggle, name);
      const gear = document.createElement("button");
      gear.type = "button";
      gear.className = "btn btn-sm btn-link p-0 ms-auto text-body-secondary";
      gear.title = "Parameters";
      gear.innerHTML = '<i class="bi bi-sliders"></i>';
      head.append(check, gear);
      const state = document.createElement("div");
      state.className = "strategy-state num";
      const editor = document.createElement("div");
      editor.className = "d-none";
      const params = document.createElement("div");
      params.className = "strategy-params";
      params.id = `params-${this.symbol}-${s.name}`;
      fieldGrid(params, s.params, "param");
      const apply = document.createElement("button");
      apply.type = "button";
      apply.className = "btn btn-sm btn-outline-primary mt-1";
      apply.textContent = "Apply parameters";
      apply.disabled = this.readOnly;
      editor.append(params, apply);
      box.append(head, state, editor);
      container.append(box);

      const entry = { toggle, state, params, pending: false };
      this.strategyEls.set(s.name, entry);
      gear.addEventListener("click", () => editor.classList.toggle("d-none"));
      toggle.addEventListener("change", () => {
        entry.pending = true;
        const wanted = toggle.checked;
        this.send("strategy", { symbol: this.symbol, name: s.name, enabled: wanted },
          `${s.name} ${wanted ? "enabled" : "disabled"} on ${this.symbol}`)
          .then((ok) => {
            entry.pending = false;
            if (!ok) toggle.checked = !wanted;
          });
      });
      apply.addEventListener("click", () => {
        this.send("strategy", { symbol: this.symbol, name: s.name, params: readFields(params) },
          `${s.name} parameters applied`)
          .then((ok) => { if (ok) clearDirty(params); });
      });
    }
  }
}
