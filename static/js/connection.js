// The Socket.IO connection: state for the navbar, the server clock offset (for latency
// figures that do not depend on the browser's clock being right) and the push rate. Every
// (re)connect presents this tab's control token, if it has one (access.js).

import { storedToken } from "./access.js";

const CLOCK_SAMPLES = 8;
const CLOCK_RESYNC_MS = 30000;

export class Connection {
  constructor() {
    // WebSocket first (no long-polling round trips at 5 Hz); polling stays as a fallback.
    this.socket = io({
      transports: ["websocket", "polling"], reconnectionDelayMax: 5000, timeout: 10000,
      auth: (send) => send({ token: storedToken() }),
    });
    this.offsetMs = 0;          // server clock - browser clock
    this.clockSamples = [];
    this.state = "connecting";
    this.receipts = [];
    this.socket.on("connect", () => this.syncClock());
    this.clockTimer = setInterval(() => this.syncClock(), CLOCK_RESYNC_MS);
  }

  /** Connect again, presenting the token as it is now. */
  reconnect() {
    this.socket.disconnect();
    this.socket.connect();
  }

  /** NTP-style estimate; keep the sample with the smallest round trip. */
  syncClock() {
    if (!this.socket.connected) return;
    const t0 = Date.now();
    this.socket.timeout(5000).emit("clock", {}, (err, ack) => {
      if (err || !ack || typeof ack.server_ms !== "number") return;
      const t1 = Date.now();
      this.clockSamples.push({ rtt: t1 - t0, offset: ack.server_ms - (t0 + t1) / 2 });
      if (this.clockSamples.length > CLOCK_SAMPLES) this.clockSamples.shift();
      const best = this.clockSamples.reduce((a, b) => (b.rtt < a.rtt ? b : a));
      this.offsetMs = best.offset;
      if (this.clockSamples.length < 3) setTimeout(() => this.syncClock(), 300);
    });
  }

  /** Now on the server's clock (ms since epoch). */
  serverNow() {
    return Date.now() + this.offsetMs;
  }

  noteReceipt(now) {
    this.receipts.push(now);
    while (this.receipts.length && now - this.receipts[0] > 5000) this.receipts.shift();
  }

  /** Snapshots per second over the last 5 s. */
  rate(now) {
    while (this.receipts.length && now - this.receipts[0] > 5000) this.receipts.shift();
    const n = this.receipts.length;
    if (n < 2) return 0;
    const span = this.receipts[n - 1] - this.receipts[0];
    return span > 0 ? ((n - 1) * 1000) / span : 0;
  }
}
