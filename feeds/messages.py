"""What the live feed hands to the engine: received messages and connection changes.

Both cross from the feed's asyncio thread to the engine thread through one thread-safe queue, in
the order they happened, so a resync triggered by ``ConnectionEvent("connected")`` always precedes
the first frame of the new connection.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ConnectionKind = Literal["connected", "disconnected", "reconnecting"]


@dataclass(frozen=True, slots=True)
class FeedMessage:
    """Exactly one received message, as in a recording line.

    recv_ns: local receive time, ns since epoch; text: the JSON exactly as received (a combined-stream
    frame, or the raw body of a REST depth snapshot); symbol: None for a combined-stream frame (the
    frame names its stream), the snapshot's symbol for a REST snapshot.
    """

    recv_ns: int
    text: str
    symbol: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """A change of one stream connection.

    kind: "connected" (frames flow again: every book of ``symbols`` must resync), "disconnected"
    (frames sent from now on are lost), "reconnecting" (a new attempt is scheduled; ``detail`` says
    when and why). symbols: the symbols carried by that connection (all of them with one connection).
    """

    kind: ConnectionKind
    recv_ns: int
    detail: str = ""
    symbols: tuple[str, ...] = ()
