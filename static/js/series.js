// Bounded time series: parallel arrays with a hard capacity. Trimming happens in chunks so
// appending stays O(1) amortised; `total` counts every point ever appended, so a chart can
// ask for "what is new since I last drew".

export class Series {
  constructor(capacity, fields) {
    this.capacity = capacity;
    this.fields = fields;
    this.total = 0;
    this.data = {};
    for (const f of fields) this.data[f] = [];
  }

  get length() {
    return this.data[this.fields[0]].length;
  }

  push(point) {
    for (const f of this.fields) this.data[f].push(point[f]);
    this.total += 1;
    const excess = this.length - this.capacity;
    if (excess > this.capacity / 8) {
      for (const f of this.fields) this.data[f].splice(0, excess);
    }
  }

  /** Arrays of the points appended after `total` was `since`; null if some were already trimmed. */
  since(since) {
    const fresh = this.total - since;
    if (fresh <= 0) return { count: 0 };
    if (fresh > this.length) return null;
    const out = { count: fresh };
    for (const f of this.fields) out[f] = this.data[f].slice(-fresh);
    return out;
  }

  /** Copies of the last `capacity` points (Plotly keeps references to what it is given). */
  snapshot() {
    const out = {};
    const start = Math.max(0, this.length - this.capacity);
    for (const f of this.fields) out[f] = this.data[f].slice(start);
    return out;
  }

  clear() {
    for (const f of this.fields) this.data[f].length = 0;
    this.total = 0;
  }
}

/** Newest-last list with a hard bound. */
export class Recent {
  constructor(capacity) {
    this.capacity = capacity;
    this.items = [];
    this.total = 0;
  }

  extend(items) {
    if (!items || !items.length) return;
    for (const item of items) this.items.push(item);
    this.total += items.length;
    const excess = this.items.length - this.capacity;
    if (excess > 0) this.items.splice(0, excess);
  }

  /** The newest `n` items, newest first. */
  newest(n) {
    const out = [];
    for (let i = this.items.length - 1; i >= 0 && out.length < n; i--) out.push(this.items[i]);
    return out;
  }
}
