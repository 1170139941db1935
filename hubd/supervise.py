"""Keep a component running: restart it after a crash with backoff; stop on ConfigError.

A component is an ``async`` callable that runs until cancelled (a radio driver's ``run``, the
LAN API, the tunnel). ``supervise`` calls ``factory()`` afresh for each attempt:

    outcome of one attempt          what supervise does                 on_state
    ─────────────────────────────   ─────────────────────────────────   ──────────
    still running                   nothing                             running
    returns normally                returns: the component is done      done
    raises ConfigError              re-raises: the daemon must stop     fatal
    raises anything else            logs it, sleeps, calls factory()    restarting
    cancelled (daemon stopping)     re-raises CancelledError            stopped

Backoff is ``hubd.core.backoff``, the one policy of every reconnect in the hub: full jitter
between ``backoff_min_s`` and a cap that doubles with each consecutive failure up to
``backoff_max_s``, so a crashing component never spins and several components failing together
do not restart in lockstep. Only a component that ran for ``healthy_after_s`` before failing
starts again from the minimum.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from enum import StrEnum

from hubd.core.backoff import Backoff, BackoffPolicy
from hubd.core.clock import Clock, SystemClock
from hubd.core.errors import ConfigError, InvalidValueError

log = logging.getLogger(__name__)


class ComponentState(StrEnum):
    """What a supervised component is doing, as reported to ``on_state``."""

    RUNNING = "running"
    RESTARTING = "restarting"
    DONE = "done"
    FATAL = "fatal"
    STOPPED = "stopped"


def backoff_s(failures: int, minimum_s: float, maximum_s: float, rng: random.Random) -> float:
    """The pause before restart number ``failures`` (1-based): full jitter over a doubling cap."""
    return BackoffPolicy(minimum_s, maximum_s).delay_s(failures, rng)


def config_error_in(exc: BaseException) -> ConfigError | None:
    """The ConfigError this exception is or contains (a TaskGroup wraps them in groups)."""
    if isinstance(exc, ConfigError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = config_error_in(inner)
            if found is not None:
                return found
    return None


async def supervise(name: str, factory: Callable[[], Awaitable[None]], *,
                    backoff_min_s: float = 1.0, backoff_max_s: float = 30.0,
                    healthy_after_s: float = 30.0,
                    on_state: Callable[[str, str], None] | None = None,
                    clock: Clock | None = None,
                    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                    rng: random.Random | None = None) -> None:
    """Run ``factory()`` until it returns; restart it with backoff when it crashes."""
    if not 0 < backoff_min_s <= backoff_max_s:
        raise InvalidValueError(f"need 0 < backoff_min_s <= backoff_max_s, not {backoff_min_s}, "
                         f"{backoff_max_s}")
    clock = clock or SystemClock()
    backoff = Backoff(BackoffPolicy(backoff_min_s, backoff_max_s, healthy_after_s), rng)

    def report(state: ComponentState) -> None:
        if on_state is None:
            return
        try:
            on_state(name, state)
        except Exception:
            # A broken observer must not take the component down with it.
            log.exception("event=on_state_failed component=%s state=%s", name, state)

    while True:
        started = clock.monotonic()
        report(ComponentState.RUNNING)
        try:
            await factory()
        except asyncio.CancelledError:
            report(ComponentState.STOPPED)
            raise
        except Exception as exc:
            fatal = config_error_in(exc)
            if fatal is not None:
                log.error("event=component_fatal component=%s error=%s", name, fatal)
                report(ComponentState.FATAL)
                if fatal is exc:
                    raise
                raise fatal from None  # its own traceback shows where; the group adds nothing
            ran_s = clock.monotonic() - started
            delay_s = backoff.failed(ran_s)
            log.error("event=component_failed component=%s error=%s ran_s=%.1f failures=%d "
                      "restart_in_s=%.1f", name, f"{type(exc).__name__}: {exc}", ran_s,
                      backoff.failures, delay_s, exc_info=exc)
            report(ComponentState.RESTARTING)
        else:
            log.info("event=component_done component=%s", name)
            report(ComponentState.DONE)
            return
        try:
            await sleep(delay_s)
        except asyncio.CancelledError:
            report(ComponentState.STOPPED)
            raise
