"""How long to wait before trying again: one backoff policy for everything that reconnects.

Pure (no clock, no asyncio): the caller says how long the attempt that just ended stayed up and
gets the pause before the next one. Used by ``hubd.supervise`` (the daemon's components), the
Zigbee supervisor and the Lutron driver, so every reconnect in the hub follows one rule:

    attempt ends after being up ``up_s``     failures                  pause
    ────────────────────────────────────    ──────────────────────    ─────────────────────────
    up_s >= stable_after_s                   reset to 1                uniform(min_s, min_s)
    up_s <  stable_after_s (or never up)     previous + 1              uniform(min_s, cap)
                                                                       cap = min(max_s, min_s·2ⁿ⁻¹)

Full jitter over a doubling cap ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015),
floored at ``min_s`` so nothing ever spins. The count resets only after a *stable* period: a peer
that accepts a connection (or a login) and then drops it at once must see the pause grow, not
start again from the minimum each time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hubd.core.errors import ConfigError


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Bounds of the pause and how long an attempt must stay up to count as a success."""

    min_s: float = 1.0
    max_s: float = 30.0
    stable_after_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.min_s <= self.max_s:
            raise ConfigError(f"need 0 < backoff min <= max, not {self.min_s}, {self.max_s}")
        if self.stable_after_s < 0:
            raise ConfigError(f"the stable period must not be negative, not "
                              f"{self.stable_after_s}")

    def cap_s(self, failures: int) -> float:
        """The largest pause after ``failures`` consecutive failures (1-based)."""
        return min(self.max_s, self.min_s * 2.0 ** min(max(failures, 1) - 1, 64))

    def delay_s(self, failures: int, rng: random.Random) -> float:
        """The pause after ``failures`` consecutive failures: full jitter in [min_s, cap]."""
        return rng.uniform(self.min_s, self.cap_s(failures))


class Backoff:
    """Consecutive failures of one component and the pause each earns."""

    def __init__(self, policy: BackoffPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._rng = rng or random.Random()
        self.failures = 0
        self.last_delay_s = 0.0

    def failed(self, up_s: float) -> float:
        """An attempt ended after being up ``up_s`` seconds (0: never up); the pause to wait."""
        if up_s >= self.policy.stable_after_s:
            self.failures = 0
        self.failures += 1
        self.last_delay_s = self.policy.delay_s(self.failures, self._rng)
        return self.last_delay_s

    def reset(self) -> None:
        """Forget the failures (a deliberate restart, not a failure)."""
        self.failures = 0
