"""Seeded random stress: synchronizer + book against a naive dict reference over >= 1M level updates."""
from __future__ import annotations

from tests.orderbook.synthetic_depth import run_stress


def test_book_matches_naive_reference_over_a_million_updates():
    result = run_stress(seed=20240808, updates=1_000_000)
    assert result.updates >= 1_000_000
    assert result.top_checks > 40_000 and result.full_checks > 80
    assert result.dropped > 0 and result.replayed > 0  # the resync and ignore paths ran too
