"""Hypothesis profiles: a small count in the default run, the on-demand fuzz run with --hypothesis-profile=fuzz.

The property tests leave ``max_examples`` to the profile (they set only what they must, such as
``deadline=None``), so one flag scales every fuzzer: `bash tests/run.sh -m fuzz --hypothesis-profile=fuzz`.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from hypothesis import HealthCheck, settings

# No test touches the user's state folder: the default state directory (app.state_dir) of this
# process and of every process it starts lives under a temporary XDG_STATE_HOME (tests.monitor_process
# gives each monitor process a fresh one of its own besides).
_STATE_HOME = tempfile.mkdtemp(prefix="monitor-tests-state-")
os.environ["XDG_STATE_HOME"] = _STATE_HOME
atexit.register(shutil.rmtree, _STATE_HOME, True)

settings.register_profile("default", max_examples=15, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=10_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.load_profile("default")
