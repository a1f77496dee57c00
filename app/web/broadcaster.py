"""The 200 ms push: one ``snapshot`` event per Socket.IO room, encoded once per room.

A green background task wakes every interval and asks the engine to ``publish()`` the next
snapshot (this consumes the since-last-push deltas: trades, fills, activity, so only this loop
calls it). The full snapshot goes to the ``all`` room, a filtered view of the same snapshot to
each symbol-subset room; each is encoded once with orjson and the same frame is queued to every
member. Per-client work is only python-socketio's queue put and the socket write.

While streaming is stopped nothing is pushed: the loop publishes and pushes one last snapshot
(it carries ``streaming: false`` and the "streaming stopped" activity), then waits for a start.
Missed ticks are skipped, never bursted: a late tick starts a new schedule.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

import orjson

from app.web.audience import Audience
from app.web.gc_pacer import GcPacer
from app.web.metrics import WebMetrics
from app.web.wire import encode_json

log = logging.getLogger(__name__)


def status_of(engine: Any) -> dict:
    """The small ``status`` event: sent on connect and whenever streaming starts or stops."""
    return {
        "ts": int(time.time() * 1000),
        "source": engine.source,
        "streaming": bool(engine.streaming),
        "symbols": list(engine.symbols),
    }


class SnapshotBroadcaster:
    """Pushes snapshots to every non-empty room each ``interval_s`` while the engine streams."""

    def __init__(self, socketio: Any, engine: Any, audience: Audience, metrics: WebMetrics,
                 interval_s: float = 0.2, monotonic: Callable[[], float] = time.monotonic,
                 gc_pacer: GcPacer | None = None) -> None:
        if interval_s <= 0:
            raise ValueError(f"push interval must be positive, got {interval_s} s")
        self.socketio = socketio
        self.engine = engine
        self.audience = audience
        self.metrics = metrics
        self.interval_s = interval_s
        self._monotonic = monotonic
        self.gc_pacer = gc_pacer
        self._running = False
        self._generation = 0   # a loop from an earlier start() ends instead of running twice
        self._task = None
        self._streaming: bool | None = None
        self._latest_all: tuple[Any, bytes] | None = None   # (seq, frame) last pushed to the all room
        self.ticks = 0

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Start the push loop as a background (green) task; calling it again does nothing."""
        if self._running:
            return
        self._running = True
        self._generation += 1
        self._task = self.socketio.start_background_task(self._run, self._generation)

    def stop(self) -> None:
        """Ask the loop to end after its current tick."""
        self._running = False
        if self.gc_pacer is not None:
            self.gc_pacer.uninstall()

    def _run(self, generation: int) -> None:
        if self.gc_pacer is not None:
            self.gc_pacer.install()
        next_at = self._monotonic()
        while self._running and generation == self._generation:
            now = self._monotonic()
            if now - next_at > self.interval_s:
                # The hub was busy for more than a whole interval: start a fresh schedule.
                self.metrics.push_late.inc()
                next_at = now
            try:
                self.push_once()
            except Exception:  # a bad snapshot must not end the push loop for everyone
                self.metrics.push_errors.inc()
                log.exception("snapshot push failed")
            next_at += self.interval_s
            if self.gc_pacer is not None and self.gc_pacer.due():
                # Let the writers put this push on the wire first, then collect in the gap.
                self.socketio.sleep(self.interval_s * 0.4)
                self.metrics.gc_seconds.observe(self.gc_pacer.collect())
            self.socketio.sleep(max(0.0, next_at - self._monotonic()))

    def push_once(self) -> int:
        """One tick: publish and push to every room with members. Returns the messages queued."""
        streaming = bool(self.engine.streaming)
        changed = streaming != self._streaming
        if changed:
            self._streaming = streaming
            self.socketio.emit("status", status_of(self.engine))
        if not streaming and not changed:
            return 0
        started = time.perf_counter()
        snapshot = self.engine.publish()
        self.metrics.publish_seconds.observe(time.perf_counter() - started)
        rooms = self.audience.rooms()
        self.metrics.rooms.set(len(rooms))
        messages = 0
        for name, symbols, members in rooms:
            view = snapshot if symbols is None else self.engine.snapshot_for(symbols, snapshot)
            encode_started = time.perf_counter()
            frame = encode_json(view)
            self.metrics.encode_seconds.observe(time.perf_counter() - encode_started)
            if symbols is None:
                self._latest_all = (snapshot.get("seq"), frame)
            self.socketio.emit("snapshot", orjson.Fragment(frame), to=name)
            messages += members
            self.metrics.push_bytes.inc(len(frame) * members)
        self.ticks += 1
        if messages:
            self.metrics.pushes.inc()
            self.metrics.push_messages.inc(messages)
            self.metrics.push_seconds.observe(time.perf_counter() - started)
        return messages

    def initial_frame(self, symbols: frozenset[str] | None) -> orjson.Fragment | None:
        """The latest snapshot for a client that just connected or changed its subscription.

        A burst of connections reuses the frame last pushed to the ``all`` room when it is
        still the latest, instead of encoding the same snapshot once per newcomer."""
        snapshot = self.engine.snapshot()
        if not snapshot:
            return None
        if symbols is None:
            cached = self._latest_all
            if cached is not None and cached[0] == snapshot.get("seq"):
                return orjson.Fragment(cached[1])
            return orjson.Fragment(encode_json(snapshot))
        return orjson.Fragment(encode_json(self.engine.snapshot_for(symbols, snapshot)))
