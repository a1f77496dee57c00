"""Drawdown and Sharpe on known series."""
from __future__ import annotations

import math

import numpy as np
import pytest

from strategies.activity import Activity, ActivityLog
from strategies.metrics import (
    ANNUALISATION, SHARPE_DEFINITION, SHARPE_MIN_SECONDS, EquityCurve, RunningStats, sharpe_ratio, sharpe_standard_error,
)


def test_running_stats_match_numpy_including_runs_of_zeros():
    rng = np.random.default_rng(11)
    values = []
    stats = RunningStats()
    for _ in range(200):
        if rng.random() < 0.2:
            zeros = int(rng.integers(1, 20))
            stats.add_zeros(zeros)
            values += [0.0] * zeros
        else:
            value = float(rng.normal(0.01, 1.0))
            stats.add(value)
            values.append(value)
    assert stats.count == len(values)
    assert stats.mean == pytest.approx(np.mean(values), rel=1e-9, abs=1e-12)
    assert stats.variance == pytest.approx(np.var(values, ddof=1), rel=1e-9)


def test_sharpe_of_a_known_series():
    equity = [0.0, 1.0, 3.0, 2.0, 4.0, 5.0]  # changes 1, 2, -1, 2, 1: mean 1, sample std sqrt(1.5)
    curve = EquityCurve()
    for second, value in enumerate(equity[1:], start=1):
        curve.record(second, value)
    assert curve.samples == 5
    expected = 1.0 / math.sqrt(1.5) * math.sqrt(365 * 86_400)
    assert curve.sharpe == pytest.approx(expected)
    assert ANNUALISATION == pytest.approx(5615.6922)
    # Lo (2002), IID: sqrt((1 + s^2/2) / n) per period, s = 1/sqrt(1.5) over n = 5 seconds, annualised
    assert curve.sharpe_se == pytest.approx(math.sqrt((1 + 0.5 / 1.5) / 5) * math.sqrt(365 * 86_400))


def test_sharpe_standard_error_shrinks_as_one_over_root_n():
    rng = np.random.default_rng(11)
    short, long_ = RunningStats(), RunningStats()
    changes = rng.normal(0.01, 1.0, 3600)
    for value in changes[:900]:
        short.add(value)
    for value in changes:
        long_.add(value)
    ratio = sharpe_standard_error(short) / sharpe_standard_error(long_)
    assert ratio == pytest.approx(2.0, rel=0.01)  # 4x the seconds, half the error (s is tiny here)
    assert sharpe_standard_error(long_) == pytest.approx(ANNUALISATION / 60, rel=0.001)


def test_sharpe_counts_idle_seconds_as_zero_returns():
    curve = EquityCurve()
    curve.record(1, 1.0)
    curve.record(5, 2.0, seconds=4)  # one change of +1 then 3 idle seconds
    returns = [1.0, 1.0, 0.0, 0.0, 0.0]
    expected = np.mean(returns) / np.std(returns, ddof=1) * math.sqrt(365 * 86_400)
    assert curve.sharpe == pytest.approx(expected)


def test_sharpe_undefined_is_zero():
    assert sharpe_ratio(RunningStats()) == 0.0
    assert sharpe_standard_error(RunningStats()) == 0.0
    flat = EquityCurve()
    for second in range(10):
        flat.record(second, 0.0)
    assert flat.sharpe == 0.0
    assert flat.sharpe_se == 0.0


def test_max_drawdown_on_a_known_series():
    curve = EquityCurve()
    for second, value in enumerate([1.0, 3.0, 2.0, 5.0, 1.0, 4.0, 0.5, 6.0]):
        curve.record(second, value)
    assert curve.max_drawdown == pytest.approx(4.5)  # 5.0 -> 0.5
    assert curve.peak == 6.0
    assert curve.drawdown(5.0) == pytest.approx(1.0)
    assert curve.max_drawdown_with(-1.0) == pytest.approx(7.0)  # the current value counts too


def test_activity_log_is_bounded_and_readers_get_what_they_missed():
    log = ActivityLog(maxlen=3)
    for i in range(5):
        log.append(Activity(i * 1_000_000, "X", "system", f"m{i}"))
    assert log.seq == 5 and len(log) == 3
    assert [a.message for a in log.since(3)] == ["m3", "m4"]
    assert [a.message for a in log.since(0)] == ["m2", "m3", "m4"]  # older ones are gone
    assert log.since(5) == []
    assert [a.message for a in log.recent(1)] == ["m4"]
    assert log.recent(1)[0].as_json() == {"ts": 4, "symbol": "X", "kind": "system", "message": "m4"}
    with pytest.raises(ValueError):
        ActivityLog(0)


def test_no_annualised_sharpe_is_shown_below_half_an_hour_of_samples():
    curve = EquityCurve()
    for second in range(SHARPE_MIN_SECONDS - 1):
        curve.record(second, float(second % 7))
    figures = curve.figures(0.0)
    assert figures["sharpe"] is None and figures["sharpe_se"] is None
    assert figures["sharpe_note"] == "n/a: needs 30 min of 1-second samples, 1,799 s so far"
    assert curve.sharpe != 0.0  # the number exists; it is withheld, not lost
    curve.record(SHARPE_MIN_SECONDS, 3.0)
    figures = curve.figures(3.0)
    assert figures["sharpe"] == curve.sharpe and figures["sharpe_note"] is None
    assert "n/a below 30 minutes" in SHARPE_DEFINITION and SHARPE_DEFINITION.startswith("annualised")
