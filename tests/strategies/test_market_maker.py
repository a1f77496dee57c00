"""The inventory-skewed market maker on constructed books (prices in ticks of 0.01, lots of 0.00001)."""
from __future__ import annotations

import numpy as np
import pytest

from orderbook.book import OrderBook
from strategies.base import StrategyContext
from strategies.parameters import ParameterError
from strategies.market_maker import MarketMaker, MarketMakerParams
from strategies.orders import (
    CancelOrder,
    Fill,
    FillReason,
    Liquidity,
    Order,
    OrderStatus,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
)

from tests.strategies.btc_book import ASK, BID, INST, make_book

MS = 1_000_000


class Venue:
    """Applies intents to an open-orders dict the way the session does (orders live at once)."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.position = 0

    def ctx(self, now: int, book: OrderBook, book_ok: bool = True, risk_state: str = "ACTIVE") -> StrategyContext:
        return StrategyContext(now, INST, book, self.position, 0.0, self.orders, book_ok, risk_state)

    def apply(self, intents, now: int) -> None:
        for intent in intents:
            if isinstance(intent, PlaceOrder):
                assert intent.client_id not in self.orders
                self.orders[intent.client_id] = Order(
                    intent.client_id, INST.symbol, intent.side, intent.qty, intent.price, intent.order_type,
                    intent.time_in_force, intent.post_only, intent.tag, ts_created=now, ts_live=now,
                    status=OrderStatus.NEW,
                )
            elif isinstance(intent, CancelOrder):
                del self.orders[intent.client_id]

    def fill(self, client_id: str, qty: int, now: int) -> Fill:
        order = self.orders[client_id]
        order.filled += qty
        if order.remaining == 0:
            del self.orders[client_id]
        self.position += qty * int(order.side)
        return Fill(INST.symbol, client_id, order.side, order.price, qty, Liquidity.MAKER,
                    FillReason.QUEUE_REACHED, 0.0, now, tag=order.tag)


def maker(**params) -> MarketMaker:
    values = {"spread_ticks": 4, "order_lots": 100, **params}
    return MarketMaker(INST, MarketMakerParams.from_mapping(values), np.random.default_rng(0))


def places(intents) -> list[PlaceOrder]:
    return [i for i in intents if isinstance(i, PlaceOrder)]


def cancels(intents) -> list[CancelOrder]:
    return [i for i in intents if isinstance(i, CancelOrder)]


def quotes_by_tag(intents) -> dict[str, tuple[Side, int, int]]:
    return {p.tag: (p.side, p.price, p.qty) for p in places(intents)}


def test_places_symmetric_ladders_of_post_only_limits():
    mm = maker(levels=2, level_spacing_ticks=3)
    venue = Venue()
    intents = mm.on_book(venue.ctx(0, make_book()))
    assert quotes_by_tag(intents) == {
        "bid-L1": (Side.BUY, 1_000_003, 100),
        "bid-L2": (Side.BUY, 1_000_000, 100),
        "ask-L1": (Side.SELL, 1_000_007, 100),
        "ask-L2": (Side.SELL, 1_000_010, 100),
    }
    for order in places(intents):
        assert order.post_only and order.order_type is OrderType.LIMIT
        assert order.time_in_force is TimeInForce.GTC
        assert order.client_id.startswith("market_maker-BTCUSDT-")
    assert not cancels(intents)


def test_spread_in_bps_rounds_outwards():
    mm = maker(spread_ticks=0, spread_bps=10.0)
    intents = mm.on_book(Venue().ctx(0, make_book()))
    # half spread = 1_000_005 * 10 / 20_000 = 500.0025 ticks
    assert quotes_by_tag(intents) == {"bid-L1": (Side.BUY, 999_504, 100), "ask-L1": (Side.SELL, 1_000_506, 100)}


def test_long_inventory_shifts_both_quotes_down_and_short_shifts_them_up():
    venue = Venue()
    venue.position = 200  # two order sizes above the target of 0
    long_quotes = quotes_by_tag(maker(skew_ticks=1.5).on_book(venue.ctx(0, make_book())))
    assert long_quotes == {"bid-L1": (Side.BUY, 1_000_000, 100), "ask-L1": (Side.SELL, 1_000_004, 100)}
    venue.position = -200
    short_quotes = quotes_by_tag(maker(skew_ticks=1.5).on_book(venue.ctx(0, make_book())))
    assert short_quotes == {"bid-L1": (Side.BUY, 1_000_006, 100), "ask-L1": (Side.SELL, 1_000_010, 100)}


def test_skew_is_measured_from_the_inventory_target_and_capped():
    venue = Venue()
    venue.position = 300
    at_target = quotes_by_tag(maker(skew_ticks=1.5, inventory_target_lots=300).on_book(venue.ctx(0, make_book())))
    assert at_target == {"bid-L1": (Side.BUY, 1_000_003, 100), "ask-L1": (Side.SELL, 1_000_007, 100)}
    venue.position = 10_000  # 100 sizes long: skew would be 150 ticks, capped at 5
    capped = quotes_by_tag(maker(skew_ticks=1.5, max_skew_ticks=5).on_book(venue.ctx(0, make_book())))
    assert capped == {"bid-L1": (Side.BUY, 999_998, 100), "ask-L1": (Side.SELL, 1_000_002, 100)}


def test_post_only_quotes_never_cross_the_touch():
    venue = Venue()
    venue.position = -5_000  # very short: the centre moves far above the ask
    intents = maker(skew_ticks=10, max_skew_ticks=1000).on_book(venue.ctx(0, make_book()))
    quotes = quotes_by_tag(intents)
    assert quotes["bid-L1"][1] == ASK - 1  # kept one tick below the best ask
    assert quotes["ask-L1"][1] > quotes["bid-L1"][1]


def test_requotes_only_beyond_the_refresh_tolerance():
    mm = maker(refresh_tolerance_ticks=2)
    venue = Venue()
    venue.apply(mm.on_book(venue.ctx(0, make_book())), 0)
    first = dict(venue.orders)
    assert len(first) == 2
    # the mid moves 2 ticks: inside the tolerance, nothing to do
    assert mm.on_book(venue.ctx(1 * MS, make_book(BID + 2, ASK + 2))) == []
    # 3 ticks: both quotes are cancelled and replaced, cancels first
    intents = mm.on_book(venue.ctx(2 * MS, make_book(BID + 3, ASK + 3)))
    kinds = [type(i) for i in intents]
    assert kinds == [CancelOrder, CancelOrder, PlaceOrder, PlaceOrder]
    assert {c.client_id for c in cancels(intents)} == set(first)
    assert quotes_by_tag(intents) == {"bid-L1": (Side.BUY, 1_000_006, 100), "ask-L1": (Side.SELL, 1_000_010, 100)}


def test_unchanged_book_and_orders_produce_no_churn():
    mm = maker(levels=3)
    venue = Venue()
    venue.apply(mm.on_book(venue.ctx(0, make_book())), 0)
    assert len(venue.orders) == 6
    for step in range(1, 20):  # depth changes away from the touch, sizes at the touch
        assert mm.on_book(venue.ctx(step * MS, make_book(bid_lots=500 + step))) == []
        assert mm.on_timer(venue.ctx(step * MS, make_book(bid_lots=500 + step))) == []


def test_orders_older_than_the_maximum_age_are_replaced_on_the_timer():
    mm = maker(max_order_age_ms=1_000)
    venue = Venue()
    venue.apply(mm.on_book(venue.ctx(0, make_book())), 0)
    assert mm.on_timer(venue.ctx(999 * MS, make_book())) == []
    intents = mm.on_timer(venue.ctx(1_000 * MS, make_book()))
    assert len(cancels(intents)) == 2 and len(places(intents)) == 2
    assert quotes_by_tag(intents) == {"bid-L1": (Side.BUY, 1_000_003, 100), "ask-L1": (Side.SELL, 1_000_007, 100)}


def test_a_fill_requotes_with_the_new_inventory():
    mm = maker(skew_ticks=2.0)
    venue = Venue()
    venue.apply(mm.on_book(venue.ctx(0, make_book())), 0)
    bid_id = next(cid for cid, o in venue.orders.items() if o.side is Side.BUY)
    fill = venue.fill(bid_id, 100, 5 * MS)
    intents = mm.on_fill(venue.ctx(5 * MS, make_book()), fill)
    # long one size: centre 2 ticks lower; the ask moves from 1_000_007 to 1_000_005, a new bid at 1_000_001
    assert quotes_by_tag(intents) == {"bid-L1": (Side.BUY, 1_000_001, 100), "ask-L1": (Side.SELL, 1_000_005, 100)}
    assert len(cancels(intents)) == 1  # the old ask; the filled bid is gone already


def test_stale_book_cancels_every_quote_once_and_places_nothing():
    mm = maker(levels=2)
    venue = Venue()
    venue.apply(mm.on_book(venue.ctx(0, make_book())), 0)
    intents = mm.on_book(venue.ctx(1 * MS, make_book(), book_ok=False))
    assert len(intents) == 4 and all(isinstance(i, CancelOrder) for i in intents)
    # the cancels are in flight (orders still listed): they are not sent again
    assert mm.on_timer(venue.ctx(2 * MS, make_book(), book_ok=False)) == []
    assert mm.state()["quoting"] is False


def test_halted_risk_cancels_quotes():
    mm = maker()
    venue = Venue()
    venue.apply(mm.on_book(venue.ctx(0, make_book())), 0)
    intents = mm.on_book(venue.ctx(1 * MS, make_book(), risk_state="HALTED"))
    assert len(intents) == 2 and all(isinstance(i, CancelOrder) for i in intents)


def test_reducing_risk_quotes_only_the_side_that_reduces_the_position():
    mm = maker(levels=3)
    venue = Venue()
    venue.position = 150
    intents = mm.on_book(venue.ctx(0, make_book(), risk_state="REDUCING"))
    quotes = quotes_by_tag(intents)
    assert set(quotes) == {"ask-L1", "ask-L2"}
    assert quotes["ask-L1"][2] == 100 and quotes["ask-L2"][2] == 50  # never more than the position
    venue.position = 0
    assert places(maker().on_book(venue.ctx(0, make_book(), risk_state="REDUCING"))) == []


def test_inventory_cap_stops_the_side_that_would_exceed_it():
    venue = Venue()
    venue.position = 250
    quotes = quotes_by_tag(maker(levels=2, max_inventory_lots=300, skew_ticks=0).on_book(venue.ctx(0, make_book())))
    assert quotes["bid-L1"] == (Side.BUY, 1_000_003, 50)  # only 50 lots of room left
    assert "bid-L2" not in quotes
    assert quotes["ask-L1"][2] == 100 and quotes["ask-L2"][2] == 100


def test_automatic_size_meets_the_minimum_notional():
    mm = MarketMaker(INST, MarketMakerParams.from_mapping({"spread_ticks": 4}), np.random.default_rng(0))
    intents = mm.on_book(Venue().ctx(0, make_book()))
    sizes = {p.qty for p in places(intents)}
    # 10 USDT at 10000.05 is 0.00099999 BTC = 100 lots; with 10% headroom 110 lots
    assert sizes == {110}
    for p in places(intents):
        assert INST.notional_units(p.price, p.qty) >= INST.min_notional_units


def test_one_sided_book_places_nothing():
    book = OrderBook(INST)
    book.load(1, [(BID, 10)], [])
    assert maker().on_book(Venue().ctx(0, book)) == []


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"levels": 0}, "levels must be an integer in [1, 50]"),
        ({"spread_ticks": 0, "spread_bps": 0}, "spread_bps must be > 0"),
        ({"spread_ticks": -1}, "spread_ticks must be an integer in [0, 1000000000] ticks"),
        ({"level_spacing_ticks": 0}, "level_spacing_ticks must be an integer in [1, 1000000000] ticks"),
        ({"refresh_tolerance_ticks": -1}, "refresh_tolerance_ticks must be an integer in [0, 1000000000] ticks"),
        ({"max_order_age_ms": -5}, "max_order_age_ms must be an integer in [0, 604800000] ms"),
        ({"max_inventory_lots": 100, "inventory_target_lots": 100}, "must be below max_inventory_lots"),
        ({"levels": "two"}, "levels must be an integer in [1, 50] levels, got 'two'"),
        ({"spred_bps": 5}, "unknown parameter(s) spred_bps"),
    ],
)
def test_parameter_errors_are_clear(values, message):
    with pytest.raises(ParameterError) as excinfo:
        MarketMakerParams.from_mapping(values)
    assert message in str(excinfo.value)
    assert str(excinfo.value).startswith("MarketMakerParams")


def test_parameters_from_strings_and_update():
    params = MarketMakerParams.from_mapping({"spread_bps": "7.5", "levels": "3", "post_only": "false"})
    assert params.spread_bps == 7.5 and params.levels == 3 and params.post_only is False
    mm = maker()
    venue = Venue()
    venue.apply(mm.on_book(venue.ctx(0, make_book())), 0)
    mm.update_params(mm.params.replace(spread_ticks=10))
    intents = mm.on_book(venue.ctx(1 * MS, make_book()))
    assert quotes_by_tag(intents) == {"bid-L1": (Side.BUY, 1_000_000, 100), "ask-L1": (Side.SELL, 1_000_010, 100)}


def test_refresh_tolerance_in_bps_scales_to_the_price():
    # Mid 1_000_005 ticks: 1 bps is 100 ticks. A 1-tick tolerance would requote on every move.
    mm = maker(spread_ticks=0, spread_bps=10.0, refresh_tolerance_bps=1.0)
    venue = Venue()
    venue.apply(mm.on_book(venue.ctx(0, make_book())), 0)
    placed = dict(venue.orders)
    assert len(placed) == 2
    # The touch moves 50 ticks (0.5 bps): the quotes stay.
    intents = mm.on_book(venue.ctx(1, make_book(BID + 50, ASK + 50)))
    assert not places(intents) and not cancels(intents)
    # It moves 150 ticks (1.5 bps) from where the quotes were made: both are replaced.
    intents = mm.on_book(venue.ctx(2, make_book(BID + 150, ASK + 150)))
    assert {c.client_id for c in cancels(intents)} == set(placed)
    assert len(places(intents)) == 2


def test_refresh_tolerance_bps_is_validated():
    with pytest.raises(ParameterError, match=r"refresh_tolerance_bps must be a number in \[0, 10000\] bps"):
        maker(refresh_tolerance_bps=-1)
