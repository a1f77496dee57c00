"""The state directory: where a monitor keeps its paper account and its control-panel settings.

Rules:
- The default is per user, so `python -m app serve` finds its account again after a restart:
  ``$XDG_STATE_HOME/binance-monitor`` when XDG_STATE_HOME is set (and absolute, as the XDG spec
  requires), else ``~/.local/state/binance-monitor``. ``serve --state-dir DIR`` moves it,
  ``serve --memory-only`` keeps nothing on disk.
- One monitor owns a directory at a time: ``lock()`` takes an exclusive ``flock`` on
  ``monitor.lock`` (which names the owner's pid) and holds it for the life of the process. The
  kernel drops it when the process ends, however it ends (``kill -9`` included), so a crash never
  leaves a stale lock behind, and a second monitor is refused with one line instead of writing
  the same account beside the first.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

PROJECT_FOLDER = "binance-monitor"
LOCK_NAME = "monitor.lock"
SETTINGS_NAME = "settings.json"
JOURNAL_NAME = "account.sqlite3"


class StateDirError(Exception):
    """The state directory cannot be used (in use by another monitor, not writable): one line."""


def default_state_dir(environ: os._Environ | dict | None = None) -> Path:
    """``$XDG_STATE_HOME/binance-monitor``, else ``~/.local/state/binance-monitor``."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_STATE_HOME", "")
    if not base or not os.path.isabs(base):  # the spec says a relative value is to be ignored
        base = os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / PROJECT_FOLDER


class StateDir:
    """One state directory, locked for this process by ``lock()`` until ``unlock()`` or exit."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None

    @property
    def settings_path(self) -> Path:
        return self.path / SETTINGS_NAME

    @property
    def journal_path(self) -> Path:
        return self.path / JOURNAL_NAME

    def lock(self) -> "StateDir":
        """Create the directory if needed and own it; StateDirError when another monitor does."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StateDirError(f"cannot use state directory {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StateDirError(f"state directory {self.path} is in use by another monitor (pid {owner}); "
                                f"stop it or give this one another --state-dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd
        return self

    def unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock
