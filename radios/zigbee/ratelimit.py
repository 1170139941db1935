"""Spacing for broadcasts and multicasts: coordinators allow only a few a second.

Z-Stack keeps a broadcast transaction table of a handful of entries, each held for the
network's broadcast delivery time (several seconds); past it AF.DataRequest fails with a
buffer-full status. Group commands therefore leave at most ``rate_per_s`` a second, in order.
"""

from __future__ import annotations

import asyncio


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
