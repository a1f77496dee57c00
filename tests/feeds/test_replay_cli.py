"""`python -m app replay` end to end, in a subprocess: summary, TOB CSV, bad input."""
from __future__ import annotations

import csv
import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "binance"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/binance")
FILES = sorted(str(p) for p in DATA.glob("20*/*.gz"))

pytestmark = pytest.mark.skipif(not FILES, reason=f"no recordings under {DATA}")


def replay(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "replay", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def test_replay_all_recordings_prints_summary_and_writes_tob_csv(tmp_path):
    out = tmp_path / "tob.csv"
    result = replay(*FILES, "--speed", "0", "--export-tob", str(out))
    assert result.returncode == 0, result.stderr
    summary = result.stdout
    assert "replay: 18 file(s)" in summary
    adarub = next(line for line in summary.splitlines() if line.startswith("ADARUB "))
    # symbol msgs diffs gaps resyncs malformed synced update_id  best bid  best ask
    fields = adarub.split()
    assert fields[1:8] == ["11", "5", "0", "0", "0", "yes", "1720419"]
    assert "105.92 x 301.56" in adarub and "106.09 x 7.54" in adarub
    with open(out, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["recv_ns", "symbol", "update_id", "bid_price", "bid_qty", "ask_price", "ask_qty"]
    assert len(rows) > 1000
    recv = [int(r[0]) for r in rows[1:]]
    assert recv == sorted(recv)
    last_adarub = [r for r in rows[1:] if r[1] == "ADARUB"][-1]
    assert last_adarub[2:] == ["1720419", "105.92", "301.56", "106.09", "7.54"]
    for row in rows[1:]:
        assert float(row[3]) < float(row[5])  # never crossed


def test_paced_replay_takes_recorded_time_divided_by_speed(tmp_path):
    source = DATA / "2021-04-17" / "ADARUB_20210417.gz"
    stamps = [int(line.split(b" ", 1)[0]) for line in gzip.open(source)]
    span_s = (stamps[-1] - stamps[0]) / 1e9
    result = replay(str(source), "--speed", str(span_s / 0.5))  # ~0.5 s of pacing
    assert result.returncode == 0, result.stderr
    assert "ADARUB" in result.stdout


def test_symbol_without_exchange_info_falls_back_to_recorded_decimals(tmp_path):
    shutil.copy(DATA / "2021-04-17" / "ADARUB_20210417.gz", tmp_path)
    result = replay(str(tmp_path / "ADARUB_20210417.gz"))
    assert result.returncode == 0, result.stderr
    assert "derived from the recorded decimals" in result.stderr
    assert "105.92 x 301.56" in result.stdout
    explicit = replay(str(tmp_path / "ADARUB_20210417.gz"), "--exchange-info",
                      str(DATA / "2021-04-17" / "exchangeInfo.json"))
    assert explicit.returncode == 0 and "derived" not in explicit.stderr


@pytest.mark.parametrize("make_bad, expected", [
    (lambda d: d / "MISSING_20240808.gz", "recording not found"),
    (lambda d: (d / "PLAIN_20240808.gz").write_text("1 {}\n") and d / "PLAIN_20240808.gz", "not a gzip"),
    (lambda d: d, "directory"),
])
def test_bad_file_is_one_line_and_nonzero_exit(tmp_path, make_bad, expected):
    result = replay(str(make_bad(tmp_path)))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.stderr


def test_bad_exchange_info_and_unwritable_csv_are_one_line(tmp_path):
    bad_info = tmp_path / "info.json"
    bad_info.write_text("{not json")
    result = replay(FILES[0], "--exchange-info", str(bad_info))
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert "not JSON" in result.stderr
    result = replay(FILES[0], "--export-tob", str(tmp_path / "no" / "such" / "dir.csv"))
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    result = replay(FILES[0], "--speed", "-1")
    assert result.returncode != 0 and "negative" in result.stderr
