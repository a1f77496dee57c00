"""The market model alone (no sockets): determinism, id chains, book invariants, consistency."""
from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from feeds.exchange.catalog import Catalog
from feeds.exchange.drivers import FairValues
from feeds.exchange.events import AggTradePrint, DepthDiff, DepthTop, TickerEvent, TopOfBook, TradePrint
from feeds.exchange.l3book import ASK, BID, L3Book
from feeds.exchange.market import FlowParams, MarketModel
from tests.exchange.conftest import apply_depth_diff

EPOCH = 1_767_225_600_000 * 1_000_000
SECOND = 1_000_000_000
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT"]


def make(seed: int = 5, rate: float = 2.0, symbols=SYMBOLS) -> MarketModel:
    return MarketModel(Catalog(symbols), seed=seed, rate=rate, epoch_ns=EPOCH)


@pytest.fixture(scope="module")
def run20():
    """One model, 20 virtual seconds, with every event and the book at the start."""
    model = make()
    starts = {s: model.book_snapshot(s) for s in SYMBOLS}
    events = []
    for k in range(1, 201):
        events.extend(model.advance_to(EPOCH + k * SECOND // 10))
    return model, starts, events


def test_same_seed_same_market_whatever_the_pacing():
    a, b = make(seed=9), make(seed=9)
    events_a = a.advance_to(EPOCH + 3 * SECOND)
    events_b = []
    t = EPOCH
    for step in [1, 7_000_000, 33_333_333, 250_000_000, 3, 999_999_999] * 3:
        t = min(t + step, EPOCH + 3 * SECOND)
        events_b.extend(b.advance_to(t))
    events_b.extend(b.advance_to(EPOCH + 3 * SECOND))
    assert len(events_a) > 500
    assert events_a == events_b
    assert a.book_snapshot("BTCUSDT") == b.book_snapshot("BTCUSDT")


def test_different_seed_different_market():
    a, b = make(seed=1), make(seed=2)
    assert a.advance_to(EPOCH + SECOND) != b.advance_to(EPOCH + SECOND)


def test_a_symbols_market_does_not_depend_on_the_others_listed():
    alone = MarketModel(Catalog(["SOLUSDT"]), seed=4, rate=1.0, epoch_ns=EPOCH)
    together = make(seed=4, rate=1.0)
    target = EPOCH + 2 * SECOND
    assert alone.advance_to(target) == [e for e in together.advance_to(target) if e.symbol == "SOLUSDT"]


def test_depth_diff_ids_are_contiguous_per_cadence(run20):
    _, starts, events = run20
    for symbol in SYMBOLS:
        for interval in (100, 1000):
            diffs = [e for e in events if type(e) is DepthDiff and e.symbol == symbol and e.interval_ms == interval]
            assert len(diffs) >= (150 if interval == 100 else 15)
            assert diffs[0].first_id == starts[symbol].update_id + 1
            for before, after in zip(diffs, diffs[1:]):
                assert after.first_id == before.last_id + 1
                assert after.ts_event > before.ts_event
            for diff in diffs:
                assert diff.first_id <= diff.last_id
                assert diff.ts_event % (interval * 1_000_000) == 0


def test_replaying_diffs_rebuilds_the_book_and_it_never_crosses(run20):
    model, starts, events = run20
    for symbol in SYMBOLS:
        bids = dict(starts[symbol].bids)
        asks = dict(starts[symbol].asks)
        top = None
        checked = 0
        last_id = starts[symbol].update_id
        for event in events:
            if event.symbol != symbol:
                continue
            if type(event) is TopOfBook:
                top = event
            elif type(event) is DepthDiff and event.interval_ms == 100:
                apply_depth_diff(bids, asks, event)
                assert max(bids) < min(asks), f"{symbol} crossed at {event.last_id}"
                if top is not None:
                    # bookTicker agrees with the diffs: the last one at or before u is the top at u.
                    assert top.update_id <= event.last_id
                    assert (top.bid, top.bid_lots) == (max(bids), bids[max(bids)])
                    assert (top.ask, top.ask_lots) == (min(asks), asks[min(asks)])
                checked += 1
                last_id = event.last_id
        final = model.book_at(symbol, last_id)
        assert sorted(bids.items(), reverse=True) == final.bids
        assert sorted(asks.items()) == final.asks
        assert checked >= 150


def test_book_at_any_recent_id_matches_the_replayed_diffs(run20):
    model, starts, events = run20
    symbol = "ETHUSDT"
    bids = dict(starts[symbol].bids)
    asks = dict(starts[symbol].asks)
    samples = 0
    for event in events:
        if type(event) is DepthDiff and event.symbol == symbol and event.interval_ms == 100:
            apply_depth_diff(bids, asks, event)
            if event.last_id % 7 == 0 or samples == 0:
                at = model.book_at(symbol, event.last_id)
                assert at.bids == sorted(bids.items(), reverse=True)
                assert at.asks == sorted(asks.items())
                samples += 1
    assert samples >= 5
    with pytest.raises(LookupError):
        model.book_at(symbol, model.market(symbol).update_id + 1)


def test_trades_and_agg_trades_agree(run20):
    _, _, events = run20
    for symbol in SYMBOLS:
        trades = [e for e in events if type(e) is TradePrint and e.symbol == symbol]
        aggs = [e for e in events if type(e) is AggTradePrint and e.symbol == symbol]
        assert trades and aggs
        ids = [t.trade_id for t in trades]
        assert ids == list(range(ids[0], ids[0] + len(ids)))
        by_id = {t.trade_id: t for t in trades}
        agg_ids = [a.agg_id for a in aggs]
        assert agg_ids == list(range(agg_ids[0], agg_ids[0] + len(agg_ids)))
        covered = 0
        for agg in aggs:
            members = [by_id[i] for i in range(agg.first_trade_id, agg.last_trade_id + 1)]
            assert sum(m.lots for m in members) == agg.lots
            assert {m.price for m in members} == {agg.price}
            assert {m.buyer_is_maker for m in members} == {agg.buyer_is_maker}
            covered += len(members)
        assert covered == len(trades)


def test_partial_depth_and_ticker_cadence(run20):
    _, _, events = run20
    tops = [e for e in events if type(e) is DepthTop and e.symbol == "BTCUSDT"]
    assert len([t for t in tops if t.interval_ms == 100]) == 200
    assert len([t for t in tops if t.interval_ms == 1000]) == 20
    for top in tops:
        assert len(top.bids) == len(top.asks) == 20
        assert top.bids[0][0] < top.asks[0][0]
        assert [p for p, _ in top.bids] == sorted((p for p, _ in top.bids), reverse=True)
    tickers = [e for e in events if type(e) is TickerEvent and e.symbol == "BTCUSDT"]
    assert len(tickers) == 20
    for ticker in tickers:
        w = ticker.window
        assert w.low <= w.last_price <= w.high and w.low <= w.open_price <= w.high
        assert w.count == w.last_id - w.first_id + 1
        assert w.close_ms - w.open_ms == 86_400_000 and w.close_ms == ticker.ts_event // 1_000_000
        assert w.volume_lots > 0 and w.quote_units > 0
        assert w.bid < w.ask


def test_l3_book_invariants_under_a_long_busy_run():
    model = make(seed=13, rate=10.0, symbols=["BTCUSDT", "BNBUSDT"])
    for k in range(1, 31):
        model.advance_to(EPOCH + k * SECOND // 2)
        for symbol in model.symbols:
            book = model.market(symbol).book
            book.check()
            assert len(book.bids) >= 5 and len(book.asks) >= 5


def test_l3_book_matches_price_time_priority():
    book = L3Book()
    book.add(1, ASK, 101, 5)
    book.add(2, ASK, 101, 3)
    book.add(3, ASK, 102, 4)
    book.add(4, BID, 99, 2)
    book.add(5, BID, 98, 2)
    book.touched.clear()
    fills = book.take(BID, 9, 102, keep_levels=0)
    assert [(f.maker_id, f.price, f.lots) for f in fills] == [(1, 101, 5), (2, 101, 3), (3, 102, 1)]
    assert book.top() == (99, 2, 102, 3)
    assert book.touched == [(ASK, 101, 8), (ASK, 102, 4)]
    assert book.cancel(5) and not book.cancel(5)
    # keep_levels stops a sweep before it empties the side
    assert book.take(ASK, 100, 1, keep_levels=1) == []
    book.check()


def test_fair_values_have_the_asked_volatility_and_correlation():
    rngs = [np.random.default_rng([3, k]) for k in range(3)]
    fair = FairValues([100.0, 50.0], [0.8, 0.6], [0.9, 0.8], rngs[0], rngs[1:], tail_df=4.0,
                      regime_tau_s=900.0, regime_sd=0.35)
    closes = [[], []]
    for _ in range(24 * 60):
        for _ in range(60):  # one-second steps keep this fast; a minute of them per close
            fair.step(1.0)
        for i in range(2):
            closes[i].append(fair.log_prices[i])
    returns = [np.diff(c) for c in closes]
    for i, target in enumerate([0.8, 0.6]):
        vol = float(np.std(returns[i])) * math.sqrt(365 * 24 * 60)
        assert 0.5 * target < vol < 1.6 * target
    corr = float(np.corrcoef(returns[0], returns[1])[0, 1])
    assert 0.5 < corr < 0.9  # 0.9 * 0.8 = 0.72 expected


def test_prices_and_spreads_look_like_the_symbols(run20):
    model, _, events = run20
    catalog = Catalog(SYMBOLS)
    for symbol in SYMBOLS:
        market = model.market(symbol)
        bid, _, ask, _ = market.book.top()
        mid = (bid + ask) / 2 * market.instrument.tick_size
        assert abs(mid / catalog.profiles[symbol].ref_price - 1) < 0.05
        spreads = [e.ask - e.bid for e in events if type(e) is TopOfBook and e.symbol == symbol]
        median = statistics.median(spreads)
        assert median >= 1
        # liquid majors: one tick, or under 5 bps where a tick is finer than that
        assert median == 1 or median * market.instrument.tick_size / mid < 5e-4


def test_flow_params_are_validated():
    with pytest.raises(ValueError):
        FlowParams(step_ms=7).validate()
    with pytest.raises(ValueError):
        FlowParams(join_fraction=0.7, near_fraction=0.5).validate()
    with pytest.raises(ValueError):
        MarketModel(Catalog(["BTCUSDT"]), seed=1, rate=0.0, epoch_ns=EPOCH)


# -- realism of tick-fine symbols (tick tiny against the price and its volatility) -------------------
def _sample(model: MarketModel, symbols: list[str], seconds: int, every_ns: int = SECOND // 10):
    """Every ``every_ns``: per symbol (bid, bid lots, ask, ask lots, fair in ticks, levels within 10
    ticks of the best bid)."""
    rows = {s: [] for s in symbols}
    for k in range(1, seconds * SECOND // every_ns + 1):
        model.advance_to(EPOCH + k * every_ns)
        for s in symbols:
            market = model.market(s)
            bid, bid_lots, ask, ask_lots = market.book.top()
            near = sum(1 for price, _ in market.book.levels(BID, 10) if bid - price < 10)
            rows[s].append((bid, bid_lots, ask, ask_lots, market.fair, near))
    return rows


@pytest.fixture(scope="module")
def majors_two_minutes():
    symbols = ["BTCUSDT", "ETHUSDT"]
    model = make(seed=3, rate=1.0, symbols=symbols)
    return model, _sample(model, symbols, 120)


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
def test_tick_fine_majors_trade_at_a_one_tick_touch_with_queues(majors_two_minutes, symbol):
    model, rows = majors_two_minutes
    inst = model.market(symbol).instrument
    samples = rows[symbol]
    spreads = [ask - bid for bid, _, ask, _, _, _ in samples]
    assert statistics.median(spreads) == 1
    assert sum(s <= 3 for s in spreads) / len(spreads) > 0.8
    # queues at the best levels: over a thousand USD on the thinner side, more levels just behind
    touch = [min(bl, al) * inst.step_size * bid * inst.tick_size for bid, bl, _, al, _, _ in samples]
    assert statistics.median(touch) > 1_000
    assert statistics.median(near for *_, near in samples) >= 2


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
def test_tick_fine_mid_follows_the_fair_value_without_lag_or_bias(majors_two_minutes, symbol):
    model, rows = majors_two_minutes
    market = model.market(symbol)
    mid = np.log([(bid + ask) / 2 for bid, _, ask, _, _, _ in rows[symbol]])
    fair = np.log([f for *_, f, _ in rows[symbol]])
    mid_1s, fair_1s = np.diff(mid[::10]), np.diff(fair[::10])
    # no staircase: the mid's 1-second volatility is the fair value's, not a damped copy
    assert 0.85 < mid_1s.std() / fair_1s.std() < 1.2
    assert np.corrcoef(mid_1s, fair_1s)[0, 1] > 0.9
    target = model.market(symbol).profile.annual_vol / math.sqrt(365 * 86400)
    assert 0.6 * target < mid_1s.std() < 1.6 * target
    # the mid stays within a couple of bands of the fair value and is not biased to one side
    gap = (mid - fair) * (market.fair / market.band_ticks)  # in bands
    assert np.abs(gap).max() < 8
    assert abs(gap.mean()) < 0.3


def test_btc_one_minute_volatility_near_target():
    model = make(seed=11, rate=1.0, symbols=["BTCUSDT"])
    rows = _sample(model, ["BTCUSDT"], 600, every_ns=SECOND)["BTCUSDT"]
    mid = np.log([(bid + ask) / 2 for bid, _, ask, _, _, _ in rows])
    fair = np.log([f for *_, f, _ in rows])
    mid_1m, fair_1m = np.diff(mid[::60]), np.diff(fair[::60])
    assert 0.9 < mid_1m.std() / fair_1m.std() < 1.1
    target = 0.5 / math.sqrt(365 * 1440)
    assert 0.5 * target < mid_1m.std() < 1.6 * target
    assert abs(mid[-1] - fair[-1]) < 2e-4  # 2 bps: the mid never wanders off the fair value


def test_fair_values_have_no_drift_across_seeds():
    returns = []
    for seed in range(40):
        fair = FairValues([100_000.0], [0.5], [0.92], np.random.default_rng([seed, 0x5EED]),
                          [np.random.default_rng([seed, 1, 0xFA1])], tail_df=4.0,
                          regime_tau_s=900.0, regime_sd=0.35)
        start = fair.log_prices[0]
        for _ in range(600):  # ten minutes in 1-second steps
            fair.step(1.0)
        returns.append(fair.log_prices[0] - start)
    returns = np.array(returns)
    assert abs(returns.mean()) < 2.5 * returns.std() / math.sqrt(len(returns))
    assert 0.5 < returns.std() / (0.5 * math.sqrt(600 / (365 * 86400))) < 1.6


def test_book_follows_the_fair_value_without_bias_across_seeds():
    gaps, moves = [], []
    for seed in range(6):
        model = make(seed=seed, rate=1.0, symbols=["BTCUSDT"])
        market = model.market("BTCUSDT")
        start = math.log(market.fair)
        for k in range(1, 31):
            model.advance_to(EPOCH + k * SECOND)
            bid, _, ask, _ = market.book.top()
            gaps.append(math.log((bid + ask) / 2 / market.fair))
        moves.append(math.log(market.fair) - start)
    gaps = np.array(gaps)
    # the mid's offset from the fair value averages out (it is tracking noise, not a drift) ...
    assert abs(gaps.mean()) < 0.25 * gaps.std() + 1e-6
    # ... and is small against how far the fair value itself moves
    assert gaps.std() < 0.3 * np.std(moves)
