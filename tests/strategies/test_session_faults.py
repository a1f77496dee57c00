"""A strategy that raises is switched off on its symbol; market data, accounting and the others go on."""
from __future__ import annotations

import pytest

from strategies.session import FAULT_CHARS, MAX_FAULTS

from tests.strategies.test_session import MS, T0, Scripted, bid, make_book, make_session, sell_print


def _errors(log):
    return [a for a in log if a.kind == "strategy" and "error" in a.data]


@pytest.mark.parametrize("hook", ["on_book", "on_trade", "on_timer", "state"])
def test_an_error_in_any_hook_switches_only_that_strategy_off_and_cancels_its_orders(hook):
    bad, good = Scripted("bad"), Scripted("good")
    session, log, _ = make_session([bad, good])
    bad.queued = [bid("bad-1", price=9990)]
    good.queued = [bid("good-1", price=9991)]
    session.on_book(T0, make_book())
    assert set(session.matcher.orders) == {"bad-1", "good-1"}
    bad.raise_in.add(hook)
    session.on_book(T0 + MS, make_book())
    session.on_trade(sell_print(10010, 1, T0 + 2 * MS))
    session.on_timer(T0 + 3 * MS)
    snap = session.snapshot()
    assert [s.enabled for s in session.slots] == [False, True]
    assert set(session.matcher.orders) == {"good-1"}  # the faulty strategy's order is cancelled
    (entry,) = _errors(log)
    assert entry.message == f"bad stopped: error in {hook}: ZeroDivisionError: scripted failure in {hook}"
    assert entry.data["hook"] == hook and entry.data["enabled"] is False
    assert snap["strategies"][0]["error"] == f"ZeroDivisionError: scripted failure in {hook}"
    assert snap["strategies"][1]["error"] is None
    (fault,) = session.drain_faults()
    assert (fault.strategy, fault.hook, type(fault.error)) == ("bad", hook, ZeroDivisionError)
    assert fault.error.__traceback__ is not None  # kept for the server-side log
    assert session.drain_faults() == []
    # the good strategy is still called on every event
    assert len(good.seen) >= 3
    good.queued = [bid("good-2", price=9992)]
    session.on_book(T0 + 4 * MS, make_book())
    assert "good-2" in session.matcher.orders


def test_an_error_in_on_fill_keeps_the_fill_booked():
    bad = Scripted("bad")
    session, log, portfolio = make_session([bad])
    bad.queued = [bid("b1", qty=10)]
    session.on_book(T0, make_book())
    bad.raise_in.add("on_fill")
    session.on_trade(sell_print(9990, 1, T0 + MS))  # through our price: fills
    assert portfolio.account("TESTUSDT").position == 10 and bad.fills
    assert [a.kind for a in log if a.kind == "fill"] == ["fill"]
    assert session.slots[0].enabled is False and _errors(log)[0].data["hook"] == "on_fill"


def test_switching_a_faulted_strategy_back_on_clears_its_error_and_calls_it_again():
    bad = Scripted("bad")
    session, log, _ = make_session([bad])
    bad.raise_in.add("on_book")
    session.on_book(T0, make_book())
    assert session.slots[0].fault
    bad.raise_in.clear()
    session.set_enabled("bad", True)
    assert session.slots[0].fault == "" and session.snapshot()["strategies"][0]["error"] is None
    seen = len(bad.seen)
    session.on_book(T0 + MS, make_book())
    assert len(bad.seen) == seen + 1


def test_error_texts_and_the_fault_queue_are_bounded():
    class Loud(Scripted):
        def on_book(self, ctx):
            raise ValueError("x" * 10_000)

    session, log, _ = make_session([Loud("loud")])
    for i in range(MAX_FAULTS + 10):
        session.set_enabled("loud", True)
        session.on_book(T0 + i * MS, make_book())
    assert len(session.slots[0].fault) == FAULT_CHARS and session.slots[0].fault.endswith("...")
    assert len(session.faults) == MAX_FAULTS
    assert all(len(a.message) < FAULT_CHARS + 60 for a in _errors(log))
