"""Every store of the embedded exchange that time or clients can grow, driven to its bound."""
from __future__ import annotations

import time
import tracemalloc

import aiohttp
import pytest

from feeds.exchange import ConnectionRules, ExchangeConfig, ExchangeThread
from feeds.exchange.catalog import Catalog
from feeds.exchange.events import DepthDiff
from feeds.exchange.faults import FAULT_LOG_KEPT, REST_FAULTS_KEPT, FaultController
from feeds.exchange.journal import BookJournal
from feeds.exchange.l3book import ASK, BID
from feeds.exchange.market import FlowParams, MarketModel
from feeds.exchange.ticker import DAY_MS, MINUTE_MS
from feeds.exchange.wire import WIRE_TEXT_CACHE_ENTRIES, WireFormat
from tests.exchange.conftest import apply_depth_diff, run, wait_closed

EPOCH = 1_767_225_600_000 * 1_000_000
SECOND = 1_000_000_000


def test_a_full_journal_costs_what_an_empty_one_does():
    journal = BookJournal(10_000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for update_id in range(1, 30_001):  # fills it three times over
            journal.record(update_id, [(BID, 100_000 + update_id % 500, update_id % 7)])
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(journal) == journal.capacity == 10_000
    assert journal.floor == 20_000  # the oldest ids left the ring
    assert grown < 4096  # no per-entry objects: the ring was allocated at start


def test_a_wrapped_journal_still_rebuilds_every_book_it_claims():
    model = MarketModel(Catalog(["ETHUSDT"]), seed=3, rate=2.0, epoch_ns=EPOCH,
                        params=FlowParams(journal_entries=300))
    start = model.book_snapshot("ETHUSDT")
    bids, asks = dict(start.bids), dict(start.asks)
    checked = 0
    journal = model.market("ETHUSDT").journal
    for k in range(1, 101):
        for event in model.advance_to(EPOCH + k * SECOND // 10):
            if type(event) is not DepthDiff or event.interval_ms != 100:
                continue
            apply_depth_diff(bids, asks, event)
            assert len(journal) <= 300
            at = model.book_at("ETHUSDT", event.last_id)
            assert at.bids == sorted(bids.items(), reverse=True) and at.asks == sorted(asks.items())
            checked += 1
    assert len(journal) == 300 and journal.floor > start.update_id and checked > 50
    with pytest.raises(LookupError):
        model.book_at("ETHUSDT", journal.floor - 1)


def test_wire_text_caches_stay_within_their_bound():
    wire = WireFormat(Catalog(["BTCUSDT"]).instruments()["BTCUSDT"])
    largest = 0
    for n in range(1, WIRE_TEXT_CACHE_ENTRIES + 500):
        wire.price(n)
        wire.size(n)
        largest = max(largest, len(wire._prices), len(wire._sizes))
    assert largest == WIRE_TEXT_CACHE_ENTRIES
    assert wire.price(12_345) == wire.price(12_345)


def test_resting_orders_hover_around_book_orders_and_the_ticker_keeps_one_day():
    """Cancels come at a constant rate per resting order, so the L3 book cannot run away."""
    params = FlowParams()
    model = MarketModel(Catalog(["BTCUSDT"]), seed=8, rate=1.0, epoch_ns=EPOCH, params=params)
    market = model.market("BTCUSDT")
    sizes = []
    for minute in range(1, 21):
        model.advance_to(EPOCH + minute * 60 * SECOND)
        sizes.append(market.book.order_count(BID) + market.book.order_count(ASK))
        model.ticker_window("BTCUSDT")
        assert len(market.ticker._bars) <= DAY_MS // MINUTE_MS + 1
    assert max(sizes) < 1.5 * params.book_orders
    assert max(sizes[10:]) <= 1.2 * max(sizes[:10])  # no trend over 20 virtual minutes


def test_queued_rest_faults_and_the_fault_log_keep_the_newest():
    faults = FaultController(["BTCUSDT"], time.monotonic, lambda delay, fn: None)
    for status in range(REST_FAULTS_KEPT + 50):
        faults.request({"kind": "rest_error", "status": 500 + status % 100, "count": 1})
    state = faults.status()
    assert len(state["pending"]["rest_failures"]) == REST_FAULTS_KEPT
    assert len(faults.log) == FAULT_LOG_KEPT


@pytest.fixture(scope="module")
def small():
    rules = ConnectionRules(max_connections=2, max_queued_batches=3)
    with ExchangeThread(ExchangeConfig(symbols=("BTCUSDT",), seed=5, rate=1.0, rules=rules)) as ex:
        yield ex


def test_connections_beyond_the_limit_are_refused_at_the_handshake(small):
    async def check() -> None:
        async with aiohttp.ClientSession() as session:
            first = await session.ws_connect(small.stream_url + "ws/btcusdt@trade")
            second = await session.ws_connect(small.stream_url + "ws")
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(small.stream_url + "ws")
            assert refused.value.status == 429
            await first.close()
            deadline = time.monotonic() + 10
            while True:  # the server forgets the closed one as soon as its handler ends
                try:
                    third = await session.ws_connect(small.stream_url + "ws")
                    break
                except aiohttp.WSServerHandshakeError:
                    assert time.monotonic() < deadline, "a closed connection still counts"
            await third.close()
            await second.close()

    run(check())


def test_a_client_whose_replies_pile_up_is_cut_off(small):
    """Replies wait behind a 5 s delay (the slow fault); the fifth finds three queued."""
    async def check() -> aiohttp.WSMessage:
        async with aiohttp.ClientSession() as session:
            async with session.post(small.base_url + "/admin/faults", json={"kind": "slow", "ws_ms": 5000}) as r:
                assert r.status == 200
            try:
                async with session.ws_connect(small.stream_url + "ws") as ws:
                    for i in range(5):  # within the 5 messages a second allowed
                        await ws.send_str(f'{{"method":"LIST_SUBSCRIPTIONS","id":{i}}}')
                    return await wait_closed(ws, timeout=4.0)
            finally:
                async with session.delete(small.base_url + "/admin/faults") as r:
                    assert r.status == 200

    closing = run(check())
    assert closing.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
