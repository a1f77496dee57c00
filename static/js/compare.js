// The compare view's cards: one per watched symbol with price, change, spread, the top of
// the book, position and P&L. Cards are built when the watched set changes, then only
// their text is updated.

import { compact, fixed, percent, setText, setTone, signed } from "./format.js";
import { themeColors } from "./charts.js";
import { flash } from "./flash.js";
import { Sparkline } from "./sparkline.js";

const FIELDS = [
  ["spread", "Spread bps"], ["imbalance", "Imbalance"], ["volume", "24h Vol"],
  ["position", "Position"], ["unrealized", "Unrealized"], ["realized", "Realized"],
];
const BOOK_LEVELS = 5;
const SPARK_POINTS = 600;   // the last two minutes at 5 Hz

export class CompareCards {
  constructor(grid, store, onSelect) {
    this.grid = grid;
    this.store = store;
    this.onSelect = onSelect;
    this.cards = new Map();
  }

  show(symbols) {
    this.grid.replaceChildren();
    this.cards.clear();
    for (const symbol of symbols) {
      const card = document.createElement("div");
      card.className = "panel cmp-card";
      card.dataset.symbol = symbol;
      card.title = `Open ${symbol}`;
      const head = document.createElement("div");
      head.className = "cmp-head";
      const name = document.createElement("span");
      name.className = "cmp-symbol";
      name.textContent = symbol;
      const last = document.createElement("span");
      last.className = "cmp-last num";
      const change = document.createElement("span");
      change.className = "num";
      const risk = document.createElement("span");
      risk.className = "badge risk-badge ms-auto";
      head.append(name, last, change, risk);
      const stats = document.createElement("dl");
      stats.className = "cmp-stats";
      const values = {};
      for (const [key, label] of FIELDS) {
        const box = document.createElement("div");
        const dt = document.createElement("dt");
        dt.textContent = label;
        const dd = document.createElement("dd");
        dd.className = "num";
        box.append(dt, dd);
        stats.append(box);
        values[key] = dd;
      }
      const book = document.createElement("div");
      book.className = "cmp-book num";
      const levels = [];
      for (let i = 0; i < BOOK_LEVELS; i++) {
        const bid = document.createElement("div");
        const bidPx = document.createElement("span");
        bidPx.className = "up";
        const bidQty = document.createElement("span");
        bid.append(bidQty, bidPx);
        const ask = document.createElement("div");
        const askPx = document.createElement("span");
        askPx.className = "down";
        const askQty = document.createElement("span");
        ask.append(askPx, askQty);
        book.append(bid, ask);
        levels.push({ bidPx, bidQty, askPx, askQty });
      }
      const canvas = document.createElement("canvas");
      canvas.className = "cmp-spark";
      const bookHead = document.createElement("div");
      bookHead.className = "cmp-book-head";
      bookHead.innerHTML = "<span>Bid size</span><span>Bid</span><span>Ask</span><span>Ask size</span>";
      card.append(head, canvas, stats, bookHead, book);
      card.addEventListener("click", () => this.onSelect(symbol));
      this.grid.append(card);
      this.cards.set(symbol, { last, change, risk, values, levels, seenLast: null,
        spark: new Sparkline(canvas), sparkDrawn: -1 });
    }
  }

  /** Redraw everything (after a theme switch). */
  refresh() {
    for (const c of this.cards.values()) c.sparkDrawn = -1;
    this.update();
  }

  update() {
    for (const [symbol, c] of this.cards) {
      const st = this.store.symbol(symbol);
      const m = st.market;
      if (!m) continue;
      const pd = st.priceDecimals;
      const qd = st.qtyDecimals;
      const lastValue = typeof m.last === "number" ? m.last : m.mid;
      setText(c.last, fixed(lastValue, pd));
      if (c.seenLast !== null && lastValue !== c.seenLast) flash(c.last, lastValue > c.seenLast);
      c.seenLast = lastValue;
      setText(c.change, percent(m.change_pct_24h));
      setTone(c.change, m.change_pct_24h);
      setText(c.values.spread, fixed(m.spread_bps, 2));
      setText(c.values.imbalance, signed(m.imbalance, 2));
      setTone(c.values.imbalance, m.imbalance);
      setText(c.values.volume, compact(m.volume_24h));
      const pos = st.strategy && st.strategy.position;
      setText(c.values.position, pos ? signed(pos.qty, qd) : "—");
      setText(c.values.unrealized, pos ? signed(pos.unrealized, 2) : "—");
      setTone(c.values.unrealized, pos ? pos.unrealized : 0);
      setText(c.values.realized, pos ? signed(pos.realized, 2) : "—");
      setTone(c.values.realized, pos ? pos.realized : 0);
      const risk = st.strategy && st.strategy.risk ? st.strategy.risk.state : "";
      if (c.risk.textContent !== risk) {
        c.risk.textContent = risk;
        c.risk.className = `badge risk-badge ms-auto ${risk}`;
      }
      if (st.prices.total !== c.sparkDrawn) {
        const mids = st.prices.data.mid;
        const colors = themeColors();
        c.spark.draw(mids.slice(-SPARK_POINTS), colors.up, colors.down, colors.grid);
        c.sparkDrawn = st.prices.total;
      }
      const bids = (m.depth && m.depth.bids) || [];
      const asks = (m.depth && m.depth.asks) || [];
      for (let i = 0; i < c.levels.length; i++) {
        const l = c.levels[i];
        setText(l.bidPx, bids[i] ? fixed(bids[i][0], pd) : "");
        setText(l.bidQty, bids[i] ? fixed(bids[i][1], qd) : "");
        setText(l.askPx, asks[i] ? fixed(asks[i][0], pd) : "");
        setText(l.askQty, asks[i] ? fixed(asks[i][1], qd) : "");
      }
    }
  }
}
