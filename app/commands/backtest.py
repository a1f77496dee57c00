"""`python -m app backtest FILE... --strategy NAME [--param k=v ...] [--sweep k=v1,v2 ...] [--json]`.

A strategy over recordings; with ``--sweep``, every combination of the swept parameter values
in one pass over the data (the recordings are read and decoded once, each combination trades
against the same books with its own sessions). ``--fills PATH`` and ``--equity PATH`` also write
every fill and the 1-second equity curve as CSV reports (app.fill_log, app.equity_log).

The recordings go through the very pipeline the live monitor uses (feeds.recording reader ->
feeds.pipeline.MarketData), its market events drive strategies.backtest.Backtest (one session per
symbol: strategy, risk, paper matcher, portfolio). The summary is deterministic for the same files,
options and seed; only the "perf" block (wall time, rates) changes from run to run.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable

from app.options import add_fee_arguments, number, whole_number

STRATEGY_NAMES = ("market_maker", "avellaneda_stoikov", "liquidity_taker")
MAX_SWEEP = 256  # combinations: each one is a full set of sessions fed every event
QUEUE_MODEL_NAMES = ("probabilistic", "trades_only")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="recordings <SYMBOL>_<YYYYMMDD>.gz")
    parser.add_argument("--strategy", choices=STRATEGY_NAMES, default=None,
                        help="the strategy to run on every symbol (required)")
    parser.add_argument("--param", action="extend", nargs="+", default=[], metavar="K=V",
                        help="strategy parameter, repeatable (e.g. --param spread_bps=8 levels=2)")
    parser.add_argument("--sweep", action="extend", nargs="+", default=[], metavar="K=V1,V2",
                        help="strategy parameter values to try, repeatable: every combination runs in one "
                             f"pass over the data (at most {MAX_SWEEP} combinations)")
    parser.add_argument("--risk", action="extend", nargs="+", default=[], metavar="K=V",
                        help="risk limit, repeatable (e.g. --risk max_position=1000)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--fills", type=Path, default=None, metavar="PATH",
                        help="also write every fill, with why it happened, as CSV to PATH (with --sweep, a "
                             "run column numbers the combinations in grid order)")
    parser.add_argument("--equity", type=Path, default=None, metavar="PATH",
                        help="also write the equity curve (the 1-second samples drawdown and Sharpe use) as CSV "
                             "to PATH")
    parser.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default 0)")
    parser.add_argument("--exchange-info", type=Path, default=None, metavar="PATH",
                        help="exchangeInfo.json with the symbols' filters "
                             "(default: exchangeInfo.json next to each recording)")
    parser.add_argument("--timer-ms", type=_positive_int, default=1000,
                        help="strategy/risk timer period in ms of event time (default 1000)")
    add_fee_arguments(parser)
    parser.add_argument("--order-latency-ms", type=_latency, default=5.0, help="order entry latency, ms")
    parser.add_argument("--cancel-latency-ms", type=_latency, default=5.0, help="cancel latency, ms")
    parser.add_argument("--md-latency-ms", type=_latency, default=2.0,
                        help="market data latency (exchange -> us), ms")
    parser.add_argument("--queue-model", choices=QUEUE_MODEL_NAMES, default="probabilistic",
                        help="how cancellations move a resting order's queue position")


_non_negative_int = whole_number(0)
_positive_int = whole_number(1)
_latency = number(0, 60_000, what="latency (ms)")


def parse_pairs(items: Iterable[str], what: str) -> dict[str, str]:
    """['a=1', 'b=x'] -> {'a': '1', 'b': 'x'}; one clear error for a malformed or repeated pair."""
    from app.cli import UserError

    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"{what} must look like key=value, got {item!r}")
        if key in pairs:
            raise UserError(f"{what} {key} given twice")
        pairs[key] = value.strip()
    return pairs


def sweep_grid(fixed: dict[str, str], swept_items: Iterable[str]) -> tuple[list[str], list[dict[str, str]]]:
    """--param pairs plus --sweep K=V1,V2 pairs -> (swept keys, parameter sets of every combination in grid order)."""
    from itertools import product

    from app.cli import UserError

    swept = parse_pairs(swept_items, "--sweep")
    values: dict[str, list[str]] = {}
    for key, text in swept.items():
        if key in fixed:
            raise UserError(f"{key} is given by both --param and --sweep")
        choices = [v.strip() for v in text.split(",")]
        if not all(choices):
            raise UserError(f"--sweep {key} needs comma-separated values, got {text!r}")
        if len(set(choices)) != len(choices):
            raise UserError(f"--sweep {key} repeats a value: {text!r}")
        values[key] = choices
    count = 1
    for choices in values.values():
        count *= len(choices)
    if count > MAX_SWEEP:
        raise UserError(f"--sweep makes {count} combinations; at most {MAX_SWEEP}")
    return list(values), [{**fixed, **dict(zip(values, combo))} for combo in product(*values.values())]


def run(args: argparse.Namespace) -> int:
    from app.cli import UserError
    from app.equity_log import EquityLog
    from app.fill_log import FillLog
    from feeds.recording import RecordingError, read_recordings
    from strategies.backtest import BacktestConfig
    from strategies.parameters import ParameterError
    from strategies.fees import FeeSchedule
    from strategies.latency import LatencyModel

    if not args.strategy:
        raise UserError(f"--strategy is required: one of {', '.join(STRATEGY_NAMES)}")
    keys, grid = sweep_grid(parse_pairs(args.param, "--param"), args.sweep)
    risk_limits = parse_pairs(args.risk, "--risk")
    configs = []
    for params in grid:
        try:
            configs.append(BacktestConfig(
                strategy=args.strategy,
                params=params,
                seed=args.seed,
                timer_ms=args.timer_ms,
                fees=FeeSchedule(args.maker_fee_bps, args.taker_fee_bps),
                latency=LatencyModel.from_ms(args.order_latency_ms, args.cancel_latency_ms, args.md_latency_ms),
                queue_model=args.queue_model,
                risk_limits=risk_limits,
            ))
        except (ParameterError, ValueError) as exc:
            raise UserError(str(exc)) from None
    paths = [Path(p) for p in args.files]
    try:
        read_recordings(paths)  # every file exists and is gzip, before anything else is said about them
        instruments = instruments_for(paths, args.exchange_info)
        _check_report_paths(paths, {"--fills": args.fills, "--equity": args.equity})
        with _report(args.fills, "--fills", FillLog, instruments) as fill_log, \
                _report(args.equity, "--equity", EquityLog, instruments) as equity_log:
            reports = {"fill_log": fill_log, "equity_log": equity_log}
            if args.sweep:
                result = run_sweep(paths, instruments, configs, keys, **reports)
            else:
                result = run_backtest(paths, instruments, configs[0], **reports)
    except RecordingError as exc:
        raise UserError(str(exc)) from None
    written = [report for report in (fill_log, equity_log) if report is not None]
    for report in written:
        result[report.summary_key] = {"path": str(report.path), "rows": report.rows}
    if args.json:
        print(json.dumps(result, indent=2))
    elif args.sweep:
        print(format_sweep(result))
    else:
        print(format_summary(result))
    if not args.json:
        for report in written:
            print(f"{report.rows} {report.row_noun} written to {report.path}")
    return 0


def _check_report_paths(inputs: list[Path], reports: dict[str, Path | None]) -> None:
    """A report must not replace one of the recordings it reads, nor the other report."""
    from app.cli import UserError

    taken = {path.resolve(): "a recording this run reads" for path in inputs}
    for flag, path in reports.items():
        if path is None:
            continue
        other = taken.get(path.resolve())
        if other is not None:
            raise UserError(f"{flag} {path} is {other}; give the report a name of its own")
        taken[path.resolve()] = f"the {flag} report too"


def _report(path: Path | None, flag: str, report: type, instruments: dict) -> Any:
    """The CSV report behind --fills or --equity, refused at once (before any replay) when it cannot be
    written; a no-op context when the flag is absent."""
    from contextlib import nullcontext

    from app.cli import UserError
    from app.csv_report import CsvReportError

    if path is None:
        return nullcontext(None)
    try:
        return report(path, instruments)
    except CsvReportError as exc:
        raise UserError(f"{flag}: {exc}") from None


def instruments_for(paths: list[Path], exchange_info: Path | None) -> dict:
    """The recordings' instruments from exchangeInfo (never derived: a backtest needs the real filters)."""
    from app.cli import UserError
    from feeds.recording_instruments import RecordingInputError, instruments_for_recordings

    try:
        instruments, _ = instruments_for_recordings(paths, exchange_info, derive=False)
    except RecordingInputError as exc:
        raise UserError(str(exc)) from None
    return instruments


def run_backtest(paths: list[Path], instruments: dict, config: Any, clock: Callable[[], float] | None = None,
                 fill_log: Any = None, equity_log: Any = None) -> dict[str, Any]:
    """Read, replay through MarketData and backtest; the summary with feed counters and a "perf" block."""
    (summary,), extra = _replay(paths, instruments, [config], clock, fill_log, equity_log)
    summary.update(extra)
    return summary


def _replay(paths: list[Path], instruments: dict, configs: list, clock: Callable[[], float] | None,
            fill_log: Any = None, equity_log: Any = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One pass of the recordings through the pipeline into a backtest per config (one group):
    (their summaries, {"feed", "messages", "perf"} of the pass). fill_log / equity_log: app.fill_log.FillLog
    and app.equity_log.EquityLog reports that get every fill / equity sample, numbered by config."""
    import time

    from feeds.recording import read_recordings
    from strategies.backtest import Backtest, BacktestGroup

    clock = clock or time.perf_counter
    reader = read_recordings(paths)
    market = backtest_market(instruments)
    group = BacktestGroup([Backtest(instruments, config) for config in configs])
    backtests = group.backtests
    for run, backtest in enumerate(backtests):
        if fill_log is not None:
            backtest.on_activity = fill_log.listener(run, backtest.config.fees)
        if equity_log is not None:
            backtest.portfolio.on_sample = equity_log.listener(run, backtest.portfolio)
    start = clock()
    messages = drive(reader, market, group if len(backtests) > 1 else backtests[0])  # one: no fan-out call
    summaries = [backtest.summary() for backtest in group.backtests]
    wall = clock() - start
    return summaries, {
        "feed": feed_counters(market, reader),
        "messages": messages,
        "perf": perf(messages, group.backtests[0].events, summaries[0]["duration_s"], wall),
    }


# What `drive` hands a backtest is book changes, book status and trades: frames of these streams
# would be decoded only to be dropped (book tickers are half of a recording's lines).
UNUSED_STREAMS = ("bookTicker", "ticker", "miniTicker")


def backtest_market(instruments: dict) -> Any:
    """The pipeline as a backtest uses it: streams it never reads are counted, not decoded."""
    from feeds.pipeline import MarketData

    return MarketData(instruments, skip_streams=UNUSED_STREAMS)


def run_sweep(paths: list[Path], instruments: dict, configs: list, keys: list[str],
              clock: Callable[[], float] | None = None, fill_log: Any = None, equity_log: Any = None) -> dict[str, Any]:
    """Every config over one pass of the recordings: {"sweep", "runs": [summary...], "feed", "messages", "perf"}."""
    runs, extra = _replay(paths, instruments, configs, clock, fill_log, equity_log)
    return {"sweep": {"keys": keys, "combinations": len(runs)}, "runs": runs, **extra}


def drive(messages: Iterable[tuple[int, str, str | None]], market: Any, backtest: Any) -> int:
    """Each message through the pipeline; its market events to the backtest. Returns the message count."""
    from feeds.pipeline import BookChanged, BookStatus
    from orderbook.trades import TradeTick

    on_message = market.on_message
    book = market.book
    on_book = backtest.on_book
    on_trade = backtest.on_trade
    on_status = backtest.on_book_status
    count = 0
    for recv_ns, text, symbol in messages:
        count += 1
        for event in on_message(recv_ns, text, symbol):
            kind = type(event)
            if kind is TradeTick:
                on_trade(event)
            elif kind is BookChanged:
                changed, _, ts_recv, _ = event
                on_book(changed, ts_recv, book(changed), True)
            elif kind is BookStatus:
                on_status(event.symbol, recv_ns, event.synced, event.stale, event.reason)
    return count


def feed_counters(market: Any, reader: Any) -> dict[str, Any]:
    """Deterministic pipeline counters: what was read, dropped and resynced."""
    symbols = {}
    for symbol in market.symbols:
        stats = market.stats(symbol)
        symbols[symbol] = {name: getattr(stats, name) for name in ("messages", "diffs_applied", "gaps", "resyncs", "malformed", "ignored", "crossed", "snapshots")
                           if hasattr(stats, name)}
        symbols[symbol]["synced"] = market.synced(symbol)
    return {
        "lines": reader.lines,
        "malformed_lines": reader.malformed_lines,
        "problems": list(reader.problems),
        "malformed": market.malformed,
        "unrouted": market.unrouted,
        "internal_errors": market.internal_errors,
        "symbols": symbols,
    }


def perf(messages: int, events: int, duration_s: float, wall_s: float) -> dict[str, float]:
    """Wall-time figures: the only part of the summary that differs between identical runs."""
    wall = max(wall_s, 1e-9)
    return {
        "wall_s": wall_s,
        "messages_per_s": messages / wall,
        "events_per_s": events / wall,
        "x_realtime": duration_s / wall,
        "cpu_count": os.cpu_count() or 1,
    }


def format_sweep(result: dict[str, Any]) -> str:
    """One row per combination, in grid order: its swept values, fills, fees, equity per quote asset, risk."""
    keys = result["sweep"]["keys"]
    runs = result["runs"]
    quotes = sorted({quote for run in runs for quote in run["by_quote"]})
    first = runs[0]
    lines = [
        f"backtest {first['config']['strategy']} sweep of {', '.join(keys)}: {len(runs)} combinations, "
        f"seed {first['config']['seed']}, over {data_span(first)}, {result['messages']} messages; "
        f"fees, max dd and sharpe of the portfolio in {first['total']['valuation']}",
        "".join(f"{key:>16}" for key in keys) + f"{'fills':>8}{'maker':>8}{'orders':>8}{'fees':>12}"
        + "".join(f"{'equity ' + quote:>16}" for quote in quotes) + f"{'max dd':>12}{'sharpe':>10}{'+- se':>9}",
    ]
    for run in runs:
        params = run["config"]["params"]
        total = run["total"]
        orders = sum(row.get("orders", 0) for row in run["symbols"].values())
        lines.append(
            "".join(f"{params[key]:>16}" for key in keys)
            + f"{total['fills']:>8}{total['maker_fills']:>8}{orders:>8}{optional(total['fees']):>12}"
            + "".join(f"{run['by_quote'][q]['equity'] if q in run['by_quote'] else 0.0:>16.6g}" for q in quotes)
            + f"{optional(total['max_drawdown']):>12}{sharpe_cells(total)}"
        )
    perf_block = result["perf"]
    lines.append(f"one pass: {perf_block['messages_per_s']:,.0f} messages/s, {perf_block['x_realtime']:,.0f}x real "
                 f"time ({perf_block['wall_s']:.3f} s for all combinations)")
    return "\n".join(lines)


def optional(value: float | None) -> str:
    """A portfolio figure in the valuation asset, or n/a when the total cannot be valued."""
    return "n/a" if value is None else f"{value:.6g}"


def sharpe_cells(total: dict[str, Any]) -> str:
    """The sweep table's sharpe and +- se columns ("n/a" below the minimum sample time)."""
    if total["sharpe"] is None:
        return f"{'n/a':>10}{'':>9}"
    return f"{total['sharpe']:>10.3f}{total['sharpe_se']:>9.0f}"


def data_span(summary: dict[str, Any]) -> str:
    """"612.3 s of data", or with joined recordings "1,530.2 s of data in 3 sessions (gaps left out)"."""
    text = f"{summary['duration_s']:,.1f} s of data"
    sessions = summary.get("sessions", 1)
    return text if sessions <= 1 else f"{text} in {sessions} sessions (the gaps between them left out)"


def format_summary(summary: dict[str, Any]) -> str:
    """A plain-text table per symbol plus the totals and the perf line."""
    config = summary["config"]
    lines = [
        f"backtest {config['strategy']} seed {config['seed']} over {data_span(summary)}, "
        f"{summary['messages']} messages, {summary['events']} market events",
        f"{'symbol':<12}{'fills':>7}{'maker':>7}{'taker':>7}{'position':>14}{'realized':>14}{'unrealized':>14}"
        f"{'fees':>12}{'equity':>14}{'max dd':>12}{'fill %':>8}  quote",
    ]
    for symbol, row in summary["symbols"].items():
        lines.append(
            f"{symbol:<12}{row['fills']:>7}{row['maker_fills']:>7}{row['taker_fills']:>7}{row['qty']:>14.8g}"
            f"{row['realized']:>14.6g}{row['unrealized']:>14.6g}{row['fees']:>12.6g}{row['equity']:>14.6g}"
            f"{row['max_drawdown']:>12.6g}{100 * row['fill_ratio']:>8.2f}  {row['quote_asset']}"
        )
    for quote, row in summary["by_quote"].items():
        lines.append(
            f"{'total ' + quote:<12}{row['fills']:>7}{'':>7}{'':>7}{'':>14}{row['realized']:>14.6g}"
            f"{row['unrealized']:>14.6g}{row['fees']:>12.6g}{row['equity']:>14.6g}{row['max_drawdown']:>12.6g}"
        )
    total = summary["total"]
    valuation = total["valuation"]
    if total["valuation_note"] is not None:
        lines.append(f"portfolio in {valuation}: {total['valuation_note']}")
        return "\n".join(lines + [perf_line(summary["perf"])])
    rates = "".join(f", {quote} at {rate:.8g}" for quote, rate in total["rates"].items())
    lines.append(
        f"{'portfolio':<12}{total['fills']:>7}{'':>7}{'':>7}{'':>14}{total['realized']:>14.6g}"
        f"{total['unrealized']:>14.6g}{total['fees']:>12.6g}{total['equity']:>14.6g}{total['max_drawdown']:>12.6g}"
        f"{'':>8}  {valuation}{' (converted' + rates + ')' if rates else ''}")
    sharpe = (total["sharpe_note"] if total["sharpe"] is None else
              f"{total['sharpe']:.3f} +- {total['sharpe_se']:.0f} over {total['sharpe_seconds']} s")
    lines.append(f"Sharpe (portfolio in {valuation}, {summary['sharpe_definition']}): {sharpe}; "
                 f"max drawdown {total['max_drawdown']:.6g}; turnover {total['turnover']:.6g}")
    lines.append(perf_line(summary["perf"]))
    return "\n".join(lines)


def perf_line(perf_block: dict[str, Any]) -> str:
    return (f"{perf_block['messages_per_s']:,.0f} messages/s, {perf_block['events_per_s']:,.0f} events/s, "
            f"{perf_block['x_realtime']:,.0f}x real time ({perf_block['wall_s']:.3f} s)")
