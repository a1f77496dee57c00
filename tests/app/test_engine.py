"""The engine driven synchronously by real Binance recordings: books, strategies, commands, snapshot."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.config import MonitorConfig
from app.engine import Engine
from feeds.exchange_info import load_instruments
from feeds.recording import read_recordings

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "binance"
FOLDER = DATA / "2021-08-14"
SYMBOLS = ("FTMUSDT", "XMRBTC")


class ReplayClock:
    """The engine's injected clock follows the recording's receive times."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


# A market maker quoting 3 bps wide: it cannot pay the regular tier's fees, but it trades on these short
# recordings, which tests of what happens to fills need (the live default is 30 bps).
TIGHT = {"market_maker": {"spread_bps": 3.0, "refresh_tolerance_bps": 1.0}}


def build_engine(strategies_enabled=("market_maker",), settings=None, on_settings_changed=None, journal=None,
                 clock=None, strategy_params=None):
    clock = clock or ReplayClock()
    config = MonitorConfig(symbols=SYMBOLS, source="replay", strategies_enabled=strategies_enabled,
                           **({"strategy_params": strategy_params} if strategy_params is not None else {}))
    instruments = load_instruments(FOLDER / "exchangeInfo.json", SYMBOLS)
    engine = Engine(config, instruments, clock_ns=clock, source="replay", settings=settings,
                    on_settings_changed=on_settings_changed, journal=journal)
    engine.streaming = True
    return engine, clock


def recording():
    return iter(read_recordings([FOLDER / f"{s}_20210814.gz" for s in SYMBOLS]))


def replay(engine, clock, limit=None, messages=None):
    """Feed the next ``limit`` messages (all when None) of ``messages`` (a fresh recording when None)."""
    messages = recording() if messages is None else messages
    for count, (recv_ns, text, symbol) in enumerate(messages, 1):
        clock.now = recv_ns
        engine.on_message(recv_ns, text, symbol)
        engine.tick(recv_ns)
        if limit is not None and count >= limit:
            break


def test_recordings_sync_every_book_and_snapshot_carries_every_field():
    engine, clock = build_engine()
    messages = recording()
    replay(engine, clock, limit=400, messages=messages)
    early = engine.publish()
    assert any(a["kind"] == "feed" and "synced" in a["message"] for a in early["activity"])
    replay(engine, clock, messages=messages)
    assert engine.ready()
    snap = engine.publish()
    assert snap["symbols"] == list(SYMBOLS)
    for symbol in SYMBOLS:
        market = snap["markets"][symbol]
        assert market["bid"] < market["ask"]
        assert market["mid"] == pytest.approx((market["bid"] + market["ask"]) / 2)
        assert len(market["depth"]["bids"]) == 20 and len(market["depth"]["asks"]) == 20
        assert market["feed"]["synced"] and market["feed"]["gaps"] == 0
        assert market["feed"]["msgs"] > 100
        strategies = snap["strategies"][symbol]
        assert {"risk", "position", "orders", "fills", "strategies"} <= set(strategies)
        assert strategies["risk"]["state"] == "ACTIVE"
    assert {"realized", "unrealized", "fees", "equity", "sharpe_definition"} <= set(snap["portfolio"])
    json.dumps(snap)  # JSON-safe all the way down


def test_trades_and_activity_are_delivered_once():
    engine, clock = build_engine()
    replay(engine, clock, limit=3000)
    first = engine.publish()
    second = engine.publish()
    assert any(first["markets"][s]["trades"] for s in SYMBOLS)
    assert all(not second["markets"][s]["trades"] for s in SYMBOLS)
    assert first["activity"] and not second["activity"]
    assert engine.snapshot() is second


def test_market_maker_quotes_on_the_live_book():
    engine, clock = build_engine()
    replay(engine, clock)
    snap = engine.publish()
    orders = [o for s in SYMBOLS for o in snap["strategies"][s]["orders"]]
    assert orders, "the enabled market maker keeps quotes"
    for symbol in SYMBOLS:
        market = snap["markets"][symbol]
        for order in snap["strategies"][symbol]["orders"]:
            if order["side"] == "buy":
                assert order["price"] < market["ask"]
            else:
                assert order["price"] > market["bid"]


def test_control_commands_apply_between_events_and_report_errors():
    changes = []
    engine, clock = build_engine(on_settings_changed=changes.append)
    messages = recording()
    replay(engine, clock, limit=350, messages=messages)
    assert engine.sessions["FTMUSDT"].matcher.orders
    ack = engine.command("strategy", {"symbol": "FTMUSDT", "name": "market_maker", "enabled": False})
    assert ack == {"ok": True, "symbol": "FTMUSDT", "name": "market_maker"}
    assert changes[-1]["symbols"]["FTMUSDT"]["strategies"]["market_maker"]["enabled"] is False
    ack = engine.command("strategy", {"symbol": "FTMUSDT", "name": "market_maker", "params": {"levels": 0}})
    assert not ack["ok"] and "levels" in ack["error"]
    assert engine.command("risk", {"symbol": "XMRBTC", "action": "pause"})["state"] == "HALTED"
    assert engine.command("risk", {"symbol": "XMRBTC", "action": "resume"})["state"] == "ACTIVE"
    ack = engine.command("risk", {"symbol": "XMRBTC", "action": "limits", "limits": {"max_open_orders": 3}})
    assert ack["ok"] and changes[-1]["symbols"]["XMRBTC"]["risk_limits"]["max_open_orders"] == 3
    assert engine.command("risk", {"symbol": "NOPE", "action": "pause"})["error"].startswith("risk: unknown symbol")
    assert engine.command("launch", {})["error"] == "unknown command 'launch'"
    assert not engine.command("stream", {"action": "sideways"})["ok"]
    replay(engine, clock, messages=messages)
    snap = engine.publish()
    assert snap["strategies"]["FTMUSDT"]["orders"] == []
    kinds = {(a["symbol"], a["kind"]) for a in snap["activity"]}
    assert ("XMRBTC", "risk") in kinds and ("FTMUSDT", "strategy") in kinds


def test_settings_round_trip_restores_the_control_panel():
    changes = []
    engine, clock = build_engine(on_settings_changed=changes.append)
    engine.command("strategy", {"symbol": "XMRBTC", "name": "liquidity_taker", "enabled": True,
                                "params": {"cooldown_ms": 9000}})
    engine.command("risk", {"symbol": "FTMUSDT", "action": "pause"})
    restored, _ = build_engine(settings=changes[-1])
    settings = restored.settings()
    assert settings["symbols"]["XMRBTC"]["strategies"]["liquidity_taker"] == {
        "enabled": True, "params": changes[-1]["symbols"]["XMRBTC"]["strategies"]["liquidity_taker"]["params"]}
    assert settings["symbols"]["XMRBTC"]["strategies"]["liquidity_taker"]["params"]["cooldown_ms"] == 9000
    assert restored.sessions["FTMUSDT"].risk.state.value == "HALTED"


def test_book_endpoint_data_and_unknown_symbol():
    engine, clock = build_engine()
    replay(engine, clock, limit=1500)
    book = engine.book("ftmusdt", 5)
    assert book["symbol"] == "FTMUSDT" and len(book["bids"]) == 5
    assert float(book["bids"][0][0]) < float(book["asks"][0][0])
    with pytest.raises(KeyError):
        engine.book("DOGEUSDT")


def test_health_is_degraded_until_synced_and_when_stopped():
    engine, clock = build_engine()
    assert engine.health()["status"] == "degraded"
    replay(engine, clock)
    assert engine.health()["status"] == "ok"
    engine.set_streaming(False)
    health = engine.health()
    assert health["status"] == "degraded" and not health["streaming"]
    assert not any(v["synced"] for v in health["symbols"].values())


def test_stopping_a_replay_keeps_the_books_synced():
    """A replay pauses without losing frames: after Stop and Start its books need no snapshot."""
    from app.engine import StreamControl

    engine, clock = build_engine()
    calls = []
    engine.stream_control = StreamControl(lambda: calls.append("resume"), lambda: calls.append("pause"),
                                          lossless=True)
    messages = recording()
    replay(engine, clock, limit=400, messages=messages)
    assert engine.ready()
    assert engine.command("stream", {"action": "stop"}) == {"ok": True, "streaming": False}
    assert engine.ready() and engine.health()["status"] == "degraded"
    assert engine.command("stream", {"action": "start"}) == {"ok": True, "streaming": True}
    replay(engine, clock, messages=messages)
    assert calls == ["pause", "resume"]
    assert engine.health()["status"] == "ok"
    assert all(s["resyncs"] == 0 for s in engine.health()["symbols"].values())
