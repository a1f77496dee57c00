"""Is Binance reachable from here? A quick check for ``serve --source auto``.

Pings the REST API (``/api/v3/ping`` and ``/api/v3/time``, as python-binance's
``AsyncClient.create`` does), fetches exchangeInfo for the wanted symbols (the raw body, so the app can
build its instruments without asking twice) and opens one combined-stream websocket — all at once
and under one deadline, so an unreachable network (DNS failure, blackholed route) is reported
within ``timeout_s``. Run it on the feed's asyncio thread: ``runner.run(probe_binance(...))``.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import aiohttp

from feeds.binance_raw import RawSocketManager, pointed_client_class
from feeds.binance_stream import BINANCE_API_URL, BINANCE_STREAM_URL

__all__ = ["BINANCE_API_URL", "BINANCE_STREAM_URL", "SourceProbe", "probe_binance"]


@dataclass(frozen=True)
class SourceProbe:
    """reachable: REST and websocket both answered; detail: one line for the page / log;
    elapsed_s: how long the probe took; exchange_info: raw exchangeInfo body (None if not fetched)."""

    reachable: bool
    detail: str
    elapsed_s: float
    exchange_info: str | None = None


async def probe_binance(symbols: Sequence[str], api_url: str = BINANCE_API_URL,
                        stream_url: str = BINANCE_STREAM_URL, timeout_s: float = 3.0,
                        clock_ns: Callable[[], int] = time.time_ns) -> SourceProbe:
    """Probe ``api_url`` / ``stream_url`` for ``symbols``; never raises, returns within ~timeout_s."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    client_class = pointed_client_class(api_url)
    client = None
    sock = None

    async def rest() -> str:
        nonlocal client
        # What AsyncClient.create() does, but with the client kept for the finally below even
        # when this task is cancelled half-way (create() leaks its session then).
        client = client_class(testnet=False)
        await client.ping()
        await client.get_server_time()
        url = f"{client.API_URL}/{client.PUBLIC_API_VERSION}/exchangeInfo"
        params = {"symbols": json.dumps([s.upper() for s in symbols], separators=(",", ":"))}
        async with client.session.get(url, params=params) as resp:
            body = await resp.text()
            if resp.status != 200:
                raise LookupError(f"exchangeInfo HTTP {resp.status}: {body[:160]}")
            return body

    async def websocket() -> None:
        nonlocal sock
        # create() may not have finished yet: the socket manager only needs a client shell.
        shell = client_class(testnet=False)
        try:
            manager = RawSocketManager(shell, stream_url, clock_ns, max_queue_size=100)
            sock = manager.multiplex_socket([f"{symbols[0].lower()}@bookTicker"] if symbols else [])
            await sock.connect()
        finally:
            await shell.close_connection()

    async def both() -> str:
        # A TaskGroup cancels the other check as soon as one fails: nothing outlives the probe.
        async with asyncio.TaskGroup() as group:
            info = group.create_task(rest())
            group.create_task(websocket())
        return info.result()

    try:
        try:
            info = await asyncio.wait_for(both(), timeout_s)
        except BaseExceptionGroup as group:
            raise _first_failure(group) from None
        return SourceProbe(True, f"Binance reachable ({api_url}, {stream_url})",
                           loop.time() - started, info)
    except asyncio.TimeoutError:
        return SourceProbe(False, f"Binance did not answer within {timeout_s:g} s",
                           loop.time() - started)
    except LookupError as exc:
        return SourceProbe(False, f"Binance reachable but {exc}", loop.time() - started)
    except (aiohttp.ClientError, OSError, Exception) as exc:  # noqa: BLE001 - any failure = unreachable
        return SourceProbe(False, f"Binance unreachable: {_one_line(exc)}", loop.time() - started)
    finally:
        if sock is not None:
            await sock.shutdown()
        if client is not None:
            await client.close_connection()


def _first_failure(group: BaseExceptionGroup) -> BaseException:
    first = group.exceptions[0]
    return _first_failure(first) if isinstance(first, BaseExceptionGroup) else first


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
