"""Recordings: every received message, one gzip text file per symbol per UTC day.

File ``<SYMBOL>_<YYYYMMDD>.gz`` (the UTC day of the receive time), one line per message::

    <recv_ns> <JSON exactly as received>

where the JSON is a combined-stream frame or a bare REST depth snapshot ``{"lastUpdateId":...}``
(whose symbol is the file's). This is hftbacktest's Binance format, so its sample data replays too.
Messages no symbol can be told for (``!serverShutdown``, replies) go to ``_ALL_<YYYYMMDD>.gz``,
and so do messages about a symbol the writer was not told to record: the feed names the symbol
of a frame, and each file holds an open gzip stream (~260 KB of zlib state), so made-up names
must not open files. Told its symbols, a writer keeps at most one open file per symbol, plus one.

The writer flushes at least once a second of its clock (a crash loses at most the last second) and
rotates at UTC midnight. The reader merges files by receive time and counts malformed lines and
truncated files instead of stopping: a recording cut short by a crash still replays.
"""
from __future__ import annotations

import gzip
import heapq
import re
import time
import zlib
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

import orjson

NS_PER_DAY = 86_400 * 1_000_000_000
UNATTRIBUTED = "_ALL"
SYMBOL_CHARS = 20  # longer than any Binance symbol: not a symbol, and not a file name either
FILE_PATTERN = re.compile(r"^([A-Za-z0-9]+)_(\d{8})\.gz$")
_STREAM_PREFIX = '{"stream":"'
_GZIP_MAGIC = b"\x1f\x8b"


class RecordingError(Exception):
    """A recording that cannot be read or written: one clear line."""


def utc_day(recv_ns: int) -> str:
    """'YYYYMMDD' of a receive time (ns since epoch), in UTC."""
    return time.strftime("%Y%m%d", time.gmtime(recv_ns // 1_000_000_000))


def recording_name(symbol: str, recv_ns: int) -> str:
    """File name of ``symbol``'s recording for the UTC day of ``recv_ns``."""
    return f"{symbol}_{utc_day(recv_ns)}.gz"


def symbol_of_file(path: str | Path) -> str | None:
    """'BTCUSDT' from '.../BTCUSDT_20240808.gz' (any case); None when the name does not say."""
    match = FILE_PATTERN.match(Path(path).name)
    return match.group(1).upper() if match else None


def symbol_of_message(text: str) -> str | None:
    """The symbol a combined-stream frame is about ('btcusdt@trade' -> 'BTCUSDT'), else None."""
    if text.startswith(_STREAM_PREFIX):
        end = text.find('"', len(_STREAM_PREFIX))
        if end < 0:
            return None
        stream = text[len(_STREAM_PREFIX):end]
    else:
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
        stream = message.get("stream") if type(message) is dict else None
        if type(stream) is not str:
            return None
    name, at, _ = stream.partition("@")
    if not at or not name or len(name) > SYMBOL_CHARS or not (name.isascii() and name.isalnum()):
        return None  # also what FILE_PATTERN could not read back
    return name.upper()


class RecordingWriter:
    """Appends received messages to per-symbol, per-UTC-day gzip files under ``directory``.

    clock_ns: wall clock (ns) deciding when to flush and when idle files of past days close;
    the day a line belongs to is always that of its own ``recv_ns``. Call ``poll()`` now and then
    when messages may stop (the record command's loop does), so the last second is flushed.
    """

    def __init__(
        self,
        directory: str | Path,
        clock_ns: Callable[[], int] = time.time_ns,
        flush_interval_ns: int = 1_000_000_000,
        compresslevel: int = 6,
        symbols: Iterable[str] | None = None,
    ) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordingError(f"cannot create recording directory {self.directory}: {exc.strerror or exc}") from exc
        self._clock = clock_ns
        self._flush_interval = flush_interval_ns
        self._compresslevel = compresslevel
        # the symbols with files of their own; None: every symbol a message names (tools, tests)
        self._symbols = None if symbols is None else frozenset(s.upper() for s in symbols)
        self._files: dict[str, tuple[int, IO[bytes]]] = {}  # symbol -> (UTC day number, file)
        self._last_flush = clock_ns()
        self._dirty = False
        self.lines_written = 0
        self.paths: list[Path] = []  # every file opened, in order (one per symbol per UTC day)

    def write(self, recv_ns: int, text: str, symbol: str | None = None) -> None:
        """Record one message. ``symbol`` is needed for a bare REST snapshot; frames name theirs."""
        owner = (symbol.upper() if symbol else None) or symbol_of_message(text) or UNATTRIBUTED
        if self._symbols is not None and owner not in self._symbols:
            owner = UNATTRIBUTED
        day = recv_ns // NS_PER_DAY
        entry = self._files.get(owner)
        if entry is None or entry[0] != day:
            if entry is not None:
                entry[1].close()
            entry = (day, self._open(owner, recv_ns))
            self._files[owner] = entry
        if "\n" in text or "\r" in text:
            # Line breaks in JSON are whitespace outside strings (inside them they are escaped).
            text = text.replace("\r", " ").replace("\n", " ")
        entry[1].write(f"{recv_ns} {text}\n".encode())
        self.lines_written += 1
        self._dirty = True
        self.poll()

    def poll(self) -> None:
        """Flush if a flush interval has passed; close files of UTC days that are over."""
        now = self._clock()
        if self._dirty and now - self._last_flush >= self._flush_interval:
            self.flush()
        today = now // NS_PER_DAY
        for owner, (day, handle) in list(self._files.items()):
            if day < today:
                handle.close()
                del self._files[owner]

    def flush(self) -> None:
        """Push everything written so far to the files (a sync flush of each gzip stream)."""
        for _, handle in self._files.values():
            handle.flush()
        self._last_flush = self._clock()
        self._dirty = False

    def close(self) -> None:
        for _, handle in self._files.values():
            handle.close()
        self._files.clear()
        self._dirty = False

    def __enter__(self) -> "RecordingWriter":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _open(self, owner: str, recv_ns: int) -> IO[bytes]:
        path = self.directory / recording_name(owner, recv_ns)
        try:
            # Append: a restarted recorder continues the day's file (gzip allows several members).
            handle = gzip.open(path, "ab", compresslevel=self._compresslevel)
        except OSError as exc:
            raise RecordingError(f"cannot write recording {path}: {exc.strerror or exc}") from exc
        self.paths.append(path)
        return handle


@dataclass
class RecordingReader:
    """Iterates ``(recv_ns, text, symbol)`` over recordings merged by receive time.

    ``symbol`` comes from each file's name (None if the name does not follow the pattern).
    Malformed lines (no timestamp, not UTF-8, cut short) are counted and skipped; a file that ends
    early (a crash mid-write) or is corrupt stops with a problem noted. Opening checks that every
    file exists and is a gzip file, raising RecordingError otherwise.
    """

    paths: list[Path]
    malformed_lines: int = 0
    lines: int = 0
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.paths = [Path(p) for p in self.paths]
        for path in self.paths:
            _check_readable(path)

    def __iter__(self) -> Iterator[tuple[int, str, str | None]]:
        streams = [self._read(path) for path in self.paths]
        if len(streams) == 1:
            return streams[0]
        return heapq.merge(*streams, key=itemgetter(0))

    def _problem(self, message: str) -> None:
        if len(self.problems) < 100:
            self.problems.append(message)

    def _read(self, path: Path) -> Iterator[tuple[int, str, str | None]]:
        symbol = symbol_of_file(path)
        line_no = 0
        try:
            with gzip.open(path, "rb") as handle:
                for raw in handle:
                    line_no += 1
                    if not raw.endswith(b"\n"):
                        self.malformed_lines += 1
                        self._problem(f"{path}:{line_no}: last line cut short")
                        continue
                    stamp, sep, body = raw.rstrip(b"\r\n").partition(b" ")
                    try:
                        recv_ns = int(stamp)
                        text = body.decode("utf-8")
                    except (ValueError, UnicodeDecodeError):
                        recv_ns, text = -1, ""
                    if not sep or recv_ns < 0 or not text:
                        self.malformed_lines += 1
                        self._problem(f"{path}:{line_no}: not '<recv_ns> <json>'")
                        continue
                    self.lines += 1
                    yield recv_ns, text, symbol
        except (EOFError, OSError, zlib.error) as exc:
            # EOFError: the gzip stream has no end (the recorder died): what came before is good.
            reason = "ends early (cut short)" if isinstance(exc, EOFError) else f"is corrupt ({exc})"
            self._problem(f"{path} {reason} after line {line_no}")


def _check_readable(path: Path) -> None:
    try:
        with open(path, "rb") as handle:
            magic = handle.read(2)
    except FileNotFoundError:
        raise RecordingError(f"recording not found: {path}") from None
    except IsADirectoryError:
        raise RecordingError(f"recording is a directory, not a file: {path}") from None
    except OSError as exc:
        raise RecordingError(f"cannot read recording {path}: {exc.strerror or exc}") from None
    if magic and magic != _GZIP_MAGIC:
        raise RecordingError(f"not a gzip recording: {path}")


def read_recordings(paths: Iterable[str | Path]) -> RecordingReader:
    """Recordings merged by receive time: iterate for ``(recv_ns, text, symbol)``."""
    paths = list(paths)
    if not paths:
        raise RecordingError("no recording files given")
    return RecordingReader(paths)
