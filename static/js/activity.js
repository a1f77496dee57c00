// The activity feed: orders, fills, cancels, rejects, risk, strategy, feed and system events,
// newest first, filterable by kind and symbol. The store keeps the last entries; the DOM holds
// at most `rows` of them and is rebuilt only when a filter changes.

import { clock } from "./format.js";

export const KINDS = ["order", "fill", "cancel", "reject", "risk", "strategy", "feed", "system"];

export class ActivityFeed {
  constructor(listEl, kindsEl, symbolSelect, store, rows = 200) {
    this.listEl = listEl;
    this.store = store;
    this.rows = rows;
    this.kinds = new Set(KINDS);
    this.symbol = "";
    this.drawn = 0;
    this.symbolSelect = symbolSelect;
    for (const kind of KINDS) {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "kind-chip on";
      chip.dataset.kind = kind;
      chip.textContent = kind;
      chip.addEventListener("click", () => {
        if (this.kinds.has(kind)) this.kinds.delete(kind);
        else this.kinds.add(kind);
        chip.classList.toggle("on", this.kinds.has(kind));
        this.rebuild();
      });
      kindsEl.append(chip);
    }
    symbolSelect.addEventListener("change", () => {
      this.symbol = symbolSelect.value;
      this.rebuild();
    });
  }

  matches(entry) {
    return this.kinds.has(entry.kind) && (!this.symbol || entry.symbol === this.symbol);
  }

  row(entry) {
    const div = document.createElement("div");
    div.className = "act";
    div.dataset.kind = entry.kind;
    const t = document.createElement("span");
    t.className = "t num";
    t.textContent = clock(entry.ts);
    const k = document.createElement("span");
    k.className = `k k-${KINDS.includes(entry.kind) ? entry.kind : "system"}`;
    k.textContent = entry.kind;
    const s = document.createElement("span");
    s.className = "s";
    s.textContent = entry.symbol || "";
    const m = document.createElement("span");
    m.className = "m";
    m.textContent = entry.message;
    m.title = entry.message;
    div.append(t, k, s, m);
    return div;
  }

  rebuild() {
    const fragment = document.createDocumentFragment();
    let count = 0;
    const items = this.store.activity.items;
    for (let i = items.length - 1; i >= 0 && count < this.rows; i--) {
      if (this.matches(items[i])) {
        fragment.append(this.row(items[i]));
        count++;
      }
    }
    this.listEl.replaceChildren(fragment);
    this.drawn = this.store.activity.total;
  }

  update() {
    const activity = this.store.activity;
    const fresh = activity.total - this.drawn;
    if (fresh <= 0) return;
    if (fresh >= activity.items.length) return this.rebuild();
    const fragment = document.createDocumentFragment();
    const items = activity.items;
    let added = 0;
    for (let i = items.length - 1; i >= items.length - fresh && added < this.rows; i--) {
      if (this.matches(items[i])) {
        fragment.append(this.row(items[i]));
        added++;
      }
    }
    this.drawn = activity.total;
    if (!added) return;
    this.listEl.prepend(fragment);
    while (this.listEl.childElementCount > this.rows) this.listEl.lastElementChild.remove();
  }
}
