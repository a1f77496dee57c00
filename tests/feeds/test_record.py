"""`python -m app record` end to end: a real subprocess recording the in-process embedded exchange;
the files replay through read_recordings + MarketData with zero gaps; bad input is one line."""
from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from feeds.exchange.config import ExchangeConfig
from feeds.exchange.runner import ExchangeThread
from feeds.exchange_info import load_instruments
from feeds.pipeline import MarketData
from feeds.recording import read_recordings, symbol_of_file

ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = ["BTCUSDT", "ETHUSDT"]


def record(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "record", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"})


def replay(directory: Path) -> MarketData:
    """Every recorded line through the live pipeline, in receive order."""
    instruments = load_instruments(directory / "exchangeInfo.json", SYMBOLS)
    market = MarketData(instruments)
    reader = read_recordings(sorted(directory.glob("*.gz")))
    for recv_ns, text, symbol in reader:
        market.on_message(recv_ns, text, symbol)
    assert reader.malformed_lines == 0 and reader.problems == []
    return market


def test_record_sim_writes_files_that_replay_with_zero_gaps(tmp_path):
    out = tmp_path / "rec"
    done = record("--symbols", ",".join(SYMBOLS), "--out", str(out), "--source", "sim", "--duration", "4")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    files = sorted(out.glob("*.gz"))
    assert [symbol_of_file(f) for f in files] == SYMBOLS
    assert (out / "exchangeInfo.json").is_file()
    for path in files:
        with gzip.open(path, "rt") as handle:
            lines = handle.read().splitlines()
        stamps = [int(line.split(" ", 1)[0]) for line in lines]
        assert stamps == sorted(stamps)  # one writer, receive order
        bodies = [orjson.loads(line.split(" ", 1)[1]) for line in lines]
        snapshots = [b for b in bodies if "lastUpdateId" in b]
        frames = [b for b in bodies if "stream" in b]
        assert snapshots and len(snapshots) + len(frames) == len(bodies)
        assert {b["stream"].split("@", 1)[1] for b in frames} >= {"depth@100ms", "bookTicker"}
    market = replay(out)
    for symbol in SYMBOLS:
        stats = market.stats(symbol)
        assert market.synced(symbol), symbol
        assert (stats.gaps, stats.resyncs, stats.malformed) == (0, 0, 0), symbol
        assert stats.diffs_applied > 0
    assert market.counters()["malformed"] == 0 and market.counters()["internal_errors"] == 0
    assert "0 gaps" in done.stdout


def test_interrupt_stops_cleanly_and_keeps_a_readable_recording(tmp_path):
    out = tmp_path / "rec"
    proc = subprocess.Popen([sys.executable, "-m", "app", "record", "--symbols", "BTCUSDT", "--out", str(out),
                             "--source", "sim"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("BTCUSDT_*.gz")):
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() else ""
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "record: " in stdout
    reader = read_recordings(list(out.glob("*.gz")))
    assert sum(1 for _ in reader) > 0 and reader.problems == []


def test_auto_falls_back_to_the_embedded_exchange(tmp_path):
    done = record("--symbols", "BTCUSDT", "--out", str(tmp_path), "--duration", "1")
    assert done.returncode == 0, done.stderr
    assert "recording the embedded exchange instead" in done.stderr
    assert "from sim" in done.stdout and list(tmp_path.glob("BTCUSDT_*.gz"))


def test_binance_source_records_any_binance_compatible_server(tmp_path):
    with ExchangeThread(ExchangeConfig(symbols=tuple(SYMBOLS), seed=9)) as exchange:
        done = record("--symbols", ",".join(SYMBOLS), "--out", str(tmp_path), "--source", "binance",
                      "--api-url", exchange.base_api_url, "--stream-url", exchange.stream_url,
                      "--duration", "2")
    assert done.returncode == 0, done.stderr
    assert f"from binance ({exchange.base_api_url})" in done.stdout
    market = replay(tmp_path)
    assert all(market.synced(s) and market.stats(s).gaps == 0 for s in SYMBOLS)


@pytest.mark.parametrize("args, message", [
    (["--source", "binance"], "cannot record from https://api.binance.com/api: Binance unreachable"),
    (["--source", "sim", "--symbols", "QQQQQQ"], "QQQQQQ"),
    (["--source", "sim", "--out", "__FILE__"], "cannot create recording directory"),
    (["--source", "sim", "--symbols", "btc usdt!"], "argument --symbols"),
], ids=["binance-unreachable", "unknown-symbol", "out-is-a-file", "bad-symbol-list"])
def test_bad_input_ends_with_one_clear_line(tmp_path, args, message):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    args = [str(a_file / "sub") if a == "__FILE__" else a for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "rec")]
    done = record(*args, "--duration", "1")
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], done.stderr
