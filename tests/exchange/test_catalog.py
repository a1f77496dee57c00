"""Symbols the exchange lists: real filters for the majors, sensible synthesized ones otherwise."""
from __future__ import annotations

import json

import pytest

from feeds.exchange.catalog import MAJORS_FILE, QUOTES, Catalog, UnknownSymbolError, split_symbol
from orderbook.instrument import Instrument, decimal_to_units

SHARED_MAJORS = "/work/shared/data/binance/exchangeInfo-majors-2021-10-12.json"


def test_majors_are_served_verbatim_from_binance_data():
    real = {e["symbol"]: e for e in json.loads(MAJORS_FILE.read_text())["symbols"]}
    catalog = Catalog(["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "ETHBTC"])
    info = catalog.exchange_info(123)
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "ETHBTC"]
    for entry in info["symbols"]:
        assert entry == real[entry["symbol"]]
    btc = catalog.profiles["BTCUSDT"].instrument
    assert (btc.tick_units, btc.step_units) == (decimal_to_units("0.01"), decimal_to_units("0.00001"))
    assert info["serverTime"] == 123 and info["timezone"] == "UTC"
    assert info["rateLimits"][0] == {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                                     "intervalNum": 1, "limit": 6000}


def test_bundled_copy_matches_the_shared_recording_when_present():
    try:
        with open(SHARED_MAJORS) as handle:
            shared = json.load(handle)
    except OSError:
        pytest.skip("shared data folder not mounted")
    assert json.loads(MAJORS_FILE.read_text()) == shared


@pytest.mark.parametrize("symbol", ["PEPEUSDT", "SUIUSDC", "ARBBTC", "XYZUSDT", "LINKETH", "AVAXEUR", "TONFDUSD"])
def test_synthesized_symbols_have_consistent_filters(symbol):
    profile = Catalog([symbol]).profiles[symbol]
    entry = profile.entry
    filters = {f["filterType"]: f for f in entry["filters"]}
    assert set(filters) >= {"PRICE_FILTER", "LOT_SIZE", "NOTIONAL"}
    inst = Instrument.from_exchange_info(entry)
    price_units = profile.ref_price * 1e8
    # tick: 0.1..1 bps of the price (or 1e-8 for the tiniest prices)
    assert inst.tick_units == 1 or 1e-5 * price_units <= inst.tick_units <= 1e-4 * price_units
    assert inst.min_price_units == inst.tick_units and inst.max_price_units % inst.tick_units == 0
    assert inst.max_price_units > 100 * price_units
    assert inst.min_qty_units == inst.step_units and inst.max_qty_units % inst.step_units == 0
    # one step is worth at most ~0.05 USD: sizes are fine-grained
    step_usd = inst.step_units / 1e8 * profile.ref_price * QUOTES[entry["quoteAsset"]]
    assert step_usd <= 0.05 + 1e-12
    for text in (filters["PRICE_FILTER"]["tickSize"], filters["LOT_SIZE"]["stepSize"], filters["NOTIONAL"]["minNotional"]):
        assert len(text.split(".")[1]) == 8
    assert entry["baseAsset"] + entry["quoteAsset"] == symbol
    assert profile.ref_price > 0 and profile.annual_vol > 0 and 0 < profile.loading < 1


def test_names_split_on_the_longest_known_quote():
    assert split_symbol("ETHBTC") == ("ETH", "BTC")
    assert split_symbol("BTCFDUSD") == ("BTC", "FDUSD")
    assert split_symbol("BNBUSDT") == ("BNB", "USDT")


@pytest.mark.parametrize("symbol", ["FOO", "USDT", "BTCXYZ", "btcusdt", "BTC-USDT"])
def test_unknown_symbols_are_refused(symbol):
    with pytest.raises(UnknownSymbolError):
        Catalog([symbol])


def test_crosses_are_priced_from_both_legs():
    catalog = Catalog(["ETHBTC", "BNBBTC", "ETHUSDT", "BTCUSDT"])
    eth_btc = catalog.profiles["ETHBTC"].ref_price
    assert eth_btc == pytest.approx(catalog.profiles["ETHUSDT"].ref_price / catalog.profiles["BTCUSDT"].ref_price)
    assert catalog.profiles["ETHBTC"].loading < catalog.profiles["ETHUSDT"].loading
