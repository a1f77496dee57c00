"""``serve --source replay``: recordings played into the live engine at a chosen speed.

The engine's clock is the recording's clock (receive time of the message being replayed, advanced
by wall time between messages), so book ages, timers and risk guards behave as they did live.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable

from app import green
from feeds.recording import read_recordings
from strategies.activity import Activity

PAUSE_POLL_S = 0.1
MAX_SLEEP_S = 0.5  # wake at least this often so pause/resume and timers stay responsive


class ReplaySource:
    """speed: 1 = as recorded, 10 = ten times faster, 0 = as fast as possible."""

    def __init__(self, files: Iterable[str], speed: float, wall_ns: Callable[[], int] = time.time_ns) -> None:
        self.files = [Path(f) for f in files]
        self.speed = speed
        self._wall_ns = wall_ns
        self._paused = False
        self._replay_ns = 0  # the recording's time now
        self._anchor_wall = 0
        self._anchor_replay = 0
        self.finished = False
        self.messages = 0

    # -- the clock ------------------------------------------------------------------------------------------
    def clock_ns(self) -> int:
        if self._replay_ns == 0:
            return self._wall_ns()
        if self._paused or self.finished or self.speed == 0:
            return self._replay_ns
        return self._anchor_replay + int((self._wall_ns() - self._anchor_wall) * self.speed)

    def pause(self) -> None:
        self._replay_ns = self.clock_ns() if self._replay_ns else 0
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self._anchor_wall = self._wall_ns()
        self._anchor_replay = self._replay_ns

    # -- the pump (a green thread) ---------------------------------------------------------------------------
    def pump(self, engine) -> None:
        reader = read_recordings(self.files)
        since_yield = 0
        for recv_ns, text, symbol in reader:
            while self._paused:
                green.sleep(PAUSE_POLL_S)
            if self._replay_ns == 0:
                self._replay_ns = self._anchor_replay = recv_ns
                self._anchor_wall = self._wall_ns()
            if self.speed > 0:
                while True:
                    ahead_s = (recv_ns - self.clock_ns()) / self.speed / 1e9
                    if ahead_s <= 0:
                        break
                    engine.tick(self.clock_ns())
                    green.sleep(min(ahead_s, MAX_SLEEP_S))
                    since_yield = 0
            self._replay_ns = recv_ns
            engine.on_message(recv_ns, text, symbol)
            self.messages += 1
            since_yield += 1
            if since_yield >= 500:  # as fast as possible must still let the web layer breathe
                engine.tick(self._replay_ns)
                green.sleep(0)
                since_yield = 0
        self.finished = True
        engine.tick(self._replay_ns)
        problems = getattr(reader, "problems", None)
        detail = f"; {len(problems)} problem(s) in the files" if problems else ""
        engine.record_activity(Activity(self._replay_ns, "", "system",
                                        f"replay finished: {self.messages} messages{detail}"))
