"""BookSynchronizer: each rule of Binance's spot snapshot + diff algorithm, and what users see."""
from __future__ import annotations

import orjson
import pytest

from feeds.pipeline import BookChanged, BookStatus, MarketData, SyncConfig
from orderbook.instrument import Instrument

SYMBOL = "TESTUSDT"
INST = Instrument(SYMBOL, "TEST", "USDT", tick_units=1_000_000, step_units=100_000)  # tick 0.01, step 0.001


def p(ticks: int) -> str:
    return f"{ticks / 100:.8f}"


def q(lots: int) -> str:
    return f"{lots / 1000:.8f}"


def diff(first: int, final: int, bids=(), asks=(), event_ms: int = 1_000) -> str:
    return orjson.dumps({"stream": "testusdt@depth@100ms", "data": {
        "e": "depthUpdate", "E": event_ms, "s": SYMBOL, "U": first, "u": final,
        "b": [[p(t), q(l)] for t, l in bids], "a": [[p(t), q(l)] for t, l in asks]}}).decode()


def snapshot(last_id: int, bids, asks) -> str:
    return orjson.dumps({"lastUpdateId": last_id, "bids": [[p(t), q(l)] for t, l in bids],
                         "asks": [[p(t), q(l)] for t, l in asks]}).decode()


class Feed:
    """MarketData for one symbol, with the snapshot requests it made and a receive clock."""

    def __init__(self, config: SyncConfig = SyncConfig()) -> None:
        self.requests: list[str] = []
        self.market = MarketData({SYMBOL: INST}, request_snapshot=self.requests.append, config=config)
        self.now = 1_000_000_000

    def send(self, text: str, symbol: str | None = None, after_ns: int = 1_000_000) -> list:
        self.now += after_ns
        return self.market.on_message(self.now, text, symbol)

    def snap(self, last_id: int, bids, asks) -> list:
        return self.send(snapshot(last_id, bids, asks), SYMBOL)

    @property
    def book(self):
        return self.market.book(SYMBOL)

    @property
    def stats(self):
        return self.market.stats(SYMBOL)

    def top(self):
        return self.book.best_bid(), self.book.best_ask()


BIDS = [(10000, 1000), (9999, 2000)]
ASKS = [(10001, 1000), (10002, 3000)]


def synced_feed(last_id: int = 100) -> Feed:
    feed = Feed()
    feed.send(diff(last_id - 2, last_id))
    events = feed.snap(last_id, BIDS, ASKS)
    assert feed.market.synced(SYMBOL), events
    return feed


def test_diffs_before_the_snapshot_are_buffered_then_applied():
    feed = Feed()
    assert feed.send(diff(95, 99, bids=[(9998, 5)])) == []  # buffered: nothing to show yet
    assert feed.send(diff(100, 103, bids=[(9997, 7)], asks=[(10001, 0)])) == []
    assert feed.requests == [SYMBOL]  # asked once, at the first buffered diff
    assert not feed.market.synced(SYMBOL) and feed.book.is_empty()
    events = feed.snap(101, BIDS, ASKS)
    # 95..99 is older than the snapshot: dropped; 100..103 contains 102 = 101 + 1: applied
    assert [type(e) for e in events] == [BookStatus, BookChanged]
    assert events[0] == BookStatus(SYMBOL, True, False, "synced")
    assert events[1].update_id == 103 == feed.book.update_id
    assert feed.book.size_at(1, 9998) == 0 and feed.book.size_at(1, 9997) == 7
    assert feed.book.best_ask() == (10002, 3000)
    assert feed.stats.diffs_applied == 1 and feed.stats.update_id == 103


def test_stale_snapshot_is_fetched_again():
    feed = Feed()
    feed.send(diff(200, 204))
    events = feed.snap(150, BIDS, ASKS)  # lastUpdateId 150 < first buffered U 200
    assert events == [] and not feed.market.synced(SYMBOL)
    assert feed.stats.stale_snapshots == 1
    assert feed.requests == [SYMBOL, SYMBOL]
    feed.send(diff(205, 206, bids=[(9999, 4000)]))
    feed.snap(205, BIDS, ASKS)
    assert feed.market.synced(SYMBOL) and feed.book.update_id == 206
    assert feed.book.size_at(1, 9999) == 4000


def test_snapshot_just_before_the_first_buffered_event_is_stale_by_the_official_rule():
    # lastUpdateId < first U (even by one) -> fetch again: Binance's rule, conservative but exact.
    feed = Feed()
    feed.send(diff(101, 102))
    feed.snap(100, BIDS, ASKS)
    assert not feed.market.synced(SYMBOL) and feed.stats.stale_snapshots == 1


def test_first_kept_event_contains_last_update_id_plus_one():
    feed = Feed()
    feed.send(diff(90, 95, bids=[(9000, 1)]))
    feed.send(diff(96, 105, bids=[(9001, 1)]))
    feed.snap(100, BIDS, ASKS)
    assert feed.market.synced(SYMBOL) and feed.book.update_id == 105
    assert feed.book.size_at(1, 9000) == 0 and feed.book.size_at(1, 9001) == 1


def test_snapshot_newer_than_every_buffered_diff_syncs_on_its_own():
    feed = Feed()
    feed.send(diff(10, 12))
    events = feed.snap(50, BIDS, ASKS)
    assert [type(e) for e in events] == [BookStatus, BookChanged] and feed.book.update_id == 50
    assert feed.send(diff(51, 52, bids=[(9999, 1)]))[0] == BookChanged(SYMBOL, 1_000 * 10**6, feed.now, 52)


def test_snapshot_before_any_diff_waits_for_the_first_diff_to_judge_it():
    feed = Feed()
    assert feed.snap(100, BIDS, ASKS) == [] and not feed.market.synced(SYMBOL)
    events = feed.send(diff(99, 101, asks=[(10003, 1)]))
    assert [type(e) for e in events] == [BookStatus, BookChanged] and feed.book.update_id == 101
    # and a snapshot judged stale by that first diff is fetched again
    late = Feed()
    late.snap(100, BIDS, ASKS)
    assert late.send(diff(120, 121)) == [] and late.stats.stale_snapshots == 1 and late.requests == [SYMBOL]


def test_old_diffs_are_ignored_and_overlapping_ones_applied():
    feed = synced_feed(100)
    assert feed.send(diff(95, 99, bids=[(9000, 9)])) == []
    assert feed.stats.ignored == 1 and feed.book.size_at(1, 9000) == 0
    # u == book id: already applied levels, applied again harmlessly (u < id is the ignore rule)
    assert [type(e) for e in feed.send(diff(99, 100))] == [BookChanged]
    events = feed.send(diff(98, 103, bids=[(9998, 5)]))
    assert events[0].update_id == 103 and feed.book.size_at(1, 9998) == 5


def test_gap_is_counted_book_kept_stale_and_resynced():
    feed = synced_feed(100)
    feed.send(diff(101, 102, bids=[(10000, 1500)]))
    shown = feed.top()
    events = feed.send(diff(105, 106, bids=[(9990, 1)]))  # 103..104 never arrived
    assert events == [BookStatus(SYMBOL, False, True, "gap")]
    assert feed.stats.gaps == 1 and feed.stats.resyncs == 1
    assert feed.market.stale(SYMBOL) and not feed.market.synced(SYMBOL)
    assert feed.top() == shown and feed.book.update_id == 102  # the last good book stays visible
    assert feed.requests[-1] == SYMBOL
    feed.send(diff(107, 108, asks=[(10005, 2)]))
    assert feed.top() == shown  # diffs while resyncing never touch the visible book
    held = feed.book
    events = feed.snap(106, [(10000, 500)], [(10001, 700)])
    assert [type(e) for e in events] == [BookStatus, BookChanged]
    assert feed.book is held and feed.book.update_id == 108  # swapped in whole, same object
    assert feed.top() == ((10000, 500), (10001, 700)) and feed.book.size_at(-1, 10005) == 2
    assert not feed.market.stale(SYMBOL)


def test_hole_inside_the_buffer_trims_it():
    feed = Feed()
    feed.send(diff(1, 2))
    feed.send(diff(5, 6, bids=[(9000, 1)]))
    assert feed.stats.gaps == 1
    assert feed.market.synchronizer(SYMBOL).buffered() == 1
    feed.snap(5, BIDS, ASKS)
    assert feed.market.synced(SYMBOL) and feed.book.update_id == 6


def test_crossing_diff_is_refused_whole_and_starts_a_resync():
    feed = synced_feed(100)
    events = feed.send(diff(101, 101, bids=[(9999, 1), (10002, 5)]))  # bid 100.02 >= ask 100.01
    assert events == [BookStatus(SYMBOL, False, True, "crossed")]
    assert feed.stats.crossed == 1 and feed.stats.resyncs == 1
    assert not feed.book.is_crossed() and feed.book.size_at(1, 9999) == 2000  # untouched, not half applied
    feed.book._check()
    feed.send(diff(102, 103))
    feed.snap(103, BIDS, ASKS)
    assert feed.market.synced(SYMBOL)


def test_malformed_levels_and_frames_are_counted_and_resynced():
    feed = synced_feed(100)
    bad = orjson.dumps({"stream": "testusdt@depth@100ms", "data": {
        "e": "depthUpdate", "E": 1, "s": SYMBOL, "U": 101, "u": 101, "b": [[p(9999), "1.0x"]], "a": []}}).decode()
    assert feed.send(bad) == [BookStatus(SYMBOL, False, True, "malformed")]
    assert feed.stats.malformed == 1 and feed.book.size_at(1, 9999) == 2000
    # a depth frame too broken to parse: also counted, and the buffer restarts after it
    feed.send(diff(102, 103))
    feed.send('{"stream":"testusdt@depth@100ms","data":{"e":"depthUpdate","U":"x"}}')
    assert feed.stats.malformed == 2 and feed.market.synchronizer(SYMBOL).buffered() == 0
    feed.send('{"stream":"testusdt@depth@100ms","data":{"e":"depthUpdate","U":"x"}}')
    assert feed.stats.malformed == 3
    # a malformed snapshot is counted and fetched again
    feed.send(diff(110, 111))
    requests = len(feed.requests)
    feed.send('{"lastUpdateId":111,"bids":[["abc","1"]],"asks":[]}', SYMBOL)
    assert feed.stats.malformed == 4 and len(feed.requests) == requests + 1 and not feed.market.synced(SYMBOL)


def test_crossed_snapshot_is_refused():
    feed = Feed()
    feed.send(diff(1, 2))
    feed.snap(2, [(10005, 1)], [(10001, 1)])
    assert not feed.market.synced(SYMBOL) and feed.stats.crossed == 1 and feed.book.is_empty()


def test_reconnect_resets_every_book():
    feed = synced_feed(100)
    assert feed.market.on_connection("connected", feed.now) == [BookStatus(SYMBOL, False, True, "reconnect")]
    assert feed.stats.reconnects == 0  # the first connection is not a reconnect
    feed.send(diff(101, 101))
    assert not feed.market.synced(SYMBOL)
    feed.snap(101, BIDS, ASKS)
    assert feed.market.synced(SYMBOL)
    assert feed.market.on_connection("disconnected", feed.now, "socket closed") == \
        [BookStatus(SYMBOL, False, True, "disconnected")]
    assert feed.market.on_connection("reconnecting", feed.now, "in 2 s") == []
    assert feed.market.on_connection("connected", feed.now) == []  # already unsynced: nothing new to say
    assert feed.stats.reconnects == 1 and feed.stats.resyncs == 2
    # frames of the new connection: a fresh buffer and a fresh snapshot
    feed.send(diff(500, 501))
    assert feed.requests[-1] == SYMBOL
    feed.snap(500, BIDS, ASKS)
    assert feed.market.synced(SYMBOL) and feed.book.update_id == 501


def test_unanswered_snapshot_request_is_repeated():
    feed = Feed(SyncConfig(snapshot_timeout_ns=2_000_000_000))
    feed.send(diff(1, 1))
    feed.send(diff(2, 2), after_ns=1_000_000_000)
    assert feed.requests == [SYMBOL]
    feed.send(diff(3, 3), after_ns=1_500_000_000)  # 2.5 s since the request: ask again
    assert feed.requests == [SYMBOL, SYMBOL] and feed.stats.snapshot_requests == 2


def test_buffer_is_bounded_oldest_first():
    feed = Feed(SyncConfig(max_buffered_diffs=3))
    for first in range(1, 11):
        feed.send(diff(first, first))
    assert feed.market.synchronizer(SYMBOL).buffered() == 3
    feed.snap(5, BIDS, ASKS)  # older than the oldest kept event (8)
    assert feed.stats.stale_snapshots == 1
    feed.snap(9, BIDS, ASKS)
    assert feed.market.synced(SYMBOL) and feed.book.update_id == 10


def test_unsolicited_snapshot_while_synced_is_ignored():
    feed = synced_feed(100)
    feed.snap(90, [(1, 1)], [(2, 1)])
    assert feed.book.update_id == 100 and feed.stats.ignored == 1 and feed.top() == (BIDS[0], ASKS[0])


def test_partial_depth_stream_alone_keeps_the_top_of_book():
    feed = Feed()
    frame = orjson.dumps({"stream": "testusdt@depth5@100ms", "data": {
        "lastUpdateId": 7, "bids": [[p(t), q(l)] for t, l in BIDS], "asks": [[p(t), q(l)] for t, l in ASKS]}}).decode()
    events = feed.send(frame)
    assert [type(e) for e in events] == [BookStatus, BookChanged] and feed.top() == (BIDS[0], ASKS[0])
    # with a diff stream flowing, partial frames are not used
    other = synced_feed(100)
    other.send(frame)
    assert other.book.update_id == 100 and other.stats.ignored == 1


@pytest.mark.parametrize("bad_config", [dict(max_buffered_diffs=0), dict(snapshot_timeout_ns=0)])
def test_config_is_validated(bad_config):
    with pytest.raises(ValueError):
        SyncConfig(**bad_config)
