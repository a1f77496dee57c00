"""OrderBook: raw snapshot loading and the atomic diff path (apply_diff_raw)."""
from __future__ import annotations

import numpy as np
import pytest

from orderbook.book import ASK, BID, CrossedBookError, OrderBook, _convert_side, _convert_side_slowly
from orderbook.instrument import Instrument, units_to_decimal

# tick 0.01, step 0.001
INST = Instrument("TESTUSDT", "TEST", "USDT", tick_units=1_000_000, step_units=100_000)


def px(ticks: int) -> str:
    return units_to_decimal(ticks * INST.tick_units)


def qty(lots: int) -> str:
    return units_to_decimal(lots * INST.step_units)


def make_book(bids: dict[int, int], asks: dict[int, int], update_id: int = 10) -> OrderBook:
    book = OrderBook(INST)
    book.load_raw(update_id, [[px(p), qty(q)] for p, q in bids.items()], [[px(p), qty(q)] for p, q in asks.items()])
    return book


def levels(book: OrderBook) -> tuple[dict, dict]:
    return dict(book.bids.items()), dict(book.asks.items())


def check_structure(book: OrderBook) -> None:
    book._check()
    book.bids._list._check()
    book.asks._list._check()
    assert list(book.bids.keys()) == sorted(dict.keys(book.bids))
    assert list(book.asks.keys()) == sorted(dict.keys(book.asks))


def test_load_raw_converts_and_drops_empty_levels():
    book = OrderBook(INST)
    skipped = book.load_raw(7, [["100.00000000", "1.50000000"], ["99.99000000", "0.00000000"]],
                            [["100.01000000", "0.00100000"]])
    assert skipped == 0
    assert book.update_id == 7
    assert levels(book) == ({10000: 1500}, {10001: 1})


def test_load_raw_leaves_out_off_grid_levels_and_counts_them():
    # Real books keep orders placed before a tickSize change (BUSDTRY 6.893 with tickSize 0.01).
    book = OrderBook(INST)
    skipped = book.load_raw(1, [["100.00000000", "1.00000000"], ["6.89300000", "1.00000000"],
                                ["99.00000000", "1.00050000"]], [["101.00000000", "2.00000000"]])
    assert skipped == 2
    assert levels(book) == ({10000: 1000}, {10100: 2000})


def test_load_raw_refuses_malformed_levels_and_keeps_the_book():
    book = make_book({100: 5}, {101: 5})
    for bad in ([["abc", "1.00000000"]], [["1.00000000"]], [[1, 2]], ["x"], [["-1.00000000", "1.0"]],
                [["1.00000000", "-1.00000000"]], [[None, "1.0"]]):
        with pytest.raises(ValueError):
            book.load_raw(99, bad, [])
        assert levels(book) == ({100: 5}, {101: 5})
        assert book.update_id == 10


def _careful(levels_: list) -> tuple[dict, int]:
    """The level-by-level conversion on a fresh instrument: the reference for the bulk path."""
    fresh = Instrument("TESTUSDT", "TEST", "USDT", tick_units=1_000_000, step_units=100_000)
    return _convert_side_slowly(fresh, levels_)


@pytest.mark.parametrize("seed", range(20))
def test_a_fresh_snapshot_converts_in_bulk_exactly_as_level_by_level(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    prices = rng.integers(1, 10**7, n)
    sizes = rng.integers(0, 10**6, n) * (rng.random(n) > 0.05)  # a few empty levels
    side = [[px(int(p)), qty(int(q))] for p, q in zip(prices, sizes)]
    instrument = Instrument("TESTUSDT", "TEST", "USDT", tick_units=1_000_000, step_units=100_000)
    assert _convert_side(instrument, side) == _careful(side)
    # what it remembered is what the careful conversion gives, so later diffs hitting it agree
    for text, size in side[:50]:
        assert instrument._price_cache[text] == INST.price_to_ticks(text)
        assert instrument._qty_cache[size] == INST.qty_to_lots(size)


@pytest.mark.parametrize("odd", [
    ["6.89300000", "1.00000000"],  # price off the tick grid
    ["99.00000000", "1.00050000"],  # size off the step grid
    ["0.00000000", "1.00000000"],  # zero price
    ["99.0", "1.00000000"],  # not Binance's 8-decimal form
    ["99.00000000\n98.00000000", "1.00000000"],  # a newline inside one text
    ["٩٩.00000000", "1.00000000"],  # non-ASCII digits
    ["99.00000000", "99999999999.00000000"],  # 11 integer digits: beyond int64 in 1e-8 units
    ["99.00000000", "9999999999.90000000"],  # 10 integer digits: the largest the bulk path takes
])
def test_odd_levels_in_a_fresh_snapshot_convert_as_the_careful_path_does(odd):
    side = [["100.00000000", "1.00000000"], odd, ["98.00000000", "2.00000000"]]
    instrument = Instrument("TESTUSDT", "TEST", "USDT", tick_units=1_000_000, step_units=100_000)
    try:
        expected = _careful(side)
    except ValueError as exc:
        with pytest.raises(ValueError, match=str(exc).split(":")[0]):
            _convert_side(instrument, side)
        return
    assert _convert_side(instrument, side) == expected


def test_sizes_beyond_int64_units_convert_exactly():
    # numpy would saturate 11-digit sizes at 2**63 - 1 units; with a step of one unit that stays on
    # the grid, so only the length limit keeps the bulk path from storing a wrong size
    side = [["100.00000000", "99999999999.00000000"], ["99.00000000", "12345678901.12345678"]]
    instrument = Instrument("TESTUSDT", "TEST", "USDT", tick_units=1_000_000, step_units=1)
    fresh = Instrument("TESTUSDT", "TEST", "USDT", tick_units=1_000_000, step_units=1)
    assert _convert_side(instrument, side) == _convert_side_slowly(fresh, side)
    assert _convert_side(instrument, side)[0] == {10000: 9_999_999_999_900_000_000, 9900: 1_234_567_890_112_345_678}


def test_apply_diff_sets_deletes_and_inserts():
    book = make_book({100: 5, 99: 3}, {101: 4, 103: 2})
    skipped = book.apply_diff_raw([[px(100), qty(7)], [px(99), qty(0)], [px(98), qty(1)]],
                                  [[px(102), qty(9)], [px(103), qty(0)]])
    assert skipped == 0
    assert levels(book) == ({100: 7, 98: 1}, {101: 4, 102: 9})
    check_structure(book)


def test_deleting_an_absent_level_is_normal():
    book = make_book({100: 5}, {101: 4})
    book.apply_diff_raw([[px(90), qty(0)]], [[px(150), qty(0)]])
    assert levels(book) == ({100: 5}, {101: 4})


def test_a_price_repeated_in_one_diff_keeps_its_last_size():
    book = make_book({100: 5}, {101: 4})
    book.apply_diff_raw([[px(99), qty(3)], [px(99), qty(0)], [px(100), qty(0)], [px(100), qty(8)]], [])
    assert levels(book) == ({100: 8}, {101: 4})
    check_structure(book)


def test_a_diff_that_would_cross_is_refused_whole():
    book = make_book({100: 5, 99: 1}, {101: 4, 102: 6})
    before = levels(book)
    with pytest.raises(CrossedBookError):
        # the bid side changes are fine alone; the new bid at 101 crosses the ask at 101
        book.apply_diff_raw([[px(99), qty(0)], [px(101), qty(1)]], [[px(102), qty(7)]])
    assert levels(book) == before
    check_structure(book)


def test_a_diff_that_moves_the_touch_through_is_not_crossed():
    # The ask at 101 goes and a bid appears there in the same diff: a normal price move.
    book = make_book({100: 5}, {101: 4, 102: 6})
    book.apply_diff_raw([[px(101), qty(2)]], [[px(101), qty(0)]])
    assert book.best_bid() == (101, 2) and book.best_ask() == (102, 6)
    check_structure(book)


def test_a_malformed_level_leaves_the_book_unchanged():
    book = make_book({100: 5, 99: 1}, {101: 4})
    before = levels(book)
    for bids, asks in (
        ([[px(98), qty(1)]], [[px(102), "garbage"]]),
        ([[px(98), qty(1)], [px(97)]], []),
        ([[px(98), qty(1)]], [[px(102), "-1.00000000"]]),
        ([[px(98), qty(1)]], [["0.00000000", qty(1)]]),
        ([[px(98), qty(1)]], [[1.5, 2]]),
        ([[px(98), qty(1)]], "not levels"),
    ):
        with pytest.raises(ValueError):
            book.apply_diff_raw(bids, asks)
        assert levels(book) == before
    check_structure(book)


def test_off_grid_levels_in_a_diff_are_left_out():
    book = make_book({100: 5, 99: 2}, {101: 4})
    skipped = book.apply_diff_raw([["0.99500000", "1.00000000"], [px(99), "1.00050000"]], [[px(102), qty(3)]])
    # the off-grid price is not representable; an off-grid size leaves that level's size unknown: gone
    assert skipped == 2
    assert levels(book) == ({100: 5}, {101: 4, 102: 3})


def test_replace_with_keeps_identity():
    book = make_book({100: 5}, {101: 4}, update_id=3)
    other = make_book({200: 1}, {201: 1}, update_id=9)
    other.ts_event, other.ts_recv = 11, 12
    held = book
    book.replace_with(other)
    assert held is book
    assert levels(book) == ({200: 1}, {201: 1})
    assert (book.update_id, book.ts_event, book.ts_recv) == (9, 11, 12)


def test_positional_reads_stay_right_after_inlined_inserts_and_deletes():
    rng = np.random.default_rng(7)
    book = make_book({p: 1 for p in range(5000, 9000)}, {p: 1 for p in range(9001, 13000)})
    reference_bids = dict(book.bids.items())
    reference_asks = dict(book.asks.items())
    for step in range(3000):
        side_bid = rng.random() < 0.5
        price = int(rng.integers(4000, 9001)) if side_bid else int(rng.integers(9001, 14000))
        lots = int(rng.integers(0, 3))
        ref = reference_bids if side_bid else reference_asks
        if lots:
            ref[price] = lots
        else:
            ref.pop(price, None)
        level = [[px(price), qty(lots)]]
        book.apply_diff_raw(level if side_bid else [], [] if side_bid else level)
        if step % 100 == 0:
            # positional access builds SortedList's index; later inlined edits must invalidate it
            assert book.top_bids(3) == sorted(reference_bids.items(), reverse=True)[:3]
            assert book.top_asks(3) == sorted(reference_asks.items())[:3]
            assert book.bids.keys()[len(book.bids) // 2] == sorted(reference_bids)[len(reference_bids) // 2]
    assert dict(book.bids.items()) == reference_bids
    assert dict(book.asks.items()) == reference_asks
    check_structure(book)


def test_set_level_and_size_at_still_work():
    book = make_book({100: 5}, {101: 4})
    book.set_level(BID, 99, 2)
    book.set_level(ASK, 101, 0)
    assert book.size_at(BID, 99) == 2 and book.size_at(ASK, 101) == 0
    assert book.best_ask() is None
