"""Every Socket.IO event a client can send to a real monitor, with any payload: python-socketio
clients over a real websocket.

Two fuzzers: any event name (the control events, the lifecycle names ``connect``/``disconnect``,
made-up and non-string ones) with any number of arguments drawn from JSON values (and binary);
and parameter changes aimed at every declared range (``Parameters.describe()``): at its ends,
just past them, of the wrong type. For each event:
  - the ack is ``{"ok": bool, ...}``, its error one short line with nothing internal in it;
  - a refused event leaves the settings unchanged (streaming, clients, each strategy's enabled
    flag and parameters, risk limits and pause), as a second, untouched client sees them in the
    next snapshot built after the ack;
  - an accepted one applies only values inside their declared ranges, changes nothing else;
  - the connection stays usable (the clock answers).
After each run the engine is still processing market data, with no fault counted.
"""
from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import fields
from typing import Any

import pytest
import socketio
from hypothesis import assume, given
from hypothesis import strategies as st

from strategies.parameters import Parameters
from strategies.registry import STRATEGIES
from strategies.risk import RiskLimits
from tests.fuzz.conftest import SYMBOLS, fixtures_once
from tests.fuzz.values import aimed_changes, json_leaves, json_values, parameter_sets, texts
from tests.web.raw_http import LEAK_MARKERS

WAIT_S = 10.0
MAX_PACKET_CHARS = 60_000  # under the server's 64 KB message limit, past which it drops the connection
CONTROL_EVENTS = ("stream", "subscribe", "strategy", "risk", "clock")
SETS: dict[str, type[Parameters]] = {**{name: cls.Params for name, cls in STRATEGIES.items()},
                                     "risk_limits": RiskLimits}


class Client:
    """A python-socketio client that keeps the latest snapshot and waits for acks by event."""

    def __init__(self, url: str) -> None:
        self.sio = socketio.Client(reconnection=False)
        self.latest: dict | None = None
        self._snapshot = threading.Condition()
        self.sio.on("snapshot", self._on_snapshot)
        self.sio.connect(url, transports=["websocket"], wait_timeout=WAIT_S)

    def _on_snapshot(self, snapshot: dict) -> None:
        with self._snapshot:
            self.latest = snapshot
            self._snapshot.notify_all()

    def send(self, event: Any, args: list) -> tuple:
        """Emit ``event`` with ``args`` as separate arguments; the ack's arguments, as sent."""
        acked = threading.Event()
        answer: list[tuple] = []
        self.sio.emit(event, tuple(args), callback=lambda *ack: (answer.append(ack), acked.set()))
        assert acked.wait(WAIT_S), f"no ack within {WAIT_S} s for {event!r} {args!r:.300}"
        return answer[0]

    def snapshot_after(self, ms: float) -> dict:
        """The first snapshot the server built after ``ms`` (its wall clock is ours: same host)."""
        with self._snapshot:
            built = self._snapshot.wait_for(lambda: self.latest is not None and self.latest["ts"] > ms, WAIT_S)
            assert built, f"no snapshot built after {ms:.0f} within {WAIT_S} s (streaming stopped?)"
            return self.latest

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()


def settings_view(snapshot: dict) -> dict:
    """What the control panel can change, as a snapshot shows it."""
    return {
        "streaming": snapshot["streaming"],
        "clients": snapshot["health"]["clients"],
        "symbols": {
            symbol: {
                "strategies": {s["name"]: {"enabled": s["enabled"], "params": s["params"]} for s in block["strategies"]},
                "risk_limits": block["risk"]["limits"],
                "paused": block["risk"]["reason"].startswith("paused"),
            }
            for symbol, block in snapshot["strategies"].items()
        },
    }


def out_of_range(view: dict) -> list[str]:
    """Every applied parameter and limit that its declared spec does not admit."""
    bad = []
    for symbol, entry in view["symbols"].items():
        sets = {name: slot["params"] for name, slot in entry["strategies"].items()}
        sets["risk_limits"] = entry["risk_limits"]
        for set_name, values in sets.items():
            for f in fields(SETS[set_name]):
                if not f.metadata["spec"].admits(values.get(f.name)):
                    bad.append(f"{symbol} {set_name}.{f.name} = {values.get(f.name)!r}")
    return bad


def ack_problems(ack: tuple, args: list) -> list[str]:
    """Why ``ack`` is not a proper answer to an event sent with ``args`` (empty when it is)."""
    if len(ack) != 1 or not isinstance(ack[0], dict) or not isinstance(ack[0].get("ok"), bool):
        return [f"not an {{'ok': bool}} ack: {ack!r:.300}"]
    error = ack[0].get("error")
    if ack[0]["ok"]:
        return []
    if not isinstance(error, str) or not error or len(error) > 1000 or "\n" in error:
        return [f"the error is not one short line: {error!r:.300}"]
    sent = repr(args)  # an error may quote the offending value: what was sent is not a leak
    leaked = [m.decode() for m in LEAK_MARKERS if m.decode() in error and m.decode() not in sent]
    return [f"the error leaks {leaked}: {error!r:.300}"] if leaked else []


class ControlSession:
    """The fuzzing client, an untouched observer, and the settings as last seen."""

    def __init__(self, url: str) -> None:
        self.fuzzer = Client(url)
        self.observer = Client(url)
        self.view = settings_view(self.observer.snapshot_after(time.time() * 1000))

    def send(self, event: Any, args: list) -> tuple[dict, dict, dict]:
        """(ack, settings before, settings after) for one event; streaming is on again afterwards."""
        if not self.view["streaming"]:
            self.restart_streaming()
        before = self.view
        ack = self.fuzzer.send(event, args)
        acked_ms = time.time() * 1000
        problems = ack_problems(ack, args)
        assert problems == [], (event, args, problems)
        if ack[0]["ok"] and ack[0].get("streaming") is False:
            self.restart_streaming()  # no snapshot is built while stopped; the ack said it stopped
        else:
            self.view = settings_view(self.observer.snapshot_after(acked_ms))
        clock = self.fuzzer.send("clock", [])  # answered (a rate limit may say wait): the connection is usable
        assert ack_problems(clock, []) == [], clock
        return ack[0], before, self.view

    def restart_streaming(self) -> None:
        assert self.observer.send("stream", [{"action": "start"}])[0]["ok"]
        self.view = settings_view(self.observer.snapshot_after(time.time() * 1000))
        assert self.view["streaming"]

    def close(self) -> None:
        self.fuzzer.close()
        self.observer.close()


def check(ack: dict, before: dict, after: dict) -> None:
    if not ack["ok"]:
        assert after == before, f"refused ({ack['error']}) but the settings changed"
    assert out_of_range(after) == []


def fits(args: list) -> bool:
    return len(json.dumps(args, default=repr)) < MAX_PACKET_CHARS


@pytest.fixture(scope="module")
def session(monitor):
    control = ControlSession(monitor.url)
    yield control
    control.close()


symbols = st.one_of(st.sampled_from(SYMBOLS), st.sampled_from(SYMBOLS).map(str.lower), texts, json_leaves)
changes = st.dictionaries(st.one_of(st.sampled_from(sorted({f.name for cls in SETS.values() for f in fields(cls)})),
                                    texts), json_values, max_size=4)
structured = st.fixed_dictionaries({}, optional={
    "symbol": symbols,
    "symbols": st.lists(symbols, max_size=4),
    "name": st.one_of(st.sampled_from(sorted(STRATEGIES)), texts, json_leaves),
    "action": st.one_of(st.sampled_from(["start", "stop", "pause", "resume", "limits", "START"]), json_leaves),
    "enabled": json_leaves,
    "params": st.one_of(changes, json_values),
    "limits": st.one_of(changes, json_values),
    "reason": json_values,
})
events = st.one_of(st.sampled_from(CONTROL_EVENTS + ("connect", "disconnect", "message", "connect_error", "*", "")),
                   st.text(max_size=20), st.integers(), st.none(), st.lists(st.integers(), max_size=2))
arguments = st.lists(st.one_of(structured, json_values, st.binary(max_size=64)), max_size=3)


@pytest.mark.fuzz
@fixtures_once
@given(event=events, args=arguments)
def test_any_event_with_any_payload_is_acknowledged_and_a_refusal_changes_nothing(session, keeps_processing,
                                                                                  event, args):
    assume(fits(args))
    check(*session.send(event, args))


@st.composite
def aimed_commands(draw) -> tuple[str, dict, str, str, dict, list[str]]:
    """(event, payload, symbol, set name, changes, fields given values outside their range)."""
    sets = parameter_sets()
    set_name = draw(st.sampled_from(sorted(sets)))
    change, refused = draw(aimed_changes(sets[set_name]))
    symbol = draw(st.sampled_from(SYMBOLS))
    if set_name == "risk_limits":
        return "risk", {"symbol": symbol, "action": "limits", "limits": change}, symbol, set_name, change, refused
    payload = {"symbol": symbol, "name": set_name, "params": change}
    if draw(st.booleans()):
        payload["enabled"] = draw(st.booleans())
    return "strategy", payload, symbol, set_name, change, refused


def applied(view: dict, symbol: str, set_name: str) -> dict:
    entry = view["symbols"][symbol]
    return entry["risk_limits"] if set_name == "risk_limits" else entry["strategies"][set_name]["params"]


@pytest.mark.fuzz
@fixtures_once
@given(command=aimed_commands())
def test_parameters_aimed_at_every_range_are_refused_outside_it_and_applied_exactly_inside(session, keeps_processing,
                                                                                           command):
    event, payload, symbol, set_name, change, refused = command
    ack, old, new = session.send(event, [payload])
    check(ack, old, new)
    if refused:
        assert not ack["ok"], f"accepted {payload}: {refused} are outside their ranges"
        assert any(name in ack["error"] for name in refused), ack["error"]
        return
    if not ack["ok"]:
        return  # inside every range, but refused by a rule across fields: the edge working
    was, now = applied(old, symbol, set_name), applied(new, symbol, set_name)
    assert {k: v for k, v in now.items() if k not in change} == {k: v for k, v in was.items() if k not in change}
    for name, value in change.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert now[name] == value and not math.isnan(now[name]), (name, value, now[name])
    others = [s for s in SYMBOLS if s != symbol]
    assert all(new["symbols"][s] == old["symbols"][s] for s in others), "another symbol changed"


# -- what the fuzzers found, kept as plain regression tests ----------------------------------------
@pytest.mark.parametrize("event, args, says", [
    ("nope", [{}], "unknown event 'nope'"),
    ("", [], "unknown event ''"),
    (5, [{}], "unknown event 5"),
    (["stream"], [{"action": "stop"}], "unknown event ['stream']"),
    ("message", ["hello"], "unknown event 'message'"),
    ("strategy", [{"symbol": "BTCUSDT"}, {"name": "market_maker"}], "strategy takes one argument, got 2"),
    ("connect", [{"token": "x"}], "unknown event 'connect'"),
    ("disconnect", ["client disconnect"], "unknown event 'disconnect'"),
])
def test_events_no_handler_takes_are_refused_in_the_ack_and_change_nothing(session, event, args, says):
    ack, before, after = session.send(event, args)
    assert ack["ok"] is False and says in ack["error"]
    assert after == before  # a "disconnect" event no longer drops the sender from the client count


@pytest.mark.parametrize("value", [math.nan, math.inf, 10**400], ids=["nan", "inf", "10**400"])
def test_numbers_orjson_cannot_read_reach_the_checks_and_are_refused(session, value):
    payload = {"symbol": "BTCUSDT", "name": "market_maker", "params": {"spread_bps": value}}
    ack, before, after = session.send("strategy", [payload])
    assert ack["ok"] is False and "spread_bps must be a number" in ack["error"]
    assert after == before


def test_unknown_symbols_are_named_shortened_and_at_most_five_in_the_ack(session):
    ack, before, after = session.send("subscribe", [{"symbols": ["x" * 954]}])
    assert ack["ok"] is False and len(ack["error"]) < 200 and "x" * 100 not in ack["error"], ack  # never echoed
    ack, _, _ = session.send("subscribe", [{"symbols": [f"NOPE{i}" for i in range(40)]}])
    assert ack["ok"] is False and "and 35 more" in ack["error"] and len(ack["error"]) < 200, ack
    assert after == before
