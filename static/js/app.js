// The monitor page: wires the connection, the store and the views. Snapshots are folded into
// the store as they arrive; the screen is redrawn at most once per animation frame, and only
// the parts that are visible.

import { AccessControl } from "./access.js";
import { ActivityFeed } from "./activity.js";
import { CompareChart, DepthChart, EquityChart, PriceChart, refreshThemeColors, resizeCharts } from "./charts.js";
import { CompareCards } from "./compare.js";
import { Connection } from "./connection.js";
import { ControlPanel } from "./controls.js";
import { flash, refreshFlashColors } from "./flash.js";
import { DASH, clock, compact, fixed, millis, percent, setText, setTone, signed } from "./format.js";
import { Ladder } from "./ladder.js";
import { LatencyStats, Store } from "./store.js";
import { Tape } from "./tape.js";

const $ = (id) => document.getElementById(id);
const root = $("app");
const allSymbols = root.dataset.symbols.split(",").filter(Boolean);
const WATCH_KEY = "monitor.watch";
const THEME_KEY = "monitor.theme";

const store = new Store(allSymbols);
const latency = new LatencyStats(300);
const conn = new Connection();
const socket = conn.socket;

const view = {
  symbol: allSymbols[0],
  mode: "symbol",               // "symbol" | "compare"
  watched: loadWatched(),
  lastSnapshotAt: 0,
  dirty: false,
  frameRequested: false,
  headLast: null,
  tabLast: new Map(),
};

const priceChart = new PriceChart($("price-chart"), store, () => requestRender());
const depthChart = new DepthChart($("depth-chart"), store, () => requestRender());
const equityChart = new EquityChart($("equity-chart"), store, () => requestRender());
const compareChart = new CompareChart($("compare-chart"), store, () => requestRender());
const ladder = new Ladder($("ladder"), 20);
const tape = new Tape($("tape-body"), 60);
const activity = new ActivityFeed($("activity"), $("activity-kinds"), $("activity-symbol"), store, 200);
const compareCards = new CompareCards($("compare-grid"), store, (symbol) => selectSymbol(symbol));
const controls = new ControlPanel(socket, store, {
  start: $("btn-start"), stop: $("btn-stop"), pause: $("btn-pause"), resume: $("btn-resume"),
  riskState: $("risk-state"), riskReason: $("risk-reason"), limitsForm: $("limits-form"),
  limitsApply: $("limits-apply"), strategyList: $("strategy-list"), ackLine: $("ack-line"),
  symbolLabel: $("ctl-symbol"), panel: $("controls"),
});
const access = new AccessControl(conn, controls, {
  modal: $("token-modal"), form: $("token-form"), input: $("token-input"), error: $("token-error"),
  badge: $("readonly-badge"), unlock: $("unlock-button"),
});

// ---------------------------------------------------------------- watched symbols
function loadWatched() {
  try {
    const saved = JSON.parse(localStorage.getItem(WATCH_KEY) || "null");
    if (Array.isArray(saved)) {
      const known = saved.filter((s) => allSymbols.includes(s));
      if (known.length) return known;
    }
  } catch (e) { /* ignore a corrupt entry */ }
  return allSymbols.slice();
}

function applyWatched(symbols, announce) {
  view.watched = symbols.length ? symbols : allSymbols.slice();
  try { localStorage.setItem(WATCH_KEY, JSON.stringify(view.watched)); } catch (e) { /* storage off */ }
  for (const s of allSymbols) {
    $(`tab-${s}`).classList.toggle("unwatched", !view.watched.includes(s));
    $(`watch-${s}`).checked = view.watched.includes(s);
  }
  setText($("watch-label"), view.watched.length === allSymbols.length ? "All symbols" : `${view.watched.length} of ${allSymbols.length}`);
  if (!view.watched.includes(view.symbol)) selectSymbol(view.watched[0]);
  if (view.mode === "compare") showCompare();
  if (announce && socket.connected) {
    const payload = view.watched.length === allSymbols.length ? [] : view.watched;
    controls.send("subscribe", { symbols: payload }, `watching ${view.watched.length === allSymbols.length ? "all symbols" : view.watched.join(", ")}`);
  }
}

$("watch-apply").addEventListener("click", () => {
  const chosen = [...document.querySelectorAll(".watch-check")].filter((c) => c.checked).map((c) => c.value);
  applyWatched(chosen, true);
  const dropdown = bootstrap.Dropdown.getInstance($("watch-button"));
  if (dropdown) dropdown.hide();
});

// ---------------------------------------------------------------- tabs and views
function selectSymbol(symbol) {
  if (!symbol) return;
  view.symbol = symbol;
  view.mode = "symbol";
  for (const tab of document.querySelectorAll(".symbol-tab")) {
    tab.classList.toggle("active", tab.dataset.symbol === symbol);
    tab.setAttribute("aria-selected", tab.dataset.symbol === symbol ? "true" : "false");
  }
  $("view-symbol").classList.remove("d-none");
  $("view-compare").classList.add("d-none");
  setText($("head-symbol"), symbol);
  setText($("book-symbol"), symbol);
  view.headLast = null;
  priceChart.show(symbol);
  depthChart.show(symbol);
  equityChart.show(symbol);
  tape.show(store.symbol(symbol));
  controls.show(symbol);
  requestRender();
}

function showCompare() {
  view.mode = "compare";
  for (const tab of document.querySelectorAll(".symbol-tab")) {
    tab.classList.toggle("active", tab.dataset.view === "compare");
  }
  $("view-symbol").classList.add("d-none");
  $("view-compare").classList.remove("d-none");
  compareCards.show(view.watched);
  compareChart.show(view.watched);
  compareCards.update();
  requestRender();
}

for (const tab of document.querySelectorAll(".symbol-tab")) {
  tab.addEventListener("click", () => (tab.dataset.view === "compare" ? showCompare() : selectSymbol(tab.dataset.symbol)));
}

// ---------------------------------------------------------------- theme
function applyTheme(theme) {
  document.documentElement.setAttribute("data-bs-theme", theme);
  try { localStorage.setItem(THEME_KEY, theme); } catch (e) { /* storage off */ }
  $("theme-toggle").innerHTML = theme === "dark" ? '<i class="bi bi-sun"></i>' : '<i class="bi bi-moon-stars"></i>';
  refreshFlashColors();
  refreshThemeColors();
  if (view.mode === "compare") {
    compareChart.redraw();
    compareCards.refresh();
  }
  else {
    priceChart.redraw();
    equityChart.redraw();
    depthChart.update(true);
  }
}

$("theme-toggle").addEventListener("click", () => {
  applyTheme(document.documentElement.getAttribute("data-bs-theme") === "dark" ? "light" : "dark");
});

// ---------------------------------------------------------------- connection state
function setConnState(state, label) {
  conn.state = state;
  const badge = $("conn-badge");
  badge.className = `badge conn conn-${state}`;
  badge.dataset.state = state;
  setText(badge.querySelector(".label"), label);
}

function setSource(source) {
  if (source === view.source) return;
  view.source = source;
  const badge = $("source-badge");
  const kind = source === "sim" ? "sim" : source === "binance" ? "live" : source === "replay" ? "replay" : "";
  const label = source === "sim" ? "SIMULATED" : source === "binance" ? "BINANCE LIVE" : source === "replay" ? "REPLAY" : (source || DASH).toUpperCase();
  badge.className = `badge source-badge ${kind}`;
  setText(badge, label);
  badge.title = source === "sim" ? "Embedded Binance-compatible exchange: simulated market data" : `Market data source: ${source}`;
}

function setStreaming(streaming) {
  store.streaming = streaming;
  const badge = $("stream-badge");
  badge.className = `badge stream-badge ${streaming ? "on" : "off"}`;
  setText(badge, streaming ? "STREAMING" : "STOPPED");
  $("stopped-banner").classList.toggle("d-none", streaming !== false);
  controls.setStreaming(streaming);
}

socket.on("connect", () => {
  setConnState("live", "Live");
  if (view.watched.length !== allSymbols.length) {
    controls.send("subscribe", { symbols: view.watched }, `watching ${view.watched.join(", ")}`);
  }
});
socket.on("disconnect", () => setConnState("offline", "Disconnected"));
socket.on("connect_error", () => setConnState("offline", "Offline"));
socket.io.on("reconnect_attempt", (n) => setConnState("connecting", `Reconnecting (${n})`));

socket.on("access", (verdict) => access.update(verdict));

socket.on("status", (status) => {
  if (status.source) setSource(status.source);
  if (typeof status.streaming === "boolean") setStreaming(status.streaming);
});

socket.on("snapshot", (snap) => {
  const receivedAt = conn.serverNow();
  if (typeof snap.ts === "number") latency.add(Math.max(0, receivedAt - snap.ts));
  conn.noteReceipt(Date.now());
  view.lastSnapshotAt = Date.now();
  store.ingest(snap);
  if (snap.source) setSource(snap.source);
  if (typeof snap.streaming === "boolean" && snap.streaming !== view.lastStreaming) {
    view.lastStreaming = snap.streaming;
    setStreaming(snap.streaming);
  }
  requestRender();
});

// ---------------------------------------------------------------- rendering
function requestRender() {
  view.dirty = true;
  if (view.frameRequested) return;
  view.frameRequested = true;
  requestAnimationFrame(render);
}

// Time spent per part of the screen (ms, cumulative): cheap to keep, handy to find a slow part.
const timings = {};
function timed(name, fn) {
  const started = performance.now();
  fn();
  timings[name] = (timings[name] || 0) + performance.now() - started;
}

function render() {
  view.frameRequested = false;
  if (!view.dirty) return;
  view.dirty = false;
  timed("tabs", renderTabs);
  timed("portfolio", renderPortfolio);
  if (view.mode === "symbol") renderSymbol();
  else {
    timed("compareCards", () => compareCards.update());
    timed("compareChart", () => compareChart.update());
  }
  timed("book", renderBook);
  timed("controls", () => controls.update());
  timed("activity", () => activity.update());
}

function renderTabs() {
  for (const symbol of view.watched) {
    const st = store.symbol(symbol);
    const m = st.market;
    if (!m) continue;
    const tab = $(`tab-${symbol}`);
    if (!tab) continue;
    const last = typeof m.last === "number" ? m.last : m.mid;
    const lastEl = tab.querySelector(".tab-last");
    setText(lastEl, fixed(last, st.priceDecimals));
    const prev = view.tabLast.get(symbol);
    if (prev !== undefined && prev !== last) {
      lastEl.classList.toggle("up", last > prev);
      lastEl.classList.toggle("down", last < prev);
    }
    view.tabLast.set(symbol, last);
    const changeEl = tab.querySelector(".tab-change");
    setText(changeEl, percent(m.change_pct_24h));
    setTone(changeEl, m.change_pct_24h);
    const pos = st.strategy && st.strategy.position;
    const posEl = tab.querySelector(".tab-pos");
    setText(posEl, pos && pos.qty ? `pos ${signed(pos.qty, st.qtyDecimals)}` : "");
    setTone(posEl, pos ? pos.qty : 0);
  }
}

// Portfolio totals are in one valuation asset; dollar-like ones read in cents, anything else (BTC) in 8 decimals.
const CENT_ASSETS = new Set(["USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI", "USD", "EUR", "TRY", "BRL"]);
const valuationDecimals = (p) => (p && !CENT_ASSETS.has(p.valuation) ? 8 : 2);

function renderPortfolio() {
  const fees = store.fees;
  if (fees) setText($("fee-tier"), `maker ${fixed(fees.maker_bps, 1)} bps · taker ${fixed(fees.taker_bps, 1)} bps`);
  const p = store.portfolio;
  if (!p) return;
  const d = valuationDecimals(p);
  const set = (id, value) => { const el = $(id); setText(el, signed(value, d)); setTone(el, value); };
  set("pf-equity", p.equity);
  set("pf-realized", p.realized);
  set("pf-unrealized", p.unrealized);
  setText($("pf-fees"), fixed(p.fees, d));
  setText($("pf-drawdown"), fixed(p.drawdown, d));
  setText($("pf-valuation"), p.valuation || "");
  const rates = Object.entries(p.rates || {}).map(([asset, rate]) => `${asset} at ${rate === null ? "n/a" : fixed(rate, 8)}`);
  $("portfolio-strip").title = p.valuation_note
    ? `Portfolio totals in ${p.valuation}: ${p.valuation_note}`
    : `Portfolio totals in ${p.valuation}${rates.length ? ` (converted: ${rates.join(", ")})` : ""}`;
}

function renderSymbol() {
  const st = store.symbol(view.symbol);
  const m = st.market;
  if (m) timed("head", () => renderHead(st, m));
  timed("pnl", () => renderPnl(st));
  timed("orders", () => renderOrders(st));
  timed("priceChart", () => priceChart.update());
  timed("depthChart", () => depthChart.update());
  timed("equityChart", () => equityChart.update());
  timed("tape", () => tape.update(st));
}

function renderHead(st, m) {
  const pd = st.priceDecimals;
  const qd = st.qtyDecimals;
  const last = typeof m.last === "number" ? m.last : m.mid;
  const lastEl = $("head-last");
  setText(lastEl, fixed(last, pd));
  if (view.headLast !== null && last !== view.headLast) {
    flash(lastEl, last > view.headLast);
    lastEl.classList.toggle("up", last > view.headLast);
    lastEl.classList.toggle("down", last < view.headLast);
  }
  view.headLast = last;
  const changeEl = $("head-change");
  setText(changeEl, `${signed(m.change_24h, pd)} (${percent(m.change_pct_24h)})`);
  setTone(changeEl, m.change_24h);
  setText($("head-bid"), fixed(m.bid, pd));
  setText($("head-ask"), fixed(m.ask, pd));
  setText($("head-bid-qty"), fixed(m.bid_qty, qd));
  setText($("head-ask-qty"), fixed(m.ask_qty, qd));
  setText($("head-spread"), `${fixed(m.spread, pd)} · ${m.spread_ticks ?? DASH}t · ${fixed(m.spread_bps, 2)} bps`);
  setText($("head-mid"), fixed(m.mid, pd + 1));
  setText($("head-micro"), fixed(m.microprice, pd + 1));
  const imb = typeof m.imbalance === "number" ? m.imbalance : 0;
  $("head-imbalance-bar").style.width = `${Math.round((imb + 1) * 50)}%`;
  const imbEl = $("head-imbalance");
  setText(imbEl, signed(m.imbalance, 2));
  setTone(imbEl, m.imbalance);
  setText($("head-high"), fixed(m.high_24h, pd));
  setText($("head-low"), fixed(m.low_24h, pd));
  setText($("head-volume"), compact(m.volume_24h));
  setText($("head-quote-volume"), compact(m.quote_volume_24h));
  renderFeed(m.feed);
}

function renderFeed(feed) {
  const badge = $("head-feed").firstElementChild;
  if (!feed) return;
  const state = !feed.synced ? "bad" : feed.stale ? "stale" : "ok";
  const label = !feed.synced ? "RESYNC" : feed.stale ? "STALE" : "SYNCED";
  if (badge.dataset.state !== state) {
    badge.className = `badge feed-badge ${state}`;
    badge.dataset.state = state;
  }
  setText(badge, label);
  badge.title = `update id ${feed.update_id ?? DASH} · last event ${millis(feed.last_event_age_ms)} ago · malformed ${feed.malformed ?? 0}`;
  setText($("head-feed-counts"), `${compact(feed.msgs)} · ${feed.gaps ?? 0}/${feed.resyncs ?? 0}/${feed.reconnects ?? 0}`);
  setText($("feed-latency"), millis(feed.latency_ms));
  setText($("head-feed-latency"), millis(feed.latency_ms));
}

function renderPnl(st) {
  const s = st.strategy;
  const pos = s && s.position;
  const pf = store.portfolio;
  const qd = st.qtyDecimals;
  const pd = st.priceDecimals;
  const money = (id, value, sub) => {  // in the symbol's quote asset, at its price precision
    const el = $(id);
    setText(el, signed(value, pd));
    setTone(el, value);
    setText($(`${id}-sub`), sub);
  };
  if (!pos) return;
  const vd = valuationDecimals(pf);
  money("pnl-realized", pos.realized, pf ? `portfolio ${signed(pf.realized, vd)} ${pf.valuation}` : "");
  money("pnl-unrealized", pos.unrealized, pf ? `portfolio ${signed(pf.unrealized, vd)} ${pf.valuation}` : "");
  const posEl = $("pnl-position");
  setText(posEl, signed(pos.qty, qd));
  setTone(posEl, pos.qty);
  setText($("pnl-position-sub"), pos.qty ? `avg ${fixed(pos.avg_price, pd)} · eq ${signed(pos.equity, pd)}` : `equity ${signed(pos.equity, pd)}`);
  const ddEl = $("pnl-drawdown");
  setText(ddEl, fixed(pos.drawdown, pd));
  ddEl.classList.toggle("down", pos.drawdown > 0);
  setText($("pnl-drawdown-sub"), `max ${fixed(pos.max_drawdown, pd)}${pf ? ` · pf ${fixed(pf.max_drawdown, vd)}` : ""}`);
  const sharpeEl = $("pnl-sharpe");
  // Annualised from 1-second samples: withheld (null, with the reason) until there are enough of them.
  const shown = pos.sharpe !== null && pos.sharpe !== undefined;
  setText(sharpeEl, shown ? fixed(pos.sharpe, 2) : "n/a");
  setTone(sharpeEl, shown ? pos.sharpe : 0);
  const sharpeError = shown && pos.sharpe_se > 0 ? `±${fixed(pos.sharpe_se, 0)} over ${fixed(pos.sharpe_seconds, 0)} s` : "";
  const sharpeNote = shown ? "" : (pos.sharpe_note || "").replace(/^n\/a: /, "");
  const sharpePortfolio = pf && pf.sharpe !== null && pf.sharpe !== undefined ? `pf ${fixed(pf.sharpe, 2)}` : "";
  setText($("pnl-sharpe-sub"), [sharpeError, sharpeNote, sharpePortfolio].filter(Boolean).join(" · "));
  if (pf && pf.sharpe_definition && view.sharpeDefinition !== pf.sharpe_definition) {
    view.sharpeDefinition = pf.sharpe_definition;
    const info = $("sharpe-info");
    info.setAttribute("data-bs-title", pf.sharpe_definition);
    info.setAttribute("aria-label", pf.sharpe_definition);
    const tip = bootstrap.Tooltip.getInstance(info);
    if (tip) tip.setContent({ ".tooltip-inner": pf.sharpe_definition });
  }
  setText($("pnl-fills"), `${pos.fills ?? 0}`);
  setText($("pnl-fills-sub"), `maker ${pos.maker_fills ?? 0} · taker ${pos.taker_fills ?? 0} · fees ${fixed(pos.fees, 2)}`);
}

function renderOrders(st) {
  const orders = (st.strategy && st.strategy.orders) || [];
  const key = orders.map((o) => `${o.id}:${o.price}:${o.qty}:${o.filled}:${o.status}:${o.queue_ahead}`).join("|");
  if (key === view.ordersKey && view.ordersSymbol === st.symbol) return;
  view.ordersKey = key;
  view.ordersSymbol = st.symbol;
  setText($("orders-count"), String(orders.length));
  const body = $("orders-body");
  const fragment = document.createDocumentFragment();
  const pd = st.priceDecimals;
  const qd = st.qtyDecimals;
  for (const o of orders.slice(0, 50)) {
    const tr = document.createElement("tr");
    const cells = [
      [o.strategy, ""], [o.side.toUpperCase(), o.side === "buy" ? "up" : "down"],
      [fixed(o.price, pd), "text-end num"], [fixed(o.qty, qd), "text-end num"], [fixed(o.filled, qd), "text-end num"],
      [typeof o.queue_ahead === "number" ? fixed(o.queue_ahead, qd) : DASH, "text-end num"],
      [o.status, ""], [o.tag || "", ""], [o.id, "id"],
    ];
    for (const [text, cls] of cells) {
      const td = document.createElement("td");
      if (cls) td.className = cls;
      td.textContent = text;
      tr.append(td);
    }
    fragment.append(tr);
  }
  if (!orders.length) {
    const tr = document.createElement("tr");
    tr.className = "orders-empty";
    const td = document.createElement("td");
    td.colSpan = 9;
    td.textContent = "No open orders";
    tr.append(td);
    fragment.append(tr);
  }
  body.replaceChildren(fragment);
}

function renderBook() {
  const st = store.symbol(view.symbol);
  if (!st.market) return;
  ladder.update(st.market, st.strategy ? st.strategy.orders : [], st.priceDecimals, st.qtyDecimals);
  ladder.tick(st.lastTick);
  const feed = st.market.feed;
  setText($("book-update"), feed ? `#${feed.update_id ?? DASH}` : DASH);
}

// ---------------------------------------------------------------- once a second
setInterval(() => {
  const now = Date.now();
  const active = store.symbol(view.symbol);
  if (active.market) {
    const last = typeof active.market.last === "number" ? active.market.last : active.market.mid;
    const title = `${fixed(last, active.priceDecimals)} ${view.symbol} · Binance Monitor`;
    if (document.title !== title) document.title = title;
  }
  setText($("server-clock"), clock(conn.serverNow()));
  const rate = conn.rate(now);
  setText($("push-rate"), rate ? `${rate.toFixed(1)} Hz` : DASH);
  const p50 = latency.quantile(0.5);
  const p99 = latency.quantile(0.99);
  const latEl = $("latency");
  setText(latEl, millis(latency.last()));
  $("latency-box").title = `Server push (ts) to browser receipt, clock-offset corrected.\np50 ${millis(p50)} · p99 ${millis(p99)} over the last ${latency.samples.length} snapshots`;
  latEl.dataset.p50 = String(p50);
  if (store.health) {
    setText($("health"), (store.health.status || DASH).toUpperCase());
    setTone($("health"), store.health.status === "ok" ? 1 : -1);
    const reasons = store.health.reasons || [];
    $("health").title = reasons.length ? `Degraded:\n${reasons.join("\n")}` : "Every book synced and receiving; the engine keeping up";
    setText($("clients"), String(store.health.clients ?? DASH));
  }
  if (socket.connected && store.streaming !== false && view.lastSnapshotAt && now - view.lastSnapshotAt > 2000) {
    setConnState("stalled", "Stalled");
  } else if (socket.connected && conn.state !== "live") {
    setConnState("live", "Live");
  }
}, 1000);

// Redraw charts to their new size whenever their boxes change (window resize, views switching).
const resizePending = new Set();
let resizeTimer = null;
const resizeObserver = new ResizeObserver((entries) => {
  for (const entry of entries) resizePending.add(entry.target.firstElementChild);
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => { resizeCharts([...resizePending]); resizePending.clear(); }, 100);
});
for (const box of document.querySelectorAll(".chart-box")) resizeObserver.observe(box);
// After a hidden spell, catch up in one frame (charts redraw from their buffers).
document.addEventListener("visibilitychange", () => { if (!document.hidden) requestRender(); });

// ---------------------------------------------------------------- start
for (const el of document.querySelectorAll('[data-bs-toggle="tooltip"]')) new bootstrap.Tooltip(el);
setSource(root.dataset.source);
setStreaming(root.dataset.streaming === "true");
applyWatched(view.watched, false);
selectSymbol(view.watched[0]);
applyTheme(document.documentElement.getAttribute("data-bs-theme") === "light" ? "light" : "dark");
window.monitor = { store, latency, conn, view, timings, access };   // for debugging and the browser tests
