"""Per-symbol feed statistics: what /health and the page's feed panel show about one book's feed.

Counters are plain attributes bumped by the pipeline and the synchroniser (the one engine thread
owns them). Exchange-to-receive latency is kept in a fixed ring of the most recent samples, so
p50/p99 cost nothing on the hot path and a sort of at most ``LATENCY_WINDOW`` values on read.
"""
from __future__ import annotations

from math import ceil

LATENCY_WINDOW = 1024  # samples; a power of two so the ring index wraps with a mask
_MASK = LATENCY_WINDOW - 1
NS_PER_MS = 1_000_000


class FeedStats:
    """One symbol's feed counters and timings (all times in ns).

    messages: frames routed to this symbol; diffs_applied: depth diffs applied to the visible
    book; gaps: holes found in the diff id chain; resyncs: times a synced book had to be rebuilt
    (gap, crossed, malformed diff, reconnect); reconnects: connection re-established;
    malformed: frames or levels dropped as malformed; ignored: well-formed frames with nothing to
    do (old diffs, unsolicited snapshots, unused streams); offgrid_levels: depth levels left out
    of the book because their price or size is off the tick/step grid; crossed: diffs refused because they
    would cross the book; stale_snapshots: snapshots refused as too old; snapshot_requests: REST
    snapshots asked for; snapshots: snapshots received; update_id: id of the visible book;
    ts_event: exchange time (E) of the last event; ts_recv: receive time of the last frame.
    """

    __slots__ = (
        "symbol", "messages", "diffs_applied", "gaps", "resyncs", "reconnects", "malformed",
        "ignored", "offgrid_levels", "crossed", "stale_snapshots", "snapshot_requests", "snapshots", "update_id",
        "ts_event", "ts_recv", "_latency", "_latency_count",
    )

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.messages = 0
        self.diffs_applied = 0
        self.gaps = 0
        self.resyncs = 0
        self.reconnects = 0
        self.malformed = 0
        self.ignored = 0
        self.offgrid_levels = 0
        self.crossed = 0
        self.stale_snapshots = 0
        self.snapshot_requests = 0
        self.snapshots = 0
        self.update_id = 0
        self.ts_event = 0
        self.ts_recv = 0
        self._latency = [0] * LATENCY_WINDOW
        self._latency_count = 0

    def on_frame(self, ts_event: int, ts_recv: int) -> None:
        """A frame for this symbol arrived at ts_recv (ns); ts_event: its exchange time E (ns, 0 if none)."""
        self.messages += 1
        self.ts_recv = ts_recv
        if ts_event:
            self.ts_event = ts_event
            self._latency[self._latency_count & _MASK] = ts_recv - ts_event
            self._latency_count += 1

    def on_event(self, ts_event: int, ts_recv: int) -> None:
        """A frame carrying the exchange's event time E (ns) arrived at ts_recv (ns)."""
        self.ts_event = ts_event
        self._latency[self._latency_count & _MASK] = ts_recv - ts_event
        self._latency_count += 1

    # -- reading ---------------------------------------------------------------------------
    def latency_samples(self) -> list[int]:
        """The most recent E -> receive latencies, ns, oldest first."""
        count = self._latency_count
        if count <= LATENCY_WINDOW:
            return self._latency[:count]
        start = count & _MASK
        return self._latency[start:] + self._latency[:start]

    def latency_percentile(self, fraction: float) -> int | None:
        """E -> receive latency at ``fraction`` (0.5 = p50, 0.99 = p99) over the window, ns.

        Nearest-rank on the recent samples; None before the first event. Negative values mean
        the local clock is behind the exchange's.
        """
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be in [0, 1], got {fraction}")
        samples = sorted(self.latency_samples())
        if not samples:
            return None
        index = max(0, ceil(fraction * len(samples)) - 1)
        return samples[index]

    def event_age_ns(self, now_ns: int) -> int | None:
        """How old the last exchange event is at ``now_ns`` (None before the first event)."""
        return None if self.ts_event == 0 else now_ns - self.ts_event

    def as_dict(self, now_ns: int) -> dict:
        """JSON-safe view for /health and the snapshot's ``feed`` block (times in ms)."""
        age = self.event_age_ns(now_ns)
        p50 = self.latency_percentile(0.5)
        p99 = self.latency_percentile(0.99)
        return {
            "update_id": self.update_id,
            "last_event_age_ms": None if age is None else age / NS_PER_MS,
            "latency_ms": None if p50 is None else p50 / NS_PER_MS,
            "latency_p99_ms": None if p99 is None else p99 / NS_PER_MS,
            "msgs": self.messages,
            "diffs_applied": self.diffs_applied,
            "gaps": self.gaps,
            "resyncs": self.resyncs,
            "reconnects": self.reconnects,
            "malformed": self.malformed,
            "ignored": self.ignored,
            "offgrid_levels": self.offgrid_levels,
            "crossed": self.crossed,
            "stale_snapshots": self.stale_snapshots,
            "snapshot_requests": self.snapshot_requests,
        }
