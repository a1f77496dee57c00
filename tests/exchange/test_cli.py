"""`python -m app exchange`: serves until stopped; bad input is one clear line and exit status 2."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def app(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "exchange", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, fragment", [
    (("--symbols", "FOO"), "unknown symbol FOO"),
    (("--symbols", "BTCUSDT,NOPE1"), "unknown symbol NOPE1"),
    (("--port", "70000"), "port out of range"),
    (("--port", "http"), "not a port number"),
    (("--fault", "explode"), "unknown fault kind"),
    (("--fault", "gap:symbol=ETHUSDT", "--symbols", "BTCUSDT"), "not listed"),
    (("--rate", "0"), "must be positive"),
])
def test_bad_input_is_one_clear_line(args, fragment):
    assert_one_line_error(app(*args), fragment)


def test_port_in_use_is_one_clear_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert_one_line_error(app("--port", str(port)), "already in use")


def test_serves_until_terminated_with_startup_faults():
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "exchange", "--port", "0", "--symbols", "BTCUSDT,PEPEUSDT", "--seed", "3",
         "--fault", "rest_error:count=1,status=503"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        base = f"http://127.0.0.1:{match.group(1)}"
        assert "BTCUSDT,PEPEUSDT" in line and "seed=3" in line
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(base + "/api/v3/ping", timeout=30)
        assert failed.value.code == 503
        with urllib.request.urlopen(base + '/api/v3/exchangeInfo?symbols=["PEPEUSDT"]', timeout=30) as response:
            info = json.load(response)
        assert info["symbols"][0]["symbol"] == "PEPEUSDT"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        process.stdout.close()
        assert "Traceback" not in process.stderr.read()
        process.stderr.close()
