// A tiny canvas line chart for the compare cards: a few hundred points drawn in well under a
// millisecond, where a Plotly chart per card would cost tens of milliseconds per frame.

export class Sparkline {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
  }

  /** Draw `values` (oldest first) with a baseline at the first value; colours from CSS vars. */
  draw(values, upColor, downColor, gridColor) {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) return;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = this.ctx;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    if (values.length < 2) return;
    let lo = Infinity, hi = -Infinity;
    for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (hi === lo) { hi += 1; lo -= 1; }
    const pad = 3;
    const x = (i) => (i / (values.length - 1)) * (width - 2 * pad) + pad;
    const y = (v) => height - pad - ((v - lo) / (hi - lo)) * (height - 2 * pad);
    const base = y(values[0]);
    ctx.strokeStyle = gridColor;
    ctx.lineWidth = 1;
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(pad, base);
    ctx.lineTo(width - pad, base);
    ctx.stroke();
    ctx.setLineDash([]);
    const rising = values[values.length - 1] >= values[0];
    ctx.strokeStyle = rising ? upColor : downColor;
    ctx.lineWidth = 1.4;
    ctx.beginPath();
    ctx.moveTo(x(0), y(values[0]));
    for (let i = 1; i < values.length; i++) ctx.lineTo(x(i), y(values[i]));
    ctx.stroke();
  }
}
