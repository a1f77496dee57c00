// The trades tape: newest first, a fixed number of rows. New trades are prepended in one
// fragment and the oldest rows dropped, so the DOM never grows.

import { clockMs, fixed } from "./format.js";

export class Tape {
  constructor(tbody, rows = 60) {
    this.tbody = tbody;
    this.rows = rows;
    this.symbol = null;
    this.drawn = 0;
  }

  row(trade, priceDecimals, qtyDecimals, big) {
    const tr = document.createElement("tr");
    if (big) tr.className = "big";
    const t = document.createElement("td");
    t.textContent = clockMs(trade.ts);
    const p = document.createElement("td");
    p.className = "text-end " + (trade.side === "sell" ? "down" : "up");
    p.textContent = fixed(trade.price, priceDecimals);
    const q = document.createElement("td");
    q.className = "text-end";
    q.textContent = fixed(trade.qty, qtyDecimals);
    tr.append(t, p, q);
    return tr;
  }

  show(symbolState) {
    this.symbol = symbolState.symbol;
    this.drawn = -1;
    this.update(symbolState);
  }

  update(st) {
    const trades = st.trades;
    const fresh = this.drawn < 0 ? trades.items.length : Math.min(trades.total - this.drawn, trades.items.length);
    if (fresh <= 0) return;
    const newest = trades.newest(Math.min(fresh, this.rows));
    // "Big" = at least 5x the median recent size: worth a second look.
    const sizes = trades.items.slice(-60).map((t) => t.qty).sort((a, b) => a - b);
    const median = sizes.length ? sizes[Math.floor(sizes.length / 2)] : 0;
    const fragment = document.createDocumentFragment();
    for (const trade of newest) {
      fragment.append(this.row(trade, st.priceDecimals, st.qtyDecimals, median > 0 && trade.qty >= 5 * median));
    }
    if (this.drawn < 0) this.tbody.replaceChildren(fragment);
    else this.tbody.prepend(fragment);
    while (this.tbody.childElementCount > this.rows) this.tbody.lastElementChild.remove();
    this.drawn = trades.total;
  }
}
