"""The order vocabulary shared by strategies, risk, the paper matcher and the portfolio.

Prices are integer ticks and quantities integer lots of the symbol's Instrument; times are ns.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import NamedTuple


class Side(IntEnum):
    BUY = 1
    SELL = -1

    @property
    def opposite(self) -> "Side":
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(str, Enum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"


class TimeInForce(str, Enum):
    GTC = "GTC"
    IOC = "IOC"


class OrderStatus(str, Enum):
    PENDING_NEW = "PENDING_NEW"  # sent, not yet live (order-entry latency)
    NEW = "NEW"  # live, resting
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"  # cancel sent, still live until cancel latency passes
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"  # IOC remainder

    @property
    def is_open(self) -> bool:
        return self in _OPEN


_OPEN = {OrderStatus.PENDING_NEW, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL}


class Liquidity(str, Enum):
    MAKER = "maker"
    TAKER = "taker"


class FillReason(str, Enum):
    """Why a fill happened: the explanation every fill carries."""

    QUEUE_REACHED = "queue_reached"  # trades at our price consumed the queue ahead, then us
    TRADE_THROUGH = "trade_through"  # a trade printed beyond our price: we were certainly filled
    TAKER = "taker"  # our order crossed the displayed book


# -- intents: what a strategy asks for -------------------------------------------------------
# Intents are immutable NamedTuples: quoters make thousands of them, and a frozen dataclass costs
# four times as much to build.
class PlaceOrder(NamedTuple):
    """A new order. price is None only for MARKET. post_only: reject if it would cross."""

    client_id: str
    side: Side
    qty: int
    price: int | None = None
    order_type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    tag: str = ""  # strategy's label, e.g. "bid-L1", "entry", "take-profit"


class CancelOrder(NamedTuple):
    client_id: str


@dataclass(frozen=True, slots=True)
class CancelAll:
    reason: str = ""


Intent = PlaceOrder | CancelOrder | CancelAll


# -- state and results -----------------------------------------------------------------------
@dataclass(slots=True)
class Order:
    """A paper order as the matcher tracks it. queue_ahead: displayed lots ahead of us at our price."""

    client_id: str
    symbol: str
    side: Side
    qty: int
    price: int | None
    order_type: OrderType
    time_in_force: TimeInForce
    post_only: bool
    tag: str
    ts_created: int
    ts_live: int = 0
    status: OrderStatus = OrderStatus.PENDING_NEW
    filled: int = 0
    queue_ahead: int = 0
    reject_reason: str = ""
    ts_done: int = 0

    @property
    def remaining(self) -> int:
        return self.qty - self.filled


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of a paper order. fee: quote currency (negative = rebate)."""

    symbol: str
    client_id: str
    side: Side
    price: int
    qty: int
    liquidity: Liquidity
    reason: FillReason
    fee: float
    ts: int
    trade_id: int = 0  # the market trade that caused it, when there was one
    tag: str = ""
    detail: dict = field(default_factory=dict)  # e.g. {"queue_ahead_before": 12, "trade_qty": 30}
