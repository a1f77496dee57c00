"""Control commands and saved settings: refused at the edge with one clear line, and a refusal changes nothing."""
from __future__ import annotations

import json

import pytest

from app.payload import MAX_DEPTH, MAX_ITEMS, MAX_KEYS, MAX_STRING_CHARS, payload_problem

from tests.app.test_engine import SYMBOLS, build_engine, replay

BTC = SYMBOLS[0]

# The payloads that stopped the engine or broke every snapshot before parameters had ranges.
HOSTILE = [
    ("strategy", {"symbol": BTC, "name": "market_maker", "params": {"spread_bps": "inf"}}, "spread_bps"),
    ("strategy", {"symbol": BTC, "name": "market_maker", "params": {"spread_bps": 1e308}}, "spread_bps"),
    ("strategy", {"symbol": BTC, "name": "market_maker", "params": {"refresh_tolerance_bps": "inf"}},
     "refresh_tolerance_bps"),
    ("strategy", {"symbol": BTC, "name": "avellaneda_stoikov", "params": {"gamma": 1e308}}, "gamma"),
    ("strategy", {"symbol": BTC, "name": "avellaneda_stoikov", "params": {"sigma": 1e308}}, "sigma"),
    ("strategy", {"symbol": BTC, "name": "avellaneda_stoikov", "params": {"arrival_halflife_s": "inf"}},
     "arrival_halflife_s"),
    ("strategy", {"symbol": BTC, "name": "market_maker", "params": {"order_lots": 2**64}}, "order_lots"),
    ("strategy", {"symbol": BTC, "name": "market_maker", "params": {"levels": True}}, "levels"),
    ("strategy", {"symbol": BTC, "name": "market_maker", "params": {"max_skew_ticks": 10**20}}, "max_skew_ticks"),
    ("risk", {"symbol": BTC, "action": "limits", "limits": {"max_open_orders": 10**20}}, "max_open_orders"),
    ("risk", {"symbol": BTC, "action": "limits", "limits": {"max_position": 2**64}}, "max_position"),
    ("risk", {"symbol": BTC, "action": "limits", "limits": {"max_notional": float("nan")}}, "max_notional"),
    ("risk", {"symbol": BTC, "action": "limits", "limits": {"max_order_qty": 2**64}}, "max_order_qty"),
]


@pytest.mark.parametrize("name, payload, field", HOSTILE, ids=[h[2] for h in HOSTILE])
def test_hostile_values_are_refused_naming_field_and_range_and_change_nothing(name, payload, field):
    changes = []
    engine, clock = build_engine(on_settings_changed=changes.append)
    replay(engine, clock, limit=300)
    before = engine.settings()
    ack = engine.command(name, payload)
    assert ack["ok"] is False
    assert field in ack["error"] and " must be " in ack["error"] and " in " in ack["error"]
    assert engine.settings() == before and changes == []
    replay(engine, clock, limit=300)  # and the engine goes on
    json.dumps(engine.publish(), allow_nan=False)


def _nested(depth):
    value = 1
    for _ in range(depth):
        value = {"k": value}
    return value


@pytest.mark.parametrize("payload, message", [
    ({"symbol": BTC, "name": "market_maker", "params": _nested(MAX_DEPTH + 1)}, "objects nest at most"),
    ({"symbol": "X" * (MAX_STRING_CHARS + 1), "name": "market_maker"}, "strings of at most"),
    ({"symbol": BTC, "name": "market_maker", "params": {f"p{i}": 1 for i in range(MAX_KEYS + 1)}}, "at most 64 keys"),
    ({"symbol": BTC, "name": ["market_maker"] * (MAX_ITEMS + 1)}, "at most 64 items"),
    ({"symbol": BTC, "name": "market_maker", "params": {"k" * 100: 1}}, "keys are strings of at most"),
])
def test_oversized_or_deeply_nested_payloads_are_refused_before_any_field_is_read(payload, message):
    engine, _ = build_engine()
    before = engine.settings()
    ack = engine.command("strategy", payload)
    assert ack["ok"] is False and message in ack["error"] and len(ack["error"]) < 200
    assert engine.settings() == before


def test_wrong_types_for_the_command_fields_are_clear_errors():
    engine, _ = build_engine()
    assert engine.command("strategy", {"symbol": {"a": 1}, "name": "market_maker"})["error"].startswith(
        "strategy: unknown symbol {'a': 1}; known: ")
    assert engine.command("risk", {"symbol": BTC, "action": "pause", "reason": ["x"]}) == {
        "ok": False, "error": "risk: reason must be a string"}
    assert engine.command("strategy", {"symbol": BTC, "name": "market_maker", "enabled": 1})["error"] == (
        "strategy: enabled must be true or false")
    assert payload_problem([1]) == "the payload must be a JSON object"
    assert payload_problem({"a": {1, 2}}) == "payload.a: set is not a JSON value"


def test_saved_settings_that_no_longer_validate_are_reported_and_left_out():
    engine, _ = build_engine()
    saved = engine.settings()
    mm = saved["symbols"][BTC]["strategies"]["market_maker"]
    mm["params"].update(spread_bps=float("inf"), levels=True, order_lots=2**64, max_order_age_ms=12_000)
    mm["enabled"] = "yes"
    saved["symbols"][BTC]["risk_limits"].update(max_open_orders=10**20, max_orders_per_sec=7.0)
    saved["symbols"][SYMBOLS[1]] = ["not", "an", "object"]
    restored, clock = build_engine(settings=saved)
    params = restored.sessions[BTC].strategy("market_maker").params
    assert params.max_order_age_ms == 12_000  # the valid value applies
    assert (params.spread_bps, params.levels, params.order_lots) == (30.0, 1, 0)  # the poisoned ones do not
    limits = restored.sessions[BTC].risk.limits
    assert limits.max_orders_per_sec == 7.0 and limits.max_open_orders == 50
    ignored = [a.message for a in restored.activity if a.message.startswith("saved setting ignored")]
    assert len(ignored) == 6, ignored
    assert any("spread_bps must be a number in [0, 10000] bps, got inf" in m for m in ignored)
    assert any("enabled must be true or false, got 'yes'" in m for m in ignored)
    replay(restored, clock, limit=3000)
    assert restored.ready()


@pytest.mark.parametrize("settings", [{"symbols": []}, {"symbols": {BTC: {"strategies": []}}}, {"symbols": None},
                                      {"symbols": {BTC: {"risk_limits": "x", "risk_paused": "yes"}}}])
def test_saved_settings_of_the_wrong_shape_never_stop_start_up(settings):
    engine, clock = build_engine(settings=settings)
    assert engine.sessions[BTC].risk.state.value == "ACTIVE"
    replay(engine, clock, limit=3000)
    assert engine.ready()


def test_a_spread_that_cannot_pay_the_fees_is_called_out_and_the_default_clears_them():
    engine, _ = build_engine()
    assert not [a for a in engine.activity if a.data.get("warning") == "spread below fees"]  # 30 bps > 2 x 10
    ack = engine.command("strategy", {"symbol": BTC, "name": "market_maker", "params": {"spread_bps": 3}})
    assert ack["ok"]
    (warning,) = [a for a in engine.activity if a.data.get("warning") == "spread below fees"]
    assert warning.message == ("market_maker quotes 3 bps wide against a 10 bps maker fee each side: "
                               "a round trip costs 20 bps, so it cannot make money")
