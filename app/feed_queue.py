"""The queue between the feed's I/O thread and the engine: bounded, and honest about what it drops.

The feed's asyncio thread puts every received frame here; the engine's green thread takes them in
batches. If the engine falls behind (or stops), an unbounded queue would grow without limit and
the books would show an ever older market. So the queue holds at most ``limit`` frames:

  - a frame that arrives while ``limit`` frames wait is dropped and counted (``dropped``). The books
    notice: the next depth diff does not continue the last applied one, so the synchroniser
    resyncs from a fresh snapshot, exactly as after any other gap;
  - connection events (connected, disconnected...) are never dropped: they are few, and a lost
    one would leave a book believing in a connection that is gone.
``depth()`` is what /health reports as the engine's backlog.
"""
from __future__ import annotations

from typing import Any

from app import green
from feeds.messages import FeedMessage

FEED_QUEUE_LIMIT = 20_000  # frames: ~100 s of a busy 4-symbol feed, ~20 MB of text at most


class FeedQueue(green.OsQueue):
    """A real ``queue.Queue`` (safe to fill from an OS thread) that drops frames past ``limit``."""

    def __init__(self, limit: int = FEED_QUEUE_LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"feed queue limit must be >= 1, got {limit}")
        super().__init__()
        self.limit = limit
        self.dropped = 0

    def put_nowait(self, item: Any) -> None:
        if type(item) is FeedMessage and self.qsize() >= self.limit:
            self.dropped += 1
            return
        super().put_nowait(item)

    def depth(self) -> int:
        return self.qsize()
