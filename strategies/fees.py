"""Trading fees in basis points of traded notional: maker and taker, a negative rate is a rebate."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from orderbook.instrument import UNITS_PER_ONE, Instrument
from strategies.orders import Liquidity

BPS = 10_000.0
_BPS_DECIMAL = Decimal(10_000)


@dataclass(frozen=True)
class FeeSchedule:
    """maker_bps / taker_bps: fee per fill as bps of price * qty (quote currency); negative = rebate.

    The defaults are Binance spot's regular tier (0.1% each side, no BNB discount).
    """

    maker_bps: float = 10.0
    taker_bps: float = 10.0

    def __post_init__(self) -> None:
        for name in ("maker_bps", "taker_bps"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value != value or abs(value) >= BPS:
                raise ValueError(f"{name} must be a number of bps between -10000 and 10000, got {value!r}")

    def rate(self, liquidity: Liquidity) -> float:
        """Fee as a fraction of notional (0.001 for 10 bps)."""
        return (self.maker_bps if liquidity is Liquidity.MAKER else self.taker_bps) / BPS

    def exact_fee(self, notional_units: int, liquidity: Liquidity) -> Decimal:
        """The fee of a fill with this notional (quote 1e-8 units), as an exact decimal.

        The rule FeeCalculator applies in floats, in decimal arithmetic: the rate is the bps as
        written (``repr`` of the float, 7.5 -> 7.5), so 10 bps of 123.45678 is exactly 0.12345678.
        """
        bps = self.maker_bps if liquidity is Liquidity.MAKER else self.taker_bps
        return Decimal(notional_units).scaleb(-8) * Decimal(repr(float(bps))) / _BPS_DECIMAL


class FeeCalculator:
    """Fees of one instrument's fills in its quote currency, from integer ticks and lots."""

    __slots__ = ("schedule", "_maker", "_taker")

    def __init__(self, instrument: Instrument, schedule: FeeSchedule) -> None:
        self.schedule = schedule
        # quote currency per (tick * lot), folded with the rate so a fill costs one multiplication
        quote_per_tick_lot = instrument.tick_units * instrument.step_units / (UNITS_PER_ONE * UNITS_PER_ONE)
        self._maker = quote_per_tick_lot * schedule.maker_bps / BPS
        self._taker = quote_per_tick_lot * schedule.taker_bps / BPS

    def fee(self, price: int, qty: int, liquidity: Liquidity) -> float:
        """Fee in quote currency for qty lots at price ticks (negative = rebate)."""
        return price * qty * (self._maker if liquidity is Liquidity.MAKER else self._taker)
