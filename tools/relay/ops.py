"""What running a relay needs: counters in Prometheus text, an admission ramp, drain delays.

A relay that restarts must not take its share of the fleet all at once (the ramp), and one that
stops must not send all its hubs to the others at the same instant (the drain spreads their
``retry_after_s`` uniformly, so the herd comes back flat).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(slots=True)
class Counters:
    """What a relay counts since it started."""

    accepts: int = 0
    refused: int = 0
    commands: int = 0
    events: int = 0
    duplicates: int = 0
    started: float = field(default_factory=time.monotonic)


def rss_bytes() -> int:
    """This process's resident memory (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def prometheus(counters: Counters, tunnels: int, is_ready: bool) -> str:
    """The relay's metrics in the Prometheus text format (0.0.4)."""
    rows = [
        ("hubd_relay_tunnels", "gauge", "hub tunnels held by this relay", tunnels),
        ("hubd_relay_accepts_total", "counter", "tunnels accepted", counters.accepts),
        ("hubd_relay_refused_total", "counter", "connections refused (ramp, revoked)",
         counters.refused),
        ("hubd_relay_commands_total", "counter", "commands sent to hubs", counters.commands),
        ("hubd_relay_events_total", "counter", "hub events received", counters.events),
        ("hubd_relay_ready", "gauge", "1 when taking tunnels", int(is_ready)),
        ("hubd_relay_uptime_seconds", "gauge", "seconds since start",
         round(time.monotonic() - counters.started, 3)),
        ("process_resident_memory_bytes", "gauge", "resident memory", rss_bytes()),
    ]
    lines = []
    for name, kind, text, value in rows:
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name} {value}"]
    return "\n".join(lines) + "\n"


class AdmissionRamp:
    """A token bucket for new tunnels whose rate climbs from a floor to full over ramp_s."""

    def __init__(self, full_per_s: float | None, ramp_s: float = 30.0,
                 floor_per_s: float = 50.0) -> None:
        self.full_per_s = full_per_s
        self.ramp_s = ramp_s
        self.floor_per_s = floor_per_s
        self._started = time.monotonic()
        self._tokens = floor_per_s
        self._last = self._started

    def rate_per_s(self, now: float) -> float:
        """The admission rate now."""
        assert self.full_per_s is not None
        progress = min(1.0, (now - self._started) / self.ramp_s) if self.ramp_s > 0 else 1.0
        return self.floor_per_s + (self.full_per_s - self.floor_per_s) * progress

    def admit(self) -> bool:
        """Whether one more tunnel may come in now."""
        if self.full_per_s is None:
            return True
        now = time.monotonic()
        rate = self.rate_per_s(now)
        self._tokens = min(rate, self._tokens + (now - self._last) * rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def drain_delays(count: int, spread_s: float, rng: random.Random | None = None) -> list[float]:
    """When each of count hubs should come back: uniform over spread_s (a flat herd)."""
    rng = rng or random.Random()
    return [rng.uniform(0.0, spread_s) for _ in range(count)]
