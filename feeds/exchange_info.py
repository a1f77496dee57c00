"""Instruments from an exchange's ``GET /api/v3/exchangeInfo?symbols=[...]`` (live or embedded)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import aiohttp

from orderbook.instrument import Instrument, InstrumentError, instruments_from_exchange_info


class ExchangeInfoError(LookupError):
    """exchangeInfo could not be had, or lacks a wanted symbol: the message is for the user."""


async def fetch_exchange_info(api_url: str, symbols: Sequence[str],
                              timeout_s: float = 30.0) -> tuple[str, dict[str, Instrument]]:
    """(raw body, instruments) from ``api_url`` like "http://127.0.0.1:P/api". Raises
    ExchangeInfoError with Binance's message (e.g. -1121 Invalid symbol) or the network failure."""
    url = f"{api_url.rstrip('/')}/v3/exchangeInfo"
    params = {"symbols": json.dumps(list(symbols), separators=(",", ":"))}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
            async with session.get(url, params=params) as response:
                body = await response.text()
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise ExchangeInfoError(f"exchangeInfo from {url} failed: {type(exc).__name__} {exc}") from None
    return body, instruments_from_body(body, symbols, url)


def save_exchange_info(path: Path, body: str) -> None:
    """Write the exchangeInfo body to ``path`` (atomically), keeping entries of other symbols
    already there: a recording directory stays self-contained for replay and backtest."""
    info = json.loads(body)
    try:
        previous = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        previous = None
    if isinstance(previous, dict) and isinstance(previous.get("symbols"), list):
        ours = {entry.get("symbol") for entry in info.get("symbols", [])}
        kept = [e for e in previous["symbols"] if isinstance(e, dict) and e.get("symbol") not in ours]
        info["symbols"] = kept + info.get("symbols", [])
    temporary = Path(path).with_name(Path(path).name + ".tmp")
    try:
        temporary.write_text(json.dumps(info, separators=(",", ":")))
        os.replace(temporary, path)
    except OSError as exc:
        raise ExchangeInfoError(f"cannot write {path}: {exc.strerror or exc}") from None


def instruments_from_body(body: str, symbols: Sequence[str], where: str) -> dict[str, Instrument]:
    try:
        info = json.loads(body)
    except ValueError:
        raise ExchangeInfoError(f"exchangeInfo from {where} is not JSON: {body[:120]!r}") from None
    if isinstance(info, dict) and "code" in info and "symbols" not in info:
        raise ExchangeInfoError(f"{where}: {info.get('msg', 'error')} (code {info['code']}) for {', '.join(symbols)}")
    try:
        instruments = instruments_from_exchange_info(info)
    except InstrumentError as exc:
        raise ExchangeInfoError(str(exc)) from None
    missing = [s for s in symbols if s not in instruments]
    if missing:
        raise ExchangeInfoError(f"unknown symbol(s) at {where}: {', '.join(missing)}")
    return {s: instruments[s] for s in symbols}


def load_instruments(path: Path, symbols: Sequence[str] | None = None) -> dict[str, Instrument]:
    """From an exchangeInfo.json file (``record`` writes one beside its recordings); all its symbols
    when ``symbols`` is None. Raises ExchangeInfoError naming the file and what is wrong with it."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ExchangeInfoError(f"cannot read exchangeInfo {path}: {exc.strerror or exc}") from None
    try:
        info = json.loads(text)
    except ValueError as exc:
        raise ExchangeInfoError(f"exchangeInfo {path} is not JSON: {exc}") from None
    if not isinstance(info, dict) or not isinstance(info.get("symbols"), list):
        raise ExchangeInfoError(f"exchangeInfo {path} has no symbols list")
    try:
        instruments = instruments_from_exchange_info(info)
    except (InstrumentError, AttributeError, TypeError) as exc:
        raise ExchangeInfoError(f"exchangeInfo {path} is not usable: {exc}") from None
    if symbols is None:
        return instruments
    missing = [s for s in symbols if s not in instruments]
    if missing:
        raise ExchangeInfoError(f"{path} has no {', '.join(missing)}")
    return {s: instruments[s] for s in symbols}
