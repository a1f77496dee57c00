"""The account API over a real engine that traded a real recording, its journal a real SQLite file:
fills, the account, equity, CSV downloads, and one clear line for every bad query value."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from app.config import MonitorConfig
from app.journal import Journal
from app.state_dir import StateDir
from tests.app.test_engine import SYMBOLS, TIGHT, build_engine, recording
from tests.app.test_journal import BOTH, pump

FILL_KEYS = {"id", "ts", "symbol", "strategy", "side", "price", "qty", "fee", "fee_asset", "liquidity", "reason",
             "client_id"}


def client_for(engine):
    from app.web import create_app

    app = create_app(MonitorConfig(symbols=SYMBOLS, source="replay"), engine, async_mode="threading",
                     start_push=False)
    return app.test_client()


@pytest.fixture(scope="module")
def traded(tmp_path_factory):
    """An engine after the whole recording (both strategies, a USDT and a BTC quoted symbol)."""
    journal = Journal.open(StateDir(tmp_path_factory.mktemp("state")).journal_path)
    engine, clock = build_engine(BOTH, strategy_params=TIGHT, journal=journal)
    pump(engine, clock, recording())
    yield engine
    journal.close()


@pytest.fixture
def http(traded):
    return client_for(traded)


def signed(fill) -> Decimal:
    return Decimal(fill["qty"]) if fill["side"] == "BUY" else -Decimal(fill["qty"])


def test_fills_carry_exact_strings_in_the_instruments_precision_newest_last(http, traded):
    fills = http.get("/api/fills").get_json()["fills"]
    assert len(fills) == sum(a.fills for a in traded.portfolio.accounts.values()) > 10
    assert {f["symbol"] for f in fills} == set(SYMBOLS)
    assert [f["id"] for f in fills] == sorted({f["id"] for f in fills})  # unique, oldest first
    assert [f["ts"] for f in fills] == sorted(f["ts"] for f in fills)
    entries = [a for a in traded.activity if a.kind == "fill"]
    for fill, entry in zip(fills, entries):
        instrument = traded.instruments[fill["symbol"]]
        assert set(fill) == FILL_KEYS
        assert fill["ts"] == entry.ts and fill["side"] == entry.data["side"] in ("BUY", "SELL")
        assert fill["liquidity"] in ("maker", "taker") and fill["reason"] == entry.data["reason"]
        assert Decimal(fill["price"]) == Decimal(instrument.ticks_to_str(entry.data["price"]))
        assert Decimal(fill["qty"]) == Decimal(instrument.lots_to_str(entry.data["qty"]))
        assert len(fill["price"].partition(".")[2]) == instrument.price_decimals  # '0.2985', not '0.29850000'
        assert Decimal(fill["fee"]) == Decimal(fill["price"]) * Decimal(fill["qty"]) * Decimal("0.001")
        assert fill["fee_asset"] == instrument.quote_asset


def test_fills_filter_by_symbol_strategy_and_since_and_page_forward(http):
    every = http.get("/api/fills").get_json()["fills"]
    for symbol in SYMBOLS:
        assert http.get(f"/api/fills?symbol={symbol.lower()}").get_json()["fills"] == \
            [f for f in every if f["symbol"] == symbol]
    assert http.get("/api/fills?strategy=market_maker").get_json()["fills"] == \
        [f for f in every if f["strategy"] == "market_maker"]
    assert http.get("/api/fills?strategy=no_such_one").get_json() == {"fills": []}
    assert http.get("/api/fills?limit=3").get_json()["fills"] == every[-3:]  # without since: the newest
    paged, since = [], 0
    while True:  # with since: the first `limit` after it
        page = http.get(f"/api/fills?since={since}&limit=4").get_json()["fills"]
        if not page:
            break
        paged += page
        since = page[-1]["ts"]
    assert paged == every


MAX_NS = "9223372036854775807"


@pytest.mark.parametrize("path, query, line", [
    ("/api/fills", "limit=0", "limit must be an integer 1..5000, got '0'"),
    ("/api/fills", "limit=5001", "limit must be an integer 1..5000, got '5001'"),
    ("/api/fills", "limit=ten", "limit must be an integer 1..5000, got 'ten'"),
    ("/api/fills", "limit=1e3", "limit must be an integer 1..5000, got '1e3'"),
    ("/api/fills", "since=-1", f"since must be an integer 0..{MAX_NS}, got '-1'"),
    ("/api/fills", "since=99999999999999999999", f"since must be an integer 0..{MAX_NS}, got '99999999999999999999'"),
    ("/api/fills", "symbol=BTC-USDT", "symbol must be a symbol name such as BTCUSDT, got 'BTC-USDT'"),
    ("/api/fills", "strategy=DROP%20TABLE", "strategy must be a strategy name such as market_maker, got 'DROP TABLE'"),
    ("/api/fills.csv", "limit=0", f"limit must be an integer 1..{MAX_NS}, got '0'"),
    ("/api/fills.csv", "symbol=%27%3B", "symbol must be a symbol name such as BTCUSDT, got \"';\""),
    ("/api/equity", "limit=86401", "limit must be an integer 1..86400, got '86401'"),
    ("/api/equity", "since=soon", f"since must be an integer 0..{MAX_NS}, got 'soon'"),
    ("/api/equity.csv", "since=1.5", f"since must be an integer 0..{MAX_NS}, got '1.5'"),
])
def test_a_bad_query_value_is_a_400_with_one_line(http, path, query, line):
    response = http.get(f"{path}?{query}")
    assert response.status_code == 400 and response.get_json() == {"error": line}


def test_the_account_holds_positions_that_are_the_signed_sum_of_the_fills(http, traded):
    fills = http.get("/api/fills").get_json()["fills"]
    account = http.get("/api/account").get_json()
    assert set(account) == {"epoch", "balances", "positions", "equity", "valuation"}
    for symbol in SYMBOLS:
        position = account["positions"][symbol]
        mine = [f for f in fills if f["symbol"] == symbol]
        assert Decimal(position["qty"]) == sum(map(signed, mine)) and mine
        assert Decimal(position["fees"]) == sum(Decimal(f["fee"]) for f in mine)
        for key in ("qty", "avg_price", "realized", "unrealized"):  # decimal strings, never "-0"
            assert isinstance(position[key], str) and (Decimal(position[key]) or not position[key].startswith("-"))
    # balances: the base asset holds the position, the quote asset the cash, fees paid, exactly
    ftm, xmr = (account["positions"][s] for s in SYMBOLS)
    assert Decimal(account["balances"]["FTM"]) == Decimal(ftm["qty"])
    usdt = sum(-signed(f) * Decimal(f["price"]) - Decimal(f["fee"]) for f in fills if f["symbol"] == SYMBOLS[0])
    assert Decimal(account["balances"]["USDT"]) == usdt
    assert set(account["equity"]) == {"USDT", "BTC"}  # never one sum across quote currencies
    # the one total would need BTC in USDT: no BTCUSDT among the symbols, so none, and the reason
    assert account["valuation"] == {"asset": "USDT", "equity": None, "rates": {"BTC": None},
                                    "note": traded.portfolio.valuation.missing_note(["BTC", "USDT"])}


@pytest.mark.parametrize("value, min_decimals, text", [
    (0.1 + 0.2, 0, "0.3"),  # the float's noise beyond 15 significant digits is not shown
    (-2.1e-08, 0, "-0.000000021"),  # positional, never 2.1e-08
    (-0.0, 0, "0"), (-1e-17, 2, "0.00"),  # never "-0"
    (12345.678000000002, 0, "12345.678"),
    (0.33956833333333333, 5, "0.339568333333"), (3.0, 2, "3.00"),
])
def test_float_figures_read_as_decimals_a_trader_believes(value, min_decimals, text):
    from app.account_view import float_text

    assert float_text(value, min_decimals) == text


def test_equity_serves_the_one_second_samples_newest_last(http, traded):
    samples = http.get("/api/equity").get_json()["samples"]
    # every second is sampled per quote asset; the total only while it can be valued (here never: no BTCUSDT)
    assert sum(s["seconds"] for s in samples) == traded.portfolio.quote_curves["USDT"].samples > 20
    valued = sum(s["seconds"] for s in samples if s["total"] is not None)  # while the BTC amounts were zero
    assert valued == traded.portfolio.curve.samples < sum(s["seconds"] for s in samples)
    assert [s["ts"] for s in samples] == sorted(s["ts"] for s in samples)
    assert set(samples[-1]["symbols"]) == set(SYMBOLS)
    middle = samples[len(samples) // 2]["ts"]
    assert http.get(f"/api/equity?since={middle}").get_json()["samples"] == [s for s in samples if s["ts"] > middle]
    assert http.get("/api/equity?limit=2").get_json()["samples"] == samples[-2:]


def test_csv_downloads_hold_the_same_rows(http):
    fills = http.get("/api/fills").get_json()["fills"]
    response = http.get("/api/fills.csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["id"] for row in table] == [str(f["id"]) for f in fills]
    assert [(row["price"], row["qty"], row["fee"]) for row in table] == [(f["price"], f["qty"], f["fee"]) for f in fills]
    assert table[0]["time"].endswith("Z")
    assert len(list(csv.reader(io.StringIO(http.get("/api/fills.csv?limit=2").get_data(as_text=True))))) == 3
    samples = http.get("/api/equity").get_json()["samples"]
    rows = list(csv.DictReader(io.StringIO(http.get("/api/equity.csv").get_data(as_text=True))))
    assert len(rows) == len(samples) and set(rows[0]) == {"ts", "time", "seconds", "total", *SYMBOLS}
    assert [row["total"] or None for row in rows] == [s["total"] for s in samples]  # an empty cell: not valued


def test_a_fill_is_served_the_moment_it_happened(tmp_path):
    """No batch end, no push: the API commits before it reads, so the newest fill is there."""
    journal = Journal.open(StateDir(tmp_path).journal_path)
    engine, clock = build_engine(BOTH, strategy_params=TIGHT, journal=journal)
    http = client_for(engine)
    for recv_ns, text, symbol in recording():
        clock.now = recv_ns
        engine.on_message(recv_ns, text, symbol)
        if engine.portfolio.accounts[SYMBOLS[0]].fills:
            break
    assert len(http.get("/api/fills").get_json()["fills"]) == 1
    journal.close()


def test_an_engine_without_a_journal_says_so(tmp_path):
    engine, _ = build_engine()
    response = client_for(engine).get("/api/fills")
    assert response.status_code == 404 and response.get_json() == {"error": "this monitor keeps no account"}
