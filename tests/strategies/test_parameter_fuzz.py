"""Any in-range parameter set runs: no built-in strategy raises, and its state stays JSON-encodable.

Ranges are the promise that refusal at the edge is enough: if a value inside them could still make a
strategy raise, the range is wrong. Hypothesis draws whole parameter sets from the declared specs
(extremes included) and runs each strategy in a real session over a random market.
"""
from __future__ import annotations

from dataclasses import fields

import numpy as np
import orjson
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from orderbook.book import OrderBook
from orderbook.trades import TradeTick
from strategies.activity import ActivityLog
from strategies.fees import FeeSchedule
from strategies.latency import LatencyModel
from strategies.matching import PaperMatcher
from strategies.parameters import ParameterError, Parameters, Spec
from strategies.portfolio import Portfolio
from strategies.registry import STRATEGIES, create_strategy
from strategies.risk import RiskLimits, RiskManager
from strategies.session import SymbolSession

from tests.strategies.btc_book import ASK, BID, INST

MS = 1_000_000
T0 = 1_700_000_000_000_000_000


def values_for(spec: Spec) -> st.SearchStrategy:
    if spec.kind is bool:
        return st.booleans()
    if spec.kind is str:
        return st.sampled_from(spec.choices)
    if spec.kind is int:
        return st.integers(int(spec.lo), int(spec.hi))
    return st.floats(spec.lo, spec.hi, allow_nan=False, allow_infinity=False, exclude_min=spec.lo_open)


def parameter_sets(cls: type[Parameters]) -> st.SearchStrategy:
    """Whole sets: each field either its default or any value of its range (extremes are likely)."""
    chosen = {f.name: st.one_of(st.just(f.default), values_for(f.metadata["spec"])) for f in fields(cls)}
    return st.fixed_dictionaries(chosen)


def run_market(session: SymbolSession, rng: np.random.Generator, events: int) -> None:
    bid, now, trade_id = BID, T0, 0
    for _ in range(events):
        now += int(rng.integers(1, 400)) * MS
        kind = rng.random()
        if kind < 0.6:
            bid += int(rng.integers(-3, 4))
            spread = int(rng.integers(1, 4))
            book = OrderBook(INST)
            book.load(1, [(bid - i, int(rng.integers(1, 900))) for i in range(5)],
                      [(bid + spread + i, int(rng.integers(1, 900))) for i in range(5)])
            session.on_book(now, book, bool(rng.random() > 0.02))
        elif kind < 0.9:
            trade_id += 1
            sell = bool(rng.random() < 0.5)
            price = bid - int(rng.integers(0, 3)) if sell else bid + int(rng.integers(1, 4))
            session.on_trade(TradeTick(INST.symbol, trade_id, price, int(rng.integers(1, 3000)), sell, now, now))
        else:
            session.on_timer(now)


@pytest.mark.fuzz
@given(data=st.data())
def test_every_in_range_parameter_set_runs_without_raising(data):
    name = data.draw(st.sampled_from(sorted(STRATEGIES)), label="strategy")
    cls = STRATEGIES[name].Params
    values = data.draw(parameter_sets(cls), label="params")
    try:
        params = cls.from_mapping(values)
    except ParameterError:
        assume(False)  # a cross-field rule refused the set: that refusal is the edge working
    limits = RiskLimits.from_mapping(data.draw(parameter_sets(RiskLimits), label="limits"))
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    log = ActivityLog(100)
    session = SymbolSession(INST, [create_strategy(name, INST, params, seed=seed)], RiskManager(INST, limits),
                            PaperMatcher(INST, fees=FeeSchedule(1.0, 1.0), latency=LatencyModel(MS, MS, MS)),
                            Portfolio([INST]), log.append)
    run_market(session, np.random.default_rng(seed), 150)
    snapshot = session.snapshot()
    faults = session.drain_faults()
    assert faults == [], f"{name} raised {faults[0].error!r} in {faults[0].hook} with {params}"
    orjson.dumps(snapshot, option=orjson.OPT_SERIALIZE_NUMPY)
