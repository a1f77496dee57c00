"""Instruments for recordings: which symbols a set of recording files holds, and their filters.

Symbols come from the file names (``BTCUSDT_20240808.gz``) and, for files not named that way,
from the streams inside. Filters come from an exchangeInfo JSON given, else the
``exchangeInfo.json`` beside each file (``record`` writes one there). For a symbol neither has,
tick and step are derived from the recording itself as a documented fallback: the finest decimal
used by any price (quantity) in its frames becomes the tick (step). A grid finer than the real
one keeps the book exact; only the display decimals and filters differ from the exchange's.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import orjson

from feeds.exchange_info import ExchangeInfoError, load_instruments
from feeds.recording import read_recordings, symbol_of_file, symbol_of_message
from orderbook.instrument import Instrument

EXCHANGE_INFO_NAME = "exchangeInfo.json"


class RecordingInputError(ValueError):
    """Recordings or exchangeInfo that cannot be used: one clear line."""


def instruments_for_recordings(paths: Iterable[Path], exchange_info: str | Path | None = None, *,
                               derive: bool = True):
    """(instruments for every symbol of ``paths``, notes for the user).

    Symbols come from the file names (``BTCUSDT_20240808.gz``) and, for files not named that
    way, from the streams inside. Filters come from ``exchange_info`` or the exchangeInfo.json
    beside each file; a symbol found in neither gets tick/step derived from its recorded decimals
    (unless ``derive`` is False: then it is an error, as a backtest needs the real filters).
    """
    paths = [Path(p) for p in paths]
    symbols: dict[str, None] = {}
    for path in paths:
        symbol = symbol_of_file(path)
        if symbol is not None:
            symbols[symbol] = None
        else:
            for _, text, _ in read_recordings([path]):
                found = symbol_of_message(text)
                if found is not None:
                    symbols[found] = None
    sources = [Path(exchange_info)] if exchange_info else sorted(
        {p.parent / EXCHANGE_INFO_NAME for p in paths if (p.parent / EXCHANGE_INFO_NAME).is_file()}
    )
    instruments = {}
    for source in sources:
        try:
            instruments.update(load_instruments(source))
        except ExchangeInfoError as exc:
            raise RecordingInputError(str(exc)) from None
    chosen = {}
    notes = []
    for symbol in symbols:
        if symbol in instruments:
            chosen[symbol] = instruments[symbol]
            continue
        if not derive:
            raise RecordingInputError(
                f"no exchangeInfo describes {symbol}: put an exchangeInfo.json next to the recordings "
                "or give --exchange-info PATH")
        instrument = derive_instrument(symbol, paths)
        chosen[symbol] = instrument
        notes.append(
            f"{symbol}: no exchangeInfo, tickSize {instrument.tick_size:.8f} and stepSize "
            f"{instrument.step_size:.8f} derived from the recorded decimals"
        )
    if not chosen:
        raise RecordingInputError("no symbol found in the recordings (expected <SYMBOL>_<YYYYMMDD>.gz files)")
    return chosen, notes


def _decimals(text: object) -> int | None:
    """Significant decimals of a decimal string ('0.01200000' -> 3); None if not one."""
    if type(text) is not str:
        return None
    whole, dot, frac = text.partition(".")
    frac = frac.rstrip("0")
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 8:
        return None
    return len(frac)


def derive_instrument(symbol: str, paths: Iterable[Path]):
    """An Instrument whose tick/step is the finest decimal seen in ``symbol``'s recorded frames."""

    price_decimals = qty_decimals = -1
    mine = [p for p in paths if symbol_of_file(p) in (symbol, None)]
    for _, text, file_symbol in read_recordings(mine):
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(message, dict):
            continue
        data = message.get("data", message)
        stream = message.get("stream")
        if isinstance(stream, str):
            if stream.partition("@")[0].upper() != symbol:
                continue
        elif file_symbol != symbol:
            continue
        if not isinstance(data, dict):
            continue
        pairs = []
        for key_levels in ("b", "a", "bids", "asks"):
            levels = data.get(key_levels)
            if isinstance(levels, list):
                pairs.extend(level for level in levels if isinstance(level, list) and len(level) == 2)
        if "p" in data and "q" in data:
            pairs.append([data["p"], data["q"]])
        if isinstance(data.get("b"), str):
            pairs.extend([[data.get("b"), data.get("B")], [data.get("a"), data.get("A")]])
        for price, qty in pairs:
            decimals = _decimals(price)
            if decimals is not None:
                price_decimals = max(price_decimals, decimals)
            decimals = _decimals(qty)
            if decimals is not None:
                qty_decimals = max(qty_decimals, decimals)
    if price_decimals < 0 or qty_decimals < 0:
        raise RecordingInputError(
            f"{symbol}: no exchangeInfo, and no prices in the recording to derive its tick size from "
            f"(give --exchange-info)"
        )
    return Instrument(symbol, "", "", tick_units=10 ** (8 - price_decimals), step_units=10 ** (8 - qty_decimals))
