"""The account journal: one SQLite log of a monitor's inputs and outputs, as they happen.

What is written (schema in app.journal_schema):
- every activity entry (orders, fills, cancels, rejects, risk state changes, strategy and feed
  events), as the engine logs it: the activity feed is the engine's output, so the journal takes it
  from the engine's one activity sink and nothing can be logged without being journaled;
- from those entries, the account's own tables: each order with its terms and final status, each
  fill with its exact price, size and fee and the symbol's position after it;
- each 1-second equity sample (``Portfolio.on_sample``), each control command with its ack, and
  per run (one start-up) the configuration it ran with.

When it is durable: ``record`` and the other writers only buffer rows (they run inside the
engine's hot path and must never raise into it); ``commit`` writes the buffers in one transaction.
The engine commits at the end of every batch, after every control command and before every
snapshot it publishes, and the API commits before it reads, so nothing is pushed or served that a
crash could take back. SQLite runs in WAL mode with synchronous=NORMAL: a committed transaction
survives the process being killed (``kill -9``) at any instant; a power cut can lose the last
transactions, never the file's consistency. A commit that fails (disk full) keeps its rows for the
next attempt and says why in ``problem``.

Opening refuses, with one line (``JournalError``), a file that is not a database, is of a newer
schema version or is locked by another process, and so does the start-up when a page it reads
(this epoch's fills, orders and equity samples, the newest activity) is damaged. It never resets
one. (No full integrity check: it reads every page, 2 s for a day's 300 MB, at every start.)
``Journal.open(None)`` keeps the same journal in memory (``serve --memory-only``): the API works,
nothing outlives the process.
"""
from __future__ import annotations

import json
import os
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, Mapping, NamedTuple

import orjson

from app.journal_schema import SchemaError, migrate
from strategies.activity import Activity
from strategies.orders import Liquidity

BUSY_TIMEOUT_MS = 2_000  # another process writing: wait this long, then the file is "locked"
_OPEN = "OPEN"  # the orders table's status while an order can still fill


class JournalError(Exception):
    """The journal cannot be opened as it is: one line, the file left untouched."""


class JournalWriteError(Exception):
    """A commit failed; its rows are kept and tried again with the next commit."""


def unreadable(where: Any, exc: BaseException) -> JournalError:
    """The one line for a file SQLite cannot read (not a database, or a damaged page)."""
    return JournalError(f"the account journal {where} is unreadable ({exc}); it was left as it is: "
                        "move it aside to start a new account, or give another --state-dir")


class FillRow(NamedTuple):
    id: int
    ts: int
    symbol: str
    strategy: str
    client_id: str
    side: str
    price_units: int
    qty_units: int
    liquidity: str
    reason: str
    fee: float
    fee_text: str
    fee_asset: str
    trade_id: int
    tag: str
    detail: str | None


class SampleRow(NamedTuple):
    second: int  # index of the last second closed (ns // 1e9)
    seconds: int  # how many seconds the row closes, all at these equities
    total: float
    symbols: str  # JSON {SYMBOL: equity}


class OrphanOrder(NamedTuple):
    """An order that was open when its run ended; cancelled at start-up."""

    run: int
    symbol: str
    client_id: str
    strategy: str
    filled_units: int


_FILL_COLUMNS = ", ".join(FillRow._fields)
_STATEMENTS = (  # one per buffer of Journal._writes
    "INSERT INTO activity (run, epoch, ts, symbol, kind, message, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO orders (id, run, epoch, symbol, client_id, strategy, side, price_units, qty_units, time_in_force, "
    "post_only, tag, ts, accepted, status, ts_done, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "UPDATE orders SET status = ?, filled_units = ?, ts_done = ?, reason = ? WHERE id = ?",
    "INSERT INTO fills (run, epoch, ts, symbol, strategy, client_id, side, price_units, qty_units, liquidity, reason, "
    "fee, fee_text, fee_asset, trade_id, tag, detail, position_units) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO equity (run, epoch, second, seconds, total, symbols) VALUES (?, ?, ?, ?, ?, ?)",
    "INSERT INTO commands (run, epoch, ts, name, payload, ok, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
)
_KNOWN_FILL_KEYS = frozenset({"client_id", "strategy", "side", "price", "qty", "liquidity", "reason", "fee", "tag",
                              "trade_id"})
_LIQUIDITY = {liquidity.value: liquidity for liquidity in Liquidity}


def decimal_text(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros ('0.12345678', '-3', '0')."""
    if not value:
        return "0"
    return format(value.normalize(), "f")


def _json(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:  # orjson refuses integers beyond 64 bits; the standard library takes them
        return json.dumps(value, default=str)


def _int64(value: Any) -> int:
    """An integer from the feed (a trade id) as SQLite can store it: 0 when it is not one."""
    return value if isinstance(value, int) and -(2**63) <= value < 2**63 else 0


class Journal:
    """The account's SQLite file (or memory). ``bind(engine)`` before the writers are used."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None) -> None:
        self.conn = conn
        self.path = path
        self.closed = False
        self._commit_problem = ""  # why the last commit failed ("" when it did not)
        self._entry_problem = ""  # the last entry whose order or fill row could not be made (a bug: kept)
        # Only reads until bind(): a file found damaged on the way is left exactly as it was.
        self.epoch: int = conn.execute("SELECT COALESCE(MAX(id), 0) FROM epochs").fetchone()[0]  # 0: none yet
        self.run = 0  # this run's id, from bind()
        self.fees_paid: dict[str, Decimal] = {}  # exact fees of this epoch per symbol
        for symbol, fee_text in conn.execute("SELECT symbol, fee_text FROM fills WHERE epoch = ?", (self.epoch,)):
            self.fees_paid[symbol] = self.fees_paid.get(symbol, Decimal(0)) + Decimal(fee_text)
        self._sessions: Mapping[str, Any] = {}
        self._portfolio: Any = None
        self._next_order = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM orders").fetchone()[0]
        # open orders of this run: (symbol, client_id) -> [row id, qty units, filled units]
        self._open: dict[tuple[str, str], list[int]] = {}
        # rows waiting for the next commit, each list with its statement, in the order they are written
        self._activity: list[tuple] = []
        self._new_orders: list[tuple] = []
        self._order_updates: list[tuple] = []
        self._fills: list[tuple] = []
        self._samples: list[tuple] = []
        self._commands: list[tuple] = []
        self._writes = tuple(zip(_STATEMENTS, (self._activity, self._new_orders, self._order_updates, self._fills,
                                               self._samples, self._commands)))

    # -- opening ------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | None) -> "Journal":
        """The journal at ``path`` (created when missing), or in memory when path is None."""
        where = str(path) if path is not None else ":memory:"
        try:
            conn = sqlite3.connect(where, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open the account journal {where}: {exc}") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if path is not None:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode != "wal":
                    raise sqlite3.OperationalError(f"cannot switch to WAL mode (got {mode})")
                conn.execute("PRAGMA synchronous = NORMAL")
            migrate(conn)
            return cls(conn, path)
        except SchemaError as exc:
            conn.close()
            raise JournalError(f"the account journal {where} {exc}") from None
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise JournalError(f"the account journal {where} is locked by another process") from None
            raise JournalError(f"cannot use the account journal {where}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise unreadable(where, exc) from None

    def bind(self, engine: Any) -> None:
        """Start this run (the account's first epoch too, on a new file) and journal ``engine`` from
        here on: each fill's fee schedule and position from its sessions, samples from its portfolio."""
        now = engine.clock_ns()
        conn = self.conn
        if not self.epoch:
            self.epoch = conn.execute("INSERT INTO epochs (started_ns, reason) VALUES (?, 'new account')",
                                      (now,)).lastrowid
        self.run = conn.execute("INSERT INTO runs (epoch, started_ns, pid) VALUES (?, ?, ?)",
                                (self.epoch, now, os.getpid())).lastrowid
        self._sessions = engine.sessions
        self._portfolio = engine.portfolio
        engine.portfolio.on_sample = self.on_sample

    def describe_run(self, config: Mapping[str, Any]) -> None:
        """What this run trades with (symbols, strategies and parameters, risk limits, fees, latency, seed)."""
        self.conn.execute("UPDATE runs SET config = ? WHERE id = ?", (_json(config), self.run))

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self.closed = True
            self.conn.close()

    # -- writing (buffered; ``commit`` makes it durable) ----------------------------------------------
    @property
    def problem(self) -> str:
        """Why the account is not being saved as it should ("" when it is), for /health."""
        return self._commit_problem or self._entry_problem

    def record(self, entry: Activity) -> None:
        """One activity entry, and what it means for the orders and fills tables. Never raises:
        it runs inside the engine's accounting, which must not be cut short half-way."""
        data = entry.data
        self._activity.append((self.run, self.epoch, entry.ts, entry.symbol, entry.kind, entry.message, _json(data)))
        if data:
            try:
                self._account_rows(entry, data)
            except Exception as exc:  # the activity row is kept; the entry that broke it is named on /health
                self._entry_problem = f"{entry.kind} entry not booked ({type(exc).__name__}: {exc})"

    def _account_rows(self, entry: Activity, data: dict) -> None:
        kind = entry.kind
        if kind == "fill":
            self._fill(entry, data)
        elif kind == "order":
            self._order(entry, data, _OPEN)
        elif kind == "cancel":
            status = data.get("status")
            if status is not None:
                self._close(entry.symbol, data.get("client_id"), status, entry.ts, "")
        elif kind == "reject" and "side" in data:  # an order the exchange refused (the entry carries its terms)
            if (entry.symbol, data.get("client_id")) in self._open:
                self._close(entry.symbol, data["client_id"], "REJECTED", entry.ts, data.get("reason", ""))
            else:
                self._order(entry, data, "REJECTED")

    def _order(self, entry: Activity, data: dict, status: str) -> None:
        session = self._sessions[entry.symbol]
        instrument = session.instrument
        price = data["price"]
        qty_units = data["qty"] * instrument.step_units
        cid = data["client_id"]
        done = None if status == _OPEN else entry.ts
        row_id = self._next_order
        self._next_order += 1
        self._new_orders.append((
            row_id, self.run, self.epoch, entry.symbol, cid, data.get("strategy", ""), data["side"],
            None if price is None else price * instrument.tick_units, qty_units, data["tif"], int(data["post_only"]),
            data.get("tag", ""), entry.ts, int(status == _OPEN), status, done, data.get("reason", "") if done else "",
        ))
        if status == _OPEN:
            self._open[(entry.symbol, cid)] = [row_id, qty_units, 0]

    def _close(self, symbol: str, client_id: Any, status: str, ts: int, reason: str) -> None:
        state = self._open.pop((symbol, client_id), None)
        if state is not None:
            self._order_updates.append((status, state[2], ts, reason, state[0]))

    def _fill(self, entry: Activity, data: dict) -> None:
        symbol = entry.symbol
        session = self._sessions[symbol]
        instrument = session.instrument
        price, qty = data["price"], data["qty"]
        liquidity = data["liquidity"]
        fee_text = decimal_text(session.matcher.fees.exact_fee(instrument.notional_units(price, qty),
                                                               _LIQUIDITY[liquidity]))
        self.fees_paid[symbol] = self.fees_paid.get(symbol, Decimal(0)) + Decimal(fee_text)
        detail = {k: v for k, v in data.items() if k not in _KNOWN_FILL_KEYS}
        cid = data["client_id"]
        qty_units = qty * instrument.step_units
        self._fills.append((
            self.run, self.epoch, entry.ts, symbol, data.get("strategy", ""), cid, data["side"],
            price * instrument.tick_units, qty_units, liquidity, data["reason"], float(data["fee"]), fee_text,
            instrument.quote_asset, _int64(data.get("trade_id", 0)), data.get("tag", ""), _json(detail or None),
            session.account.position * instrument.step_units,
        ))
        state = self._open.get((symbol, cid))
        if state is not None:
            state[2] += qty_units
            if state[2] >= state[1]:
                self._close(symbol, cid, "FILLED", entry.ts, "")
            else:
                self._order_updates.append((_OPEN, state[2], None, "", state[0]))

    def on_sample(self, last_second: int, seconds: int) -> None:
        """``Portfolio.on_sample``: the equities its curves just recorded."""
        portfolio = self._portfolio
        symbols = {symbol: account.curve.last for symbol, account in portfolio.accounts.items()}
        self._samples.append((self.run, self.epoch, last_second, seconds, portfolio.last_total, _json(symbols)))

    def on_command(self, ts: int, name: Any, payload: Any, ack: Mapping[str, Any]) -> None:
        """A control command as it arrived (name and payload) and its ack."""
        ok = bool(ack.get("ok"))
        self._commands.append((self.run, self.epoch, ts, str(name)[:64], _json(payload), int(ok),
                               None if ok else str(ack.get("error", ""))))

    def commit(self) -> None:
        """Write everything buffered in one transaction (nothing to write: nothing done)."""
        writes = [(sql, rows) for sql, rows in self._writes if rows]
        if not writes:
            return
        # Closed: the monitor is stopping. The live pump was joined before the close, so only a replay
        # that runs on into the shut-down can add rows; they are dropped, never an error mid-stop.
        if self.closed:
            for _, rows in writes:
                rows.clear()
            return
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, rows in writes:
                    conn.executemany(sql, rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except (sqlite3.Error, ValueError, TypeError, OverflowError) as exc:  # kept for the next commit
            self._commit_problem = f"{type(exc).__name__}: {exc}"
            raise JournalWriteError(self._commit_problem) from exc
        self._commit_problem = ""
        for _, rows in writes:
            rows.clear()

    # -- reading ------------------------------------------------------------------------------------
    def fills(self, *, symbol: str | None = None, strategy: str | None = None, since: int | None = None,
              after_id: int = 0, limit: int = 500, tail: bool = False) -> list[FillRow]:
        """This epoch's fills, oldest first, with ts after ``since`` (ns, exclusive) and id after
        ``after_id``: the first ``limit`` of them, or with ``tail`` the newest ``limit``."""
        where, args = ["epoch = ?", "id > ?"], [self.epoch, after_id]
        for clause, value in (("symbol = ?", symbol), ("strategy = ?", strategy), ("ts > ?", since)):
            if value is not None:
                where.append(clause)
                args.append(value)
        rows = self.conn.execute(f"SELECT {_FILL_COLUMNS} FROM fills WHERE {' AND '.join(where)} "
                                 f"ORDER BY id {'DESC' if tail else 'ASC'} LIMIT ?", (*args, limit)).fetchall()
        if tail:
            rows.reverse()
        return [FillRow(*row) for row in rows]

    def samples(self, *, since: int | None = None, limit: int = 3600, tail: bool = False) -> list[SampleRow]:
        """This epoch's equity samples, oldest first, closing seconds after ``since`` (a second
        index, exclusive): the first ``limit``, or with ``tail`` the newest ``limit``."""
        rows = self.conn.execute(
            f"SELECT second, seconds, total, symbols FROM equity WHERE epoch = ? AND second > ? "
            f"ORDER BY id {'DESC' if tail else 'ASC'} LIMIT ?",
            (self.epoch, -1 if since is None else since, limit)).fetchall()
        if tail:
            rows.reverse()
        return [SampleRow(*row) for row in rows]

    def sample_symbols(self) -> list[str]:
        """Every symbol with an equity sample in this epoch."""
        return [row[0] for row in self.conn.execute(
            "SELECT DISTINCT key FROM equity, json_each(equity.symbols) WHERE epoch = ?", (self.epoch,))]

    # -- restoring (app.account_restore) -------------------------------------------------------------------
    def epoch_fills(self) -> Iterator[FillRow]:
        """Every fill of this epoch in the order they happened."""
        cursor = self.conn.execute(f"SELECT {_FILL_COLUMNS} FROM fills WHERE epoch = ? ORDER BY id", (self.epoch,))
        return (FillRow(*row) for row in cursor)

    def epoch_samples(self) -> Iterator[SampleRow]:
        cursor = self.conn.execute("SELECT second, seconds, total, symbols FROM equity WHERE epoch = ? ORDER BY id",
                                   (self.epoch,))
        return (SampleRow(*row) for row in cursor)

    def placed_units(self) -> dict[str, int]:
        """Units of every order the matcher accepted this epoch, per symbol (the fill ratio's denominator)."""
        return dict(self.conn.execute("SELECT symbol, SUM(qty_units) FROM orders WHERE epoch = ? AND accepted = 1 "
                                      "GROUP BY symbol", (self.epoch,)))

    def recent_activity(self, count: int) -> list[Activity]:
        """The newest ``count`` activity entries of this epoch, oldest first."""
        rows = self.conn.execute("SELECT ts, symbol, kind, message, data FROM activity WHERE epoch = ? "
                                 "ORDER BY id DESC LIMIT ?", (self.epoch, count)).fetchall()
        rows.reverse()
        return [Activity(ts, symbol, kind, message, None if data is None else orjson.loads(data))
                for ts, symbol, kind, message, data in rows]

    def close_open_orders(self, ts: int) -> list[OrphanOrder]:
        """Orders of earlier runs still open (the run ended while they were): now CANCELED."""
        conn = self.conn
        rows = conn.execute("SELECT id, run, symbol, client_id, strategy, filled_units FROM orders "
                            "WHERE epoch = ? AND status = ? AND run != ? ORDER BY id",
                            (self.epoch, _OPEN, self.run)).fetchall()
        if rows:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("UPDATE orders SET status = 'CANCELED', ts_done = ?, reason = ? WHERE id = ?",
                             [(ts, "open when the monitor stopped", row[0]) for row in rows])
            conn.execute("COMMIT")
        return [OrphanOrder(*row[1:]) for row in rows]
