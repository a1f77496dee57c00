"""`python -m app replay FILE... [--speed X] [--export-tob OUT.csv] [--exchange-info PATH]`.

Replays recordings through the same pipeline the live monitor uses (feeds.pipeline.MarketData)
and prints what each book went through. ``--export-tob`` writes one CSV row per applied depth
event: ``recv_ns,symbol,update_id,bid_price,bid_qty,ask_price,ask_qty``.

Instruments (tick and lot sizes) come from ``--exchange-info``, else from an ``exchangeInfo.json``
next to the recordings. For a symbol neither has, tick and step are derived from the recording
itself as a documented fallback: the finest decimal used by any price (quantity) in its frames
becomes the tick (step). A grid finer than the real one keeps the book exact; only the display
decimals and filters differ from the exchange's.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

from app.options import positive_float

from feeds.recording_instruments import EXCHANGE_INFO_NAME


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="recordings <SYMBOL>_<YYYYMMDD>.gz")
    parser.add_argument("--speed", type=positive_float, default=0.0,
                        help="1 = as recorded, 10 = ten times faster, 0 = as fast as possible (default)")
    parser.add_argument("--export-tob", metavar="OUT.csv", default=None,
                        help="write best bid/ask after every applied depth event to this CSV")
    parser.add_argument("--exchange-info", metavar="PATH", default=None,
                        help=f"exchangeInfo JSON with the symbols' filters (default: {EXCHANGE_INFO_NAME} "
                             "next to the recordings)")


def run(args: argparse.Namespace) -> int:
    from app.cli import UserError
    from feeds.recording import RecordingError, read_recordings
    from feeds.recording_instruments import RecordingInputError, instruments_for_recordings

    paths = [Path(f) for f in args.files]
    try:
        reader = read_recordings(paths)  # every file exists and is gzip, before anything else
        instruments, notes = instruments_for_recordings(paths, args.exchange_info)
    except (RecordingError, RecordingInputError) as exc:
        raise UserError(str(exc)) from None
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    tob = _open_csv(args.export_tob, UserError) if args.export_tob else None
    try:
        summary = replay(reader, instruments, args.speed, tob)
    finally:
        if tob is not None:
            tob.close()
    for problem in reader.problems:
        print(f"note: {problem}", file=sys.stderr)
    print(summary)
    return 0


# -- replay ---------------------------------------------------------------------------------------
def replay_events(
    market,
    messages: Iterable[tuple[int, str, str | None]],
    speed: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    monotonic_ns: Callable[[], int] = time.monotonic_ns,
) -> Iterator[tuple[int, list]]:
    """Feed ``messages`` ((recv_ns, text, symbol), in order) to ``market`` (a MarketData).

    Yields (recv_ns, market events) per message. speed > 0 paces messages in wall time as
    recorded, ``speed`` times faster; 0 = as fast as possible.
    """
    on_message = market.on_message
    if speed <= 0:
        for recv_ns, text, symbol in messages:
            yield recv_ns, on_message(recv_ns, text, symbol)
        return
    first_recv = None
    start = 0
    for recv_ns, text, symbol in messages:
        if first_recv is None:
            first_recv, start = recv_ns, monotonic_ns()
        due = start + (recv_ns - first_recv) / speed
        wait = due - monotonic_ns()
        if wait > 0:
            sleep(wait / 1e9)
        yield recv_ns, on_message(recv_ns, text, symbol)


def _price_text(units: int, decimals: int) -> str:
    """Exact decimal text of a 1e-8-unit amount with ``decimals`` decimals (a multiple of them)."""
    whole, frac = divmod(units, 100_000_000)
    return f"{whole}.{frac:08d}"[: len(str(whole)) + 1 + decimals] if decimals else str(whole)


def _open_csv(path: str, error):
    try:
        handle = open(path, "w", encoding="ascii", newline="")
    except OSError as exc:
        raise error(f"cannot write {path}: {exc.strerror or exc}") from None
    handle.write("recv_ns,symbol,update_id,bid_price,bid_qty,ask_price,ask_qty\n")
    return handle


def replay(reader, instruments: dict, speed: float = 0.0, tob=None) -> str:
    """Replay ``reader``'s messages through a fresh MarketData; returns the summary text.

    ``tob``: a text file to append one CSV row per applied depth event.
    """
    from feeds.pipeline import BookChanged, MarketData

    market = MarketData(instruments)
    formats = {
        symbol: (inst.tick_units, inst.price_decimals, inst.step_units, inst.qty_decimals)
        for symbol, inst in instruments.items()
    }
    messages = 0
    started = time.perf_counter()
    book = market.book
    for recv_ns, events in replay_events(market, reader, speed):
        messages += 1
        if tob is None:
            continue
        for event in events:
            if type(event) is BookChanged:
                tob.write(_tob_row(recv_ns, event, book(event.symbol), formats[event.symbol]))
    elapsed = time.perf_counter() - started
    return _summary(market, instruments, messages, reader, elapsed)


def _tob_row(recv_ns: int, event, book, fmt) -> str:
    tick, price_decimals, step, qty_decimals = fmt
    bid = book.best_bid()
    ask = book.best_ask()
    bid_text = f"{_price_text(bid[0] * tick, price_decimals)},{_price_text(bid[1] * step, qty_decimals)}" if bid else ","
    ask_text = f"{_price_text(ask[0] * tick, price_decimals)},{_price_text(ask[1] * step, qty_decimals)}" if ask else ","
    return f"{recv_ns},{event.symbol},{event.update_id},{bid_text},{ask_text}\n"


def _summary(market, instruments: dict, messages: int, reader, elapsed: float) -> str:
    rate = messages / elapsed if elapsed > 0 else 0.0
    lines = [
        f"replay: {len(reader.paths)} file(s), {messages} messages in {elapsed:.2f} s ({rate:,.0f} msg/s); "
        f"malformed lines {reader.malformed_lines}, malformed frames without symbol {market.malformed}, "
        f"unrouted {market.unrouted}",
        f"{'symbol':<12} {'msgs':>7} {'diffs':>7} {'gaps':>5} {'resyncs':>7} {'malformed':>9} "
        f"{'synced':>6} {'update_id':>12}  {'best bid':<26} {'best ask':<26}",
    ]
    for symbol in market.symbols:
        stats = market.stats(symbol)
        inst = instruments[symbol]
        book = market.book(symbol)
        lines.append(
            f"{symbol:<12} {stats.messages:>7} {stats.diffs_applied:>7} {stats.gaps:>5} {stats.resyncs:>7} "
            f"{stats.malformed:>9} {'yes' if market.synced(symbol) else 'no':>6} {book.update_id:>12}  "
            f"{_level_text(book.best_bid(), inst):<26} {_level_text(book.best_ask(), inst):<26}"
        )
    if market.internal_errors:
        lines.append(f"internal errors: {market.internal_errors} (last: {market.last_error})")
    return "\n".join(lines)


def _level_text(level, inst) -> str:
    if level is None:
        return "-"
    price = _price_text(level[0] * inst.tick_units, inst.price_decimals)
    qty = _price_text(level[1] * inst.step_units, inst.qty_decimals)
    return f"{price} x {qty}"
