"""`backtest --fills PATH` and `--equity PATH`: CSV reports that agree with the summary, written atomically."""
from __future__ import annotations

import argparse
import csv
import json
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from app.cli import UserError
from app.commands import backtest as command
from app.csv_report import utc_text
from app.fill_log import FILL_COLUMNS, FillLog
from orderbook.instrument import Instrument

REASONS = {"queue_reached", "trade_through", "taker"}


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(list(argv))


def read_fills(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == FILL_COLUMNS
        return list(reader)


def run_with_fills(capsys, recording: list[Path], out: Path, *extra: str, flag: str = "--fills") -> dict:
    argv = [*map(str, recording), "--strategy", "market_maker", "--param", "spread_bps=2", "--seed", "5",
            "--json", flag, str(out), *extra]
    assert command.run(parse(*argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_every_fill_is_a_row_that_agrees_with_the_summary(exchange_recording, tmp_path, capsys):
    out = tmp_path / "fills.csv"
    summary = run_with_fills(capsys, exchange_recording, out)
    rows = read_fills(out)
    assert summary["total"]["fills"] > 0
    assert summary["fills_file"] == {"path": str(out), "rows": len(rows)}
    assert len(rows) == summary["total"]["fills"]
    instruments = command.instruments_for(exchange_recording, None)
    by_symbol: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_symbol[row["symbol"]].append(row)
        assert row["run"] == "0"
        assert row["time"] == utc_text(int(row["ts"]))
        assert row["reason"] in REASONS
        assert (row["liquidity"] == "taker") == (row["reason"] == "taker")
        price, qty = Decimal(row["price"]), Decimal(row["qty"])
        instrument = instruments[row["symbol"]]
        assert price % (Decimal(instrument.tick_units) / 10**8) == 0 and qty > 0
        assert Decimal(row["notional"]) == price * qty  # exact decimals, not floats
        rate = Decimal("10") / 10_000  # the regular tier, maker or taker
        assert Decimal(row["fee"]) == Decimal(row["notional"]) * rate  # the fee exact too, never a float's repr
        assert "e" not in row["fee"].lower()
        if row["reason"] == "trade_through" and row["trade_price"]:  # the print went beyond our price
            beyond = Decimal(row["trade_price"])
            assert beyond < price if row["side"] == "BUY" else beyond > price
        if row["reason"] == "queue_reached":  # a print at our price, and the queue ahead was in it
            assert Decimal(row["trade_qty"]) > Decimal(row["queue_ahead_before"])
    assert [int(r["ts"]) for r in rows] == sorted(int(r["ts"]) for r in rows)
    for symbol, entry in summary["symbols"].items():
        fills = by_symbol.get(symbol, [])
        assert len(fills) == entry["fills"]
        assert Counter(r["liquidity"] for r in fills)["maker"] == entry["maker_fills"]
        assert sum(float(r["fee"]) for r in fills) == pytest.approx(entry["fees"], rel=1e-12, abs=1e-15)
        net = sum(Decimal(r["qty"]) * (1 if r["side"] == "BUY" else -1) for r in fills)
        assert float(net) == pytest.approx(entry["qty"], abs=1e-12)


def test_a_sweep_numbers_its_rows_by_combination(exchange_recording, tmp_path, capsys):
    out, equity = tmp_path / "sweep.csv", tmp_path / "sweep-equity.csv"
    result = run_with_fills(capsys, exchange_recording, out, "--sweep", "levels=1,2", "--equity", str(equity))
    counts = Counter(row["run"] for row in read_fills(out))
    assert {run: counts.get(str(run), 0) for run in range(2)} == {
        run: result["runs"][run]["total"]["fills"] for run in range(2)}
    assert sum(counts.values()) == result["fills_file"]["rows"] > 0
    with equity.open(newline="") as handle:
        samples = Counter(row["run"] for row in csv.DictReader(handle))
    assert samples["0"] == samples["1"] == result["equity_file"]["rows"] // 2 > 0  # one timeline, two runs


def test_the_same_run_writes_the_same_file(exchange_recording, tmp_path, capsys):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    run_with_fills(capsys, exchange_recording, first)
    run_with_fills(capsys, exchange_recording, second)
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("flag", ["--fills", "--equity"])
def test_an_unwritable_path_is_one_clear_line_before_any_replay(exchange_recording, tmp_path, flag):
    files = [str(p) for p in exchange_recording]
    with pytest.raises(UserError, match=f"{flag}: cannot write .*No such file or directory"):
        command.run(parse(*files, "--strategy", "market_maker", flag, str(tmp_path / "missing" / "f.csv")))
    with pytest.raises(UserError, match=f"{flag}: .* is a directory"):
        command.run(parse(*files, "--strategy", "market_maker", flag, str(tmp_path)))
    assert list(tmp_path.iterdir()) == []


def test_the_equity_curve_ends_where_the_summary_does(exchange_recording, tmp_path, capsys):
    out = tmp_path / "equity.csv"
    summary = run_with_fills(capsys, exchange_recording, out, flag="--equity")
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    symbols = sorted(summary["symbols"])
    assert list(rows[0]) == ["run", "end_ns", "end_time", "seconds", "total_USDT", *symbols]
    assert summary["equity_file"] == {"path": str(out), "rows": len(rows)}
    ends = [int(row["end_ns"]) for row in rows]
    assert ends == sorted(set(ends)) and all(end % 10**9 == 0 for end in ends)
    assert all(row["end_time"] == utc_text(int(row["end_ns"])) for row in rows)
    # the same samples the Sharpe is computed from, and the last one is the final equity
    assert sum(int(row["seconds"]) for row in rows) == summary["total"]["sharpe_seconds"]
    last = rows[-1]
    for symbol in symbols:
        assert float(last[symbol]) == pytest.approx(summary["symbols"][symbol]["equity"], abs=1e-12)
    assert float(last["total_USDT"]) == pytest.approx(summary["by_quote"]["USDT"]["equity"], abs=1e-9)
    assert summary["total"]["fills"] > 0 and any(float(row["total_USDT"]) != 0.0 for row in rows)
    peak, drawdown = 0.0, 0.0
    for row in rows:
        equity = float(row["total_USDT"])
        peak = max(peak, equity)
        drawdown = max(drawdown, peak - equity)
    assert drawdown == pytest.approx(summary["total"]["max_drawdown"], abs=1e-9)


def test_a_failed_run_leaves_neither_the_file_nor_its_part(tmp_path):
    instruments = {"BTCUSDT": Instrument("BTCUSDT", "BTC", "USDT", tick_units=1_000_000, step_units=1_000)}
    out = tmp_path / "fills.csv"
    out.write_text("an earlier run's fills\n")
    with pytest.raises(RuntimeError):
        with FillLog(out, instruments):
            raise RuntimeError("the replay failed")
    assert out.read_text() == "an earlier run's fills\n"  # untouched: the new file never replaced it
    assert [p.name for p in tmp_path.iterdir()] == ["fills.csv"]


def test_a_report_may_not_replace_a_recording_or_the_other_report(exchange_recording, tmp_path):
    files = [str(p) for p in exchange_recording]
    before = exchange_recording[0].read_bytes()
    with pytest.raises(UserError, match="is a recording this run reads"):
        command.run(parse(*files, "--strategy", "market_maker", "--fills", files[0]))
    assert exchange_recording[0].read_bytes() == before
    same = str(tmp_path / "report.csv")
    with pytest.raises(UserError, match="--equity .* is the --fills report too"):
        command.run(parse(*files, "--strategy", "market_maker", "--fills", same, "--equity", same))
    assert list(tmp_path.iterdir()) == []
