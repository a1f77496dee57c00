"""Hypothesis profiles: a small count in the default run, the on-demand fuzz run with --hypothesis-profile=fuzz.

The property tests leave ``max_examples`` to the profile (they set only what they must, such as
``deadline=None``), so one flag scales every fuzzer: `bash tests/run.sh -m fuzz --hypothesis-profile=fuzz`.
"""
from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=15, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=10_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.load_profile("default")
