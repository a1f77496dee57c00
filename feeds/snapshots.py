"""REST depth snapshots for the book synchronizers: coalesced, rate-limit aware, retried.

``GET /api/v3/depth?symbol=&limit=`` answers with the raw body handed on unparsed, as a
``FeedMessage(recv_ns, text, symbol)``. Binance's rules drive the retry policy:
- 429 (too many requests) and 418 (IP banned after ignoring 429s): stop *every* REST request until
  ``Retry-After`` (seconds) has passed; hammering on turns a 429 into a ban.
- 5xx and network errors: the server is unwell; retry with capped jittered backoff (or
  ``Retry-After`` when given), for as long as the feed runs.
- other 4xx (e.g. -1121 invalid symbol): retrying cannot help; give up and log one line.
- weight: each response carries ``X-MBX-USED-WEIGHT-1M``; before it would pass the per-minute
  budget, requests wait for the next minute (Binance's window is the calendar minute).
A request for a symbol whose fetch is already under way is coalesced into it: after a reconnect the
pipeline asks for every symbol at once, and a gap storm must not multiply requests.
All methods run on the feed's asyncio loop (``BinanceFeed.request_snapshot`` crosses threads).
"""
from __future__ import annotations

import asyncio
import email.utils
import logging
from dataclasses import dataclass, field
from typing import Callable

import aiohttp

from feeds.backoff import Backoff, BackoffPolicy, UniformSource
from feeds.messages import FeedMessage

log = logging.getLogger("feeds.snapshots")
log.addHandler(logging.NullHandler())

NS_PER_MINUTE = 60_000_000_000


def depth_weight(limit: int) -> int:
    """Request weight of ``/api/v3/depth`` for ``limit`` levels (Binance spot, 2024+)."""
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def retry_after_s(value: str | None, now_s: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header: delay-seconds or an HTTP date; None if absent/unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or now_s is None:
        return None
    return max(0.0, when.timestamp() - now_s)


@dataclass(frozen=True)
class SnapshotConfig:
    """limit: levels per side; max_concurrent: requests in flight at once; timeout_s: per request;
    retry: backoff for 5xx/network errors; default_retry_after_s: pause after a 429/418 without
    Retry-After; weight_limit_1m: the IP's request weight per minute; weight_headroom: fraction of
    it this feed may use (other clients may share the IP)."""

    limit: int = 1000
    max_concurrent: int = 4
    timeout_s: float = 10.0
    retry: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(initial_s=0.2, cap_s=10.0))
    default_retry_after_s: float = 1.0
    weight_limit_1m: int = 6000
    weight_headroom: float = 0.9

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 5000:
            raise ValueError("snapshot limit must be within 1..5000")
        if self.max_concurrent < 1:
            raise ValueError("snapshot max_concurrent must be >= 1")


@dataclass
class SnapshotCounters:
    """Counts since start (read from other threads: plain ints)."""

    requested: int = 0
    coalesced: int = 0
    fetched: int = 0
    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    network_errors: int = 0
    rejected: int = 0
    weight_pauses: int = 0


class SnapshotFetcher:
    """Fetches depth snapshots on request and delivers each raw body through ``deliver``.

    session: the aiohttp session (python-binance's client session); url: the depth endpoint;
    clock_ns: wall clock for receive stamps and the weight minute; rng: jitter source.
    """

    def __init__(self, session: aiohttp.ClientSession, url: str,
                 deliver: Callable[[FeedMessage], None], config: SnapshotConfig,
                 clock_ns: Callable[[], int], rng: UniformSource) -> None:
        self._session = session
        self._url = url
        self._deliver = deliver
        self.config = config
        self._clock_ns = clock_ns
        self._rng = rng
        self._weight = depth_weight(config.limit)
        self._pending: dict[str, asyncio.Task] = {}
        self._slots = asyncio.Semaphore(config.max_concurrent)
        self._paused_until = 0.0  # loop time before which no request may start (429/418/weight)
        self._closed = False
        self.counters = SnapshotCounters()

    @property
    def pending(self) -> frozenset[str]:
        return frozenset(self._pending)

    def request(self, symbol: str) -> bool:
        """Fetch ``symbol``'s snapshot unless a fetch is already under way; True if a new one started."""
        self.counters.requested += 1
        if self._closed:
            return False
        if symbol in self._pending:
            self.counters.coalesced += 1
            return False
        task = asyncio.get_running_loop().create_task(self._fetch(symbol), name=f"snapshot-{symbol}")
        self._pending[symbol] = task
        task.add_done_callback(lambda t, s=symbol: self._done(s, t))
        return True

    async def close(self) -> None:
        """Cancel fetches in flight and wait for them to end."""
        self._closed = True
        tasks = list(self._pending.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- one fetch ------------------------------------------------------------------------------------
    def _done(self, symbol: str, task: asyncio.Task) -> None:
        if self._pending.get(symbol) is task:
            del self._pending[symbol]
        if not task.cancelled() and task.exception() is not None:
            log.error("depth snapshot task for %s failed: %r", symbol, task.exception())

    async def _fetch(self, symbol: str) -> None:
        backoff = Backoff(self.config.retry, self._rng)
        params = {"symbol": symbol, "limit": str(self.config.limit)}
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            if attempt:
                self.counters.retries += 1
            attempt += 1
            await self._until_allowed()
            async with self._slots:
                await self._until_allowed()  # a 429 may have arrived while this waited for a slot
                try:
                    async with self._session.get(self._url, params=params, timeout=timeout) as resp:
                        text = await resp.text()
                        recv_ns = self._clock_ns()
                        status = resp.status
                        headers = resp.headers
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                    self.counters.network_errors += 1
                    delay = backoff.next_delay()
                    log.info("depth snapshot %s: %s; retry in %.2f s", symbol, _describe(exc), delay)
                    await asyncio.sleep(delay)
                    continue
                self._note_weight(headers.get("X-MBX-USED-WEIGHT-1M"), loop.time())
            if 200 <= status < 300:
                self.counters.fetched += 1
                self._deliver(FeedMessage(recv_ns, text, symbol))
                return
            wait = retry_after_s(headers.get("Retry-After"), recv_ns / 1e9)
            if status in (429, 418):
                self.counters.rate_limited += 1
                pause = wait if wait is not None else self.config.default_retry_after_s
                self._paused_until = max(self._paused_until, loop.time() + pause)
                log.warning("depth snapshot %s: HTTP %d, all REST requests paused %.1f s",
                            symbol, status, pause)
                continue
            if status >= 500:
                self.counters.server_errors += 1
                delay = max(wait or 0.0, backoff.next_delay())
                log.info("depth snapshot %s: HTTP %d; retry in %.2f s", symbol, status, delay)
                await asyncio.sleep(delay)
                continue
            self.counters.rejected += 1
            log.warning("depth snapshot %s rejected: HTTP %d %s", symbol, status, text[:200])
            return

    async def _until_allowed(self) -> None:
        loop = asyncio.get_running_loop()
        while (wait := self._paused_until - loop.time()) > 0:
            await asyncio.sleep(wait)

    def _note_weight(self, used_header: str | None, now_s: float) -> None:
        """Pause until the next minute if one more request would pass the weight budget."""
        try:
            used = int(used_header) if used_header else None
        except ValueError:
            used = None
        if used is None:
            return
        budget = self.config.weight_limit_1m * self.config.weight_headroom
        if used + self._weight <= budget:
            return
        now_ns = self._clock_ns()
        to_next_minute_s = (NS_PER_MINUTE - now_ns % NS_PER_MINUTE) / 1e9 + 0.05
        self.counters.weight_pauses += 1
        self._paused_until = max(self._paused_until, now_s + to_next_minute_s)
        log.warning("REST weight %d of %d used this minute: snapshots paused %.1f s",
                    used, self.config.weight_limit_1m, to_next_minute_s)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
