"""The hub's one backoff policy: full jitter over a doubling cap, reset only when stable."""

from __future__ import annotations

import random

import pytest

from hubd.core.backoff import Backoff, BackoffPolicy
from hubd.core.errors import ConfigError


def test_full_jitter_between_the_minimum_and_a_doubling_cap() -> None:
    policy = BackoffPolicy(min_s=1.0, max_s=30.0)
    rng = random.Random(3)
    for failures in range(1, 10):
        cap = min(30.0, 2.0 ** (failures - 1))
        delays = [policy.delay_s(failures, rng) for _ in range(300)]
        assert all(1.0 <= d <= cap for d in delays)
        if cap >= 4:  # full jitter: the whole range is used, not just its upper half
            assert min(delays) < cap / 2 < max(delays)


def test_failures_grow_until_an_attempt_was_stable() -> None:
    backoff = Backoff(BackoffPolicy(min_s=0.5, max_s=30.0, stable_after_s=10.0),
                      random.Random(1))
    for expected in range(1, 6):
        backoff.failed(up_s=2.0)  # up, but not for long: no reset
        assert backoff.failures == expected
    assert backoff.policy.cap_s(backoff.failures) == 8.0
    backoff.failed(up_s=10.0)
    assert backoff.failures == 1
    assert backoff.last_delay_s == 0.5


@pytest.mark.parametrize(("minimum_s", "maximum_s", "stable_s"),
                         [(0.0, 1.0, 1.0), (2.0, 1.0, 1.0), (1.0, 2.0, -1.0)])
def test_bad_bounds_are_refused(minimum_s: float, maximum_s: float, stable_s: float) -> None:
    with pytest.raises(ConfigError):
        BackoffPolicy(minimum_s, maximum_s, stable_s)
