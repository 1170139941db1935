"""Rates: spacing for broadcasts and multicasts, and a budget for frames coming in.

Outgoing: coordinators allow only a few broadcasts a second (below). Incoming: ``FrameBudget``
bounds how many device frames a second the hub takes in, so a flood is dropped at the door,
before the radio library parses it, answers it, stores it and spawns tasks for it; the frames
a device answers the hub's own requests with are paid for by the requests (``expect``).

Z-Stack keeps a broadcast transaction table of a handful of entries, each held for the
network's broadcast delivery time (several seconds); past it AF.DataRequest fails with a
buffer-full status. Group commands therefore leave at most ``rate_per_s`` a second, in order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


class RateGate:
    """Let callers through one at a time, at most ``rate_per_s`` per second, in FIFO order."""

    def __init__(self, rate_per_s: float) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self._interval_s = 1.0 / rate_per_s
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self, deadline: float | None = None) -> bool:
        """Wait for a slot; False (and no slot taken) if it would come after ``deadline``.

        Times are the event loop's monotonic clock, the clock of a Command's deadline.
        """
        loop = asyncio.get_running_loop()
        async with self._lock:
            now = loop.time()
            start = max(now, self._next)
            if deadline is not None and start > deadline:
                return False
            if start > now:
                await asyncio.sleep(start - now)
            self._next = start + self._interval_s
            return True


@dataclass(slots=True)
class _Bucket:
    """Tokens refilled at a rate, up to one second's worth; credits for answers the hub asked
    for come on top, up to another second's worth, and lapse at the same rate if unused."""

    rate_per_s: float
    tokens: float = 0.0
    last: float | None = None

    def _refill(self, now: float) -> None:
        if self.last is None:
            self.tokens = self.rate_per_s
        elif self.tokens < self.rate_per_s:
            self.tokens = min(self.rate_per_s,
                              self.tokens + (now - self.last) * self.rate_per_s)
        else:  # credits no answer used: an answer comes within a second or so, or never
            self.tokens = max(self.rate_per_s,
                              self.tokens - (now - self.last) * self.rate_per_s)
        self.last = now

    def take(self, now: float) -> bool:
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def credit(self, now: float, frames: float) -> None:
        self._refill(now)
        self.tokens = min(2 * self.rate_per_s, self.tokens + frames)


SOURCE_SHARE = 0.25  # one device may use at most this share of the budget
MAX_SOURCES = 1024  # buckets kept; spoofed source addresses cannot grow the table further
# Frames a device sends because the hub sent it a request: the answer (a Default Response or
# the command's own response) and the report the change may cause.
ANSWER_FRAMES = 2.0


@dataclass(slots=True)
class FrameBudget:
    """Token buckets: ``rate_per_s`` frames a second in all (bursts as large), and a quarter of
    that for any one source, so one chattering device cannot starve the others; counts the
    frames refused and says when a flood starts and ends (pure: time comes in)."""

    rate_per_s: float
    _total: _Bucket | None = None
    _sources: dict[int, _Bucket] | None = None
    dropped: int = 0  # over the driver's life
    dropped_in_flood: int = 0  # since the current flood began
    is_flooding: bool = False
    last_drop: float = 0.0

    def allow(self, now: float, source: int = -1) -> bool:
        """Whether a frame arriving now from ``source`` (a network address) may come in."""
        total, bucket = self._buckets(source)
        if bucket.take(now) and total.take(now):
            return True
        self.dropped += 1
        self.dropped_in_flood += 1
        self.last_drop = now
        return False

    def expect(self, now: float, source: int, frames: float = ANSWER_FRAMES) -> None:
        """The hub sent ``source`` a request: the frames it answers with are paid for (a
        light commanded fast answers every command; a flood it was not asked for is still
        dropped). Credits go up to a second's worth of the rate on top of a full bucket, and
        lapse as fast if no answer uses them."""
        total, bucket = self._buckets(source)
        bucket.credit(now, frames)
        total.credit(now, frames)

    def _buckets(self, source: int) -> tuple[_Bucket, _Bucket]:
        if self._total is None or self._sources is None:
            self._total, self._sources = _Bucket(self.rate_per_s), {}
        bucket = self._sources.get(source)
        if bucket is None:
            if len(self._sources) >= MAX_SOURCES:
                self._sources.clear()
            bucket = self._sources[source] = _Bucket(self.rate_per_s * SOURCE_SHARE)
        return self._total, bucket

    def flood_started(self) -> bool:
        """True once when dropping begins."""
        if self.dropped_in_flood and not self.is_flooding:
            self.is_flooding = True
            return True
        return False

    def flood_ended(self, now: float, quiet_s: float = 1.0) -> int:
        """The number dropped in a flood that has been over for ``quiet_s`` (else 0), once."""
        if not self.is_flooding or now - self.last_drop < quiet_s:
            return 0
        dropped, self.dropped_in_flood, self.is_flooding = self.dropped_in_flood, 0, False
        return dropped
