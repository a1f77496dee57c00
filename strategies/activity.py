"""Activity entries: the human-readable log of orders, fills, cancels, rejects, risk and feed events."""
from __future__ import annotations

from collections import deque
from typing import Any, Iterator, NamedTuple

KINDS = frozenset({"order", "fill", "cancel", "reject", "risk", "strategy", "feed", "system"})
# Entries a log keeps unless told otherwise: the page lists the newest few hundred, and a reader
# that fell further behind (the snapshot between two pushes) gets the newest of what it missed.
# An entry with its data dict is ~0.5 KB, so a full log is ~1 MB.
ACTIVITY_KEPT = 2000


class Activity(NamedTuple):
    """One entry. ts: ns (event time); kind: one of KINDS; data: JSON-safe details (None: none).

    Immutable; a NamedTuple as every order and cancel makes one (a frozen dataclass costs 4x).
    """

    ts: int
    symbol: str
    kind: str
    message: str
    data: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The snapshot form: ts in ms."""
        return {"ts": self.ts // 1_000_000, "symbol": self.symbol, "kind": self.kind, "message": self.message}


class ActivityLog:
    """The last `maxlen` entries, numbered from 1 so a reader can ask for what it has not seen yet."""

    __slots__ = ("_entries", "_seq")

    def __init__(self, maxlen: int = ACTIVITY_KEPT) -> None:
        if maxlen <= 0:
            raise ValueError("maxlen must be positive")
        self._entries: deque[Activity] = deque(maxlen=maxlen)
        self._seq = 0

    def append(self, entry: Activity) -> None:
        self._entries.append(entry)
        self._seq += 1

    @property
    def maxlen(self) -> int:
        """How many entries are kept."""
        return self._entries.maxlen or 0

    @property
    def seq(self) -> int:
        """Number of entries ever appended (the sequence number of the newest)."""
        return self._seq

    def since(self, seq: int) -> list[Activity]:
        """Entries numbered above seq that are still kept, oldest first."""
        missing = self._seq - seq
        if missing <= 0:
            return []
        entries = self._entries
        if missing >= len(entries):
            return list(entries)
        return [entries[i] for i in range(len(entries) - missing, len(entries))]

    def recent(self, count: int) -> list[Activity]:
        return self.since(self._seq - count)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Activity]:
        return iter(self._entries)
