"""One valuation asset for every portfolio total: amounts in other quote assets converted, never added raw.

Each symbol's account keeps its money in its own quote asset (XMRBTC in BTC, FTMUSDT in USDT). A
total over symbols is only a number when it is in one currency, so:
  - the valuation asset is ``preferred`` (USDT by default) unless every symbol shares one quote
    asset, which is then the natural one (a BTC-quoted run is valued in BTC);
  - another quote asset Q is converted at the mark (mid) of a portfolio symbol that trades it
    against the valuation asset: Q/V (BTCUSDT: rate = its price) or V/Q (rate = 1 / its price).
    Those symbols are marked on every book event, flat or not (``SymbolAccount.prices_others``);
  - an amount that is zero needs no rate; a non-zero amount in an asset with no rate (no such
    symbol in the portfolio, or no price seen yet) makes the total unknown: ``None`` with a note
    saying which asset lacks a price. The per-quote-asset breakdown is always there.
"""
from __future__ import annotations

from typing import Iterable, Mapping

DEFAULT_VALUATION = "USDT"


def choose_valuation(quote_assets: Iterable[str], preferred: str = DEFAULT_VALUATION) -> str:
    """The valuation asset of a portfolio whose symbols are quoted in ``quote_assets``."""
    assets = set(quote_assets)
    return next(iter(assets)) if len(assets) == 1 else preferred


class Valuation:
    """Rates from each quote asset to ``asset``, read from the marks of the conversion symbols.

    ``accounts``: the portfolio's SymbolAccounts by symbol (duck-typed: instrument, quote_asset,
    mark_price(), prices_others).
    """

    def __init__(self, asset: str, accounts: Mapping[str, object]) -> None:
        self.asset = asset
        self._direct: dict[str, object] = {}  # quote asset Q -> the account of Q/asset
        self._inverse: dict[str, object] = {}  # quote asset Q -> the account of asset/Q
        for account in accounts.values():
            self.consider(account)

    def consider(self, account) -> None:
        """Use ``account``'s symbol as a conversion pair when it is one (called for each new symbol)."""
        base, quote = account.instrument.base_asset, account.instrument.quote_asset
        if quote == self.asset and base != self.asset:
            self._direct.setdefault(base, account)
            account.prices_others = True
        elif base == self.asset and quote != self.asset:
            self._inverse.setdefault(quote, account)
            account.prices_others = True

    def rate(self, quote_asset: str) -> float | None:
        """Units of the valuation asset per unit of ``quote_asset``; None when no price is known."""
        if quote_asset == self.asset:
            return 1.0
        account = self._direct.get(quote_asset)
        if account is not None:
            return account.mark_price()
        account = self._inverse.get(quote_asset)
        if account is not None:
            price = account.mark_price()
            return 1.0 / price if price else None
        return None

    def rates(self, quote_assets: Iterable[str]) -> dict[str, float | None]:
        return {quote: self.rate(quote) for quote in sorted(set(quote_assets)) if quote != self.asset}

    def missing_note(self, quote_assets: Iterable[str]) -> str:
        """Why a total cannot be valued: the assets without a rate, and what would give one."""
        missing = [q for q in sorted(set(quote_assets)) if self.rate(q) is None]
        return (f"n/a: no price to value {', '.join(missing)} in {self.asset} "
                f"(needs {' or '.join(f'{q}{self.asset}' for q in missing)} among the symbols, with a book seen)")
