"""A CSV report of a run (`backtest --fills`, `--equity`), written so that a failure never leaves a
half-written file under the name asked for: rows go to a hidden file beside it, which replaces it
only when the run ends well."""
from __future__ import annotations

import csv
import os
import tempfile
import time
from pathlib import Path
from typing import Iterable


def utc_text(ts_ns: int) -> str:
    """ns since the epoch -> '2024-08-08T12:00:00.123456789Z' (no precision lost to floats)."""
    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


class CsvReportError(OSError):
    """The report cannot be written where it was asked for."""


class CsvReport:
    """Context manager: ``write`` rows; the file appears at ``path`` on a clean exit, and nothing does otherwise.
    Subclasses name the summary key that reports the file (``summary_key``) and what a row is (``row_noun``)."""

    summary_key = "report_file"
    row_noun = "rows"

    def __init__(self, path: Path, header: Iterable[str]) -> None:
        self.path = Path(path)
        self.rows = 0
        if self.path.is_dir():
            raise CsvReportError(f"{self.path} is a directory; give a file name")
        try:
            handle, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent)
            os.chmod(temp, 0o644)  # mkstemp's 0600 is for secrets; this is a report
        except OSError as exc:
            raise CsvReportError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self._temp = Path(temp)
        self._file = os.fdopen(handle, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(header)

    def write(self, row: list) -> None:
        self._writer.writerow(row)
        self.rows += 1

    def __enter__(self) -> "CsvReport":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                self._file.flush()
                os.fsync(self._file.fileno())  # the rename must not land before the rows do
        finally:
            self._file.close()
        if kind is None:
            os.replace(self._temp, self.path)
        else:
            self._temp.unlink(missing_ok=True)
