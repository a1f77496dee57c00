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

    Waits (by reading its output, not sleeping) for the line naming the bound port. ``module``
    is what ``python -m`` runs: the app, or a test server that prints the same line.
    """

    def __init__(self, args: list[str], timeout_s: float = 60.0, env: dict | None = None,
                 module: str = "app") -> None:
        self.args = args
        self.module = module
        self.timeout_s = timeout_s
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.output: list[str] = []
        self.port = 0
        self.url = ""
        self._ready = threading.Event()
        self._new_line = threading.Condition()

    def __enter__(self) -> "MonitorProcess":
        self.proc = subprocess.Popen(
            [sys.executable, "-W", "ignore", "-m", self.module, *self.args], cwd=ROOT, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(self.timeout_s) or not self.port:
            self.__exit__(None, None, None)
            raise RuntimeError(f"`python -m {self.module} {' '.join(self.args)}` did not start:\n" + "".join(self.output))
        return self

    def _read(self) -> None:
        assert self.proc and self.proc.stdout
        for line in self.proc.stdout:
            with self._new_line:
                self.output.append(line)
                self._new_line.notify_all()
            match = _LISTENING.search(line)
            if match and not self.port:
                self.port = int(match.group(2))
                self.url = f"http://{match.group(1)}:{self.port}"
                self._ready.set()
        self._ready.set()  # exited: wake the waiter

    def wait_for_output(self, text: str, since: int = 0, timeout_s: float = 30.0) -> str:
        """The output from line ``since`` on, once it contains ``text`` (AssertionError at the deadline)."""
        with self._new_line:
            if not self._new_line.wait_for(lambda: text in "".join(self.output[since:]), timeout_s):
                raise AssertionError(f"{text!r} never appeared in the output:\n" + "".join(self.output[-20:]))
            return "".join(self.output[since:])

    def __exit__(self, *exc_info: object) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def run_app(args: list[str], timeout_s: float = 60.0, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m app ...` to completion (``env`` adds to this process's environment)."""
    return subprocess.run([sys.executable, "-W", "ignore", "-m", "app", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout_s, env={**os.environ, **(env or {})})
