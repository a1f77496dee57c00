"""Rooms per symbol set, the orjson wire format, and the timer-driven push loop."""
from __future__ import annotations

import json
import time

import orjson
import pytest

from app.web.audience import ALL_ROOM, Audience, room_name
from app.web.wire import OrjsonModule, OrjsonPacket, encode_json


def test_room_names_are_canonical():
    assert room_name(None) == ALL_ROOM
    assert room_name(frozenset({"ETHUSDT", "BTCUSDT"})) == "symbols:BTCUSDT,ETHUSDT"


def test_clients_share_rooms_by_symbol_set():
    audience = Audience(["BTCUSDT", "ETHUSDT", "SOLUSDT"])
    assert audience.join("a") == ALL_ROOM
    audience.join("b")
    audience.join("c")
    eth = audience.normalise(["ethusdt"])
    assert audience.subscribe("b", eth) == (ALL_ROOM, "symbols:ETHUSDT")
    audience.subscribe("c", audience.normalise(["ETHUSDT"]))
    assert sorted(audience.rooms()) == [(ALL_ROOM, None, 1), ("symbols:ETHUSDT", eth, 2)]
    assert audience.leave("b") == "symbols:ETHUSDT"
    assert audience.leave("b") is None
    audience.leave("c")
    assert audience.rooms() == [(ALL_ROOM, None, 1)]
    assert len(audience) == 1


def test_every_symbol_or_none_means_the_all_room():
    audience = Audience(["BTCUSDT", "ETHUSDT"])
    assert audience.normalise([]) is None
    assert audience.normalise(["ETHUSDT", "BTCUSDT"]) is None
    with pytest.raises(ValueError, match="unknown symbol\\(s\\) XRPUSDT"):
        audience.normalise(["XRPUSDT"])
    with pytest.raises(KeyError):
        audience.subscribe("ghost", None)


def test_packets_are_encoded_with_orjson_and_never_scanned_for_binary():
    snapshot = {"ts": 1, "markets": {"BTCUSDT": {"depth": {"bids": [[100.0, 1.5]]}}}, "note": "é"}
    frame = encode_json(snapshot)
    packet = OrjsonPacket(data=["snapshot", orjson.Fragment(frame)])
    encoded = packet.encode()
    assert encoded.startswith("2[")
    assert json.loads(encoded[1:]) == ["snapshot", snapshot]
    # bytes inside the payload stay inline instead of becoming attachments
    assert OrjsonPacket(data=["x", {"a": 1}]).packet_type == 2
    assert OrjsonModule.loads(OrjsonModule.dumps({"k": [1, 2]}, separators=(",", ":"))) == {"k": [1, 2]}


def test_encoding_a_realistic_snapshot_is_cheap(engine, feeder):
    """The budget: server-side work per push well under a millisecond (performance.md)."""
    for symbol in engine.symbols:
        feeder.sync(symbol)
    snapshot = engine.publish()
    started = time.perf_counter()
    for _ in range(200):
        encode_json(snapshot)
    per_encode = (time.perf_counter() - started) / 200
    assert per_encode < 0.005  # generous: a loaded 2-core machine; typically ~20 µs


def test_push_loop_runs_on_its_timer_and_stops(app, sio, broadcaster):
    client = sio()
    client.get_received()
    broadcaster.start()
    broadcaster.start()  # idempotent
    deadline = time.monotonic() + 10
    seen = []
    while time.monotonic() < deadline and len(seen) < 5:
        seen += [e for e in client.get_received() if e["name"] == "snapshot"]
        time.sleep(0.05)
    broadcaster.stop()
    assert len(seen) >= 5
    seqs = [e["args"][0]["seq"] for e in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    time.sleep(0.5)  # let the loop notice the stop (no event to await for a thread ending)
    client.get_received()
    time.sleep(0.5)
    assert [e for e in client.get_received() if e["name"] == "snapshot"] == []
