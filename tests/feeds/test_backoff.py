"""Backoff: capped, jittered, reproducible with a seeded generator."""
import random

import numpy as np
import pytest

from feeds.backoff import Backoff, BackoffPolicy


def test_nominal_delays_grow_then_cap():
    backoff = Backoff(BackoffPolicy(initial_s=0.25, cap_s=4.0, factor=2.0, jitter=0.0), random.Random(1))
    assert [backoff.next_delay() for _ in range(7)] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jitter_stays_within_floor_and_nominal():
    policy = BackoffPolicy(initial_s=1.0, cap_s=8.0, jitter=0.5)
    backoff = Backoff(policy, random.Random(7))
    for failures in range(200):
        nominal = backoff.nominal_s(failures)
        delay = backoff.next_delay()
        assert nominal * 0.5 <= delay <= nominal
    assert backoff.nominal_s(10_000) == 8.0  # "forever" never overflows


def test_jitter_actually_spreads_delays():
    backoff = Backoff(BackoffPolicy(initial_s=1.0, cap_s=1.0, jitter=1.0), random.Random(3))
    delays = {round(backoff.next_delay(), 6) for _ in range(50)}
    assert len(delays) > 40


def test_same_seed_same_delays_and_numpy_generator_works():
    policy = BackoffPolicy()
    a = Backoff(policy, random.Random(42))
    b = Backoff(policy, random.Random(42))
    assert [a.next_delay() for _ in range(20)] == [b.next_delay() for _ in range(20)]
    c = Backoff(policy, np.random.default_rng(42))
    assert all(0 < c.next_delay() <= policy.cap_s for _ in range(20))


def test_reset_starts_over():
    backoff = Backoff(BackoffPolicy(initial_s=0.5, cap_s=10.0, jitter=0.0), random.Random(0))
    for _ in range(5):
        backoff.next_delay()
    assert backoff.failures == 5
    backoff.reset()
    assert backoff.next_delay() == 0.5


@pytest.mark.parametrize("kwargs", [
    {"initial_s": -1.0}, {"initial_s": 5.0, "cap_s": 1.0}, {"factor": 0.5}, {"jitter": 1.5},
])
def test_bad_policy_is_refused(kwargs):
    with pytest.raises(ValueError):
        BackoffPolicy(**kwargs)
