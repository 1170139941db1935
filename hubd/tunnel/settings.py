"""``[tunnel]``: the cloud tunnel's settings (every timer can be shrunk here, for tests)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hubd.core.errors import InvalidValueError
from hubd.core.fields import bounds

# The clock is not sane before this (2026-11-01T00:00:00Z, before this release was built): TLS
# would refuse every certificate, so the tunnel waits for NTP instead of failing in a loop.
BUILD_TIME_S = 1_793_491_200.0


@dataclass(frozen=True, slots=True)
class TunnelSettings:
    """How the hub reaches the cloud relay and how patiently."""

    url: str = ""  # wss://host:port/ ; empty: the URL provisioning stored
    proxy: str = ""  # an HTTP(S) proxy URL; empty: none (the environment is never read)
    backoff_min_s: float = field(default=1.0, metadata=bounds(0.001))
    backoff_max_s: float = field(default=120.0, metadata=bounds(0.001))
    stable_after_s: float = 30.0  # connected this long, the backoff starts again from the min
    slow_retry_min_s: float = field(default=300.0, metadata=bounds(0.001))  # 401/403, 4001
    slow_retry_max_s: float = field(default=900.0, metadata=bounds(0.001))
    open_timeout_s: float = field(default=10.0, metadata=bounds(0.001))
    welcome_timeout_s: float = field(default=10.0, metadata=bounds(0.001))
    ping_interval_s: float = field(default=20.0, metadata=bounds(0.001))
    ping_timeout_s: float = field(default=10.0, metadata=bounds(0.001))
    close_timeout_s: float = field(default=3.0, metadata=bounds(0.001))
    window: int = field(default=64, metadata=bounds(1, 10_000))  # unacked events in flight
    replay_rate_per_s: float = field(default=2000.0, metadata=bounds(1.0))
    flush_interval_s: float = field(default=0.02, metadata=bounds(0.001, 10))
    max_pending: int = field(default=20_000, metadata=bounds(10))  # in memory, before a flush
    outbox_max_rows: int = field(default=10_000, metadata=bounds(2))
    outbox_max_bytes: int = field(default=8 * 1024 * 1024, metadata=bounds(1024))
    outbox_max_age_s: float = field(default=7 * 24 * 3600.0, metadata=bounds(1.0))
    renew_before_s: float = 30 * 24 * 3600.0  # renew the certificate this long before expiry
    clock_not_before: float = BUILD_TIME_S  # epoch seconds; earlier means the clock is wrong
    clock_check_s: float = field(default=5.0, metadata=bounds(0.001))
    command_ledger_size: int = field(default=1024, metadata=bounds(1))

    def __post_init__(self) -> None:
        if self.backoff_min_s > self.backoff_max_s:
            raise InvalidValueError("backoff_min_s must not exceed backoff_max_s")
        if self.slow_retry_min_s > self.slow_retry_max_s:
            raise InvalidValueError("slow_retry_min_s must not exceed slow_retry_max_s")
        if self.url and not self.url.startswith("wss://"):
            raise InvalidValueError("url must start with wss:// (the tunnel is always TLS)")
