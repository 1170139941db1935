"""Keep one connection to the coordinator alive: start, wait for its loss, back off, start again.

zigpy no longer reconnects by itself, so a lost serial link, a failed start, a failed watchdog
ping or an unsolicited coordinator reset all end the current session; the supervisor then
waits the hub's one backoff (``hubd.core.backoff``: full jitter, reset only after a session
stayed up for the stable period) and starts a fresh one. One session at a time, by
construction: ``run`` is a single loop.

    session starts ──ok──> health OK ──(session ends: link lost)──> RECONNECTING ─┐
         ^   └──fails──> RECONNECTING (FAILED after N in a row) ─────────────────┤
         └────────────────────────────── backoff ────────────────────────────────┘
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hubd.core.backoff import Backoff as BackoffCounter
from hubd.core.backoff import BackoffPolicy
from hubd.core.errors import ConfigError, HubError
from hubd.core.events import RadioStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Backoff bounds, the stable period, and how many failed starts in a row mean "failed"."""

    min_s: float = 1.0
    max_s: float = 30.0
    failed_after: int = 5
    stable_after_s: float = 30.0

    @property
    def policy(self) -> BackoffPolicy:
        """The hub's backoff policy with these bounds."""
        return BackoffPolicy(self.min_s, self.max_s, self.stable_after_s)

    def delay_s(self, failures: int, rng: random.Random) -> float:
        """The wait after ``failures`` consecutive failures (``hubd.core.backoff``)."""
        return self.policy.delay_s(failures, rng)


Session = Callable[[Callable[[], None]], Awaitable[str]]
HealthCallback = Callable[[RadioStatus, str], None]


class Supervisor:
    """Runs sessions back to back with backoff and says how the link is."""

    def __init__(self, backoff: Backoff, on_health: HealthCallback,
                 rng: random.Random | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._backoff = backoff
        self._on_health = on_health
        self._monotonic = monotonic
        self.pauses = BackoffCounter(backoff.policy, rng)
        self.failures = 0  # consecutive failed starts (health: FAILED after failed_after)
        self.sessions = 0  # sessions that reached "ok"

    @property
    def last_delay_s(self) -> float:
        """The last pause taken before a new session."""
        return self.pauses.last_delay_s

    async def run(self, session: Session) -> None:
        """Run ``session(ready)`` forever; it calls ``ready()`` once up and returns (or raises)
        when the link is gone, with the reason. Cancel to stop."""
        while True:
            was_ready = False
            up_since = 0.0

            def ready() -> None:
                nonlocal was_ready, up_since
                was_ready = True
                up_since = self._monotonic()
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
            up_s = self._monotonic() - up_since if was_ready else 0.0
            delay_s = self.pauses.failed(up_s)
            log.warning("event=zigbee_link_down reason=%r failures=%d up_s=%.1f retry_in_s=%.1f",
                        reason, self.pauses.failures, up_s, delay_s)
            await asyncio.sleep(delay_s)
