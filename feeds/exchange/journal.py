"""An undo journal of level changes: the exchange's book as it was at any recent update id.

Each entry is ``(update_id, side, price, previous_lots)``. Rolling the current L2 book back over
entries newer than an id gives the book exactly at that id, the state a client holds after
applying every diff up to it. The journal keeps a bounded number of entries; ``floor`` is the
oldest id still reconstructible.
"""
from __future__ import annotations

from collections import deque

from feeds.exchange.l3book import BID


class BookJournal:
    def __init__(self, max_entries: int) -> None:
        self._entries: deque[tuple[int, int, int, int]] = deque()
        self._max = max_entries
        self.floor = 0  # books at ids >= floor can be rebuilt

    def record(self, update_id: int, side: int, price: int, previous: int) -> None:
        entries = self._entries
        entries.append((update_id, side, price, previous))
        if len(entries) > self._max:
            dropped = entries.popleft()[0]
            # Part of that id's changes may remain; the book just before it is gone, at it is fine.
            if dropped > self.floor:
                self.floor = dropped

    def start(self, update_id: int) -> None:
        """Nothing before ``update_id`` exists: the book at it is the current one."""
        self._entries.clear()
        self.floor = update_id

    def rewind(self, bids: dict[int, int], asks: dict[int, int], update_id: int) -> None:
        """Undo, in place, every change newer than ``update_id`` on L2 dicts (ticks -> lots)."""
        if update_id < self.floor:
            raise LookupError(f"update id {update_id} is older than the journal (oldest {self.floor})")
        for entry_id, side, price, previous in reversed(self._entries):
            if entry_id <= update_id:
                break
            levels = bids if side == BID else asks
            if previous:
                levels[price] = previous
            else:
                levels.pop(price, None)
