"""The market model: per symbol a full L3 book fed by stochastic order flow, in virtual time.

Virtual time advances in fixed steps (``step_ms``). At each step every symbol's fair value moves
(``drivers.FairValues``: correlated, fat-tailed, regime-switching volatility) and the flow for the
step is drawn from the symbol's own seeded generator: Poisson counts of

- limit orders: a quarter join the best quote on their side, the others land at a distance from
  the book's mid (while that is within ``track_band`` 1-second sigmas of the fair value; from the
  fair value otherwise), either near it (exponential, scaled by the 1-second volatility in ticks but
  at most ``near_cap_ticks``, so queues form at and just behind the touch even where the tick is
  tiny, as on BTCUSDT) or far (Lomax tail in bps); a limit order priced through the opposite side
  trades first;
- stale quotes: once the fair value has left the band, the levels it moved past are swept by an
  arbitrage taker or pulled by their owners, and a spread left wider than a tick draws market
  makers' quotes inside it around the fair value: the book follows the fair value in jumps, with
  a one-tick touch between them;
- market orders: heavy-tailed (Lomax) sizes, self-exciting intensity (Hawkes: trades cluster), the
  side leaning towards the fair value (informed flow pulls the mid after it);
- cancellations: each resting order dies at a constant rate, so the book holds ``book_orders``
  orders on average.

Spread, depth profile, queue sizes, trade clustering and price moves all come out of that flow.
Every book change gets the next update id; changed levels are batched into virtual 100 ms and
1000 ms buckets (Binance's ``U``/``u`` diffs). Everything depends only on the seed, the rate and
the virtual clock, so the same seed gives the same market however fast the wall clock releases
it. ``advance_to`` is the only entry that moves time.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from feeds.exchange.catalog import Catalog, SymbolProfile
from feeds.exchange.drivers import SECONDS_PER_YEAR, FairValues
from feeds.exchange.events import (
    AggTradePrint, DepthDiff, DepthTop, MarketEvent, TickerEvent, TickerWindow, TopOfBook, TradePrint,
)
from feeds.exchange.journal import BookJournal
from feeds.exchange.l3book import ASK, BID, Fill, L3Book
from feeds.exchange.ticker import RollingTicker, synthetic_day
from orderbook.instrument import UNITS_PER_ONE, Instrument

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
DEPTH_FAST_MS = 100
DEPTH_SLOW_MS = 1000
TOP_LEVELS = 20
_LIMIT, _MARKET, _CANCEL = 0, 1, 2
_MIN_LEVELS = 5  # a side thinner than this gets all new limit orders and no takers
_NORMAL = NormalDist()


@dataclass(frozen=True)
class FlowParams:
    """Order-flow parameters shared by all symbols (rates are per second at rate 1, activity 1)."""

    step_ms: int = 10
    book_orders: int = 3000  # sets the cancel rate; takers and stale pulls leave ~1000-3000 resting
    limit_rate: float = 30.0
    market_rate: float = 3.0
    join_fraction: float = 0.25  # limit orders joining the best quote
    near_fraction: float = 0.40  # ... near the fair value: exponential, vol-scaled
    mid_fraction: float = 0.20  # ... a few bps away: Lomax; the rest spread log-uniformly far out
    near_scale: float = 0.05  # near distance scale, in 1-second fair-value sigmas ...
    near_cap_ticks: float = 3.0  # ... but at most this many ticks: queues form at and near the touch
    mid_scale_bps: float = 3.0  # mid distance scale (Lomax), bps of price
    mid_alpha: float = 1.3  # mid distance tail exponent
    max_distance_bps: float = 500.0  # the far orders reach out to here
    track_band: float = 0.25  # quotes tolerate the fair value this far off (1-second sigmas) before
    #                           they are stale; within it, orders are placed around the book's own mid
    stale_rate: float = 15.0  # per second: a level left beyond the fair value is picked off or pulled
    refill_rate: float = 60.0  # per second: a spread wider than a tick gets a new quote inside it
    refill_size: float = 4.0  # those quotes are this many typical limit orders (market makers)
    stale_take_share: float = 0.5  # of those, the share picked off by arbitrage takers
    size_dispersion: float = 0.9  # limit-order size, log-logistic with this log-sd
    taker_scale: float = 0.5  # taker size scale, in median limit-order sizes
    taker_alpha: float = 1.6  # taker size tail exponent (Lomax)
    taker_cap: float = 100.0  # largest taker, in median limit-order sizes
    informed: float = 1.5  # slope of the taker side's logit in (fair - mid) / near scale
    hawkes_branching: float = 0.5  # share of takers triggered by earlier takers
    hawkes_decay_s: float = 2.0
    activity_elasticity: float = 0.8  # flow intensity ~ volatility regime ** this
    regime_tau_s: float = 900.0
    regime_sd: float = 0.35
    tail_df: float = 4.0
    max_sweep_bps: float = 50.0  # a taker never trades further than this from the touch
    warmup_s: float = 10.0  # virtual seconds of flow before the epoch, unpublished
    journal_entries: int = 50_000  # level changes kept per symbol for book_at(): 1.6 MB, allocated at start

    def validate(self) -> None:
        if self.step_ms <= 0 or DEPTH_FAST_MS % self.step_ms:
            raise ValueError("step_ms must divide 100")
        if not 0 <= self.join_fraction + self.near_fraction + self.mid_fraction <= 1:
            raise ValueError("join_fraction + near_fraction + mid_fraction must be within 0..1")
        if not 0 <= self.hawkes_branching < 1:
            raise ValueError("hawkes_branching must be within 0..1 (exclusive)")
        if self.book_orders < 50:
            raise ValueError("book_orders must be at least 50")


@dataclass(frozen=True)
class BookSnapshot:
    """An L2 view of the exchange's book: (ticks, lots) best first, at ``update_id``."""

    symbol: str
    update_id: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


class UniformStream:
    """Uniform [0, 1) draws from a numpy Generator, fetched in blocks (scalar numpy calls are slow)."""

    def __init__(self, rng: np.random.Generator, block: int = 4096) -> None:
        self._rng = rng
        self._block = block
        self._values: list[float] = []
        self._next = 0

    def take(self, count: int) -> list[float]:
        if self._next + count > len(self._values):
            rest = self._values[self._next:]
            fresh = self._rng.random(max(self._block, count)).tolist()
            self._values = rest + fresh
            self._next = 0
        start = self._next
        self._next = start + count
        return self._values[start:start + count]

    def poisson(self, mean: float) -> int:
        """A Poisson count from one uniform: inversion for small means, normal beyond."""
        u = self.take(1)[0]
        if mean <= 0.0:
            return 0
        if mean > 30.0:
            z = _NORMAL.inv_cdf(min(max(u, 1e-12), 1 - 1e-12))
            return max(0, int(round(mean + math.sqrt(mean) * z)))
        p = math.exp(-mean)
        cumulative = p
        count = 0
        while u > cumulative and count < 1000:
            count += 1
            p *= mean / count
            cumulative += p
        return count


class SymbolMarket:
    """One symbol's book, flow, ids, diff buckets, undo journal and 24 h ticker."""

    def __init__(self, index: int, profile: SymbolProfile, params: FlowParams, rate: float,
                 rng: np.random.Generator, start_ns: int) -> None:
        self.index = index
        self.symbol = profile.symbol
        self.instrument: Instrument = profile.instrument
        self.profile = profile
        self._p = params
        inst = profile.instrument
        # Ids start where a busy real symbol would be; the seed picks them.
        self.update_id = int(rng.integers(1_000_000_000, 60_000_000_000))
        self.trade_id = int(rng.integers(100_000_000, 4_000_000_000))
        self.agg_id = self.trade_id // 2
        self._order_id = 0
        self._u = UniformStream(rng)

        price = profile.ref_price
        tick = inst.tick_units / UNITS_PER_ONE
        step = inst.step_units / UNITS_PER_ONE
        self._tick_price = tick
        sigma_1s_ticks = profile.annual_vol / math.sqrt(SECONDS_PER_YEAR) * price / tick
        # Tick-aware scales: where the tick is tiny against the volatility (BTC: ~900 ticks a second)
        # limit orders still cluster within a few ticks of the touch, and the book follows the fair
        # value by jumps: quotes stand until the fair value leaves a band of ``track_band`` sigmas,
        # then stale levels are picked off or pulled and market makers re-quote inside the spread.
        self.near_ticks = max(0.5, min(params.near_scale * sigma_1s_ticks, params.near_cap_ticks))
        self.band_ticks = max(0.5, 0.5 * self.near_ticks, params.track_band * sigma_1s_ticks)
        self._lean_ticks = max(self.near_ticks, self.band_ticks)
        self._mid_ticks = max(1.0, params.mid_scale_bps * 1e-4 * price / tick)
        self._max_ticks = max(3.0 * self._mid_ticks, params.max_distance_bps * 1e-4 * price / tick)
        self._log_far_span = math.log(self._max_ticks / self._mid_ticks)
        self._band_ticks = max(2, int(params.max_sweep_bps * 1e-4 * price / tick))
        min_notional = inst.min_notional_units / UNITS_PER_ONE
        self._min_lots = max(1, math.ceil(min_notional / (price * step)),
                             -(-inst.min_qty_units // inst.step_units))
        self._median_lots = max(float(self._min_lots), profile.order_notional / (price * step))
        self._taker_lots = max(float(self._min_lots), params.taker_scale * self._median_lots)
        self._max_taker_lots = max(self._min_lots, int(params.taker_cap * self._median_lots))
        self._size_scale = params.size_dispersion * math.sqrt(3.0) / math.pi  # logistic ~ normal
        activity = profile.activity * rate
        self._limit_rate = params.limit_rate * activity
        self._market_base = params.market_rate * activity * (1.0 - params.hawkes_branching)
        self._cancel_rate = self._limit_rate / params.book_orders  # per resting order
        self._excitation = 0.0  # Hawkes intensity above the base, takers per second
        self._excite_jump = params.hawkes_branching / params.hawkes_decay_s

        self.book = L3Book()
        self.fair = price / tick  # fair value, fractional ticks
        self.journal = BookJournal(params.journal_entries)
        self._changed_fast: dict[int, None] = {}  # signed price (bids +, asks -) -> None
        self._changed_slow: dict[int, None] = {}
        self._first_fast: int | None = None
        self._first_slow: int | None = None
        self._last_top = (0, 0, 0, 0)

        self.ticker = RollingTicker(self.symbol, inst)
        # Takers, crossing limit orders and stale pick-offs together print about 6.5 trades per
        # base taker (measured at the defaults): the synthetic day matches the live trade rate.
        expected_trades_per_min = 60.0 * params.market_rate * activity * 6.5
        self.ticker.seed(synthetic_day(
            rng, inst, start_ns // NS_PER_MS, price, profile.annual_vol,
            expected_trades_per_min, self._taker_lots * 0.7, self.trade_id + 1,
        ))

    # -- set-up ----------------------------------------------------------------------------
    def seed_book(self, ts: int) -> None:
        """Fill an empty book with ``book_orders`` orders from the placement distribution."""
        sink: list[MarketEvent] = []
        for _ in range(self._p.book_orders):
            a, b, c, d = self._u.take(4)
            # Skip the join branch: there is nothing to join yet and queues build up later.
            kind = self._p.join_fraction + b * (1.0 - self._p.join_fraction)
            self._limit(ts, a, kind, c, d, sink)
            self._commit(ts, sink)
        self.journal.start(self.update_id)
        self._changed_fast.clear()
        self._changed_slow.clear()
        self._first_fast = self._first_slow = None

    def set_fair(self, log_price: float) -> None:
        self.fair = math.exp(log_price) / self._tick_price

    # -- flow ------------------------------------------------------------------------------
    def plan(self, t0: int, dt_ns: int, regime: float, pending: list, seq: int) -> int:
        """Draw this step's events into ``pending`` as time-stamped tuples; returns the next seq."""
        dt = dt_ns / NS_PER_S
        intensity = regime ** self._p.activity_elasticity
        u = self._u
        n_limit = u.poisson(self._limit_rate * intensity * dt)
        n_market = u.poisson((self._market_base * intensity + self._excitation) * dt)
        n_cancel = u.poisson(self._cancel_rate * len(self.book) * dt)
        self._excitation *= math.exp(-dt / self._p.hawkes_decay_s)
        total = n_limit + n_market + n_cancel
        if not total:
            return seq
        draws = u.take(5 * total)
        index = self.index
        for k in range(total):
            kind = _LIMIT if k < n_limit else _MARKET if k < n_limit + n_market else _CANCEL
            j = 5 * k
            pending.append((t0 + int(draws[j] * dt_ns), index, seq, kind,
                            draws[j + 1], draws[j + 2], draws[j + 3], draws[j + 4]))
            seq += 1
        return seq

    def requote(self, ts: int, dt_ns: int, out: list[MarketEvent]) -> None:
        """Levels the fair value has moved past (by more than the band) go all at once, with
        probability ``stale_rate * dt`` per step and side: an arbitrage taker sweeps them, or
        their owners pull them, best first; then a spread left wide draws new quotes inside it."""
        p = self._p
        hit = 1.0 - math.exp(-p.stale_rate * dt_ns / NS_PER_S)
        margin = self.band_ticks
        book = self.book
        fair = self.fair
        for side in (ASK, BID):
            levels = book.asks if side == ASK else book.bids
            prices = book.ask_prices if side == ASK else book.bid_prices
            if len(levels) <= _MIN_LEVELS:
                continue
            best = prices[0] if side == ASK else prices[-1]
            if not (best < fair - margin if side == ASK else best > fair + margin):
                continue
            u_hit, u_take = self._u.take(2)
            if u_hit >= hit:
                continue
            # the last stale price: asks below fair - margin, bids above fair + margin
            limit = math.ceil(fair - margin) - 1 if side == ASK else math.floor(fair + margin) + 1
            if u_take < p.stale_take_share:
                fills = book.take(-side, 1 << 62, limit, keep_levels=_MIN_LEVELS)
                self._trade(ts, -side, fills, out)
                self._commit(ts, out)
                continue
            while len(levels) > _MIN_LEVELS:
                price = prices[0] if side == ASK else prices[-1]
                if price > limit if side == ASK else price < limit:
                    break
                for order_id in list(levels[price].orders):
                    book.cancel(order_id)
                self._commit(ts, out)
        self._refill(ts, dt_ns, out)

    def _refill(self, ts: int, dt_ns: int, out: list[MarketEvent]) -> None:
        """A spread wider than one tick draws market makers' quotes inside it, around the fair value
        (clamped into the spread): how the touch re-forms after stale levels went."""
        book = self.book
        if not book.bids or not book.asks:
            return
        bid, ask = book.bid_prices[-1], book.ask_prices[0]
        if ask - bid <= 1:
            return
        hit = 1.0 - math.exp(-self._p.refill_rate * dt_ns / NS_PER_S)
        u_bid, u_ask, u_dist, u_size = self._u.take(4)
        center = min(max(self.fair, bid + 0.5), ask - 0.5)
        # one distance for both sides keeps the quote symmetric about the center
        distance = -0.5 * math.log(1.0 - u_dist)
        for side, u in ((BID, u_bid), (ASK, u_ask)):
            if u >= hit:
                continue
            price = math.ceil(center - distance) - 1 if side == BID else math.floor(center + distance) + 1
            if (price <= book.bid_prices[-1] or price >= book.ask_prices[0]) if side == BID else \
                    (price >= book.ask_prices[0] or price <= book.bid_prices[-1]):
                continue
            lots = max(self._min_lots, int(round(self._limit_lots(u_size) * self._p.refill_size)))
            self._order_id += 1
            book.add(self._order_id, side, price, lots)
            self._commit(ts, out)

    def apply(self, event: tuple, out: list[MarketEvent]) -> None:
        """Apply one planned event at its time, appending what it caused to ``out``."""
        ts, kind = event[0], event[3]
        if kind == _LIMIT:
            self._limit(ts, event[4], event[5], event[6], event[7], out)
        elif kind == _MARKET:
            self._market(ts, event[4], event[5], out)
        else:
            order_id = self.book.random_order(event[4])
            if order_id is not None:
                self.book.cancel(order_id)
        self._commit(ts, out)

    def _limit(self, ts: int, u_side: float, u_kind: float, u_dist: float, u_size: float,
               out: list[MarketEvent]) -> None:
        book = self.book
        fair = self.fair
        p = self._p
        bid_levels, ask_levels = len(book.bids), len(book.asks)
        if bid_levels < _MIN_LEVELS <= ask_levels:
            side = BID
        elif ask_levels < _MIN_LEVELS <= bid_levels:
            side = ASK
        else:
            side = BID if u_side < 0.5 else ASK
        best_same = book.best(side)
        band = self.band_ticks
        if (u_kind < p.join_fraction and best_same is not None
                and (best_same <= fair + band if side == BID else best_same >= fair - band)):
            price = best_same
        else:
            if u_kind < p.join_fraction + p.near_fraction:
                distance = -self.near_ticks * math.log(1.0 - u_dist)
            elif u_kind < p.join_fraction + p.near_fraction + p.mid_fraction:
                distance = self._mid_ticks * ((1.0 - u_dist) ** (-1.0 / p.mid_alpha) - 1.0)
                if distance > self._max_ticks:
                    distance = self._max_ticks
            else:
                distance = self._mid_ticks * math.exp(u_dist * self._log_far_span)
            # Around the book's own mid while it is within the band of the fair value (the book
            # does not chase every wiggle of it), around the fair value otherwise.
            center = fair
            if bid_levels and ask_levels:
                mid = (book.bid_prices[-1] + book.ask_prices[0]) * 0.5
                if -band <= fair - mid <= band:
                    center = mid
            price = math.ceil(center - distance) - 1 if side == BID else math.floor(center + distance) + 1
            if price < 1:
                price = 1
        lots = self._limit_lots(u_size)
        opposite = book.best(-side)
        if opposite is not None and (price >= opposite if side == BID else price <= opposite):
            lots -= self._trade(ts, side, book.take(side, lots, price), out)
            if lots <= 0:
                return
            opposite = book.best(-side)
            if opposite is not None and (price >= opposite if side == BID else price <= opposite):
                price = opposite - 1 if side == BID else opposite + 1  # the kept last level
                if price < 1:
                    return
        self._order_id += 1
        book.add(self._order_id, side, price, lots)

    def _market(self, ts: int, u_side: float, u_size: float, out: list[MarketEvent]) -> None:
        book = self.book
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            return
        scale = max(self._lean_ticks, (ask - bid) / 2.0, 1.0)
        lean = max(-30.0, min(30.0, self._p.informed * (self.fair - (bid + ask) / 2.0) / scale))
        side = BID if u_side < 1.0 / (1.0 + math.exp(-lean)) else ASK
        if len(book.asks if side == BID else book.bids) < _MIN_LEVELS:
            return
        lots = int(round(self._taker_lots * (1.0 + ((1.0 - u_size) ** (-1.0 / self._p.taker_alpha) - 1.0))))
        lots = max(self._min_lots, min(lots, self._max_taker_lots))
        limit = ask + self._band_ticks if side == BID else max(1, bid - self._band_ticks)
        fills = book.take(side, lots, limit)
        if fills:
            self._trade(ts, side, fills, out)
            self._excitation += self._excite_jump

    def _limit_lots(self, u: float) -> int:
        u = min(max(u, 1e-9), 1.0 - 1e-9)
        lots = self._median_lots * math.exp(self._size_scale * math.log(u / (1.0 - u)))
        # People type round sizes: keep two significant digits.
        if lots >= 100:
            magnitude = 10 ** (int(math.log10(lots)) - 1)
            lots = round(lots / magnitude) * magnitude
        return max(self._min_lots, int(round(lots)))

    def _trade(self, ts: int, taker_side: int, fills: list[Fill], out: list[MarketEvent]) -> int:
        """Print the fills of one taker: one trade per maker, one aggTrade per price. Returns lots."""
        if not fills:
            return 0
        buyer_is_maker = taker_side == ASK
        ts_ms = ts // NS_PER_MS
        symbol = self.symbol
        ticker = self.ticker
        traded = 0
        agg_price = fills[0].price
        agg_lots = 0
        agg_first = self.trade_id + 1
        for fill in fills:
            if fill.price != agg_price:
                self.agg_id += 1
                out.append(AggTradePrint(symbol, ts, self.agg_id, agg_price, agg_lots, agg_first,
                                         self.trade_id, buyer_is_maker))
                agg_price, agg_lots, agg_first = fill.price, 0, self.trade_id + 1
            self.trade_id += 1
            out.append(TradePrint(symbol, ts, self.trade_id, fill.price, fill.lots, buyer_is_maker))
            ticker.on_trade(ts_ms, self.trade_id, fill.price, fill.lots)
            agg_lots += fill.lots
            traded += fill.lots
        self.agg_id += 1
        out.append(AggTradePrint(symbol, ts, self.agg_id, agg_price, agg_lots, agg_first,
                                 self.trade_id, buyer_is_maker))
        return traded

    def _commit(self, ts: int, out: list[MarketEvent]) -> None:
        """Number the event's book changes, batch and journal them, publish a new top of book."""
        touched = self.book.touched
        if not touched:
            return
        self.update_id += 1
        update_id = self.update_id
        self.journal.record(update_id, touched)
        fast, slow = self._changed_fast, self._changed_slow
        for side, price, _ in touched:
            key = price if side == BID else -price
            fast[key] = None
            slow[key] = None
        touched.clear()
        if self._first_fast is None:
            self._first_fast = update_id
        if self._first_slow is None:
            self._first_slow = update_id
        top = self.book.top()
        if top != self._last_top:
            self._last_top = top
            out.append(TopOfBook(self.symbol, ts, update_id, top[0], top[1], top[2], top[3]))

    # -- bucket boundaries -----------------------------------------------------------------
    def close_bucket(self, ts: int, interval_ms: int, out: list[MarketEvent]) -> None:
        """Publish the levels changed since the last boundary of this cadence (if any)."""
        if interval_ms == DEPTH_FAST_MS:
            changed, first = self._changed_fast, self._first_fast
        else:
            changed, first = self._changed_slow, self._first_slow
        if not changed or first is None:
            return
        bids_book, asks_book = self.book.bids, self.book.asks
        bids: list[tuple[int, int]] = []
        asks: list[tuple[int, int]] = []
        for key in changed:
            if key > 0:
                level = bids_book.get(key)
                bids.append((key, level.total if level is not None else 0))
            else:
                level = asks_book.get(-key)
                asks.append((-key, level.total if level is not None else 0))
        bids.sort(reverse=True)
        asks.sort()
        out.append(DepthDiff(self.symbol, ts, interval_ms, first, self.update_id, bids, asks))
        if interval_ms == DEPTH_FAST_MS:
            self._changed_fast = {}
            self._first_fast = None
        else:
            self._changed_slow = {}
            self._first_slow = None

    def emit_top(self, ts: int, interval_ms: int, out: list[MarketEvent]) -> None:
        out.append(DepthTop(self.symbol, ts, interval_ms, self.update_id,
                            self.book.levels(BID, TOP_LEVELS), self.book.levels(ASK, TOP_LEVELS)))

    def emit_ticker(self, ts: int, out: list[MarketEvent]) -> None:
        out.append(TickerEvent(self.symbol, ts, self.ticker.window(ts // NS_PER_MS, self.book.top())))

    # -- views -----------------------------------------------------------------------------
    def snapshot(self, depth: int | None = None) -> BookSnapshot:
        return BookSnapshot(self.symbol, self.update_id, self.book.levels(BID, depth),
                            self.book.levels(ASK, depth))

    def snapshot_at(self, update_id: int) -> BookSnapshot:
        if update_id > self.update_id:
            raise LookupError(f"{self.symbol}: update id {update_id} is in the future (now {self.update_id})")
        bids = dict(self.book.levels(BID))
        asks = dict(self.book.levels(ASK))
        self.journal.rewind(bids, asks, update_id)
        return BookSnapshot(self.symbol, update_id, sorted(bids.items(), reverse=True), sorted(asks.items()))


class MarketModel:
    """All symbols' markets on one virtual clock. Not thread-safe: one owner drives it."""

    def __init__(self, catalog: Catalog, seed: int, rate: float, epoch_ns: int,
                 params: FlowParams = FlowParams()) -> None:
        params.validate()
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.params = params
        self.rate = rate
        self.seed = seed
        self.epoch_ns = epoch_ns
        self._step_ns = params.step_ms * NS_PER_MS
        warmup_ns = int(params.warmup_s * NS_PER_S)
        start = (epoch_ns - warmup_ns) // (DEPTH_SLOW_MS * NS_PER_MS) * (DEPTH_SLOW_MS * NS_PER_MS)
        profiles = list(catalog.profiles.values())
        self.markets: list[SymbolMarket] = []
        for index, profile in enumerate(profiles):
            # Seeded by (seed, symbol): a symbol's flow does not depend on which others are listed.
            rng = np.random.default_rng([seed, zlib.crc32(profile.symbol.encode())])
            self.markets.append(SymbolMarket(index, profile, params, rate, rng, start))
        self._by_symbol = {m.symbol: m for m in self.markets}
        self._fair = FairValues(
            [p.ref_price for p in profiles], [p.annual_vol for p in profiles],
            [p.loading for p in profiles], np.random.default_rng([seed, 0x5EED]),
            [np.random.default_rng([seed, zlib.crc32(p.symbol.encode()), 0xFA1]) for p in profiles],
            params.tail_df, params.regime_tau_s, params.regime_sd,
        )
        self._pending: list[tuple] = []
        self._next_pending = 0
        self._seq = 0
        self._step_start = start
        for market, log_price in zip(self.markets, self._fair.log_prices):
            market.set_fair(log_price)
            market.seed_book(start)
        self._plan_step(start, [])
        self.now_ns = start
        self.advance_to(epoch_ns)  # warm-up: queues and the ticker fill in; output dropped

    @property
    def symbols(self) -> list[str]:
        return list(self._by_symbol)

    def market(self, symbol: str) -> SymbolMarket:
        return self._by_symbol[symbol]

    def advance_to(self, target_ns: int) -> list[MarketEvent]:
        """Apply every event up to ``target_ns`` (virtual ns) and return what was emitted, in order."""
        out: list[MarketEvent] = []
        markets = self.markets
        while True:
            pending = self._pending
            i = self._next_pending
            count = len(pending)
            while i < count and pending[i][0] <= target_ns:
                event = pending[i]
                markets[event[1]].apply(event, out)
                i += 1
            self._next_pending = i
            if i < count:
                break
            step_end = self._step_start + self._step_ns
            if step_end > target_ns:
                break
            self._boundary(step_end, out)
            self._plan_step(step_end, out)
        if target_ns > self.now_ns:
            self.now_ns = target_ns
        return out

    def _boundary(self, ts: int, out: list[MarketEvent]) -> None:
        fast = ts % (DEPTH_FAST_MS * NS_PER_MS) == 0
        if not fast:
            return
        slow = ts % (DEPTH_SLOW_MS * NS_PER_MS) == 0
        for market in self.markets:
            market.close_bucket(ts, DEPTH_FAST_MS, out)
            market.emit_top(ts, DEPTH_FAST_MS, out)
            if slow:
                market.close_bucket(ts, DEPTH_SLOW_MS, out)
                market.emit_top(ts, DEPTH_SLOW_MS, out)
                market.emit_ticker(ts, out)

    def _plan_step(self, t0: int, out: list[MarketEvent]) -> None:
        """Move the fair values, let stale quotes go, and draw the flow of the step from ``t0``."""
        self._fair.step(self._step_ns / NS_PER_S)
        regime = self._fair.regime
        pending: list[tuple] = []
        seq = self._seq
        for market, log_price in zip(self.markets, self._fair.log_prices):
            market.set_fair(log_price)
            market.requote(t0, self._step_ns, out)
            seq = market.plan(t0, self._step_ns, regime, pending, seq)
        self._seq = seq
        pending.sort()
        self._pending = pending
        self._next_pending = 0
        self._step_start = t0

    # -- views (call from the model's owner) -------------------------------------------------
    def book_snapshot(self, symbol: str, depth: int | None = None) -> BookSnapshot:
        """The exchange's current L2 book (all levels, or the best ``depth``)."""
        return self._by_symbol[symbol].snapshot(depth)

    def book_at(self, symbol: str, update_id: int) -> BookSnapshot:
        """The exchange's L2 book exactly after the change ``update_id`` (LookupError if too old)."""
        return self._by_symbol[symbol].snapshot_at(update_id)

    def ticker_window(self, symbol: str) -> TickerWindow:
        market = self._by_symbol[symbol]
        return market.ticker.window(self.now_ns // NS_PER_MS, market.book.top())
