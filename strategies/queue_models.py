"""How a resting paper order's place in the queue moves when its price level shrinks without trades.

A decrease of the displayed size at our price that trades do not explain is cancellations. Those
cancelled lots were somewhere in the queue: ahead of us or behind. A queue model decides how many of
them were ahead (so our ``queue_ahead`` shrinks). Trades at our price always advance the queue; that
is the matcher's business, not the model's.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class QueueModel(ABC):
    """Lots of an unexplained level decrease that were ahead of us."""

    name: str

    @abstractmethod
    def advance(self, queue_ahead: int, level_before: int, decrease: int) -> int:
        """queue_ahead, level_before (displayed lots before the decrease, >= queue_ahead) and decrease in lots."""


class TradesOnlyQueue(QueueModel):
    """Conservative: cancellations never move us forward (only trades, and the level emptying, do)."""

    name = "trades_only"

    def advance(self, queue_ahead: int, level_before: int, decrease: int) -> int:
        return 0


class ProbabilisticQueue(QueueModel):
    """Each cancelled lot was ahead of us with probability queue_ahead / level_before (a seeded binomial draw).

    With the queue's composition unknown, a cancelled lot is equally likely to be any displayed lot;
    the binomial draw keeps the expectation there while varying run to run only with the seed.
    """

    name = "probabilistic"

    def __init__(self, rng: np.random.Generator) -> None:
        self._binomial = rng.binomial

    def advance(self, queue_ahead: int, level_before: int, decrease: int) -> int:
        if queue_ahead <= 0 or decrease <= 0 or level_before <= 0:
            return 0
        if queue_ahead >= level_before:
            return min(decrease, queue_ahead)
        return min(int(self._binomial(decrease, queue_ahead / level_before)), queue_ahead)


QUEUE_MODELS = ("trades_only", "probabilistic")


def make_queue_model(name: str, rng: np.random.Generator) -> QueueModel:
    """Build a queue model by name (see QUEUE_MODELS); ValueError for an unknown one."""
    if name == "trades_only":
        return TradesOnlyQueue()
    if name == "probabilistic":
        return ProbabilisticQueue(rng)
    raise ValueError(f"unknown queue model {name!r}; known: {', '.join(QUEUE_MODELS)}")
