"""`python -m app serve`: source fallback, replay source, and one clear line for bad input."""
from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from tests.monitor_process import MonitorProcess, run_app

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "binance"


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def wait_for(predicate, url: str, deadline_polls: int = 300):
    """Poll an HTTP endpoint until predicate(body) holds (no event to await over plain HTTP)."""
    import time

    body = None
    for _ in range(deadline_polls):
        body = get_json(url)
        if predicate(body):
            return body
        time.sleep(0.1)
    raise AssertionError(f"condition never held; last: {body}")


def test_auto_falls_back_to_the_embedded_exchange_and_syncs():
    with MonitorProcess(["serve", "--source", "auto", "--port", "0", "--symbols", "BTCUSDT,ETHUSDT"]) as monitor:
        assert any("Binance not reachable" in line for line in monitor.output)
        health = wait_for(lambda h: h["status"] == "ok", monitor.url + "/health")
        assert health["source"] == "sim" and health["streaming"]
        assert set(health["symbols"]) == {"BTCUSDT", "ETHUSDT"}
        for symbol in health["symbols"].values():
            assert symbol["synced"] and symbol["gaps"] == 0 and symbol["msgs"] > 0


def test_replay_source_plays_recordings_into_the_monitor():
    files = sorted(str(p) for p in (DATA / "2021-10-12").glob("*.gz"))
    with MonitorProcess(["serve", "--source", "replay", "--port", "0", "--speed", "0", "--replay", *files]) as monitor:
        health = wait_for(lambda h: all(s["synced"] for s in h["symbols"].values()), monitor.url + "/health")
        assert health["source"] == "replay"
        assert set(health["symbols"]) == {"BLZETH", "LRCBTC", "NKNUSDT", "RUNEEUR"}


def test_port_in_use_is_one_clear_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_app(["serve", "--source", "sim", "--port", str(port)])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")


@pytest.mark.parametrize("args, message", [
    (["serve", "--port", "70000"], "port out of range"),
    (["serve", "--symbols", "BTC-USDT"], "not a symbol name"),
    (["serve", "--strategies", "martingale"], "unknown strategy 'martingale'"),
    (["serve", "--source", "replay"], "--source replay needs --replay FILE"),
    (["serve", "--source", "replay", "--replay", "/nonexistent.gz"], "cannot read recording /nonexistent.gz"),
    (["serve", "--source", "moon"], "invalid choice: 'moon'"),
    (["serve", "--allowed-hosts", "http://monitor.example"], "not a host name: 'http://monitor.example'"),
    (["serve", "--allowed-hosts", "monitor.example:8080"], "without a port"),
    (["serve", "--allowed-origins", "dash.example"], "not an origin: 'dash.example'"),
])
def test_bad_arguments_give_one_line_and_non_zero_exit(args, message):
    result = run_app(args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_environment_variables_set_options():
    import os
    import subprocess
    import sys

    from tests.monitor_process import ROOT

    for name, value, message in (("MONITOR_PORT", "70001", "port out of range"),
                                 ("MONITOR_ALLOWED_HOSTS", "a.example,b/c", "not a host name: 'b/c'")):
        env = {**os.environ, name: value}
        result = subprocess.run([sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 2 and name in result.stderr and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["--port", "70000"], "python -m app serve: argument --port"),            # serve is the default command
    (["--debug", "--port", "70000"], "python -m app serve: argument --port"),
    (["sreve"], "invalid choice: 'sreve'"),                                   # a mistyped command is named
])
def test_serve_is_the_default_command(args, message):
    result = run_app(args)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_serve_record_writes_a_directory_that_replays_exactly(tmp_path):
    """`serve --record DIR`: every frame, plus exchangeInfo.json, so replay and backtest need nothing else."""
    from feeds.pipeline import MarketData
    from feeds.recording import read_recordings
    from feeds.recording_instruments import instruments_for_recordings

    out = tmp_path / "rec"
    with MonitorProcess(["serve", "--source", "sim", "--port", "0", "--symbols", "BTCUSDT,ETHUSDT",
                         "--record", str(out)]) as monitor:
        wait_for(lambda h: h["status"] == "ok" and all(s["msgs"] > 200 for s in h["symbols"].values()),
                 monitor.url + "/health")
    assert monitor.proc.returncode == 0
    files = sorted(out.glob("*USDT_*.gz"))
    assert [f.name.split("_")[0] for f in files] == ["BTCUSDT", "ETHUSDT"]
    instruments, notes = instruments_for_recordings(files, derive=False)  # the real filters were saved
    assert notes == []
    market = MarketData(instruments)
    for recv_ns, text, symbol in read_recordings(files):
        market.on_message(recv_ns, text, symbol)
    for symbol in instruments:
        assert market.synced(symbol)
        stats = market.stats(symbol)
        assert stats.gaps == 0 and stats.malformed == 0 and stats.messages > 200


def test_control_panel_settings_survive_a_restart(tmp_path):
    """--state-dir: what the control panel changed is back after the monitor restarts."""
    import socketio

    args = ["serve", "--source", "sim", "--port", "0", "--symbols", "BTCUSDT,ETHUSDT", "--state-dir", str(tmp_path)]
    with MonitorProcess(args) as monitor:
        client = socketio.Client()
        client.connect(monitor.url, transports=["websocket"], wait_timeout=20)
        try:
            ack = client.call("strategy", {"symbol": "BTCUSDT", "name": "liquidity_taker", "enabled": True,
                                           "params": {"cooldown_ms": 7000}}, timeout=20)
            assert ack["ok"], ack
            assert client.call("risk", {"symbol": "ETHUSDT", "action": "pause"}, timeout=20)["ok"]
            bad = client.call("risk", {"symbol": "ETHUSDT", "action": "limits", "limits": {"max_open_orders": -1}},
                              timeout=20)
            assert not bad["ok"] and "max_open_orders" in bad["error"]
        finally:
            client.disconnect()
    with MonitorProcess(args) as monitor:
        state = wait_for(lambda s: s["strategies"]["ETHUSDT"]["risk"]["state"] == "HALTED", monitor.url + "/api/state")
        taker = next(s for s in state["strategies"]["BTCUSDT"]["strategies"] if s["name"] == "liquidity_taker")
        assert taker["enabled"] and taker["params"]["cooldown_ms"] == 7000


def test_token_problems_are_one_clear_line_that_never_shows_the_token(tmp_path):
    short = tmp_path / "short"
    short.write_text("tiny-secret\n")
    long_enough = "a-long-enough-token-0123456789"
    cases = [
        ({"MONITOR_TOKEN": "short-token"}, [], "MONITOR_TOKEN: the token is shorter than 16 characters"),
        ({"MONITOR_TOKEN": "has a space 0123456789"}, [], "printable ASCII without spaces"),
        ({"MONITOR_TOKEN": " "}, [], "MONITOR_TOKEN is empty"),
        ({"MONITOR_TOKEN": long_enough}, ["--token-file", str(short)], "in MONITOR_TOKEN or --token-file, not both"),
        ({}, ["--token-file", str(tmp_path / "missing")], f"cannot read --token-file {tmp_path / 'missing'}"),
        ({}, ["--token-file", str(short)], "shorter than 16 characters"),
    ]
    for env, args, message in cases:
        result = run_app(["serve", "--source", "sim", "--port", "0", *args], env=env)
        assert result.returncode == 2, (env, args, result.stderr)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
        for secret in ("short-token", "has a space", long_enough, "tiny-secret"):
            assert secret not in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_second_monitor_on_a_taken_port_is_refused_with_one_line():
    port = free_port()
    with MonitorProcess(["serve", "--source", "sim", "--port", str(port), "--symbols", "BTCUSDT"]) as first:
        assert first.port == port
        second = run_app(["serve", "--source", "sim", "--port", str(port), "--symbols", "BTCUSDT"], timeout_s=30)
        assert second.returncode == 2
        assert second.stderr.strip().splitlines() == [
            f"error: cannot listen on 127.0.0.1:{port}: Address already in use"]
        assert get_json(first.url + "/health")["source"] == "sim", "the first one keeps serving"


def test_a_non_loopback_host_without_a_token_refuses_to_start():
    result = run_app(["serve", "--source", "sim", "--host", "0.0.0.0", "--port", "0"])
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "--host 0.0.0.0 is reachable from other machines" in result.stderr
    assert "MONITOR_TOKEN" in result.stderr and "--allow-unauthenticated" in result.stderr


@pytest.mark.parametrize("extra, env", [(["--allow-unauthenticated"], {}),
                                        ([], {"MONITOR_TOKEN": "a-long-enough-token-0123456789"})])
def test_a_non_loopback_host_starts_with_a_token_or_the_explicit_flag(extra, env):
    args = ["serve", "--source", "sim", "--host", "0.0.0.0", "--port", "0", "--symbols", "BTCUSDT", *extra]
    with MonitorProcess(args, env=env) as monitor:
        assert get_json(f"http://127.0.0.1:{monitor.port}/health")["source"] == "sim"
