"""Stream names the exchange serves: ``<symbol>@<channel>``, symbols lower-case as on Binance.

    depth@100ms  depth (1000 ms)  depth5/10/20  depth5/10/20@100ms
    trade  aggTrade  bookTicker  ticker  miniTicker
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_CHANNEL = re.compile(r"^(?:depth(?P<levels>5|10|20)?(?P<fast>@100ms)?|trade|aggTrade|bookTicker|ticker|miniTicker)$")


class StreamNameError(ValueError):
    """A stream name that is malformed or names a symbol this exchange does not list."""


class UnknownStreamSymbolError(StreamNameError):
    """A well-formed stream name whose symbol this exchange does not list."""


@dataclass(frozen=True)
class StreamName:
    name: str  # exactly as subscribed, e.g. "btcusdt@depth@100ms"
    symbol: str  # upper-case, e.g. "BTCUSDT"
    channel: str  # "depth", "trade", "aggTrade", "bookTicker", "ticker", "miniTicker"
    levels: int  # 5/10/20 for partial depth, 0 for diffs and the rest
    interval_ms: int  # 100 or 1000 for depth streams, 0 otherwise


def parse_stream(name: str, symbols: set[str]) -> StreamName:
    """Validate one stream name against the listed symbols (upper-case set)."""
    symbol_part, at, channel = name.partition("@")
    if not at or not symbol_part or symbol_part != symbol_part.lower() or not symbol_part.isalnum():
        raise StreamNameError(f"invalid stream name {name!r}")
    match = _CHANNEL.match(channel)
    if match is None:
        raise StreamNameError(f"invalid stream name {name!r}")
    symbol = symbol_part.upper()
    if symbol not in symbols:
        raise UnknownStreamSymbolError(f"unknown symbol in stream {name!r}")
    if channel.startswith("depth"):
        levels = int(match.group("levels") or 0)
        interval = 100 if match.group("fast") else 1000
        return StreamName(name, symbol, "depth", levels, interval)
    return StreamName(name, symbol, channel, 0, 0)
