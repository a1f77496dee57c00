"""RecordingWriter and read_recordings: format, rotation, flushing, merging, damaged files."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from feeds.recording import (
    RecordingError,
    RecordingWriter,
    read_recordings,
    recording_name,
    symbol_of_file,
    symbol_of_message,
)

DAY = 86_400 * 10**9
T0 = 1_723_075_200 * 10**9  # 2024-08-08 00:00:00 UTC
TRADE = '{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT"}}'
ETH_DEPTH = '{"stream":"ethusdt@depth@100ms","data":{"e":"depthUpdate","s":"ETHUSDT"}}'
SNAPSHOT = '{"lastUpdateId":5,"bids":[],"asks":[]}'


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def lines_of(path: Path) -> list[str]:
    with gzip.open(path, "rt") as handle:
        return handle.read().splitlines()


def test_names_and_symbols():
    assert recording_name("BTCUSDT", T0 + 5) == "BTCUSDT_20240808.gz"
    assert recording_name("BTCUSDT", T0 - 1) == "BTCUSDT_20240807.gz"
    assert symbol_of_file("/x/btcusdt_20240808.gz") == "BTCUSDT"
    assert symbol_of_file("/x/_ALL_20240808.gz") is None and symbol_of_file("notes.gz") is None
    assert symbol_of_message(TRADE) == "BTCUSDT"
    assert symbol_of_message('{"data":{},"stream":"ethusdt@trade"}') == "ETHUSDT"
    assert symbol_of_message('{"stream":"!serverShutdown","data":{}}') is None
    assert symbol_of_message(SNAPSHOT) is None and symbol_of_message("junk") is None


def test_round_trip_one_file_per_symbol_lines_exactly_as_received(tmp_path):
    clock = Clock(T0)
    with RecordingWriter(tmp_path, clock_ns=clock) as writer:
        writer.write(T0 + 1, TRADE)
        writer.write(T0 + 2, ETH_DEPTH)
        writer.write(T0 + 3, SNAPSHOT, "btcusdt")  # a snapshot goes to its symbol's file
        writer.write(T0 + 4, '{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}')
        writer.write(T0 + 5, '{"lastUpdateId":6,\n"bids":[],"asks":[]}', "ETHUSDT")
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["BTCUSDT_20240808.gz", "ETHUSDT_20240808.gz", "_ALL_20240808.gz"]
    assert lines_of(tmp_path / "BTCUSDT_20240808.gz") == [f"{T0 + 1} {TRADE}", f"{T0 + 3} {SNAPSHOT}"]
    assert lines_of(tmp_path / "ETHUSDT_20240808.gz")[1] == f'{T0 + 5} {{"lastUpdateId":6, "bids":[],"asks":[]}}'
    merged = list(read_recordings(sorted(tmp_path.iterdir())))
    assert [m[0] for m in merged] == [T0 + 1, T0 + 2, T0 + 3, T0 + 4, T0 + 5]
    assert merged[0] == (T0 + 1, TRADE, "BTCUSDT")
    assert merged[2] == (T0 + 3, SNAPSHOT, "BTCUSDT")
    assert merged[3][2] is None  # the _ALL file names no symbol
    assert writer.lines_written == 5


def test_rotates_at_utc_midnight_and_closes_idle_files(tmp_path):
    clock = Clock(T0 + DAY - 10)
    writer = RecordingWriter(tmp_path, clock_ns=clock)
    writer.write(T0 + DAY - 2, TRADE)
    writer.write(T0 + DAY - 1, ETH_DEPTH)
    clock.now = T0 + DAY + 1
    writer.write(T0 + DAY + 1, TRADE)  # BTC's first line of the new day: a new file
    assert {p.name for p in tmp_path.iterdir()} == {"BTCUSDT_20240808.gz", "ETHUSDT_20240808.gz",
                                                  "BTCUSDT_20240809.gz"}
    # ETH's old-day file was closed by the clock passing midnight: it reads back complete
    assert lines_of(tmp_path / "ETHUSDT_20240808.gz") == [f"{T0 + DAY - 1} {ETH_DEPTH}"]
    writer.close()
    assert lines_of(tmp_path / "BTCUSDT_20240808.gz") == [f"{T0 + DAY - 2} {TRADE}"]
    assert lines_of(tmp_path / "BTCUSDT_20240809.gz") == [f"{T0 + DAY + 1} {TRADE}"]


def test_flushes_within_a_second_so_a_crash_loses_at_most_that(tmp_path):
    clock = Clock(T0)
    writer = RecordingWriter(tmp_path, clock_ns=clock)
    writer.write(T0, TRADE)
    path = tmp_path / "BTCUSDT_20240808.gz"
    clock.now = T0 + 500_000_000
    writer.write(T0 + 1, TRADE)
    clock.now = T0 + 1_000_000_000
    writer.poll()  # a second after the last flush: what was written is on disk, readable as is
    reader = read_recordings([path])
    assert [m[0] for m in reader] == [T0, T0 + 1]
    assert reader.problems and "cut short" in reader.problems[0]  # the stream has no end yet: noted
    writer.close()


def test_restarted_writer_appends_to_the_days_file(tmp_path):
    for recv in (T0 + 1, T0 + 2):
        with RecordingWriter(tmp_path, clock_ns=Clock(T0)) as writer:
            writer.write(recv, TRADE)
    assert [m[0] for m in read_recordings([tmp_path / "BTCUSDT_20240808.gz"])] == [T0 + 1, T0 + 2]


def test_reader_counts_malformed_lines_and_survives_a_truncated_file(tmp_path):
    path = tmp_path / "BTCUSDT_20240808.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(f"{T0} {TRADE}\n".encode())
        handle.write(b"no-timestamp here\n")
        handle.write(b"12345\n")
        handle.write(f"{T0 + 1} ".encode() + b"\xff\xfe\n")
        handle.write(f"{T0 + 2} {TRADE}\n".encode())
        handle.write(f"{T0 + 3} {TRADE}".encode())  # last line without its newline
    reader = read_recordings([path])
    assert [m[0] for m in reader] == [T0, T0 + 2]
    assert reader.malformed_lines == 4 and reader.lines == 2
    data = path.read_bytes()
    cut = tmp_path / "ETHUSDT_20240808.gz"
    cut.write_bytes(data[: len(data) - 20])  # a crash mid-write: no gzip trailer
    reader = read_recordings([cut])
    assert list(reader) and any("ends early" in p for p in reader.problems)


def test_merge_is_by_receive_time_across_files(tmp_path):
    a, b = tmp_path / "AAAUSDT_20240808.gz", tmp_path / "BBBUSDT_20240808.gz"
    for path, stamps in ((a, (1, 4, 5)), (b, (2, 3, 6))):
        with gzip.open(path, "wt") as handle:
            for stamp in stamps:
                handle.write(f"{stamp} {{}}\n")
    assert [(m[0], m[2]) for m in read_recordings([a, b])] == [
        (1, "AAAUSDT"), (2, "BBBUSDT"), (3, "BBBUSDT"), (4, "AAAUSDT"), (5, "AAAUSDT"), (6, "BBBUSDT")]


def test_unreadable_inputs_are_one_clear_error(tmp_path):
    with pytest.raises(RecordingError, match="not found"):
        read_recordings([tmp_path / "missing_20240808.gz"])
    plain = tmp_path / "PLAIN_20240808.gz"
    plain.write_text("1 {}\n")
    with pytest.raises(RecordingError, match="not a gzip"):
        read_recordings([plain])
    with pytest.raises(RecordingError, match="directory"):
        read_recordings([tmp_path])
    with pytest.raises(RecordingError, match="no recording"):
        read_recordings([])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RecordingError, match="cannot create"):
        RecordingWriter(blocker / "sub")
    empty = tmp_path / "EMPTY_20240808.gz"
    empty.write_bytes(b"")
    assert list(read_recordings([empty])) == []
