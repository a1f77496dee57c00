"""The account journal's SQLite schema: its versions and the forward migrations between them.

Rules:
- ``schema_version`` holds one row per migration applied. A new file gets every migration in
  order; an older one gets those it lacks, each in its own transaction (a crash mid-migration
  leaves the file at the previous version, never half-way).
- A file of a newer version than ``SCHEMA_VERSION`` is refused (this code cannot know what the
  newer columns mean), and so is one that is not a database or fails SQLite's quick check. Never
  a silent reset: the caller stops with one line and leaves the file as it was.
- Few indexes: each one is written on every commit. Activity has none (its reader wants the newest
  rows of the newest epoch, which a backwards scan of the table finds first); orders are updated by
  their id (the journal numbers them), so client ids need no index and may repeat.
- Amounts are exact: prices and quantities as integer 1e-8 units (independent of the instrument's
  tick and step, which can change between runs), fees both as the float the accounting used and as
  their exact decimal text. Times are ns since the epoch (event time). Every row names its ``run``
  (one start-up of a monitor) and its account ``epoch`` (a reset starts a new one; old ones stay).
"""
from __future__ import annotations

import sqlite3
import time

SCHEMA_VERSION = 1

# version -> the script that brings the previous version to it
MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE epochs (
        id INTEGER PRIMARY KEY, started_ns INTEGER NOT NULL, reason TEXT NOT NULL);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY, epoch INTEGER NOT NULL REFERENCES epochs(id), started_ns INTEGER NOT NULL,
        pid INTEGER NOT NULL, config TEXT);
    CREATE TABLE commands (
        id INTEGER PRIMARY KEY, run INTEGER NOT NULL, epoch INTEGER NOT NULL, ts INTEGER NOT NULL,
        name TEXT NOT NULL, payload TEXT, ok INTEGER NOT NULL, error TEXT);
    CREATE TABLE orders (
        id INTEGER PRIMARY KEY, run INTEGER NOT NULL, epoch INTEGER NOT NULL, symbol TEXT NOT NULL,
        client_id TEXT NOT NULL, strategy TEXT NOT NULL, side TEXT NOT NULL, price_units INTEGER,
        qty_units INTEGER NOT NULL, time_in_force TEXT NOT NULL, post_only INTEGER NOT NULL, tag TEXT NOT NULL,
        ts INTEGER NOT NULL, accepted INTEGER NOT NULL, status TEXT NOT NULL, filled_units INTEGER NOT NULL DEFAULT 0,
        ts_done INTEGER, reason TEXT NOT NULL DEFAULT '');
    CREATE INDEX orders_open ON orders (epoch) WHERE status = 'OPEN';
    CREATE TABLE fills (
        id INTEGER PRIMARY KEY, run INTEGER NOT NULL, epoch INTEGER NOT NULL, ts INTEGER NOT NULL,
        symbol TEXT NOT NULL, strategy TEXT NOT NULL, client_id TEXT NOT NULL, side TEXT NOT NULL,
        price_units INTEGER NOT NULL, qty_units INTEGER NOT NULL, liquidity TEXT NOT NULL, reason TEXT NOT NULL,
        fee REAL NOT NULL, fee_text TEXT NOT NULL, fee_asset TEXT NOT NULL, trade_id INTEGER NOT NULL,
        tag TEXT NOT NULL, detail TEXT, position_units INTEGER NOT NULL);
    CREATE INDEX fills_by_ts ON fills (epoch, ts);
    CREATE INDEX fills_by_symbol ON fills (epoch, symbol, ts);
    CREATE TABLE equity (
        id INTEGER PRIMARY KEY, run INTEGER NOT NULL, epoch INTEGER NOT NULL, second INTEGER NOT NULL,
        seconds INTEGER NOT NULL, total REAL, symbols TEXT NOT NULL);
    CREATE INDEX equity_by_second ON equity (epoch, second);
    CREATE TABLE activity (
        id INTEGER PRIMARY KEY, run INTEGER NOT NULL, epoch INTEGER NOT NULL, ts INTEGER NOT NULL,
        symbol TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL, data TEXT);
    """,
}


class SchemaError(Exception):
    """The file cannot be used as this version's journal: one line saying why."""


def migrate(conn: sqlite3.Connection, migrations: dict[int, str] | None = None) -> int:
    """Bring the database to the newest version in ``migrations``; return that version.

    ``conn`` must be in autocommit mode (isolation_level None): each step is its own transaction.
    """
    migrations = MIGRATIONS if migrations is None else migrations
    newest = max(migrations)
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_ns INTEGER NOT NULL)")
    current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
    if current > newest:
        raise SchemaError(f"has schema version {current}, newer than this monitor knows ({newest}): "
                          "run the newer version, or give this one another --state-dir")
    for version in range(current + 1, newest + 1):
        conn.execute("BEGIN IMMEDIATE")  # executescript would commit on its own: statements one by one
        try:
            for statement in _statements(migrations[version]):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version, applied_ns) VALUES (?, ?)", (version, time.time_ns()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return newest


def _statements(script: str) -> list[str]:
    """A migration script's statements (split on ';': the schema's statements contain no literal one)."""
    return [s.strip() for s in script.split(";") if s.strip()]
