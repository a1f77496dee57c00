"""The account journal on a real SQLite file: schema and migrations, refusals, what is written and
when it is committed, and a restart that books the journal back into a fresh engine.

The engine is driven by a real Binance recording in batches, as the monitor's pump drives it;
a "crash" is an engine abandoned with whatever it had not committed (a restart then opens the
same file with a new connection, as a new process would)."""
from __future__ import annotations

import sqlite3
from decimal import Decimal

import orjson
import pytest

from app.journal import Journal, JournalError, decimal_text
from app.journal_schema import MIGRATIONS, SCHEMA_VERSION, SchemaError, migrate
from app.state_dir import StateDir, StateDirError, default_state_dir
from feeds.messages import FeedMessage
from strategies.activity import Activity
from strategies.orders import Liquidity
from tests.app.test_engine import SYMBOLS, TIGHT, ReplayClock, build_engine, recording

BOTH = ("market_maker", "liquidity_taker")


def pump(engine, clock, messages, count=None, batch=40):
    """Feed messages as the monitor's pump does: handle_batch per batch, clock at its last frame."""
    items = []
    for done, (recv_ns, text, symbol) in enumerate(messages, 1):
        items.append(FeedMessage(recv_ns, text, symbol))
        if len(items) == batch:
            clock.now = recv_ns
            engine.handle_batch(items)
            items = []
        if count is not None and done >= count:
            break
    if items:
        clock.now = items[-1].recv_ns
        engine.handle_batch(items)


def account_state(engine):
    """Everything the accounting keeps, per symbol, per strategy and for the portfolio curve."""
    def curve(c):
        return c.samples, c.last, c.peak, c.max_drawdown, c.returns.count, c.returns.mean, c.returns.variance

    state = {}
    for symbol, session in engine.sessions.items():
        a = session.account
        state[symbol] = (a.position, a.avg_price, a.cash_tick_lots, a.realized_tick_lots, a.fees, a.fills,
                         a.maker_fills, a.taker_fills, a.filled_qty, a.turnover_tick_lots, a.placed_qty, curve(a.curve),
                         [(slot.name, slot.position, slot.avg_price) for slot in session.slots])
    state["portfolio"] = curve(engine.portfolio.curve)
    return state


def rows(path, sql):
    """Read the file as another process would: a connection of its own sees only what was committed."""
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def journal_path(tmp_path):
    return StateDir(tmp_path).journal_path


# -- the file ---------------------------------------------------------------------------------------------
def test_a_new_journal_is_a_wal_database_at_the_current_version_and_each_start_is_a_run(journal_path):
    build_engine(strategy_params=TIGHT, journal=Journal.open(journal_path))[0].journal.close()
    second, _ = build_engine(strategy_params=TIGHT, journal=Journal.open(journal_path))
    assert rows(journal_path, "PRAGMA journal_mode") == [("wal",)]
    assert rows(journal_path, "SELECT MAX(version) FROM schema_version") == [(SCHEMA_VERSION,)]
    assert rows(journal_path, "SELECT id, epoch FROM runs") == [(1, 1), (2, 1)]
    assert (second.journal.run, second.journal.epoch) == (2, 1)
    config = orjson.loads(rows(journal_path, "SELECT config FROM runs WHERE id = 2")[0][0])
    assert config["symbols"] == list(SYMBOLS) and config["fees"][SYMBOLS[0]] == {"maker_bps": 10.0, "taker_bps": 10.0}
    second.journal.close()


def test_forward_migrations_bring_an_older_file_up_each_in_one_transaction(journal_path):
    conn = sqlite3.connect(journal_path, isolation_level=None)
    assert migrate(conn, {1: MIGRATIONS[1]}) == 1
    conn.execute("INSERT INTO epochs (started_ns, reason) VALUES (1, 'new account')")
    later = {**MIGRATIONS, 2: "ALTER TABLE epochs ADD COLUMN note TEXT NOT NULL DEFAULT 'kept'"}
    assert migrate(conn, later) == 2
    assert conn.execute("SELECT id, reason, note FROM epochs").fetchall() == [(1, "new account", "kept")]
    broken = {**later, 3: "CREATE TABLE half (x INTEGER); INSERT INTO nowhere VALUES (1)"}
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, broken)
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone() == (2,)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchall() == []  # rolled back


def _newer(path):
    Journal.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (?, 0)", (SCHEMA_VERSION + 1,))


def _garbage(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this was an account once\n" * 400)


def _damaged(path):
    journal = Journal.open(path)
    journal.conn.execute("INSERT INTO epochs (started_ns, reason) VALUES (0, 'new account')")
    journal.conn.executemany(  # fills, which every start-up reads
        "INSERT INTO fills (run, epoch, ts, symbol, strategy, client_id, side, price_units, qty_units, liquidity, "
        "reason, fee, fee_text, fee_asset, trade_id, tag, position_units) "
        "VALUES (1, 1, ?, 'BTCUSDT', 'market_maker', ?, 'BUY', 1, 1, 'maker', 'taker', 0.1, '0.1', 'USDT', 0, '', 1)",
        [(ts, f"c{ts}") for ts in range(3000)])
    journal.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    journal.close()
    data = bytearray(path.read_bytes())
    middle = len(data) // 4096 // 2 * 4096
    data[middle:middle + 4096] = b"\xff" * 4096  # a page in the middle of the file overwritten
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("spoil, words", [
    (_newer, f"has schema version {SCHEMA_VERSION + 1}, newer than this monitor knows ({SCHEMA_VERSION})"),
    (_garbage, "is unreadable (file is not a database)"),
    (_damaged, "is unreadable"),
])
def test_a_newer_or_corrupt_file_is_refused_in_one_line_and_left_as_it_was(journal_path, spoil, words):
    spoil(journal_path)
    before = journal_path.read_bytes()
    with pytest.raises(JournalError) as refused:
        Journal.open(journal_path)
    assert words in str(refused.value) and str(journal_path) in str(refused.value)
    assert "\n" not in str(refused.value)
    assert journal_path.read_bytes() == before  # never a silent reset


def test_a_file_another_process_is_writing_is_refused_as_locked(journal_path):
    Journal.open(journal_path).close()
    other = sqlite3.connect(journal_path, isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(JournalError, match="is locked by another process"):
            Journal.open(journal_path)
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_one_monitor_owns_a_state_directory_until_it_lets_go(tmp_path):
    first = StateDir(tmp_path / "state").lock()
    with pytest.raises(StateDirError, match=r"is in use by another monitor \(pid \d+\)"):
        StateDir(tmp_path / "state").lock()
    first.unlock()
    StateDir(tmp_path / "state").lock().unlock()


def test_the_default_state_directory_is_per_user():
    assert str(default_state_dir({"XDG_STATE_HOME": "/srv/state"})) == "/srv/state/binance-monitor"
    home = default_state_dir({"HOME": "/home/u"})
    assert home.parts[-3:] == (".local", "state", "binance-monitor")
    assert default_state_dir({"XDG_STATE_HOME": "relative/dir"}) == home  # the XDG spec ignores relative paths


# -- what is written, and when it is durable --------------------------------------------------------------
def test_fills_are_committed_at_the_end_of_each_batch_and_before_any_snapshot(journal_path):
    engine, clock = build_engine(BOTH, strategy_params=TIGHT, journal=Journal.open(journal_path))
    messages = recording()
    for recv_ns, text, symbol in messages:  # one event at a time, no batch end: nothing committed yet
        clock.now = recv_ns
        engine.on_message(recv_ns, text, symbol)
        engine.tick(recv_ns)
        if any(a.fills for a in engine.portfolio.accounts.values()):
            break
    seen = sum(a.fills for a in engine.portfolio.accounts.values())
    assert seen >= 1
    assert rows(journal_path, "SELECT COUNT(*) FROM fills") == [(0,)]
    engine.publish()  # the snapshot that would push the fill
    assert rows(journal_path, "SELECT COUNT(*) FROM fills") == [(seen,)]
    pump(engine, clock, messages)
    fills = sum(a.fills for a in engine.portfolio.accounts.values())
    assert fills > 5 and rows(journal_path, "SELECT COUNT(*) FROM fills") == [(fills,)]


def test_every_activity_entry_order_and_fill_is_journaled_with_exact_amounts(journal_path):
    engine, clock = build_engine(BOTH, strategy_params=TIGHT, journal=Journal.open(journal_path))
    pump(engine, clock, recording())
    logged = list(engine.activity)
    journaled = rows(journal_path, "SELECT ts, symbol, kind, message, data FROM activity ORDER BY id")
    assert [(a.ts, a.symbol, a.kind, a.message) for a in logged] == [r[:4] for r in journaled]
    assert {kind for _, _, kind, _, _ in journaled} >= {"order", "fill", "cancel", "feed"}
    # orders: one row per accepted order; a closed order has its final status; open ones are the matcher's
    orders = rows(journal_path, "SELECT symbol, client_id, status, filled_units FROM orders")
    accepted = [a for a in logged if a.kind == "order"]
    assert len(orders) == len(accepted) + sum(1 for a in logged if a.kind == "reject" and "side" in a.data)
    still_open = {(s, c) for s, c, status, _ in orders if status == "OPEN"}
    assert still_open == {(s, c) for s, session in engine.sessions.items() for c in session.matcher.orders}
    terms = {(s, c): (side, price, qty, tif) for s, c, side, price, qty, tif in rows(
        journal_path, "SELECT symbol, client_id, side, price_units, qty_units, time_in_force FROM orders")}
    for symbol, session in engine.sessions.items():  # each open order's terms, as the matcher holds them
        instrument = session.instrument
        for cid, order in session.matcher.orders.items():
            assert terms[(symbol, cid)] == (order.side.name, order.price * instrument.tick_units,
                                            order.qty * instrument.step_units, order.time_in_force.value)
    # fills: exact price and qty units, the float fee the accounting used, its exact decimal text
    fills = rows(journal_path, "SELECT symbol, side, price_units, qty_units, liquidity, fee, fee_text, position_units "
                               "FROM fills ORDER BY id")
    entries = [a for a in logged if a.kind == "fill"]
    assert len(fills) == len(entries) > 5
    positions = dict.fromkeys(SYMBOLS, 0)
    for (symbol, side, price_units, qty_units, liquidity, fee, fee_text, position_units), entry in zip(fills, entries):
        instrument = engine.instruments[symbol]
        assert (price_units, qty_units) == (entry.data["price"] * instrument.tick_units,
                                            entry.data["qty"] * instrument.step_units)
        assert fee == entry.data["fee"]
        notional = Decimal(price_units) * Decimal(qty_units) / Decimal(10) ** 16
        assert Decimal(fee_text) == notional * Decimal("10") / 10_000  # Binance's regular 10 bps, exactly
        positions[symbol] += qty_units if side == "BUY" else -qty_units
        assert position_units == positions[symbol]  # the symbol's position after the fill
    for symbol, session in engine.sessions.items():
        assert positions[symbol] == session.account.position * engine.instruments[symbol].step_units
    samples = rows(journal_path, "SELECT second, seconds, total, symbols FROM equity ORDER BY id")
    # every second is sampled; the total is None while it cannot be valued (XMRBTC and no BTCUSDT)
    assert sum(n for _, n, _, _ in samples) == engine.portfolio.quote_curves["USDT"].samples > 20
    assert samples[-1][2] is engine.portfolio.last_total is None
    assert orjson.loads(samples[-1][3]) == {s: a.curve.last for s, a in engine.portfolio.accounts.items()}


def test_control_commands_are_journaled_with_their_ack_before_it_returns(journal_path):
    engine, clock = build_engine(strategy_params=TIGHT, journal=Journal.open(journal_path))
    assert engine.command("risk", {"symbol": SYMBOLS[0], "action": "pause", "reason": "lunch"})["ok"]
    bad = engine.command("risk", {"symbol": SYMBOLS[0], "action": "limits", "limits": {"max_open_orders": -1}})
    assert not bad["ok"]
    got = rows(journal_path, "SELECT name, payload, ok, error FROM commands ORDER BY id")
    assert got == [
        ("risk", orjson.dumps({"symbol": SYMBOLS[0], "action": "pause", "reason": "lunch"}).decode(), 1, None),
        ("risk", orjson.dumps({"symbol": SYMBOLS[0], "action": "limits", "limits": {"max_open_orders": -1}}).decode(),
         0, bad["error"]),
    ]
    assert any(r[0] == "risk" for r in rows(journal_path, "SELECT kind FROM activity"))  # the HALTED entry


def test_a_commit_that_fails_keeps_its_rows_says_so_on_health_and_writes_them_later(journal_path):
    journal = Journal.open(journal_path)
    engine, clock = build_engine(BOTH, strategy_params=TIGHT, journal=journal)
    messages = recording()
    pump(engine, clock, messages, count=250)
    before = rows(journal_path, "SELECT COUNT(*) FROM activity")[0][0]
    journal.conn.execute("PRAGMA query_only = ON")  # every write now fails, as on a full or read-only disk
    pump(engine, clock, messages, count=250)
    assert engine.activity.seq > before
    assert rows(journal_path, "SELECT COUNT(*) FROM activity")[0][0] == before
    reasons = engine.health()["reasons"]
    assert any(r.startswith("account not saved: OperationalError") for r in reasons), reasons
    assert engine.faults.counts["journal"] > 0
    journal.conn.execute("PRAGMA query_only = OFF")
    pump(engine, clock, messages)
    assert not any(r.startswith("account not saved") for r in engine.health()["reasons"])
    assert rows(journal_path, "SELECT COUNT(*) FROM activity") == [(engine.activity.seq,)]  # none lost


def test_an_entry_the_journal_cannot_book_never_breaks_the_accounting_and_is_named_on_health(journal_path):
    engine, clock = build_engine(strategy_params=TIGHT, journal=Journal.open(journal_path))
    broken = Activity(clock.now, SYMBOLS[0], "order", "BUY ? [x]", {"client_id": "x", "side": "BUY"})  # no price, qty
    engine.record_activity(broken)  # returns: the session that logged it goes on
    engine.commit()
    assert rows(journal_path, "SELECT kind, message FROM activity WHERE message = 'BUY ? [x]'") == [("order", "BUY ? [x]")]
    assert "account not saved: order entry not booked (KeyError: 'price')" in engine.health()["reasons"]


# -- restart -----------------------------------------------------------------------------------------------
def test_a_restart_books_the_journal_back_through_the_same_accounting(journal_path):
    first, clock = build_engine(BOTH, strategy_params=TIGHT, journal=Journal.open(journal_path))
    messages = recording()
    pump(first, clock, messages, count=600)  # of the recording's 713
    open_orders = {(s, c) for s, session in first.sessions.items() for c in session.matcher.orders}
    assert open_orders and all(a.fills >= 4 for a in first.portfolio.accounts.values())
    crashed = account_state(first)
    activity = [(a.ts, a.symbol, a.kind, a.message, orjson.loads(orjson.dumps(a.data)) if a.data is not None else None)
                for a in first.activity]
    fills_before = rows(journal_path, "SELECT * FROM fills ORDER BY id")
    for _ in range(20):  # work after the last commit (no batch end, no push): lost with the process
        recv_ns, text, symbol = next(messages)
        first.on_message(recv_ns, text, symbol)
    first.journal.conn.close()  # the process is gone

    later = ReplayClock()
    later.now = clock.now + 5_000_000_000
    second, _ = build_engine(BOTH, strategy_params=TIGHT, journal=Journal.open(journal_path), clock=later)
    assert account_state(second) == crashed
    restored = list(second.activity)
    assert [(a.ts, a.symbol, a.kind, a.message, a.data) for a in restored[:len(activity)]] == activity
    startup = [a for a in restored[len(activity):] if a.kind == "cancel"]
    assert {(a.symbol, a.data["client_id"]) for a in startup} == open_orders  # one entry per order left open
    assert all("at start-up" in a.message and a.ts == later.now for a in startup)
    assert rows(journal_path, "SELECT COUNT(*) FROM orders WHERE status = 'OPEN'") == [(0,)]
    assert rows(journal_path, "SELECT * FROM fills ORDER BY id")[:len(fills_before)] == fills_before
    # journaled too (besides them run 2 logs its start-up notes, such as the 3 bps spread's fee warning)
    assert rows(journal_path, "SELECT COUNT(*) FROM activity WHERE run = 2 AND kind = 'cancel'") == [(len(startup),)]


def test_an_exact_fee_is_the_schedule_rate_times_the_exact_notional():
    from strategies.fees import FeeSchedule

    assert decimal_text(FeeSchedule().exact_fee(12_345_678_000, Liquidity.MAKER)) == "0.12345678"
    assert decimal_text(FeeSchedule(maker_bps=-1.5).exact_fee(10**8, Liquidity.MAKER)) == "-0.00015"
    assert decimal_text(FeeSchedule(taker_bps=7.5).exact_fee(3 * 10**8, Liquidity.TAKER)) == "0.00225"
    assert decimal_text(Decimal("-0")) == "0"
