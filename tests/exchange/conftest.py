"""Shared helpers for the exchange tests: a real exchange on loopback, real clients."""
from __future__ import annotations

import asyncio
import json
import time
from typing import Awaitable, Callable, TypeVar

import aiohttp

T = TypeVar("T")

EPOCH_MS = 1_767_225_600_000  # 2026-01-01: fixed virtual epoch for reproducible streams


def apply_depth_diff(bids: dict[int, int], asks: dict[int, int], diff) -> None:
    """Apply a model DepthDiff (absolute lots, 0 deletes) to L2 dicts of ticks -> lots."""
    for levels, side in ((bids, diff.bids), (asks, diff.asks)):
        for price, lots in side:
            if lots:
                levels[price] = lots
            else:
                levels.pop(price, None)


def run(coro: Awaitable[T], timeout: float = 60.0) -> T:
    """Run one coroutine on a fresh loop with a generous overall deadline."""

    async def guarded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(guarded())


async def receive_json(ws: aiohttp.ClientWebSocketResponse, timeout: float = 10.0) -> dict:
    """The next text frame as JSON (control frames are left to aiohttp)."""
    while True:
        msg = await ws.receive(timeout=timeout)
        if msg.type is aiohttp.WSMsgType.TEXT:
            return json.loads(msg.data)
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING,
                        aiohttp.WSMsgType.ERROR):
            raise ConnectionError(f"closed: {msg.type} {msg.data!r} {msg.extra!r}")


async def collect(ws: aiohttp.ClientWebSocketResponse, done: Callable[[list[dict]], bool],
                  deadline_s: float = 30.0) -> list[dict]:
    """Frames until ``done(frames)`` holds; fails the test after a generous deadline."""
    frames: list[dict] = []
    end = time.monotonic() + deadline_s
    while not done(frames):
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError(f"condition not met within {deadline_s}s; got {len(frames)} frames")
        frames.append(await receive_json(ws, timeout=left))
    return frames


async def wait_closed(ws: aiohttp.ClientWebSocketResponse, timeout: float = 20.0) -> aiohttp.WSMessage:
    """Read until the connection closes; returns the closing message (data frames are skipped)."""
    end = time.monotonic() + timeout
    while True:
        msg = await ws.receive(timeout=max(0.01, end - time.monotonic()))
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING,
                        aiohttp.WSMsgType.ERROR):
            return msg
