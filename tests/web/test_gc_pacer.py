"""Paced full garbage collections: frozen start-up heap, no automatic full collections, one on
the push loop's timer."""
from __future__ import annotations

import gc

import pytest

from app.web.gc_pacer import NEVER, GcPacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_install_freezes_and_takes_over_full_collections():
    before = gc.get_threshold()
    clock = Clock()
    pacer = GcPacer(full_every_s=30, monotonic=clock)
    try:
        pacer.install()
        pacer.install()  # idempotent
        assert gc.get_threshold() == (before[0], before[1], NEVER)
        assert gc.get_freeze_count() > 0
        assert not pacer.due()
        clock.now += 29.9
        assert not pacer.due()
        clock.now += 0.2
        assert pacer.due()
        assert pacer.collect() >= 0.0
        assert pacer.collections == 1 and not pacer.due()
    finally:
        pacer.uninstall()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert not pacer.due(), "an uninstalled pacer never asks for a collection"


def test_cycles_are_still_freed_by_the_paced_collection():
    pacer = GcPacer(full_every_s=1)
    try:
        pacer.install()

        class Node:
            pass

        a, b = Node(), Node()
        a.other, b.other = b, a
        probe = [a]
        del a, b
        import weakref

        ref = weakref.ref(probe.pop())
        assert ref() is not None
        pacer.collect()
        assert ref() is None
    finally:
        pacer.uninstall()


def test_period_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        GcPacer(full_every_s=0)
