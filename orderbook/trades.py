"""A market trade print in integer ticks and lots: what strategies and the paper matcher react to."""
from __future__ import annotations

from typing import NamedTuple


class TradeTick(NamedTuple):
    """One public trade (immutable; a NamedTuple as it is made for every print: a quarter of the
    cost of a frozen dataclass).

    price: ticks; qty: lots; buyer_is_maker: Binance's ``m`` (True = the aggressor sold, so the
    trade hit the bids); ts_event: exchange trade time, ns; ts_recv: local receive time, ns.
    """

    symbol: str
    trade_id: int
    price: int
    qty: int
    buyer_is_maker: bool
    ts_event: int
    ts_recv: int

    @property
    def aggressor_is_buy(self) -> bool:
        return not self.buyer_is_maker
