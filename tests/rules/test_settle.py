"""settle() gives up loudly: a test cannot pass with work still pending."""

from __future__ import annotations

import asyncio
import time

import pytest

from hubd.core.errors import StillBusyError
from rules.timers import settle


async def test_settle_raises_when_work_never_runs_dry() -> None:
    with pytest.raises(StillBusyError, match="still busy after 5 rounds"):
        await settle(lambda: True, max_rounds=5)


async def test_settle_returns_once_idle() -> None:
    rounds = iter([True, True, False])
    await settle(lambda: next(rounds), max_rounds=5)
    assert next(rounds, None) is None  # it asked until idle, and no further


async def test_settle_gives_a_radio_real_time_not_only_rounds() -> None:
    # A run waiting 50 ms on a radio (Lutron's pacer): five rounds pass long before that.
    loop = asyncio.get_running_loop()
    answered = asyncio.Event()
    loop.call_later(0.05, answered.set)
    await settle(lambda: not answered.is_set(), max_rounds=5, min_wait_s=2.0)
    assert answered.is_set()
    started = time.monotonic()
    with pytest.raises(StillBusyError):
        await settle(lambda: True, max_rounds=5, min_wait_s=0.05)
    assert time.monotonic() - started >= 0.05  # gave up only after its real time
