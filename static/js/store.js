// Everything the page knows, kept between pushes and bounded: the latest market and strategy
// state per symbol, price/fill/equity series for the charts, recent trades and activity.
// Ingesting a snapshot touches no DOM; rendering reads from here on the next animation frame.

import { Recent, Series } from "./series.js";

export const PRICE_POINTS = 3000;   // 10 minutes at 5 Hz
export const FILL_POINTS = 500;
export const EQUITY_POINTS = 3000;
export const TRADES_KEPT = 80;
export const ACTIVITY_KEPT = 600;

class SymbolState {
  constructor(symbol) {
    this.symbol = symbol;
    this.market = null;
    this.strategy = null;
    this.prevLast = null;
    this.lastTick = 0;         // +1 up tick, -1 down tick of the last price
    this.prices = new Series(PRICE_POINTS, ["t", "bid", "ask", "last", "mid"]);
    this.buys = new Series(FILL_POINTS, ["t", "price", "qty"]);
    this.sells = new Series(FILL_POINTS, ["t", "price", "qty"]);
    this.equity = new Series(EQUITY_POINTS, ["t", "equity"]);
    this.trades = new Recent(TRADES_KEPT);
  }

  get priceDecimals() {
    return this.market && Number.isInteger(this.market.price_decimals) ? this.market.price_decimals : 2;
  }

  get qtyDecimals() {
    return this.market && Number.isInteger(this.market.qty_decimals) ? this.market.qty_decimals : 4;
  }
}

export class Store {
  constructor(symbols) {
    this.symbols = symbols.slice();
    this.bySymbol = new Map(symbols.map((s) => [s, new SymbolState(s)]));
    this.portfolio = null;
    this.portfolioEquity = new Series(EQUITY_POINTS, ["t", "equity"]);
    this.activity = new Recent(ACTIVITY_KEPT);
    this.health = null;
    this.fees = null;
    this.source = null;
    this.streaming = null;
    this.seq = null;
    this.lastTs = null;
    this.received = 0;
  }

  symbol(name) {
    let state = this.bySymbol.get(name);
    if (!state) {
      state = new SymbolState(name);
      this.bySymbol.set(name, state);
      this.symbols.push(name);
    }
    return state;
  }

  /** Fold one snapshot in. `serverNow` is the receipt time on the server's clock (ms). */
  ingest(snap) {
    this.received += 1;
    this.seq = snap.seq;
    this.lastTs = snap.ts;
    if (snap.source) this.source = snap.source;
    if (typeof snap.streaming === "boolean") this.streaming = snap.streaming;
    this.health = snap.health || this.health;
    this.fees = snap.fees || this.fees;
    const t = snap.ts;
    const markets = snap.markets || {};
    for (const name of Object.keys(markets)) {
      const m = markets[name];
      const st = this.symbol(name);
      st.market = m;
      const last = typeof m.last === "number" ? m.last : null;
      if (last !== null && st.prevLast !== null && last !== st.prevLast) st.lastTick = last > st.prevLast ? 1 : -1;
      if (last !== null) st.prevLast = last;
      if (typeof m.bid === "number" && typeof m.ask === "number") {
        st.prices.push({ t, bid: m.bid, ask: m.ask, last: last ?? m.mid, mid: m.mid ?? (m.bid + m.ask) / 2 });
      }
      if (m.trades && m.trades.length) st.trades.extend(m.trades);
    }
    const strategies = snap.strategies || {};
    for (const name of Object.keys(strategies)) {
      const s = strategies[name];
      const st = this.symbol(name);
      st.strategy = s;
      for (const f of s.fills || []) {
        (f.side === "buy" ? st.buys : st.sells).push({ t: f.ts, price: f.price, qty: f.qty });
      }
      if (s.position && typeof s.position.equity === "number") st.equity.push({ t, equity: s.position.equity });
    }
    if (snap.portfolio) {
      this.portfolio = snap.portfolio;
      if (typeof snap.portfolio.equity === "number") this.portfolioEquity.push({ t, equity: snap.portfolio.equity });
    }
    if (snap.activity && snap.activity.length) this.activity.extend(snap.activity);
  }
}

/** Rolling latency statistics over the last `capacity` samples (ms). */
export class LatencyStats {
  constructor(capacity = 300) {
    this.capacity = capacity;
    this.samples = [];
  }

  add(ms) {
    if (!Number.isFinite(ms)) return;
    this.samples.push(ms);
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
  }

  quantile(q) {
    if (!this.samples.length) return NaN;
    const sorted = this.samples.slice().sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }

  last() {
    return this.samples.length ? this.samples[this.samples.length - 1] : NaN;
  }
}
