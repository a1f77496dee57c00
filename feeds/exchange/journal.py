"""An undo journal of level changes: the exchange's book as it was at any recent update id.

Each entry is ``(update_id, side, price, previous_lots)``. Rolling the current L2 book back over
entries newer than an id gives the book exactly at that id, the state a client holds after
applying every diff up to it. ``floor`` is the oldest id still reconstructible.

The journal is a ring of ``max_entries`` entries held in four int64 arrays allocated up front:
32 bytes an entry, and a full journal takes exactly the memory of an empty one. (A deque of
tuples took ~150 bytes an entry and grew for as long as it took to fill: 25-30 MB over the first
twenty minutes of an idle monitor, which read as a leak.) When the ring is full the oldest entry
is overwritten and ``floor`` moves past its id.
"""
from __future__ import annotations

from array import array

from feeds.exchange.l3book import BID

_INT64 = "q"


class BookJournal:
    __slots__ = ("_ids", "_sides", "_prices", "_previous", "_max", "_next", "_count", "floor")

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError(f"a journal needs room for at least one entry, got {max_entries}")
        zeros = bytes(8 * max_entries)
        self._ids = array(_INT64, zeros)
        self._sides = array(_INT64, zeros)
        self._prices = array(_INT64, zeros)
        self._previous = array(_INT64, zeros)
        self._max = max_entries
        self._next = 0  # ring index the next entry goes to
        self._count = 0  # entries held (at most max_entries)
        self.floor = 0  # books at ids >= floor can be rebuilt

    def __len__(self) -> int:
        return self._count

    @property
    def capacity(self) -> int:
        return self._max

    def record(self, update_id: int, changes: list[tuple[int, int, int]]) -> None:
        """The ``(side, price, previous lots)`` changes of one update, in the order they were made."""
        ids, sides, prices, previous = self._ids, self._sides, self._prices, self._previous
        size, index, count, floor = self._max, self._next, self._count, self.floor
        for side, price, before in changes:
            if count == size:
                # The oldest entry goes; part of its id's changes may remain, so the book just
                # before that id is gone and the book at it is still fine.
                dropped = ids[index]
                if dropped > floor:
                    floor = dropped
            else:
                count += 1
            ids[index] = update_id
            sides[index] = side
            prices[index] = price
            previous[index] = before
            index += 1
            if index == size:
                index = 0
        self._next, self._count, self.floor = index, count, floor

    def start(self, update_id: int) -> None:
        """Nothing before ``update_id`` exists: the book at it is the current one."""
        self._next = 0
        self._count = 0
        self.floor = update_id

    def rewind(self, bids: dict[int, int], asks: dict[int, int], update_id: int) -> None:
        """Undo, in place, every change newer than ``update_id`` on L2 dicts (ticks -> lots)."""
        if update_id < self.floor:
            raise LookupError(f"update id {update_id} is older than the journal (oldest {self.floor})")
        ids, sides, prices, previous = self._ids, self._sides, self._prices, self._previous
        index = self._next
        for _ in range(self._count):
            index = index - 1 if index else self._max - 1
            if ids[index] <= update_id:
                break
            levels = bids if sides[index] == BID else asks
            before = previous[index]
            if before:
                levels[prices[index]] = before
            else:
                levels.pop(prices[index], None)
