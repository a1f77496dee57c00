"""Errors the engine survived: counted, logged with their traceback here, summarised on the page.

The engine is crash-only: an exception while handling one market event, a timer, a strategy's
callback or a snapshot is caught where it happens, the event is given up, and processing goes on.
Each such error is a fault, recorded under the place it happened (a fixed set: ``PLACES``) so the
counters stay bounded whatever the input.

What each audience gets:
  - the server log: the first fault of each (place, exception type) with its traceback, then at
    most one line per LOG_INTERVAL_NS for the same pair with how many were folded into it;
  - the activity feed (public): one line per (place, symbol) per ANNOUNCE_INTERVAL_NS with the
    exception's one-line text, cut to FAULT_TEXT_CHARS, never a traceback or a path;
  - ``/health``: totals per place and the last fault (place, symbol, text, age).
Times are the caller's monotonic clock (ns), so folding works the same live and in replay.
"""
from __future__ import annotations

import logging
from typing import Callable

from strategies.activity import Activity

log = logging.getLogger("app.engine")

PLACES = ("feed", "book", "trade", "ticker", "status", "timer", "strategy", "snapshot", "command", "loop", "journal")
LOG_INTERVAL_NS = 60 * 1_000_000_000
ANNOUNCE_INTERVAL_NS = 10 * 1_000_000_000
FAULT_TEXT_CHARS = 200


def fault_text(exc: BaseException) -> str:
    """One line: the exception's type and message, cut to FAULT_TEXT_CHARS."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= FAULT_TEXT_CHARS else text[: FAULT_TEXT_CHARS - 3] + "..."


class FaultLog:
    """The engine's record of survived errors. ``announce`` receives the activity entries."""

    def __init__(self, announce: Callable[[Activity], None], monotonic_ns: Callable[[], int]) -> None:
        self._announce = announce
        self._monotonic_ns = monotonic_ns
        self.counts = dict.fromkeys(PLACES, 0)
        self.total = 0
        self.last: tuple[int, str, str, str] | None = None  # (monotonic ns, place, symbol, text)
        self._logged: dict[tuple[str, str], list[int]] = {}  # (place, type) -> [last logged ns, folded since]
        self._announced: dict[tuple[str, str], int] = {}  # (place, symbol) -> last announced ns

    def record(self, place: str, exc: BaseException, *, ts_ns: int = 0, symbol: str = "",
               announce: bool = True) -> None:
        """One survived error. ``ts_ns``: the event time for the activity entry; ``announce``
        False when the caller already put it on the activity feed (a strategy switched off)."""
        if place not in self.counts:
            raise ValueError(f"unknown fault place {place!r}")  # a programming error, not input
        now = self._monotonic_ns()
        text = fault_text(exc)
        self.counts[place] += 1
        self.total += 1
        self.last = (now, place, symbol, text)
        self._log(now, place, symbol, exc)
        if not announce:
            return
        key = (place, symbol)  # symbols are the configured ones: a bounded set
        last = self._announced.get(key)
        if last is None or now - last >= ANNOUNCE_INTERVAL_NS:
            self._announced[key] = now
            self._announce(Activity(ts_ns, symbol, "system", f"error in {place} (skipped, going on): {text}",
                                    {"fault": place, "error": text}))

    def _log(self, now: int, place: str, symbol: str, exc: BaseException) -> None:
        key = (place, type(exc).__name__)
        entry = self._logged.get(key)
        where = f"{place}{' ' + symbol if symbol else ''}"
        if entry is None:  # exception types come from the code, not the input: a bounded set
            self._logged[key] = [now, 0]
            log.error("error in %s, skipped; the engine goes on", where, exc_info=(type(exc), exc, exc.__traceback__))
        elif entry is not None and now - entry[0] >= LOG_INTERVAL_NS:
            log.error("error in %s, skipped (%d more like it folded): %s", where, entry[1], fault_text(exc))
            entry[0], entry[1] = now, 0
        elif entry is not None:
            entry[1] += 1

    def as_dict(self) -> dict:
        """For /health: totals per place (only the places that had any) and the last fault."""
        last = None
        if self.last is not None:
            at, place, symbol, text = self.last
            last = {"place": place, "symbol": symbol, "error": text,
                    "age_s": round((self._monotonic_ns() - at) / 1e9, 1)}
        return {"total": self.total, "by_place": {p: n for p, n in self.counts.items() if n}, "last": last}
