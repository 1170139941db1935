"""settle() gives up loudly: a test cannot pass with work still pending."""

from __future__ import annotations

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
