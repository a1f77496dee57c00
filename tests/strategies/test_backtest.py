"""Backtests over the real Binance recordings: consistent accounting, determinism, the CLI's contract."""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import COMMANDS, UserError
from app.commands import backtest as command
from feeds.pipeline import MarketData
from feeds.recording import read_recordings
from strategies.backtest import Backtest, BacktestConfig
from strategies.fees import FeeSchedule
from strategies.latency import LatencyModel

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "binance"
DAYS = sorted(p for p in DATA.iterdir() if p.is_dir()) if DATA.is_dir() else []
STRATEGIES = ("market_maker", "avellaneda_stoikov", "liquidity_taker")

pytestmark = pytest.mark.skipif(not DAYS, reason=f"no recordings under {DATA}")


def recordings(day: Path) -> list[Path]:
    return sorted(day.glob("*.gz"))


def run(day: Path, config: BacktestConfig) -> tuple[Backtest, dict]:
    paths = recordings(day)
    instruments = command.instruments_for(paths, None)
    market = command.backtest_market(instruments)
    backtest = Backtest(instruments, config)
    command.drive(read_recordings(paths), market, backtest)
    return backtest, backtest.summary()


ACCOUNTING = dict(seed=3, timer_ms=250, fees=FeeSchedule(-1.0, 7.5), latency=LatencyModel.from_ms(2, 2, 1),
                  activity_keep=1_000_000)


def assert_accounting_is_consistent(backtest: Backtest, summary: dict) -> None:
    """cash + position * mark == equity; fees add up fill by fill; positions equal the fills' sum."""
    assert summary["events"] > 0
    fills_by_symbol: dict[str, list] = {}
    for entry in backtest.activity:
        if entry.kind == "fill":
            fills_by_symbol.setdefault(entry.symbol, []).append(entry.data)
    for symbol, row in summary["symbols"].items():
        account = backtest.sessions[symbol].account
        fills = fills_by_symbol.get(symbol, [])
        mark = account.mark_price() or 0.0
        # cash + position * mark == equity, and the average-cost decomposition agrees
        assert row["equity"] == pytest.approx(account.cash() + account.position_qty() * mark, rel=1e-9, abs=1e-12)
        assert row["equity"] == pytest.approx(row["realized"] + row["unrealized"] - row["fees"], rel=1e-6, abs=1e-10)
        # every fill is counted once, fees add up exactly in fill order
        assert row["fills"] == len(fills) == row["maker_fills"] + row["taker_fills"]
        fee_sum = 0.0
        for fill in fills:
            fee_sum += fill["fee"]
        assert row["fees"] == fee_sum
        assert row["fills"] == 0 or row["turnover"] > 0
        assert 0.0 <= row["fill_ratio"] <= 1.0
        assert row["max_drawdown"] >= row["drawdown"] >= 0.0
        position = sum(f["qty"] if f["side"] == "BUY" else -f["qty"] for f in fills)
        assert account.position == position
    total = summary["total"]
    accounts = [s.account for s in backtest.sessions.values()]
    assert total["fills"] == sum(a.fills for a in accounts)
    # money adds up per quote asset, and across them only converted into the valuation asset
    by_quote = summary["by_quote"]
    for quote, row in by_quote.items():
        mine = [a for a in accounts if a.quote_asset == quote]
        assert row["fees"] == pytest.approx(sum(a.fees for a in mine), abs=1e-12)
        assert row["equity"] == pytest.approx(sum(a.equity() for a in mine), abs=1e-12)
    rates = {quote: row["rate"] for quote, row in by_quote.items()}
    if total["valuation_note"] is None:
        expected = sum(row["equity"] * rates[quote] for quote, row in by_quote.items() if row["equity"])
        assert total["equity"] == pytest.approx(expected, abs=1e-12)
    else:  # some non-zero amount has no rate into the valuation asset: no total, and the note says which
        assert total["equity"] is None and total["sharpe"] is None
        assert any(row["equity"] and rates[quote] is None for quote, row in by_quote.items())


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("day", DAYS, ids=[d.name for d in DAYS])
def test_accounting_is_consistent_on_real_recordings(day, strategy):
    backtest, summary = run(day, BacktestConfig(strategy=strategy, **ACCOUNTING))
    assert_accounting_is_consistent(backtest, summary)
    assert summary["duration_s"] > 20


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_accounting_is_consistent_over_the_embedded_exchange(exchange_recording, strategy):
    params = {"spread_bps": "2"} if strategy == "market_maker" else {}
    config = BacktestConfig(strategy=strategy, params=params, **ACCOUNTING)
    instruments = command.instruments_for(exchange_recording, None)
    backtest = Backtest(instruments, config)
    command.drive(read_recordings(exchange_recording), MarketData(instruments), backtest)
    summary = backtest.summary()
    assert_accounting_is_consistent(backtest, summary)
    if strategy == "market_maker":
        assert summary["total"]["fills"] > 0, "a 2 bps quoter trades on an active embedded market"


def test_skipping_unused_streams_changes_no_result(exchange_recording):
    """Book tickers and tickers are counted, not decoded: fills, P&L and activity stay the same."""
    instruments = command.instruments_for(exchange_recording, None)
    config = BacktestConfig(strategy="market_maker", params={"spread_bps": "2"}, seed=5)
    summaries, markets = [], []
    for market in (MarketData(instruments), command.backtest_market(instruments)):
        backtest = Backtest(instruments, config)
        command.drive(read_recordings(exchange_recording), market, backtest)
        summaries.append(backtest.summary())
        markets.append(market)
    full, skipping = summaries
    assert full["total"]["fills"] > 0
    assert full == skipping
    for symbol in instruments:
        every, skipped = markets[0].stats(symbol), markets[1].stats(symbol)
        assert skipped.messages == every.messages and skipped.diffs_applied == every.diffs_applied
        assert skipped.ignored > every.ignored  # the book tickers and tickers


def test_a_sweep_gives_each_combination_what_its_own_run_gives(exchange_recording):
    """One pass, shared books: every member's summary equals the same config run alone."""
    instruments = command.instruments_for(exchange_recording, None)
    keys, grid = command.sweep_grid({"levels": "2"}, ["spread_bps=1,2", "skew_ticks=0,1"])
    assert keys == ["spread_bps", "skew_ticks"]
    assert grid == [{"levels": "2", "spread_bps": a, "skew_ticks": b} for a in ("1", "2") for b in ("0", "1")]
    configs = [BacktestConfig(strategy="market_maker", params=params, seed=9) for params in grid]
    sweep = command.run_sweep(exchange_recording, instruments, configs, keys)
    assert sweep["sweep"] == {"keys": ["spread_bps", "skew_ticks"], "combinations": 4}
    fills = []
    for config, run in zip(configs, sweep["runs"]):
        alone = command.run_backtest(exchange_recording, instruments, config)
        for key in ("perf", "feed", "messages"):
            alone.pop(key)
        assert run == alone
        fills.append(run["total"]["fills"])
    assert min(fills) > 0 and len(set(fills)) > 1  # the combinations trade, and differently
    assert sweep["messages"] == sweep["feed"]["lines"] > 0


@pytest.mark.parametrize(
    ("fixed", "swept", "message"),
    [
        ({"spread_bps": "3"}, ["spread_bps=1,2"], "both --param and --sweep"),
        ({}, ["spread_bps=1,,2"], "comma-separated"),
        ({}, ["spread_bps=1,1"], "repeats"),
        ({}, ["spread_bps"], "key=value"),
        ({}, ["a=" + ",".join(map(str, range(20))), "b=" + ",".join(map(str, range(20)))], "400 combinations"),
    ],
)
def test_bad_sweeps_are_one_clear_line(fixed, swept, message):
    with pytest.raises(UserError, match=message):
        command.sweep_grid(fixed, swept)


def test_the_market_maker_trades_on_real_data():
    """A sanity check that the engine is not inert: quotes rest, get queue positions and fill."""
    fills = 0
    for day in DAYS:
        backtest, summary = run(day, BacktestConfig(strategy="market_maker", seed=1))
        fills += summary["total"]["fills"]
        assert summary["total"]["maker_fills"] == summary["total"]["fills"]  # post-only quotes
        assert sum(row["orders"] for row in summary["symbols"].values()) > 0
    assert fills > 0


def test_same_run_twice_gives_the_same_summary():
    day = DAYS[-1]
    config = BacktestConfig(strategy="avellaneda_stoikov", seed=11, queue_model="probabilistic")
    assert run(day, config)[1] == run(day, config)[1]


def test_run_backtest_puts_wall_time_only_under_perf():
    paths = recordings(DAYS[0])
    instruments = command.instruments_for(paths, None)
    config = BacktestConfig(strategy="liquidity_taker")
    ticks = iter(range(1000))
    first = command.run_backtest(paths, instruments, config, clock=lambda: float(next(ticks)))
    second = command.run_backtest(paths, instruments, config)
    assert set(first["perf"]) == {"wall_s", "messages_per_s", "events_per_s", "x_realtime", "cpu_count"}
    assert first["perf"]["wall_s"] == 1.0
    first.pop("perf"), second.pop("perf")
    assert first == second
    assert first["messages"] == first["feed"]["lines"] > 0
    assert json.loads(json.dumps(first)) == first  # JSON-safe


# -- the command -----------------------------------------------------------------------------
def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_command_prints_json(capsys):
    files = [str(p) for p in recordings(DAYS[-1])]
    assert command.run(parse(*files, "--strategy", "market_maker", "--param", "spread_bps=5", "levels=2",
                             "--risk", "max_position=100000", "--json", "--seed", "4",
                             "--maker-fee-bps", "-0.5", "--queue-model", "trades_only")) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["config"]["params"] == {"spread_bps": "5", "levels": "2"}
    assert summary["config"]["fees"]["maker_bps"] == -0.5
    assert summary["config"]["queue_model"] == "trades_only"
    assert set(summary["symbols"]) == {p.name.split("_")[0] for p in recordings(DAYS[-1])}
    for key in ("fills", "maker_fills", "taker_fills", "realized", "unrealized", "fees", "equity", "max_drawdown",
                "sharpe", "fill_ratio", "turnover"):
        assert key in summary["total"]
    for key in ("events", "duration_s", "perf"):
        assert key in summary


def test_command_prints_a_sweep(capsys):
    files = [str(p) for p in recordings(DAYS[-1])]
    assert command.run(parse(*files, "--strategy", "market_maker", "--sweep", "spread_bps=2,5", "levels=1,2")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "sweep of spread_bps, levels: 4 combinations" in lines[0]
    assert lines[1].split()[:2] == ["spread_bps", "levels"]
    assert [line.split()[:2] for line in lines[2:6]] == [["2", "1"], ["2", "2"], ["5", "1"], ["5", "2"]]
    assert command.run(parse(*files, "--strategy", "market_maker", "--sweep", "spread_bps=2,5", "--json")) == 0
    result = json.loads(capsys.readouterr().out)
    assert [run["config"]["params"] for run in result["runs"]] == [{"spread_bps": "2"}, {"spread_bps": "5"}]


def test_command_prints_a_table(capsys):
    files = [str(p) for p in recordings(DAYS[0])]
    assert command.run(parse(*files, "--strategy", "liquidity_taker")) == 0
    out = capsys.readouterr().out
    assert "backtest liquidity_taker" in out and "x real time" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--param", "spread_bps=-1"], "spread_bps"),
        (["--param", "nonsense=1"], "unknown parameter"),
        (["--param", "novalue"], "key=value"),
        (["--risk", "max_position=-5"], "max_position"),
        ([], "--strategy is required"),
    ],
)
def test_command_bad_parameters_are_one_clear_line(argv, message):
    files = [str(p) for p in recordings(DAYS[0])]
    strategy = [] if message.startswith("--strategy") else ["--strategy", "market_maker"]
    with pytest.raises(UserError, match=message):
        command.run(parse(*files, *strategy, *argv))


def test_command_bad_files_are_one_clear_line(tmp_path):
    with pytest.raises(UserError, match="recording not found"):
        command.run(parse(str(tmp_path / "BTCUSDT_20240101.gz"), "--strategy", "market_maker",
                          "--exchange-info", str(DAYS[0] / "exchangeInfo.json")))
    notes = tmp_path / "notes.gz"
    notes.write_bytes((DAYS[0] / "VETETH_20210417.gz").read_bytes())
    # A file not named <SYMBOL>_<day>.gz: the symbol is read from its streams; filters are still needed.
    with pytest.raises(UserError, match="no exchangeInfo describes VETETH"):
        command.run(parse(str(notes), "--strategy", "market_maker"))
    lonely = tmp_path / "VETETH_20210417.gz"
    lonely.write_bytes((DAYS[0] / "VETETH_20210417.gz").read_bytes())
    with pytest.raises(UserError, match="put an exchangeInfo.json next to the recordings"):
        command.run(parse(str(lonely), "--strategy", "market_maker"))
    with pytest.raises(UserError, match="no exchangeInfo describes VETETH"):
        command.run(parse(str(lonely), "--strategy", "market_maker",
                          "--exchange-info", str(DAYS[1] / "exchangeInfo.json")))


def _cli_available() -> bool:
    return all(importlib.util.find_spec(f"app.commands.{name}") is not None for name in COMMANDS)


@pytest.mark.skipif(not _cli_available(), reason="other subcommands of python -m app are not in the tree yet")
def test_cli_twice_in_fresh_processes_differs_only_in_perf():
    files = [str(p) for p in recordings(DAYS[1])]
    outputs = []
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        done = subprocess.run([sys.executable, "-m", "app", "backtest", *files, "--strategy", "avellaneda_stoikov",
                               "--json", "--seed", "7"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        summary.pop("perf")
        outputs.append(summary)
    assert outputs[0] == outputs[1]


@pytest.mark.skipif(not _cli_available(), reason="other subcommands of python -m app are not in the tree yet")
def test_cli_bad_input_exits_2_with_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "app", "backtest", str(tmp_path / "X_20240101.gz"),
                           "--strategy", "market_maker", "--exchange-info", str(DAYS[0] / "exchangeInfo.json")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "error:" in done.stderr


def test_recordings_of_different_days_are_separate_sessions_not_one_long_one():
    """Joined days: durations, equity samples and Sharpe count only the seconds that had data."""
    alone = []
    for day in DAYS[:2]:
        paths = recordings(day)
        alone.append(command.run_backtest(paths, command.instruments_for(paths, None),
                                          BacktestConfig(strategy="market_maker")))
    paths = recordings(DAYS[0]) + recordings(DAYS[1])
    joined = command.run_backtest(paths, command.instruments_for(paths, None), BacktestConfig(strategy="market_maker"))
    assert [run["sessions"] for run in alone] == [1, 1] and joined["sessions"] == 2
    assert joined["duration_s"] == pytest.approx(sum(run["duration_s"] for run in alone), abs=0.01)
    assert joined["span_s"] > 1_000_000 > joined["duration_s"]  # months apart, minutes of data
    seconds = sum(run["by_quote"]["USDT"]["sharpe_seconds"] for run in alone)
    assert abs(joined["by_quote"]["USDT"]["sharpe_seconds"] - seconds) <= 2
    assert joined["perf"]["x_realtime"] < 1e6
    assert "in 2 sessions (the gaps between them left out)" in command.format_summary(joined)
