"""Start a real `python -m app ...` process for tests and wait for it to say where it listens."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_LISTENING = re.compile(r"(?:monitor|exchange)[^\n]*?https?://([\d.]+):(\d+)")


class MonitorProcess:
    """``with MonitorProcess(["serve", "--source", "sim", "--port", "0"]) as proc: proc.url``.

    Waits (by reading its output, not sleeping) for the line naming the bound port.
    """

    def __init__(self, args: list[str], timeout_s: float = 60.0, env: dict | None = None) -> None:
        self.args = args
        self.timeout_s = timeout_s
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.output: list[str] = []
        self.port = 0
        self.url = ""
        self._ready = threading.Event()

    def __enter__(self) -> "MonitorProcess":
        self.proc = subprocess.Popen(
            [sys.executable, "-W", "ignore", "-m", "app", *self.args], cwd=ROOT, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(self.timeout_s) or not self.port:
            self.__exit__(None, None, None)
            raise RuntimeError(f"`python -m app {' '.join(self.args)}` did not start:\n" + "".join(self.output))
        return self

    def _read(self) -> None:
        assert self.proc and self.proc.stdout
        for line in self.proc.stdout:
            self.output.append(line)
            match = _LISTENING.search(line)
            if match and not self.port:
                self.port = int(match.group(2))
                self.url = f"http://{match.group(1)}:{self.port}"
                self._ready.set()
        self._ready.set()  # exited: wake the waiter

    def __exit__(self, *exc_info: object) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def run_app(args: list[str], timeout_s: float = 60.0) -> subprocess.CompletedProcess:
    """Run `python -m app ...` to completion."""
    return subprocess.run([sys.executable, "-W", "ignore", "-m", "app", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout_s)
