// The order book ladder: asks above, the spread row, bids below. Rows are built once; each
// push only rewrites the cells whose text changed and moves the depth bars (transform only,
// no layout). Levels where the strategies rest orders are marked with the resting quantity; a price
// where only they rest gets its own row when it falls within the levels shown.

import { fixed, setText } from "./format.js";

class Row {
  constructor(side) {
    this.el = document.createElement("div");
    this.el.className = `ladder-row ${side} empty`;
    this.cum = document.createElement("div");
    this.cum.className = "bar-cum";
    this.size = document.createElement("div");
    this.size.className = "bar-size";
    this.own = document.createElement("span");
    this.own.className = "own";
    this.price = document.createElement("span");
    this.price.className = "price";
    this.qty = document.createElement("span");
    this.qty.className = "qty";
    this.total = document.createElement("span");
    this.total.className = "cum";
    this.el.append(this.cum, this.size, this.own, this.price, this.qty, this.total);
    this.state = { empty: true, own: false, cumScale: -1, sizeScale: -1 };
  }

  set(priceText, qtyText, totalText, cumScale, sizeScale, ownText) {
    if (this.state.empty) {
      this.el.classList.remove("empty");
      this.state.empty = false;
    }
    setText(this.price, priceText);
    setText(this.qty, qtyText);
    setText(this.total, totalText);
    setText(this.own, ownText);
    const hasOwn = ownText !== "";
    if (hasOwn !== this.state.own) {
      this.el.classList.toggle("has-own", hasOwn);
      this.state.own = hasOwn;
    }
    // Quantise the scale so tiny changes do not restyle every row on every push.
    const c = Math.round(cumScale * 200) / 200;
    const s = Math.round(sizeScale * 200) / 200;
    if (c !== this.state.cumScale) {
      this.cum.style.transform = `scaleX(${c})`;
      this.state.cumScale = c;
    }
    if (s !== this.state.sizeScale) {
      this.size.style.transform = `scaleX(${s})`;
      this.state.sizeScale = s;
    }
  }

  clear() {
    if (!this.state.empty) {
      this.el.classList.add("empty");
      this.el.classList.remove("has-own");
      this.state = { empty: true, own: false, cumScale: -1, sizeScale: -1 };
    }
  }
}

export class Ladder {
  constructor(container, levels = 20) {
    this.levels = levels;
    this.asksEl = document.createElement("div");
    this.asksEl.className = "ladder-side asks";
    // Asks render bottom-up: the best ask sits next to the spread; far levels get clipped first.
    this.asksEl.style.flexDirection = "column-reverse";
    this.asksEl.style.flex = "1";
    this.asksEl.style.overflow = "hidden";
    this.spreadEl = document.createElement("div");
    this.spreadEl.className = "ladder-spread";
    this.midEl = document.createElement("span");
    this.midEl.className = "mid num";
    this.spreadInfoEl = document.createElement("span");
    this.spreadInfoEl.className = "spread-info num";
    this.spreadEl.append(this.midEl, this.spreadInfoEl);
    this.bidsEl = document.createElement("div");
    this.bidsEl.className = "ladder-side bids";
    this.bidsEl.style.flex = "1";
    this.bidsEl.style.overflow = "hidden";
    this.asks = [];
    this.bids = [];
    for (let i = 0; i < levels; i++) {
      const a = new Row("ask");
      const b = new Row("bid");
      this.asks.push(a);
      this.bids.push(b);
      this.asksEl.append(a.el);
      this.bidsEl.append(b.el);
    }
    // Own orders resting outside the levels shown: listed under the ladder, never silently lost.
    this.beyondEl = document.createElement("div");
    this.beyondEl.className = "ladder-beyond num";
    container.replaceChildren(this.asksEl, this.spreadEl, this.bidsEl, this.beyondEl);
    this.lastTick = 0;
  }

  /** Draw one symbol's top levels. `orders`: the strategies' open orders (may be empty). */
  update(market, orders, priceDecimals, qtyDecimals) {
    if (!market || !market.depth) return;
    const n = this.levels;
    const own = { buy: new Map(), sell: new Map() };
    for (const o of orders || []) {
      const remaining = (o.qty ?? 0) - (o.filled ?? 0);
      if (remaining <= 0 || typeof o.price !== "number") continue;
      const key = o.price.toFixed(priceDecimals);
      const book = o.side === "buy" ? own.buy : own.sell;
      book.set(key, (book.get(key) || 0) + remaining);
    }
    // A paper order is not in the exchange's book, so a price where only we rest (inside the spread
    // or between two levels) has no level: give it a row of its own, or it would be invisible.
    const withOwn = (levels, ownSide, better) => {
      const top = levels.slice(0, n);
      if (ownSide.size === 0) return top;
      const known = new Set(top.map(([price]) => price.toFixed(priceDecimals)));
      const worst = top.length >= n ? top[n - 1][0] : null;
      for (const key of ownSide.keys()) {
        const price = Number(key);
        if (known.has(key) || (worst !== null && !better(price, worst))) continue;
        top.push([price, 0]);
      }
      top.sort((a, b) => (better(a[0], b[0]) ? -1 : 1));
      return top.slice(0, n);
    };
    const asks = withOwn(market.depth.asks || [], own.sell, (a, b) => a < b);
    const bids = withOwn(market.depth.bids || [], own.buy, (a, b) => a > b);
    let bidCum = 0, askCum = 0, maxSize = 0;
    const bidCums = [], askCums = [];
    for (let i = 0; i < bids.length; i++) { bidCum += bids[i][1]; bidCums.push(bidCum); maxSize = Math.max(maxSize, bids[i][1]); }
    for (let i = 0; i < asks.length; i++) { askCum += asks[i][1]; askCums.push(askCum); maxSize = Math.max(maxSize, asks[i][1]); }
    const maxCum = Math.max(bidCum, askCum) || 1;
    maxSize = maxSize || 1;
    const shown = { buy: new Set(), sell: new Set() };
    const paint = (rows, levels, cums, ownSide) => {
      for (let i = 0; i < n; i++) {
        const row = rows[i];
        if (i >= levels.length) { row.clear(); continue; }
        const [price, qty] = levels[i];
        const key = price.toFixed(priceDecimals);
        const mine = ownSide.get(key);
        if (mine) (ownSide === own.buy ? shown.buy : shown.sell).add(key);
        row.set(fixed(price, priceDecimals), qty > 0 ? fixed(qty, qtyDecimals) : "—", fixed(cums[i], qtyDecimals),
          cums[i] / maxCum, qty / maxSize, mine ? fixed(mine, qtyDecimals) : "");
      }
    };
    paint(this.asks, asks, askCums, own.sell);
    paint(this.bids, bids, bidCums, own.buy);
    const beyond = [];
    for (const [side, book, label] of [["sell", own.sell, "S"], ["buy", own.buy, "B"]]) {
      for (const [key, qty] of book) {
        if (!shown[side].has(key)) beyond.push(`${label} ${fixed(qty, qtyDecimals)} @ ${fixed(Number(key), priceDecimals)}`);
      }
    }
    setText(this.beyondEl, beyond.length ? `own beyond view: ${beyond.slice(0, 4).join(" · ")}` : "");
    const mid = market.mid;
    setText(this.midEl, fixed(typeof market.last === "number" ? market.last : mid, priceDecimals));
    setText(this.spreadInfoEl, `spread ${fixed(market.spread, priceDecimals)} · ${fixed(market.spread_bps, 2)} bps`);
    this.spreadInfoEl.title = `${market.spread_ticks ?? "—"} ticks`;
  }

  /** Colour the spread row's price by the direction of the last trade tick. */
  tick(direction) {
    if (direction === this.lastTick) return;
    this.midEl.classList.toggle("up", direction > 0);
    this.midEl.classList.toggle("down", direction < 0);
    this.lastTick = direction;
  }
}
