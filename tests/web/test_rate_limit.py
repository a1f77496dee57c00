"""Per-client event budgets: the token bucket on explicit times, and the gate in front of the
Socket.IO handlers (real engine and app, Flask-SocketIO's test client)."""
from __future__ import annotations

import time

from app.web.rate_limit import BURST, EVENTS_PER_S, TokenBucket


def test_a_bucket_gives_its_burst_then_its_rate():
    bucket = TokenBucket(now=100.0, rate=16.0, burst=40)     # 1/16 s: exact in binary
    assert [bucket.take(100.0) for _ in range(40)] == [0.0] * 40
    assert bucket.take(100.0) == 0.0625                      # one token a sixteenth of a second later
    assert bucket.take(100.0625) == 0.0 and bucket.take(100.0625) == 0.0625
    assert bucket.take(1000.0) == 0.0                      # a long pause refills to the burst, no more
    assert sum(bucket.take(1000.0) == 0.0 for _ in range(100)) == 39


def test_a_client_over_its_budget_is_refused_with_when_to_retry_and_others_are_not(sio):
    flood, calm = sio(), sio()
    started = time.monotonic()
    acks = [flood.emit("clock", {}, callback=True) for _ in range(3 * BURST)]
    elapsed = time.monotonic() - started
    accepted = [ack for ack in acks if ack["ok"]]
    refused = [ack for ack in acks if not ack["ok"]]
    assert BURST <= len(accepted) <= BURST + EVENTS_PER_S * elapsed + 1
    assert refused and all("too many events" in ack["error"] and 1 <= ack["retry_after_ms"] <= 50 for ack in refused)
    # Control events take from the same budget, and a refusal changes nothing.
    ack = flood.emit("stream", {"action": "stop"}, callback=True)
    assert ack["ok"] is False and "too many events" in ack["error"]
    assert calm.emit("clock", {}, callback=True)["ok"] is True, "budgets are per client"
    deadline = time.monotonic() + 5
    while not flood.emit("clock", {}, callback=True)["ok"]:   # the budget refills at its rate
        assert time.monotonic() < deadline
