"""BookSynchronizer: one symbol's local order book kept exact from a REST snapshot plus diffs.

Binance's official spot algorithm (binance-protocol.md, "Keeping a local order book"):
  1. buffer the diff events, noting the first event's U;
  2. get a snapshot; if its lastUpdateId < the first buffered U it is stale: get another;
  3. drop buffered events with u <= lastUpdateId; the first kept one must contain lastUpdateId+1;
  4. book := snapshot, then for each event: u < book id -> ignore; U > book id + 1 -> events were
     missed: discard the book and start again; otherwise set the levels and book id := u.

What users see: ``book`` is the last good book. It is never crossed and never half built: a
resync builds the new book aside and swaps it in whole once synced; until then the old book stays
visible with ``stale`` True. A diff that would cross the book or carries a malformed level is
refused as a whole (the book is left as it was) and starts a resync: the book can no longer be
trusted to be exact. Levels off the instrument's tick/step grid (legacy orders from before a
tickSize/stepSize change, seen in real snapshots) cannot be held in ticks and lots: they are left
out of the book and counted in ``stats.offgrid_levels``, not treated as corruption.

Events are appended to the ``out`` list the caller passes in (the hot path builds no lists).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import partial
from typing import Callable, NamedTuple

from feeds.frames import DepthDiff, DepthSnapshot
from feeds.stats import FeedStats
from orderbook.book import CrossedBookError, OrderBook
from orderbook.instrument import Instrument


class BookChanged(NamedTuple):
    """The visible book of ``symbol`` changed and is synced: now at ``update_id``. Times in ns."""

    symbol: str
    ts_event: int
    ts_recv: int
    update_id: int


class BookStatus(NamedTuple):
    """The book of ``symbol`` became synced, or stopped being synced (``stale``: the last good book
    is still shown). reason: synced, gap, crossed, malformed, reconnect, disconnected."""

    symbol: str
    synced: bool
    stale: bool
    reason: str


# Built once per applied diff: skip NamedTuple's Python-level __new__.
_new_book_changed = partial(tuple.__new__, BookChanged)


@dataclass(frozen=True)
class SyncConfig:
    """Synchroniser limits.

    max_buffered_diffs: diffs kept while waiting for a snapshot (the oldest go first; a snapshot
    older than what is kept is then refused as stale and fetched again). 1000 is 100 s of
    ``@depth@100ms`` diffs, far more than a snapshot takes to arrive (a few MB for a busy symbol).
    snapshot_timeout_ns: a snapshot asked for but not received within this much receive time
    is asked for again (the REST call may have failed: 429, 500, timeout).
    """

    max_buffered_diffs: int = 1000
    snapshot_timeout_ns: int = 5_000_000_000

    def __post_init__(self) -> None:
        if self.max_buffered_diffs < 1:
            raise ValueError("max_buffered_diffs must be >= 1")
        if self.snapshot_timeout_ns <= 0:
            raise ValueError("snapshot_timeout_ns must be positive")


class _Refused(Exception):
    """A snapshot or buffered diff that cannot be used: the attempt to sync stops here."""


class BookSynchronizer:
    """Keeps ``book`` exact for one symbol. Single-threaded: the engine owns it.

    request_snapshot(symbol) is called when a REST snapshot is needed; its answer comes back
    through ``on_snapshot``. ``synced``: the book is exact as of its update id; ``stale``: not
    synced, but a previous good book is still shown.
    """

    __slots__ = (
        "symbol", "instrument", "book", "stats", "synced", "stale", "_request", "_config",
        "_buffer", "_pending", "_requested_at", "_diff_mode",
    )

    def __init__(
        self,
        instrument: Instrument,
        request_snapshot: Callable[[str], None],
        stats: FeedStats | None = None,
        config: SyncConfig = SyncConfig(),
    ) -> None:
        self.symbol = instrument.symbol
        self.instrument = instrument
        self.book = OrderBook(instrument)
        self.stats = stats if stats is not None else FeedStats(instrument.symbol)
        self.synced = False
        self.stale = False
        self._request = request_snapshot
        self._config = config
        self._buffer: deque[DepthDiff] = deque(maxlen=config.max_buffered_diffs)
        self._pending: DepthSnapshot | None = None  # a snapshot that arrived before any diff
        self._requested_at: int | None = None  # ts_recv of the outstanding snapshot request
        self._diff_mode = False  # diffs seen since the last reset: partial-depth frames are ignored

    # -- diffs ------------------------------------------------------------------------------
    def on_diff(self, diff: DepthDiff, out: list) -> None:
        """One depth diff (already parsed; levels still raw strings): counted, then applied."""
        stats = self.stats
        stats.on_frame(diff.ts_event, diff.ts_recv)
        self._diff_mode = True
        if not self.synced:
            self._buffer_diff(diff, out)
            return
        book = self.book
        book_id = book.update_id
        if diff.final_id < book_id:
            stats.ignored += 1
            return
        if diff.first_id > book_id + 1:
            stats.gaps += 1
            self._unsync("gap", out)
            self._buffer_diff(diff, out)  # the event after the hole starts the new buffer
            return
        try:
            offgrid = book.apply_diff_raw(diff.bids, diff.asks)
        except CrossedBookError:
            stats.crossed += 1
            self._unsync("crossed", out)
            return
        except ValueError:
            stats.malformed += 1
            self._unsync("malformed", out)
            return
        book.update_id = diff.final_id
        book.ts_event = diff.ts_event
        book.ts_recv = diff.ts_recv
        if offgrid:
            stats.offgrid_levels += offgrid
        stats.diffs_applied += 1
        stats.update_id = diff.final_id
        out.append(_new_book_changed((self.symbol, diff.ts_event, diff.ts_recv, diff.final_id)))

    def on_malformed_diff(self, ts_recv: int, out: list) -> None:
        """A depth frame for this symbol that could not be parsed: an update is lost."""
        self.stats.malformed += 1
        if self.synced:
            self._unsync("malformed", out)
        else:
            # The lost event sits after everything buffered: those events can no longer connect.
            self._buffer.clear()

    def _buffer_diff(self, diff: DepthDiff, out: list) -> None:
        buffer = self._buffer
        if buffer:
            last = buffer[-1].final_id
            if diff.final_id <= last:
                self.stats.ignored += 1
                return
            if diff.first_id > last + 1:
                # A hole inside the buffer: what came before it can never connect to a snapshot.
                self.stats.gaps += 1
                buffer.clear()
        buffer.append(diff)
        if self._pending is not None:
            snapshot, self._pending = self._pending, None
            self._try_sync(snapshot, out)
            return
        self._maybe_request(diff.ts_recv)

    def _maybe_request(self, now: int) -> None:
        requested = self._requested_at
        if requested is None or now - requested >= self._config.snapshot_timeout_ns:
            self._requested_at = now
            self.stats.snapshot_requests += 1
            self._request(self.symbol)

    # -- snapshots --------------------------------------------------------------------------
    def on_snapshot(self, snapshot: DepthSnapshot, out: list) -> None:
        """A full REST depth snapshot for this symbol."""
        stats = self.stats
        stats.snapshots += 1
        if self.synced:
            stats.ignored += 1  # the answer to a request overtaken by events: the book is fine
            return
        self._requested_at = None
        if not self._buffer:
            # Nothing to check it against yet: the first diff decides whether it is stale.
            self._pending = snapshot
            return
        self._try_sync(snapshot, out)

    def on_partial(self, snapshot: DepthSnapshot, out: list) -> None:
        """A ``depthN`` partial-book frame: the whole top of the book, used when no diffs flow."""
        stats = self.stats
        if self._diff_mode or snapshot.last_update_id < self.book.update_id:
            stats.ignored += 1
            return
        try:
            fresh = self._build(snapshot)
        except _Refused:
            return
        self.book.replace_with(fresh)
        stats.update_id = fresh.update_id
        if not self.synced:
            self._set_synced(out)
        out.append(BookChanged(self.symbol, fresh.ts_event, fresh.ts_recv, fresh.update_id))

    def _try_sync(self, snapshot: DepthSnapshot, out: list) -> None:
        """Steps 2-4 with the buffered diffs; on success the new book replaces the visible one."""
        stats = self.stats
        buffer = self._buffer
        last_id = snapshot.last_update_id
        if last_id < buffer[0].first_id:
            stats.stale_snapshots += 1
            self._maybe_request(snapshot.ts_recv)
            return
        while buffer and buffer[0].final_id <= last_id:
            buffer.popleft()
        if buffer and buffer[0].first_id > last_id + 1:
            stats.stale_snapshots += 1  # the first kept event does not contain lastUpdateId+1
            self._maybe_request(snapshot.ts_recv)
            return
        try:
            fresh = self._build(snapshot)
        except _Refused:
            self._maybe_request(snapshot.ts_recv)
            return
        applied = 0
        while buffer:
            diff = buffer.popleft()
            try:
                self._apply_buffered(fresh, diff)
            except _Refused:
                # The snapshot plus the events up to this one are unusable; later events may
                # still connect to a newer snapshot.
                self._maybe_request(diff.ts_recv)
                return
            applied += 1
        stats.diffs_applied += applied
        self.book.replace_with(fresh)
        stats.update_id = fresh.update_id
        self._set_synced(out)
        out.append(BookChanged(self.symbol, fresh.ts_event, fresh.ts_recv, fresh.update_id))

    def _build(self, snapshot: DepthSnapshot) -> OrderBook:
        """A new book from a snapshot, aside from the visible one."""
        fresh = OrderBook(self.instrument)
        try:
            offgrid = fresh.load_raw(snapshot.last_update_id, snapshot.bids, snapshot.asks)
        except ValueError:
            self.stats.malformed += 1
            raise _Refused from None
        if fresh.is_crossed():
            self.stats.crossed += 1
            raise _Refused
        self.stats.offgrid_levels += offgrid
        fresh.ts_recv = snapshot.ts_recv
        return fresh

    def _apply_buffered(self, fresh: OrderBook, diff: DepthDiff) -> None:
        book_id = fresh.update_id
        if diff.final_id < book_id:
            self.stats.ignored += 1
            return
        if diff.first_id > book_id + 1:
            self.stats.gaps += 1
            self._buffer.appendleft(diff)  # it may still start a good chain
            raise _Refused
        try:
            self.stats.offgrid_levels += fresh.apply_diff_raw(diff.bids, diff.asks)
        except CrossedBookError:
            self.stats.crossed += 1
            raise _Refused from None
        except ValueError:
            self.stats.malformed += 1
            raise _Refused from None
        fresh.update_id = diff.final_id
        fresh.ts_event = diff.ts_event
        fresh.ts_recv = diff.ts_recv

    # -- state ------------------------------------------------------------------------------
    def _set_synced(self, out: list) -> None:
        self.synced = True
        self.stale = False
        out.append(BookStatus(self.symbol, True, False, "synced"))

    def _unsync(self, reason: str, out: list) -> None:
        """Leave the synced state: the visible book stays, marked stale, until a new one is built."""
        self.synced = False
        self.stale = not self.book.is_empty()
        self.stats.resyncs += 1
        self._buffer.clear()
        self._pending = None
        self._requested_at = None
        out.append(BookStatus(self.symbol, False, self.stale, reason))

    def reset(self, reason: str, out: list) -> None:
        """The connection dropped or came back: diffs in between are lost, start over."""
        if self.synced:
            self._unsync(reason, out)
        else:
            self._buffer.clear()
            self._pending = None
            self._requested_at = None
        self._diff_mode = False

    def buffered(self) -> int:
        """Diffs waiting for a snapshot."""
        return len(self._buffer)
