"""Argument types shared by the subcommands: one clear message for each kind of bad input."""
from __future__ import annotations

import argparse
import re

from app.exposure import parse_host_list, parse_origin_list
from strategies.fees import FeeSchedule

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


def whole_number(minimum: int | None = None, maximum: int | None = None, what: str = "value"):
    """An argparse type: an integer within [minimum, maximum] (None = unbounded)."""
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        _check_range(value, minimum, maximum, what, text)
        return value
    return convert


def number(minimum: float | None = None, maximum: float | None = None, what: str = "value",
           exclusive_minimum: bool = False):
    """An argparse type: a finite float within [minimum, maximum] ((minimum, ...] if exclusive)."""
    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"{what} must be finite: {text}")
        if exclusive_minimum and minimum is not None and value <= minimum:
            raise argparse.ArgumentTypeError(f"{what} must be greater than {minimum:g}: {text}")
        _check_range(value, minimum, maximum, what, text)
        return value
    return convert


def add_fee_arguments(parser: argparse.ArgumentParser) -> None:
    """--maker-fee-bps / --taker-fee-bps, defaulting to Binance spot's regular tier (strategies.fees)."""
    defaults = FeeSchedule()
    parser.add_argument("--maker-fee-bps", type=number(-9_999.0, 9_999.0, what="maker fee"), default=defaults.maker_bps,
                        help=f"maker fee, bps of notional; negative = rebate (default: {defaults.maker_bps:g}, "
                             "Binance's regular spot tier)")
    parser.add_argument("--taker-fee-bps", type=number(-9_999.0, 9_999.0, what="taker fee"), default=defaults.taker_bps,
                        help=f"taker fee, bps of notional (default: {defaults.taker_bps:g})")


def _check_range(value, minimum, maximum, what: str, text: str) -> None:
    if minimum is not None and value < minimum:
        raise argparse.ArgumentTypeError(
            f"{what} must not be negative: {text}" if minimum == 0 else f"{what} must be at least {minimum}: {text}")
    if maximum is not None and value > maximum:
        raise argparse.ArgumentTypeError(f"{what} out of range {minimum}..{maximum}: {text}")


def port_number(text: str) -> int:
    """A TCP port 0..65535 (0 = any free port)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 0..65535: {port}")
    return port


def _argument_type(parse):
    """An argparse type from a parser that raises ValueError with a one-line message."""
    def convert(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__doc__ = parse.__doc__
    return convert


host_list = _argument_type(parse_host_list)        # names or addresses, or '*' (app.exposure)
origin_list = _argument_type(parse_origin_list)    # scheme://name[:port] origins, or '*' (app.exposure)


positive_float = number(0, what="value")

# The embedded exchange's market model. Past these it cannot generate its flow in real time and the
# process stops answering, Ctrl-C included (rate 1000: 15 s to stop; 1e12: it asks for 34 TiB; speed
# 1e300 overflows its clock). 200 is the highest rate measured (README: 37k msgs/s to one client).
MAX_MARKET_RATE = 200.0
MAX_MARKET_SPEED = 1000.0  # virtual seconds per wall second
market_rate = number(0, MAX_MARKET_RATE, what="rate")
market_speed = number(0, MAX_MARKET_SPEED, what="speed")

DEFAULT_SYMBOLS = "BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT"
