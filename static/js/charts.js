// Plotly charts updated in place: extendTraces for new points, react only on symbol or theme
// changes (or after a long hidden spell). uirevision keeps the user's zoom across updates.

import { PRICE_POINTS, EQUITY_POINTS, FILL_POINTS } from "./store.js";

const CONFIG = {
  displaylogo: false,
  responsive: false,   // a ResizeObserver on each chart box resizes them (app.js)
  scrollZoom: false,
  modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d", "toImage"],
};

const EXTEND_LIMIT = 200;   // more new points than this: redraw instead of extending
const BUDGET_FACTOR = 10;   // a chart may use at most ~1/10 of the main thread

/**
 * Frame budget for one chart: redraw at most every `minIntervalMs`, and never more often than
 * its own measured cost allows (cost x BUDGET_FACTOR). A fast desk machine gets every push; a
 * slow or busy one gets fewer chart frames, never a frozen page. The data is never dropped:
 * a skipped frame is caught up by the next one, and `onDue` asks for that frame.
 */
export class FrameBudget {
  constructor(minIntervalMs, onDue) {
    this.minIntervalMs = minIntervalMs;
    this.onDue = onDue;
    this.costMs = 0;
    this.lastAt = -Infinity;
    this.timer = null;
  }

  interval() {
    return Math.max(this.minIntervalMs, this.costMs * BUDGET_FACTOR);
  }

  /** True when a frame may be drawn now; otherwise a later render is requested. */
  ready() {
    const wait = this.lastAt + this.interval() - performance.now();
    if (wait <= 0) return true;
    if (this.timer === null && this.onDue) {
      this.timer = setTimeout(() => { this.timer = null; this.onDue(); }, wait);
    }
    return false;
  }

  /** Run a draw and fold its duration into the cost estimate. */
  draw(fn) {
    const started = performance.now();
    fn();
    const cost = performance.now() - started;
    this.costMs = this.costMs ? this.costMs * 0.8 + cost * 0.2 : cost;
    this.lastAt = performance.now();
  }
}

let colorCache = null;

/** Forget the cached theme colours (after a theme switch). */
export function refreshThemeColors() {
  colorCache = null;
}

export function themeColors() {
  if (colorCache) return colorCache;
  const css = getComputedStyle(document.documentElement);
  const v = (name, fallback) => (css.getPropertyValue(name) || "").trim() || fallback;
  colorCache = {
    up: v("--m-up", "#0ecb81"),
    down: v("--m-down", "#f6465d"),
    upBg: v("--m-up-bg", "rgba(14,203,129,.13)"),
    downBg: v("--m-down-bg", "rgba(246,70,93,.13)"),
    text: v("--m-text", "#d6dae0"),
    muted: v("--m-muted", "#7d8794"),
    grid: v("--m-border", "#242a33"),
    accent: v("--m-accent", "#f0b90b"),
    own: v("--m-own", "#3d8bfd"),
    panel: v("--m-panel", "#13171d"),
  };
  return colorCache;
}

function baseLayout(c, extra = {}) {
  return {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { color: c.muted, size: 10.5, family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif" },
    margin: { l: 6, r: 62, t: 4, b: 20 },
    showlegend: false,
    hovermode: "closest",
    hoverlabel: { bgcolor: c.panel, bordercolor: c.grid, font: { color: c.text, size: 11 } },
    xaxis: { type: "date", hoverformat: "%H:%M:%S.%L",
      tickformatstops: [{ dtickrange: [null, 999], value: "%H:%M:%S.%L" }, { dtickrange: [999, null], value: "%H:%M:%S" }], gridcolor: c.grid, linecolor: c.grid, zeroline: false, tickfont: { size: 10 } },
    yaxis: { side: "right", gridcolor: c.grid, linecolor: c.grid, zeroline: false, tickfont: { size: 10 } },
    ...extra,
  };
}

function visible(el) {
  return el.offsetParent !== null && !document.hidden;
}

function maxPoints(n, count) {
  return Array.from({ length: count }, () => n);
}

/** Bid, ask and last price with the strategies' own fills as markers. */
export class PriceChart {
  constructor(el, store, onDue) {
    this.el = el;
    this.store = store;
    this.symbol = null;
    this.drawn = { prices: -1, buys: -1, sells: -1 };
    this.ready = false;
    this.budget = new FrameBudget(200, onDue);
  }

  show(symbol) {
    this.symbol = symbol;
    this.redraw();
  }

  redraw() {
    const st = this.store.symbol(this.symbol);
    const c = themeColors();
    const p = st.prices.snapshot();
    const b = st.buys.snapshot();
    const s = st.sells.snapshot();
    const decimals = st.priceDecimals;
    const hover = `%{y:,.${decimals}f}<extra>%{fullData.name}</extra>`;
    const traces = [
      { name: "bid", x: p.t, y: p.bid, type: "scatter", mode: "lines", line: { color: c.up, width: 1, shape: "hv" }, opacity: 0.75, hovertemplate: hover },
      { name: "ask", x: p.t, y: p.ask, type: "scatter", mode: "lines", line: { color: c.down, width: 1, shape: "hv" }, opacity: 0.75, hovertemplate: hover },
      { name: "last", x: p.t, y: p.last, type: "scatter", mode: "lines", line: { color: c.text, width: 1.4, shape: "hv" }, hovertemplate: hover },
      { name: "own buy", x: b.t, y: b.price, customdata: b.qty, type: "scatter", mode: "markers",
        marker: { symbol: "triangle-up", size: 10, color: c.up, line: { color: c.panel, width: 1 } },
        hovertemplate: `buy %{customdata} @ %{y:,.${decimals}f}<extra></extra>` },
      { name: "own sell", x: s.t, y: s.price, customdata: s.qty, type: "scatter", mode: "markers",
        marker: { symbol: "triangle-down", size: 10, color: c.down, line: { color: c.panel, width: 1 } },
        hovertemplate: `sell %{customdata} @ %{y:,.${decimals}f}<extra></extra>` },
    ];
    const layout = baseLayout(c, { uirevision: this.symbol });
    layout.yaxis.tickformat = `,.${decimals}f`;
    Plotly.react(this.el, traces, layout, CONFIG);
    this.drawn = { prices: st.prices.total, buys: st.buys.total, sells: st.sells.total };
    this.ready = true;
  }

  update() {
    if (!this.symbol || !visible(this.el)) return;
    if (!this.ready) return this.redraw();
    const st = this.store.symbol(this.symbol);
    if (st.prices.total === this.drawn.prices && st.buys.total === this.drawn.buys
        && st.sells.total === this.drawn.sells) return;
    if (!this.budget.ready()) return;
    this.budget.draw(() => this.extend(st));
  }

  extend(st) {
    const p = st.prices.since(this.drawn.prices);
    const b = st.buys.since(this.drawn.buys);
    const s = st.sells.since(this.drawn.sells);
    if (!p || !b || !s || p.count > EXTEND_LIMIT) return this.redraw();
    if (p.count) {
      Plotly.extendTraces(this.el, { x: [p.t, p.t, p.t], y: [p.bid, p.ask, p.last] }, [0, 1, 2], maxPoints(PRICE_POINTS, 3));
    }
    if (b.count) Plotly.extendTraces(this.el, { x: [b.t], y: [b.price], customdata: [b.qty] }, [3], FILL_POINTS);
    if (s.count) Plotly.extendTraces(this.el, { x: [s.t], y: [s.price], customdata: [s.qty] }, [4], FILL_POINTS);
    this.drawn = { prices: st.prices.total, buys: st.buys.total, sells: st.sells.total };
  }
}

/** Cumulative depth of the top levels: bids left of the mid, asks right. */
export class DepthChart {
  constructor(el, store, onDue) {
    this.el = el;
    this.store = store;
    this.symbol = null;
    this.seenSeq = null;
    this.budget = new FrameBudget(400, onDue);
  }

  show(symbol) {
    this.symbol = symbol;
    this.seenSeq = null;
    this.update(true);
  }

  update(force = false) {
    if (!this.symbol || !visible(this.el)) return;
    const st = this.store.symbol(this.symbol);
    const m = st.market;
    if (!m || !m.depth) return;
    if (!force && (this.seenSeq === this.store.seq || !this.budget.ready())) return;
    this.seenSeq = this.store.seq;
    this.budget.draw(() => this.draw(st, m));
  }

  draw(st, m) {
    const bids = m.depth.bids || [];
    const asks = m.depth.asks || [];
    const bx = [], by = [], ax = [], ay = [];
    let cum = 0;
    for (const [price, qty] of bids) { cum += qty; bx.push(price); by.push(cum); }
    bx.reverse(); by.reverse();
    cum = 0;
    for (const [price, qty] of asks) { cum += qty; ax.push(price); ay.push(cum); }
    const c = themeColors();
    const d = st.priceDecimals;
    const q = st.qtyDecimals;
    const hover = `%{x:,.${d}f}<br>cum %{y:,.${q}f}<extra></extra>`;
    const traces = [
      { x: bx, y: by, type: "scatter", mode: "lines", line: { color: c.up, width: 1.2, shape: "vh" }, fill: "tozeroy", fillcolor: c.upBg, hovertemplate: hover },
      { x: ax, y: ay, type: "scatter", mode: "lines", line: { color: c.down, width: 1.2, shape: "hv" }, fill: "tozeroy", fillcolor: c.downBg, hovertemplate: hover },
    ];
    // Centred on the mid, both sides over the same price distance: the shape is comparable at a
    // glance. A depth chart is read, not explored, so zooming is off.
    const layout = baseLayout(c, { uirevision: this.symbol });
    const mid = typeof m.mid === "number" ? m.mid : null;
    const reach = mid === null ? 0 : Math.max(bx.length ? mid - bx[0] : 0, ax.length ? ax[ax.length - 1] - mid : 0);
    const tickDecimals = mid !== null && mid >= 1000 ? 0 : d;   // axis labels stay short on big prices
    layout.xaxis = { gridcolor: c.grid, linecolor: c.grid, zeroline: false, tickfont: { size: 10 }, tickformat: `,.${tickDecimals}f`,
      nticks: 3, tickangle: 0, fixedrange: true, ...(reach > 0 ? { range: [mid - reach, mid + reach], autorange: false } : {}) };
    layout.yaxis.rangemode = "tozero";
    layout.yaxis.fixedrange = true;
    Plotly.react(this.el, traces, layout, CONFIG);
  }
}

/** Equity of the selected symbol's strategies and of the whole portfolio. */
export class EquityChart {
  constructor(el, store, onDue) {
    this.el = el;
    this.store = store;
    this.symbol = null;
    this.drawn = { symbol: -1, portfolio: -1 };
    this.ready = false;
    this.budget = new FrameBudget(1000, onDue);
  }

  show(symbol) {
    this.symbol = symbol;
    this.redraw();
  }

  redraw() {
    const c = themeColors();
    const own = this.store.symbol(this.symbol).equity.snapshot();
    const pf = this.store.portfolioEquity.snapshot();
    const traces = [
      { name: this.symbol, x: own.t, y: own.equity, type: "scatter", mode: "lines", line: { color: c.accent, width: 1.4 },
        hovertemplate: "%{y:,.2f}<extra>%{fullData.name}</extra>" },
      { name: "portfolio", x: pf.t, y: pf.equity, type: "scatter", mode: "lines", line: { color: c.own, width: 1.1, dash: "dot" },
        hovertemplate: "%{y:,.2f}<extra>portfolio</extra>" },
    ];
    const layout = baseLayout(c, { uirevision: this.symbol });
    layout.xaxis.nticks = 3;
    layout.xaxis.tickangle = 0;
    layout.yaxis.tickformat = ",.2f";
    Plotly.react(this.el, traces, layout, CONFIG);
    this.drawn = { symbol: this.store.symbol(this.symbol).equity.total, portfolio: this.store.portfolioEquity.total };
    this.ready = true;
  }

  update() {
    if (!this.symbol || !visible(this.el)) return;
    if (!this.ready) return this.redraw();
    if (this.store.symbol(this.symbol).equity.total === this.drawn.symbol
        && this.store.portfolioEquity.total === this.drawn.portfolio) return;
    if (!this.budget.ready()) return;
    this.budget.draw(() => this.extend());
  }

  extend() {
    const own = this.store.symbol(this.symbol).equity.since(this.drawn.symbol);
    const pf = this.store.portfolioEquity.since(this.drawn.portfolio);
    if (!own || !pf || own.count > EXTEND_LIMIT || pf.count > EXTEND_LIMIT) return this.redraw();
    if (own.count) Plotly.extendTraces(this.el, { x: [own.t], y: [own.equity] }, [0], EQUITY_POINTS);
    if (pf.count) Plotly.extendTraces(this.el, { x: [pf.t], y: [pf.equity] }, [1], EQUITY_POINTS);
    this.drawn = { symbol: this.store.symbol(this.symbol).equity.total, portfolio: this.store.portfolioEquity.total };
  }
}

const COMPARE_PALETTE = ["#f0b90b", "#3d8bfd", "#0ecb81", "#e377c2", "#17becf", "#ff7f0e", "#9467bd", "#bcbd22"];

/** Each watched symbol's mid relative to its first point in view (%), one line per symbol. */
export class CompareChart {
  constructor(el, store, onDue) {
    this.el = el;
    this.store = store;
    this.symbols = [];
    this.base = new Map();
    this.drawn = new Map();
    this.ready = false;
    this.budget = new FrameBudget(400, onDue);
  }

  show(symbols) {
    this.symbols = symbols.slice();
    this.redraw();
  }

  redraw() {
    const c = themeColors();
    const traces = this.symbols.map((name, i) => {
      const series = this.store.symbol(name).prices.snapshot();
      const base = series.mid.length ? series.mid[0] : null;
      this.base.set(name, base);
      this.drawn.set(name, this.store.symbol(name).prices.total);
      return {
        name, x: series.t, y: series.mid.map((v) => (base ? (v / base - 1) * 100 : 0)), type: "scatter", mode: "lines",
        line: { color: COMPARE_PALETTE[i % COMPARE_PALETTE.length], width: 1.3 },
        hovertemplate: "%{y:+.3f}%<extra>%{fullData.name}</extra>",
      };
    });
    const layout = baseLayout(c, { uirevision: "compare", showlegend: true,
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { color: c.text, size: 11 } } });
    layout.margin.t = 22;
    layout.yaxis.ticksuffix = "%";
    layout.yaxis.tickformat = "+.2f";
    Plotly.react(this.el, traces, layout, CONFIG);
    this.ready = true;
  }

  update() {
    if (!this.symbols.length || !visible(this.el)) return;
    if (!this.ready) return this.redraw();
    if (!this.budget.ready()) return;
    this.budget.draw(() => this.extend());
  }

  extend() {
    const xs = [], ys = [], idx = [];
    for (let i = 0; i < this.symbols.length; i++) {
      const name = this.symbols[i];
      const prices = this.store.symbol(name).prices;
      const fresh = prices.since(this.drawn.get(name) ?? 0);
      if (!fresh || fresh.count > EXTEND_LIMIT || !this.base.get(name)) return this.redraw();
      if (!fresh.count) continue;
      const base = this.base.get(name);
      xs.push(fresh.t);
      ys.push(fresh.mid.map((v) => (v / base - 1) * 100));
      idx.push(i);
      this.drawn.set(name, prices.total);
    }
    if (idx.length) Plotly.extendTraces(this.el, { x: xs, y: ys }, idx, maxPoints(PRICE_POINTS, idx.length));
  }
}

export function resizeCharts(elements) {
  for (const el of elements) {
    if (el && el.offsetParent !== null && el.classList.contains("js-plotly-plot")) Plotly.Plots.resize(el);
  }
}
