// Number and time formatting. Formatters are cached per precision: building an
// Intl.NumberFormat is slow, using one is cheap.

const formatters = new Map();

function formatter(decimals) {
  const d = Math.max(0, Math.min(12, decimals | 0));
  let f = formatters.get(d);
  if (!f) {
    f = new Intl.NumberFormat("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
    formatters.set(d, f);
  }
  return f;
}

export const DASH = "—";

export function isNum(value) {
  return typeof value === "number" && Number.isFinite(value);
}

/** 12345.6 with 2 decimals -> "12,345.60"; null/NaN -> "—". */
export function fixed(value, decimals) {
  return isNum(value) ? formatter(decimals).format(value) : DASH;
}

/** Signed with an explicit "+": "+1.25", "-0.40", "0.00"; a value that rounds to zero reads "0.00", never "-0.00". */
export function signed(value, decimals) {
  if (!isNum(value)) return DASH;
  const f = formatter(decimals);
  const text = f.format(value);
  if (!/[1-9]/.test(text)) return f.format(0);
  return value > 0 ? "+" + text : text;
}

export function percent(value, decimals = 2) {
  return isNum(value) ? signed(value, decimals) + "%" : DASH;
}

/** 1234567 -> "1.23M". */
export function compact(value) {
  if (!isNum(value)) return DASH;
  const abs = Math.abs(value);
  if (abs >= 1e9) return formatter(2).format(value / 1e9) + "B";
  if (abs >= 1e6) return formatter(2).format(value / 1e6) + "M";
  if (abs >= 1e4) return formatter(1).format(value / 1e3) + "K";
  return formatter(abs >= 100 ? 0 : 2).format(value);
}

/** Milliseconds with a unit, one decimal under 10 ms. */
export function millis(value) {
  if (!isNum(value)) return DASH;
  return (value < 10 ? value.toFixed(1) : Math.round(value).toString()) + " ms";
}

function pad(n, width = 2) {
  return String(n).padStart(width, "0");
}

/** Epoch ms -> "HH:MM:SS" (UTC: the exchange's clock). */
export function clock(ms) {
  if (!isNum(ms)) return "--:--:--";
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** Epoch ms -> "HH:MM:SS.mmm" (UTC). */
export function clockMs(ms) {
  if (!isNum(ms)) return "--:--:--.---";
  return `${clock(ms)}.${pad(new Date(ms).getUTCMilliseconds(), 3)}`;
}

/** CSS class for the sign of a value. */
export function tone(value) {
  if (!isNum(value) || value === 0) return "flat";
  return value > 0 ? "up" : "down";
}

/** Set text only when it changed: writing the same text still costs layout work. */
export function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}

/** Replace the up/down/flat class of an element (cheap no-op when unchanged). */
export function setTone(el, value) {
  if (!el) return;
  const wanted = tone(value);
  if (el.dataset.tone === wanted) return;
  el.classList.remove("up", "down", "flat");
  el.classList.add(wanted);
  el.dataset.tone = wanted;
}
