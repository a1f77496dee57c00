"""Every real Binance recording in shared/data/binance, replayed through MarketData.

The exact-book property: after each applied diff, the best bid/ask (price and size) equals the
latest bookTicker whose update id u is <= that diff's u. bookTicker is Binance's own real-time view
of the top of book, so this checks every book against the exchange, diff by diff.
"""
from __future__ import annotations

import bisect
import json
from pathlib import Path

import pytest

from feeds.pipeline import BookChanged, BookTickerUpdate, MarketData
from feeds.recording import read_recordings
from orderbook.instrument import instruments_from_exchange_info

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "binance"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/binance")
FOLDERS = sorted(p for p in DATA.glob("20*") if p.is_dir())
RECORDINGS = [path for folder in FOLDERS for path in sorted(folder.glob("*.gz"))]

pytestmark = pytest.mark.skipif(not RECORDINGS, reason=f"no recordings under {DATA}")


def replay_file(path: Path):
    instruments = instruments_from_exchange_info(json.loads((path.parent / "exchangeInfo.json").read_text()))
    market = MarketData(instruments)
    symbol = path.name.split("_")[0]
    applied = []  # (update_id, best bid, best ask) after each applied depth event
    tickers = []
    for recv_ns, text, file_symbol in read_recordings([path]):
        for event in market.on_message(recv_ns, text, file_symbol):
            if type(event) is BookChanged:
                book = market.book(event.symbol)
                assert not book.is_crossed()
                applied.append((event.update_id, book.best_bid(), book.best_ask()))
            elif type(event) is BookTickerUpdate:
                tickers.append(event)
    return market, symbol, applied, tickers


@pytest.mark.parametrize("path", RECORDINGS, ids=[p.name for p in RECORDINGS])
def test_each_recording_replays_exactly(path):
    market, symbol, applied, tickers = replay_file(path)
    stats = market.stats(symbol)
    assert market.synced(symbol)
    assert stats.gaps == 0 and stats.resyncs == 0 and stats.malformed == 0 and stats.crossed == 0
    assert market.internal_errors == 0 and market.malformed == 0
    tickers.sort(key=lambda t: t.update_id)
    ids = [t.update_id for t in tickers]
    for update_id, bid, ask in applied:
        k = bisect.bisect_right(ids, update_id) - 1
        if k < 0:
            continue  # no bookTicker at or before this update in the file
        ticker = tickers[k]
        assert (bid, ask) == ((ticker.bid, ticker.bid_lots), (ticker.ask, ticker.ask_lots)), (
            f"{symbol} at update {update_id}: book {bid}/{ask} != bookTicker u={ticker.update_id}"
        )


def test_all_recordings_together_every_check_agrees():
    checks = agreed = 0
    for path in RECORDINGS:
        _, _, applied, tickers = replay_file(path)
        tickers.sort(key=lambda t: t.update_id)
        ids = [t.update_id for t in tickers]
        for update_id, bid, ask in applied:
            k = bisect.bisect_right(ids, update_id) - 1
            if k >= 0:
                checks += 1
                ticker = tickers[k]
                agreed += (bid, ask) == ((ticker.bid, ticker.bid_lots), (ticker.ask, ticker.ask_lots))
    assert checks > 1000
    assert agreed == checks


def test_diffs_before_the_snapshot_line_are_buffered():
    # In every file here the first depth diff arrives before the REST snapshot line.
    path = DATA / "2021-04-17" / "ADARUB_20210417.gz"
    instruments = instruments_from_exchange_info(json.loads((path.parent / "exchangeInfo.json").read_text()))
    market = MarketData(instruments)
    lines = list(read_recordings([path]))
    first_snapshot = next(i for i, (_, text, _) in enumerate(lines) if text.startswith('{"lastUpdateId"'))
    assert any('"depthUpdate"' in text for _, text, _ in lines[:first_snapshot])
    for recv_ns, text, symbol in lines[:first_snapshot]:
        assert not any(type(e) is BookChanged for e in market.on_message(recv_ns, text, symbol))
    assert market.synchronizer("ADARUB").buffered() == 1 and market.book("ADARUB").is_empty()
    recv_ns, text, symbol = lines[first_snapshot]
    events = market.on_message(recv_ns, text, symbol)
    assert [type(e).__name__ for e in events] == ["BookStatus", "BookChanged"]
    assert market.book("ADARUB").update_id == 1720413  # the buffered 1720410..1720412 was older: dropped


def test_off_grid_legacy_levels_are_counted_not_fatal():
    # NKNUSDT's and BUSDTRY's snapshots hold orders from before a tickSize/stepSize change.
    for name in ("2021-10-12/NKNUSDT_20211012.gz", "2021-04-17/BUSDTRY_20210417.gz"):
        market, symbol, applied, _ = replay_file(DATA / name)
        assert market.synced(symbol) and applied
        assert market.stats(symbol).offgrid_levels > 0 and market.stats(symbol).malformed == 0
