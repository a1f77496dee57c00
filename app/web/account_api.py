"""HTTP: the paper account. Read-only; each request commits the journal first, so it serves
everything the engine has done, and nothing a crash could take back.

    GET /api/fills?symbol=&strategy=&since=&limit=   {"fills": [...]}, oldest first
    GET /api/fills.csv?symbol=&strategy=&since=&limit=
    GET /api/account                                   balances, positions, equity (app.account_view)
    GET /api/equity?since=&limit=                      {"samples": [...]}: the 1-second equity samples
    GET /api/equity.csv?since=&limit=

``since`` is ns since the epoch, exclusive (a fill's ``ts``, a sample's end ``ts``): with it the
first ``limit`` rows after it (page forward with the last row's ts), without it the newest
``limit``. JSON answers hold at most MAX_FILLS fills or MAX_SAMPLES samples; CSV downloads hold
every matching row unless ``limit`` is given. A bad query value is a 400 with one line.
"""
from __future__ import annotations

import csv
import io
import re
from itertools import chain
from typing import Any, Callable, Iterator

from flask import Blueprint, Response, current_app, request

from app.account_view import (
    FILL_CSV_COLUMNS,
    account_json,
    equity_csv_header,
    equity_csv_row,
    fill_csv_row,
    fill_json,
    sample_json,
)
from app.journal import Journal
from app.web.routes import json_response
from strategies.metrics import SECOND_NS

DEFAULT_FILLS = 500
MAX_FILLS = 5000
DEFAULT_SAMPLES = 3600  # an hour
MAX_SAMPLES = 86_400  # a day
_SYMBOL = re.compile(r"[A-Z0-9]{2,20}")
_STRATEGY = re.compile(r"[a-z0-9_]{1,64}")
_DIGITS = re.compile(r"[0-9]{1,19}")
_MAX_NS = 2**63 - 1  # SQLite's integers


class QueryError(ValueError):
    """A query value outside what the route takes: answered 400 with this one line."""


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:37] + "...")


def _text(name: str, pattern: re.Pattern, what: str, upper: bool = False) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    value = raw.upper() if upper else raw
    if not pattern.fullmatch(value):
        raise QueryError(f"{name} must be {what}, got {_shown(raw)}")
    return value


def _integer(name: str, low: int, high: int, default: int | None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise QueryError(f"{name} must be an integer {low}..{high}, got {_shown(raw)}")
    return int(raw)


def _fill_filters() -> dict[str, Any]:
    return {
        "symbol": _text("symbol", _SYMBOL, "a symbol name such as BTCUSDT", upper=True),
        "strategy": _text("strategy", _STRATEGY, "a strategy name such as market_maker"),
        "since": _integer("since", 0, _MAX_NS, None),
    }


def _since_second() -> int | None:
    """``since`` (ns) as the equity table's second index: rows whose end ts is after it."""
    since = _integer("since", 0, _MAX_NS, None)
    return None if since is None else since // SECOND_NS - 1


def _pages(fetch: Callable[[Any, int], list], start: Any, limit: int | None, page_size: int,
           key: Callable[[Any], Any]) -> Iterator[Any]:
    """Rows from ``fetch(after, count)`` page by page (oldest first), at most ``limit`` (None: all)."""
    after, left = start, limit
    while left is None or left > 0:
        page = fetch(after, page_size if left is None else min(page_size, left))
        yield from page
        if len(page) < page_size:
            return
        after = key(page[-1])
        left = None if left is None else left - len(page)


def _csv_download(name: str, rows: Iterator[list]) -> Response:
    """Rows streamed as a CSV attachment, in pieces of about 64 KB (a download can be long)."""
    def pieces() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in rows:
            writer.writerow(row)
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
    return Response(pieces(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


def build_account_blueprint() -> Blueprint:
    account_api = Blueprint("account", __name__)

    def route(path: str):
        """A GET route given (engine, journal), the journal committed; QueryError -> 400."""
        def register(body: Callable[[Any, Journal], Response]):
            def view() -> Response:
                engine = current_app.extensions["monitor"].engine
                journal = getattr(engine, "journal", None)
                if journal is None:
                    return json_response({"error": "this monitor keeps no account"}, status=404)
                engine.commit()  # everything done so far is durable before it is served
                try:
                    return body(engine, journal)
                except QueryError as exc:
                    return json_response({"error": str(exc)}, status=400)
            view.__name__ = body.__name__
            return account_api.get(path)(view)
        return register

    @route("/api/fills")
    def fills(engine: Any, journal: Journal) -> Response:
        filters = _fill_filters()
        limit = _integer("limit", 1, MAX_FILLS, DEFAULT_FILLS)
        rows = journal.fills(**filters, limit=limit, tail=filters["since"] is None)
        return json_response({"fills": [fill_json(row, engine.instruments) for row in rows]})

    @route("/api/fills.csv")
    def fills_csv(engine: Any, journal: Journal) -> Response:
        filters = _fill_filters()
        limit = _integer("limit", 1, _MAX_NS, None)
        rows = _pages(lambda after, count: journal.fills(**filters, after_id=after, limit=count),
                      0, limit, MAX_FILLS, key=lambda row: row.id)
        return _csv_download("fills.csv", chain([list(FILL_CSV_COLUMNS)],
                                                (fill_csv_row(fill_json(row, engine.instruments)) for row in rows)))

    @route("/api/account")
    def account(engine: Any, journal: Journal) -> Response:
        return json_response(account_json(engine, journal))

    @route("/api/equity")
    def equity(engine: Any, journal: Journal) -> Response:
        since = _since_second()
        limit = _integer("limit", 1, MAX_SAMPLES, DEFAULT_SAMPLES)
        rows = journal.samples(since=since, limit=limit, tail=since is None)
        return json_response({"samples": [sample_json(row) for row in rows]})

    @route("/api/equity.csv")
    def equity_csv(engine: Any, journal: Journal) -> Response:
        since = _since_second()
        limit = _integer("limit", 1, _MAX_NS, None)
        header = equity_csv_header(journal.sample_symbols())
        rows = _pages(lambda after, count: journal.samples(since=after, limit=count),
                      -1 if since is None else since, limit, MAX_SAMPLES, key=lambda row: row.second)
        return _csv_download("equity.csv", chain([header], (equity_csv_row(sample_json(row), header) for row in rows)))

    return account_api
