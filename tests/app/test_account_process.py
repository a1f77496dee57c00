"""The durable paper account with real monitor processes: kill -9 and restart, a state directory
already in use, an unreadable account, where the account lives by default, memory-only."""
from __future__ import annotations

import json
import sqlite3
import urllib.request
from decimal import Decimal

from app.state_dir import JOURNAL_NAME, PROJECT_FOLDER
from tests.monitor_process import MonitorProcess, run_app
from tests.web.live import LiveMonitor

SYMBOLS = "BTCUSDT,ETHUSDT"
# Quotes at the touch, two levels, and a taker on BTC: fills within seconds on a lively market.
BUSY_SETTINGS = {"symbols": {
    "BTCUSDT": {"strategies": {"market_maker": {"enabled": True, "params": {"spread_ticks": 1, "levels": 2}},
                               "liquidity_taker": {"enabled": True}}},
    "ETHUSDT": {"strategies": {"market_maker": {"enabled": True, "params": {"spread_ticks": 1, "levels": 2}}}},
}}
TRADING = ("--rate", "10")


def post_json(url: str) -> dict:
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def signed_sum(fills: list[dict], symbol: str) -> Decimal:
    return sum((Decimal(f["qty"]) if f["side"] == "BUY" else -Decimal(f["qty"]) for f in fills if f["symbol"] == symbol),
               Decimal(0))


def test_every_reported_fill_survives_kill_9_and_positions_are_the_signed_sum_of_the_fills(tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps(BUSY_SETTINGS))
    args = ("--state-dir", str(tmp_path), *TRADING)
    with LiveMonitor(SYMBOLS, extra=args) as live:
        live.wait_until(lambda: len(live.get("/api/fills?limit=5000")[1]["fills"]) >= 20, "20 fills", timeout_s=90)
        reported = live.get("/api/fills?limit=5000")[1]["fills"]
        live.kill()
    assert live.proc.returncode == -9

    with LiveMonitor(SYMBOLS, extra=args) as live:
        post_json(live.url + "/api/stream/stop")  # no more trading: fills and account read the same state
        after = live.get("/api/fills?limit=5000")[1]["fills"]
        account = live.get("/api/account")[1]
        state = live.get("/api/state")[1]
    by_id = {fill["id"]: fill for fill in after}
    assert [by_id.get(fill["id"]) for fill in reported] == reported  # same id, ts, price, qty, fee, all of them
    for symbol in SYMBOLS.split(","):
        assert Decimal(account["positions"][symbol]["qty"]) == signed_sum(after, symbol)
    assert any(signed_sum(after, symbol) for symbol in SYMBOLS.split(","))  # a position was carried over

    # orders open at the kill were cancelled at start-up, each with an activity entry
    with sqlite3.connect(tmp_path / JOURNAL_NAME) as conn:
        orphans = conn.execute("SELECT symbol, client_id FROM orders WHERE run = 1 AND reason = ?",
                               ("open when the monitor stopped",)).fetchall()
        still_open = conn.execute("SELECT COUNT(*) FROM orders WHERE run = 1 AND status = 'OPEN'").fetchone()[0]
        entries = conn.execute("SELECT symbol, message FROM activity WHERE run = 2 AND kind = 'cancel' "
                               "AND message LIKE '%at start-up%'").fetchall()
    assert orphans and still_open == 0
    assert sorted((s, m.split()[1]) for s, m in entries) == sorted(orphans)
    assert any("at start-up" in entry["message"] for entry in state["activity"])


def test_a_second_monitor_on_the_same_state_directory_stops_with_one_line(tmp_path):
    with MonitorProcess(["serve", "--source", "sim", "--port", "0", "--symbols", "BTCUSDT",
                         "--state-dir", str(tmp_path)]) as first:
        result = run_app(["serve", "--source", "sim", "--port", "0", "--symbols", "BTCUSDT",
                          "--state-dir", str(tmp_path)])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: state directory {tmp_path} is in use by another monitor (pid {first.proc.pid}); "
        "stop it or give this one another --state-dir"]


def test_an_unreadable_account_stops_start_up_with_one_line_and_stays_as_it_was(tmp_path):
    journal = tmp_path / JOURNAL_NAME
    journal.write_bytes(b"not a database, but somebody's account\n" * 100)
    result = run_app(["serve", "--source", "sim", "--port", "0", "--symbols", "BTCUSDT", "--state-dir", str(tmp_path)])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: the account journal {journal} is unreadable (file is not a database); it was left as it is: "
        "move it aside to start a new account, or give another --state-dir"]
    assert journal.read_bytes() == b"not a database, but somebody's account\n" * 100


def test_the_account_lives_in_the_per_user_state_folder_unless_memory_only(tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path / "home-state")}
    with MonitorProcess(["serve", "--source", "sim", "--port", "0", "--symbols", "BTCUSDT"], env=env) as monitor:
        assert json.loads(urllib.request.urlopen(monitor.url + "/api/fills", timeout=10).read()) == {"fills": []}
    journal = tmp_path / "home-state" / PROJECT_FOLDER / JOURNAL_NAME
    with sqlite3.connect(journal) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)

    env = {"XDG_STATE_HOME": str(tmp_path / "nothing-here")}
    with MonitorProcess(["serve", "--source", "sim", "--port", "0", "--symbols", "BTCUSDT", "--memory-only"],
                        env=env) as monitor:
        assert json.loads(urllib.request.urlopen(monitor.url + "/api/account", timeout=10).read())["epoch"] == 1
    assert not (tmp_path / "nothing-here").exists()
    both = run_app(["serve", "--memory-only", "--state-dir", str(tmp_path)])
    assert both.returncode == 2 and both.stderr.strip() == "error: --memory-only and --state-dir exclude each other"
