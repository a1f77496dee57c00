"""Who is connected and which symbols each client watches: one Socket.IO room per symbol set.

A client that never subscribed (or subscribed to every symbol) sits in the ``all`` room and gets
the full snapshot. Clients watching the same subset share a room, so each push is built and
encoded once per distinct subset, never once per client.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable

from strategies.parameters import SHOWN_CHARS, shown

ALL_ROOM = "all"
NAMED_UNKNOWN = 5


def room_name(symbols: frozenset[str] | None) -> str:
    """'all' for every symbol, else 'symbols:BTCUSDT,ETHUSDT' (sorted, so equal sets share a room)."""
    if symbols is None:
        return ALL_ROOM
    return "symbols:" + ",".join(sorted(symbols))


class Audience:
    """Connected clients and their symbol filter. Touched only from the server's green threads."""

    def __init__(self, symbols: Iterable[str]) -> None:
        self.symbols = frozenset(symbols)
        self._filter_of: dict[str, frozenset[str] | None] = {}
        self._members: Counter[frozenset[str] | None] = Counter()

    def __len__(self) -> int:
        return len(self._filter_of)

    def __contains__(self, sid: str) -> bool:
        return sid in self._filter_of

    def join(self, sid: str) -> str:
        """A new client: it watches every symbol until it subscribes. Returns its room."""
        self.leave(sid)
        self._filter_of[sid] = None
        self._members[None] += 1
        return ALL_ROOM

    def leave(self, sid: str) -> str | None:
        """The client is gone; returns the room it was in (None if unknown)."""
        if sid not in self._filter_of:
            return None
        key = self._filter_of.pop(sid)
        self._drop(key)
        return room_name(key)

    def normalise(self, requested: Iterable[str]) -> frozenset[str] | None:
        """Validate a subscription; None means every symbol. Raises ValueError with one clear line."""
        wanted = frozenset(str(s).strip().upper() for s in requested)
        unknown = sorted(wanted - self.symbols)
        if unknown:  # named shortened and at most NAMED_UNKNOWN of them: the ack never floods with the input
            named = ", ".join(s if len(s) <= SHOWN_CHARS else shown(s) for s in unknown[:NAMED_UNKNOWN])
            more = f" and {len(unknown) - NAMED_UNKNOWN} more" if len(unknown) > NAMED_UNKNOWN else ""
            raise ValueError(f"unknown symbol(s) {named}{more}; monitored: {', '.join(sorted(self.symbols))}")
        if not wanted or wanted == self.symbols:
            return None
        return wanted

    def subscribe(self, sid: str, symbols: frozenset[str] | None) -> tuple[str | None, str]:
        """Move the client to the room of ``symbols``; returns (old room, new room)."""
        old = self._filter_of.get(sid, ...)
        if old is ...:
            raise KeyError(sid)
        self._drop(old)
        self._filter_of[sid] = symbols
        self._members[symbols] += 1
        return room_name(old), room_name(symbols)

    def filter_of(self, sid: str) -> frozenset[str] | None:
        return self._filter_of.get(sid)

    def rooms(self) -> list[tuple[str, frozenset[str] | None, int]]:
        """Rooms with at least one member: (name, symbol set or None for all, member count)."""
        return [(room_name(key), key, count) for key, count in self._members.items() if count > 0]

    def _drop(self, key: frozenset[str] | None) -> None:
        self._members[key] -= 1
        if self._members[key] <= 0:
            del self._members[key]
