"""SilenceWatchdog: pure bookkeeping on caller-supplied monotonic seconds."""
import pytest

from feeds.watchdog import SilenceWatchdog


def test_expires_after_the_limit_without_frames():
    dog = SilenceWatchdog(limit_s=5.0, now_s=100.0)
    assert dog.remaining(100.0) == 5.0
    assert not dog.expired(104.9)
    assert dog.expired(105.0)
    assert dog.silent_for(107.5) == 7.5


def test_each_frame_restarts_the_clock():
    dog = SilenceWatchdog(limit_s=2.0, now_s=0.0)
    for t in (1.5, 3.0, 4.5, 6.0):
        assert not dog.expired(t)
        dog.touch(t)
    assert dog.remaining(7.0) == pytest.approx(1.0)
    assert dog.expired(8.0)


def test_limit_must_be_positive():
    with pytest.raises(ValueError):
        SilenceWatchdog(limit_s=0, now_s=0.0)
