"""Fixtures shared by the strategy tests."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def exchange_recording(tmp_path_factory) -> list[Path]:
    """Frames recorded over real sockets from the embedded exchange by `python -m app record`."""
    from tests.monitor_process import run_app

    out = tmp_path_factory.mktemp("exchange-recording")
    result = run_app(["record", "--source", "sim", "--symbols", "BTCUSDT,ETHUSDT,SOLUSDT", "--out", str(out),
                      "--duration", "12", "--seed", "5", "--rate", "3"], timeout_s=120)
    assert result.returncode == 0, result.stderr
    return sorted(out.glob("*USDT_*.gz"))
