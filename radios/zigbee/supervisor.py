"""Keep one connection to the coordinator alive: start, wait for its loss, back off, start again.

zigpy no longer reconnects by itself, so a lost serial link, a failed start, a failed watchdog
ping or an unsolicited coordinator reset all end the current session; the supervisor then
waits a full-jitter backoff (between ``backoff_min_s`` and ``backoff_max_s``) and starts a fresh
one. One session at a time, by construction: ``run`` is a single loop.

    session starts ──ok──> health OK ──(session ends: link lost)──> RECONNECTING ─┐
         ^   └──fails──> RECONNECTING (FAILED after N in a row) ─────────────────┤
         └────────────────────────────── backoff ────────────────────────────────┘
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hubd.core.errors import ConfigError, HubError
from hubd.core.events import RadioStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Full-jitter exponential backoff bounds and how many failures in a row mean "failed"."""

    min_s: float = 1.0
    max_s: float = 30.0
    failed_after: int = 5

    def delay_s(self, failures: int, rng: random.Random) -> float:
        """The wait before attempt ``failures + 1``: uniform up to an exponential ceiling."""
        ceiling = min(self.max_s, self.min_s * 2 ** max(0, failures - 1))
        return max(self.min_s, rng.uniform(0.0, ceiling))


Session = Callable[[Callable[[], None]], Awaitable[str]]
HealthCallback = Callable[[RadioStatus, str], None]


class Supervisor:
    """Runs sessions back to back with backoff and says how the link is."""

    def __init__(self, backoff: Backoff, on_health: HealthCallback,
                 rng: random.Random | None = None) -> None:
        self._backoff = backoff
        self._on_health = on_health
        self._rng = rng or random.Random()
        self.failures = 0  # consecutive failed starts
        self.sessions = 0  # sessions that reached "ok"
        self.last_delay_s = 0.0

    async def run(self, session: Session) -> None:
        """Run ``session(ready)`` forever; it calls ``ready()`` once up and returns (or raises)
        when the link is gone, with the reason. Cancel to stop."""
        while True:
            was_ready = False

            def ready() -> None:
                nonlocal was_ready
                was_ready = True
                self.failures = 0
                self.sessions += 1
                self._on_health(RadioStatus.OK, "coordinator connected")

            try:
                reason = await session(ready)
            except ConfigError:
                self._on_health(RadioStatus.FAILED, "configuration error")
                raise
            except (HubError, OSError, TimeoutError) as exc:
                reason = str(exc) or type(exc).__name__
            except Exception as exc:
                # A bug or a surprise from a library: the radio must come back all the same.
                log.exception("event=zigbee_session_crashed")
                reason = f"unexpected error: {exc!r}"
            if not was_ready:
                self.failures += 1
            failed = self.failures >= self._backoff.failed_after
            status = RadioStatus.FAILED if failed else RadioStatus.RECONNECTING
            self._on_health(status, reason)
            self.last_delay_s = self._backoff.delay_s(max(1, self.failures), self._rng)
            log.warning("event=zigbee_link_down reason=%r failures=%d retry_in_s=%.1f", reason,
                        self.failures, self.last_delay_s)
            await asyncio.sleep(self.last_delay_s)
