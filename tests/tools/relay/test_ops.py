"""The relay's admission ramp and drain spread."""

from __future__ import annotations

import random
import statistics

from tools.relay.ops import AdmissionRamp, Counters, drain_delays, prometheus


def test_the_ramp_admits_a_floor_at_first_and_everyone_without_a_limit() -> None:
    ramp = AdmissionRamp(full_per_s=1000.0, ramp_s=60.0, floor_per_s=5.0)
    admitted = sum(ramp.admit() for _ in range(100))  # a herd arrives at once, just after start
    assert 1 <= admitted <= 6
    assert 5.0 <= ramp.rate_per_s(ramp._started + 30.0) < 1000.0
    assert all(AdmissionRamp(None).admit() for _ in range(1000))


def test_drain_delays_are_flat_over_the_spread() -> None:
    delays = drain_delays(10_000, 60.0, random.Random(1))
    assert min(delays) >= 0.0 and max(delays) <= 60.0
    assert abs(statistics.mean(delays) - 30.0) < 1.0
    deciles = [sum(1 for d in delays if 6 * k <= d < 6 * (k + 1)) for k in range(10)]
    assert max(deciles) - min(deciles) < 200  # no spike: each 6 s gets ~1,000 hubs


def test_metrics_text() -> None:
    text = prometheus(Counters(accepts=3), tunnels=2, is_ready=True)
    assert "# TYPE hubd_relay_accepts_total counter\nhubd_relay_accepts_total 3" in text
