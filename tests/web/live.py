"""A real monitor process for integration and browser tests: ``python -m app serve --source sim``
on a free port (embedded exchange, eventlet, the real page), ready once every book is synced."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from tests.monitor_process import MonitorProcess

START_TIMEOUT_S = 90.0


class LiveMonitor(MonitorProcess):
    """``with LiveMonitor("BTCUSDT,ETHUSDT") as live: live.get("/health")``."""

    def __init__(self, symbols: str = "BTCUSDT,ETHUSDT", extra: tuple[str, ...] = (), env: dict | None = None) -> None:
        super().__init__(["serve", "--source", "sim", "--port", "0", "--symbols", symbols, *extra],
                         timeout_s=START_TIMEOUT_S, env=env)
        self.symbols = symbols.split(",")

    def __enter__(self) -> "LiveMonitor":
        super().__enter__()
        try:
            self.wait_until(lambda: self.get("/ready")[0] == 200, "books synced (/ready)")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def get(self, path: str, method: str = "GET", headers: dict | None = None,
            body: bytes | None = None) -> tuple[int, dict | str]:
        """(status, JSON body or text); status 0 when the server cannot be reached."""
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read().decode()
        except OSError:
            return 0, ""
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    def post(self, path: str, headers: dict | None = None) -> tuple[int, dict | str]:
        """A state-changing request as scripts send it: a JSON body, no Origin."""
        return self.get(path, "POST", {"Content-Type": "application/json", **(headers or {})}, b"{}")

    def wait_until(self, condition, what: str, timeout_s: float = START_TIMEOUT_S) -> None:
        """Poll ``condition`` (there is no event to wait on across processes) until the deadline."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"monitor exited ({self.proc.returncode}):\n" + "".join(self.output[-20:]))
            if condition():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")
