"""The exchange's symbol catalog: exchangeInfo entries plus each symbol's market character.

Majors keep Binance's real filters (``data/exchangeInfo-majors-2021-10-12.json``, served verbatim).
Any other ``<BASE><QUOTE>`` symbol asked for at startup gets synthesized filters in today's shape
(``NOTIONAL`` instead of ``MIN_NOTIONAL``): a tick of about 0.1-1 bps of the price, a step worth
about 0.01-0.1 USD, a minimum notional of about 5 USD in the quote asset.

Reference prices (USD) and annualized volatilities are round figures near recent levels; they seed
the market model, which then wanders on its own. A symbol whose quote asset is not known is
rejected with ``UnknownSymbolError``.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from orderbook.instrument import UNITS_PER_ONE, Instrument, units_to_decimal

MAJORS_FILE = Path(__file__).with_name("data") / "exchangeInfo-majors-2021-10-12.json"


class UnknownSymbolError(ValueError):
    """A symbol the exchange cannot list (no recognizable quote asset)."""


@dataclass(frozen=True)
class AssetCharacter:
    """How an asset trades: USD price, annualized volatility, loading on the common market factor
    (0..1, sets the correlation between symbols) and relative activity (1 = a typical major)."""

    usd_price: float
    annual_vol: float
    loading: float
    activity: float


# Round figures near recent levels; volatilities are long-run annualized ones.
ASSETS: dict[str, AssetCharacter] = {
    "BTC": AssetCharacter(100_000.0, 0.50, 0.92, 1.6),
    "ETH": AssetCharacter(3_500.0, 0.65, 0.88, 1.3),
    "BNB": AssetCharacter(650.0, 0.45, 0.75, 0.8),
    "SOL": AssetCharacter(150.0, 0.85, 0.80, 1.0),
    "XRP": AssetCharacter(2.3, 0.80, 0.72, 0.8),
    "DOGE": AssetCharacter(0.2, 0.90, 0.72, 0.7),
    "ADA": AssetCharacter(0.7, 0.80, 0.75, 0.5),
    "AVAX": AssetCharacter(25.0, 0.85, 0.75, 0.4),
    "LINK": AssetCharacter(16.0, 0.80, 0.75, 0.4),
    "LTC": AssetCharacter(90.0, 0.70, 0.72, 0.4),
    "DOT": AssetCharacter(4.5, 0.80, 0.72, 0.35),
    "TRX": AssetCharacter(0.27, 0.55, 0.50, 0.3),
    "POL": AssetCharacter(0.4, 0.90, 0.70, 0.3),
    "MATIC": AssetCharacter(0.4, 0.90, 0.70, 0.3),
    "SHIB": AssetCharacter(0.000015, 0.95, 0.65, 0.4),
    "PEPE": AssetCharacter(0.00001, 1.20, 0.60, 0.5),
    "NEAR": AssetCharacter(3.0, 0.95, 0.70, 0.3),
    "ATOM": AssetCharacter(5.0, 0.85, 0.70, 0.3),
    "UNI": AssetCharacter(8.0, 0.90, 0.70, 0.3),
    "ARB": AssetCharacter(0.5, 1.00, 0.70, 0.3),
    "OP": AssetCharacter(0.8, 1.00, 0.70, 0.3),
    "APT": AssetCharacter(6.0, 0.95, 0.70, 0.3),
    "SUI": AssetCharacter(3.0, 1.00, 0.65, 0.4),
    "FIL": AssetCharacter(3.0, 0.90, 0.70, 0.25),
    "ETC": AssetCharacter(20.0, 0.80, 0.72, 0.25),
    "BCH": AssetCharacter(450.0, 0.75, 0.75, 0.3),
    "XLM": AssetCharacter(0.3, 0.80, 0.70, 0.25),
    "TON": AssetCharacter(3.0, 0.80, 0.55, 0.3),
}

# Quote assets and their USD value; stablecoins are priced at par.
QUOTES: dict[str, float] = {
    "USDT": 1.0, "USDC": 1.0, "FDUSD": 1.0, "BUSD": 1.0, "TUSD": 1.0, "DAI": 1.0,
    "BTC": ASSETS["BTC"].usd_price, "ETH": ASSETS["ETH"].usd_price, "BNB": ASSETS["BNB"].usd_price,
    "EUR": 1.08, "GBP": 1.27, "TRY": 0.03, "BRL": 0.18,
}
_STABLE = {"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI"}

# Rate limits this exchange advertises and enforces (Binance's current spot values).
RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]


@dataclass(frozen=True)
class SymbolProfile:
    """One listed symbol: its instrument, its exchangeInfo entry and how its market behaves.

    ref_price: starting price in quote units; annual_vol: fraction per sqrt(year); loading: on the
    common factor; activity: relative order-flow intensity; order_notional: median limit-order
    size in quote units.
    """

    symbol: str
    instrument: Instrument
    entry: dict
    ref_price: float
    annual_vol: float
    loading: float
    activity: float
    order_notional: float
    listed_from_file: bool


def split_symbol(symbol: str) -> tuple[str, str]:
    """'ETHBTC' -> ('ETH', 'BTC'): the longest known quote suffix with a non-empty base."""
    for quote in sorted(QUOTES, key=len, reverse=True):
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    raise UnknownSymbolError(
        f"unknown symbol {symbol}: expected <BASE><QUOTE> with a quote asset among "
        f"{', '.join(sorted(QUOTES))}"
    )


def _character(base: str) -> AssetCharacter:
    """Known assets from the table; others get a stable, name-derived character."""
    known = ASSETS.get(base)
    if known is not None:
        return known
    digest = hashlib.sha256(base.encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    usd_price = 10 ** (-2 + 3.7 * fraction)  # 0.01 .. 50 USD, log-uniform
    return AssetCharacter(usd_price=usd_price, annual_vol=1.0, loading=0.6, activity=0.3)


def _pow10_units(value: float) -> int:
    """The largest power of ten <= value, in 1e-8 units, at least one unit."""
    if value <= 0:
        return 1
    exponent = math.floor(math.log10(value) + 1e-12)
    units = round(10.0 ** (exponent + 8)) if exponent + 8 >= 0 else 0
    return max(1, units)


def _synthesized_entry(base: str, quote: str, price: float, quote_usd: float) -> dict:
    """An exchangeInfo entry in today's filter shape for a symbol not in the majors file."""
    tick = _pow10_units(price * 1e-4)
    step = _pow10_units(0.05 / (price * quote_usd))
    min_notional = _pow10_units(5.0 / quote_usd)
    max_price = max(tick * 10, _pow10_units(price * 1000) * 10)
    max_qty = _pow10_units(1e8 * step / UNITS_PER_ONE) * 9
    return {
        "symbol": base + quote,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": units_to_decimal(tick),
             "maxPrice": units_to_decimal(max_price), "tickSize": units_to_decimal(tick)},
            {"filterType": "LOT_SIZE", "minQty": units_to_decimal(step),
             "maxQty": units_to_decimal(max_qty), "stepSize": units_to_decimal(step)},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000",
             "maxQty": units_to_decimal(max_qty // 10), "stepSize": "0.00000000"},
            {"filterType": "NOTIONAL", "minNotional": units_to_decimal(min_notional),
             "applyMinToMarket": True, "maxNotional": "9000000.00000000",
             "applyMaxToMarket": False, "avgPriceMins": 5},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def _majors() -> dict[str, dict]:
    with MAJORS_FILE.open() as handle:
        return {entry["symbol"]: entry for entry in json.load(handle)["symbols"]}


class Catalog:
    """The symbols one exchange lists, in the order asked for."""

    def __init__(self, symbols: list[str] | tuple[str, ...]) -> None:
        if not symbols:
            raise UnknownSymbolError("no symbols to list")
        majors = _majors()
        self.profiles: dict[str, SymbolProfile] = {}
        for symbol in symbols:
            self.profiles[symbol] = self._profile(symbol, majors)

    @staticmethod
    def _profile(symbol: str, majors: dict[str, dict]) -> SymbolProfile:
        if symbol != symbol.upper() or not symbol.isalnum():
            raise UnknownSymbolError(f"unknown symbol {symbol!r}: symbols are upper-case letters and digits")
        base, quote = split_symbol(symbol)
        character = _character(base)
        quote_usd = QUOTES[quote]
        price = character.usd_price / quote_usd
        from_file = symbol in majors
        entry = copy.deepcopy(majors[symbol]) if from_file else _synthesized_entry(base, quote, price, quote_usd)
        instrument = Instrument.from_exchange_info(entry)
        # Crosses (ETHBTC) carry only the part of each leg's risk that does not cancel out.
        cross = quote not in _STABLE
        annual_vol = character.annual_vol * (0.6 if cross else 1.0)
        loading = character.loading * (0.4 if cross else 1.0)
        activity = character.activity * (0.4 if cross else 1.0)
        order_notional_usd = 400.0 * max(0.5, min(character.activity, 2.0)) ** 2
        return SymbolProfile(
            symbol=symbol,
            instrument=instrument,
            entry=entry,
            ref_price=price,
            annual_vol=annual_vol,
            loading=loading,
            activity=activity,
            order_notional=order_notional_usd / quote_usd,
            listed_from_file=from_file,
        )

    @property
    def symbols(self) -> list[str]:
        return list(self.profiles)

    def instruments(self) -> dict[str, Instrument]:
        return {s: p.instrument for s, p in self.profiles.items()}

    def exchange_info(self, server_time_ms: int, symbols: list[str] | None = None) -> dict:
        """The /api/v3/exchangeInfo document for all listed symbols or the ones given."""
        chosen = self.symbols if symbols is None else symbols
        return {
            "timezone": "UTC",
            "serverTime": server_time_ms,
            "rateLimits": copy.deepcopy(RATE_LIMITS),
            "exchangeFilters": [],
            "symbols": [copy.deepcopy(self.profiles[s].entry) for s in chosen],
        }
