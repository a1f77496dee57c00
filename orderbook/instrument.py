"""Instruments: a symbol's exchange filters and the exact decimal <-> integer conversions.

Inside the book and the matching engine a price is an integer number of ticks (tickSize) and a
quantity an integer number of lots (stepSize). Conversions are exact: a value that is not a whole
number of ticks or lots is rejected (``InexactValueError``), never rounded silently.

Binance sends decimals as strings with up to 8 decimals ("27123.45000000"). Every tick and step
size is a multiple of 1e-8, so a decimal string converts exactly through integer "units" of 1e-8.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

UNITS_PER_ONE = 100_000_000  # 1e-8 units: Binance's finest decimal
DECIMALS = 8
# Text -> ticks/lots conversions remembered per instrument and per direction (prices, sizes). A
# hit costs ~0.1 us against ~1.3 us to convert. Diffs revisit the few hundred prices near the
# touch, and the monitor's 1000-level snapshots fit; a full cache (~0.5 MB) is emptied and refills
# with what the feed sends next, so the hot prices are back within one diff. A process keeps the
# high-water mark of all its caches together (a cleared cache's memory stays with the allocator),
# so the bound is what a monitor settles at: with 8,192 it took over half an hour to get there,
# with hundreds of thousands hours, the RSS rising all the while.
CONVERSION_CACHE_ENTRIES = 4096


class InexactValueError(ValueError):
    """A price or quantity that is not a whole number of ticks or lots."""


class InstrumentError(ValueError):
    """An instrument that cannot be built from the filters given."""


def decimal_to_units(text: str) -> int:
    """'27123.45000000' -> 2712345000000 (1e-8 units). Raises ValueError on malformed or finer text."""
    # Fast path for Binance's canonical form (exactly 8 decimals): a cache miss on a fresh
    # quantity string is the common case in a diff, so this halves the cost of a miss.
    if text[-9:-8] == ".":
        digits = text.replace(".", "", 1)
        if digits.isdigit() and digits.isascii():
            return int(digits)
    if not text.isascii():
        raise ValueError(f"not a decimal number: {text!r}")  # int() would take other scripts' digits
    whole, dot, frac = text.partition(".")
    if not dot:
        frac = ""
    frac = frac.rstrip("0")
    if len(frac) > DECIMALS:
        raise InexactValueError(f"{text!r} has more than {DECIMALS} decimals")
    if not whole.lstrip("-").isdigit() and whole not in ("", "-"):
        raise ValueError(f"not a decimal number: {text!r}")
    if frac and not frac.isdigit():
        raise ValueError(f"not a decimal number: {text!r}")
    negative = whole.startswith("-")
    digits = (whole.lstrip("-") or "0") + frac.ljust(DECIMALS, "0")
    value = int(digits)
    return -value if negative else value


def units_to_decimal(units: int) -> str:
    """1e-8 units -> Binance's 8-decimal string ('0.00000000' for zero)."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), UNITS_PER_ONE)
    return f"{sign}{whole}.{frac:08d}"


def _decimals_of(units: int) -> int:
    """Number of decimals needed to show a multiple of ``units`` (1e-8 units): 1000000 -> 2."""
    decimals = DECIMALS
    while decimals > 0 and units % 10 == 0:
        units //= 10
        decimals -= 1
    return decimals


def _remember(cache: dict, texts: list[str], values: list[int]) -> None:
    if len(texts) > CONVERSION_CACHE_ENTRIES:
        return
    if len(cache) + len(texts) > CONVERSION_CACHE_ENTRIES:
        cache.clear()
    cache.update(zip(texts, values))


@dataclass(frozen=True)
class Instrument:
    """One symbol's trading rules in 1e-8 units.

    tick_units / step_units: tickSize / stepSize; min_notional_units: minimum price*qty (in quote
    1e-8 units); min_qty_units / max_qty_units, min_price_units / max_price_units: LOT_SIZE and
    PRICE_FILTER bounds (0 means no bound on Binance).
    """

    symbol: str
    base_asset: str
    quote_asset: str
    tick_units: int
    step_units: int
    min_qty_units: int = 0
    max_qty_units: int = 0
    min_price_units: int = 0
    max_price_units: int = 0
    min_notional_units: int = 0
    max_notional_units: int = 0
    _price_cache: dict = field(default_factory=dict, compare=False, repr=False, hash=False)
    _qty_cache: dict = field(default_factory=dict, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        if self.tick_units <= 0 or self.step_units <= 0:
            raise InstrumentError(f"{self.symbol}: tickSize and stepSize must be positive")

    def remember_conversions(self, price_texts: list[str], ticks: list[int],
                             qty_texts: list[str], lots: list[int]) -> None:
        """Cache conversions made in bulk elsewhere (the book's snapshot loader). The caller
        guarantees what the caches promise: prices positive and on the tick grid, sizes >= 0 and
        on the step grid. A cache they would overflow is emptied first; more conversions than a
        cache holds are not remembered."""
        _remember(self._price_cache, price_texts, ticks)
        _remember(self._qty_cache, qty_texts, lots)

    def forget_conversions(self) -> None:
        """Empty the text -> ticks/lots caches, as in a fresh process (benchmarks time cold runs)."""
        self._price_cache.clear()
        self._qty_cache.clear()

    # -- decimals --------------------------------------------------------------------------
    @property
    def price_decimals(self) -> int:
        """Decimals to display a price with (from tickSize)."""
        return _decimals_of(self.tick_units)

    @property
    def qty_decimals(self) -> int:
        """Decimals to display a quantity with (from stepSize)."""
        return _decimals_of(self.step_units)

    @property
    def tick_size(self) -> float:
        return self.tick_units / UNITS_PER_ONE

    @property
    def step_size(self) -> float:
        return self.step_units / UNITS_PER_ONE

    # -- conversions -----------------------------------------------------------------------
    def price_to_ticks(self, text: str) -> int:
        """Exact '27123.45000000' -> ticks. Cached (positive prices only): prices repeat constantly."""
        ticks = self._price_cache.get(text)
        if ticks is None:
            ticks = self._whole(decimal_to_units(text), self.tick_units, text, "tickSize")
            if ticks > 0:  # only valid prices are cached: the book trusts a cache hit as is
                if len(self._price_cache) >= CONVERSION_CACHE_ENTRIES:
                    self._price_cache.clear()
                self._price_cache[text] = ticks
        return ticks

    def qty_to_lots(self, text: str) -> int:
        """Exact '0.01200000' -> lots (stepSize units). Cached like prices (sizes >= 0 only)."""
        lots = self._qty_cache.get(text)
        if lots is None:
            lots = self._whole(decimal_to_units(text), self.step_units, text, "stepSize")
            if lots >= 0:  # only valid sizes are cached: the book trusts a cache hit as is
                if len(self._qty_cache) >= CONVERSION_CACHE_ENTRIES:
                    self._qty_cache.clear()
                self._qty_cache[text] = lots
        return lots

    def _whole(self, units: int, size: int, text: str, what: str) -> int:
        count, rest = divmod(units, size)
        if rest:
            raise InexactValueError(
                f"{self.symbol}: {text} is not a multiple of {what} {units_to_decimal(size)}"
            )
        return count

    def ticks_to_price(self, ticks: int) -> float:
        return ticks * self.tick_units / UNITS_PER_ONE

    def lots_to_qty(self, lots: int) -> float:
        return lots * self.step_units / UNITS_PER_ONE

    def ticks_to_str(self, ticks: int) -> str:
        """Binance wire form: 8 decimals."""
        return units_to_decimal(ticks * self.tick_units)

    def lots_to_str(self, lots: int) -> str:
        return units_to_decimal(lots * self.step_units)

    def price_to_ticks_float(self, price: float) -> int:
        """Nearest tick for a float price (strategy maths); exactness is the caller's business."""
        return round(price * UNITS_PER_ONE / self.tick_units)

    def notional_units(self, ticks: int, lots: int) -> int:
        """price * qty in quote 1e-8 units (exact integer maths)."""
        return ticks * self.tick_units * lots * self.step_units // UNITS_PER_ONE

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_exchange_info(cls, entry: dict) -> "Instrument":
        """Build from one ``exchangeInfo.symbols[]`` entry (PRICE_FILTER, LOT_SIZE, NOTIONAL/MIN_NOTIONAL)."""
        try:
            filters = {f["filterType"]: f for f in entry.get("filters", [])}
            price = filters["PRICE_FILTER"]
            lot = filters["LOT_SIZE"]
            notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
            return cls(
                symbol=entry["symbol"],
                base_asset=entry.get("baseAsset", ""),
                quote_asset=entry.get("quoteAsset", ""),
                tick_units=decimal_to_units(price["tickSize"]),
                step_units=decimal_to_units(lot["stepSize"]),
                min_qty_units=decimal_to_units(lot.get("minQty", "0")),
                max_qty_units=decimal_to_units(lot.get("maxQty", "0")),
                min_price_units=decimal_to_units(price.get("minPrice", "0")),
                max_price_units=decimal_to_units(price.get("maxPrice", "0")),
                min_notional_units=decimal_to_units(notional.get("minNotional", "0")),
                max_notional_units=decimal_to_units(notional.get("maxNotional", "0")),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise InstrumentError(
                f"exchangeInfo entry for {entry.get('symbol', '?')} lacks usable filters: {exc}"
            ) from exc


def instruments_from_exchange_info(info: dict) -> dict[str, Instrument]:
    """All symbols of an exchangeInfo document, keyed by symbol."""
    return {s["symbol"]: Instrument.from_exchange_info(s) for s in info.get("symbols", [])}


def decimal_text(value: float | Decimal | str, decimals: int) -> str:
    """Format a number with a fixed number of decimals (display edge only)."""
    return f"{Decimal(str(value)):.{decimals}f}"
