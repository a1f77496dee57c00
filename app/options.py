"""Argument types shared by the subcommands: one clear message for each kind of bad input."""
from __future__ import annotations

import argparse
import re

_SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")


def symbol_list(text: str) -> list[str]:
    """'btcusdt, ETHUSDT' -> ['BTCUSDT', 'ETHUSDT']; rejects empty or malformed names."""
    symbols = [s.strip().upper() for s in text.replace(" ", ",").split(",") if s.strip()]
    if not symbols:
        raise argparse.ArgumentTypeError("no symbols given (expected e.g. BTCUSDT,ETHUSDT)")
    for symbol in symbols:
        if not _SYMBOL.match(symbol):
            raise argparse.ArgumentTypeError(f"not a symbol name: {symbol!r}")
    if len(set(symbols)) != len(symbols):
        raise argparse.ArgumentTypeError("a symbol is listed twice")
    return symbols


def port_number(text: str) -> int:
    """A TCP port 0..65535 (0 = any free port)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 0..65535: {port}")
    return port


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


DEFAULT_SYMBOLS = "BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT"
