"""Fixtures: the demo repeater simulator, a recording sink, and a running driver against them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from hubd.core.events import DriverEvent, RadioHealth, RadioStatus
from radios.lutron.driver import LutronDriver
from radios.lutron.sim.demo import DEMO_DEVICES, demo_house
from radios.lutron.sim.engine import RepeaterEngine
from radios.lutron.sim.server import LutronSimulator


class Sink:
    """Records what the driver reports; tests wait on conditions, never sleep."""

    def __init__(self) -> None:
        self.events: list[DriverEvent] = []
        self._changed = asyncio.Event()

    def report(self, event: DriverEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def mark(self) -> int:
        return len(self.events)

    async def wait_for(self, predicate: Callable[[Any], bool], *, since: int = 0,
                       timeout_s: float = 5.0) -> Any:
        async with asyncio.timeout(timeout_s):
            while True:
                for event in self.events[since:]:
                    if predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()

    async def wait_health(self, status: RadioStatus, *, since: int = 0,
                          timeout_s: float = 5.0) -> RadioHealth:
        event: RadioHealth = await self.wait_for(
            lambda e: isinstance(e, RadioHealth) and e.status is status, since=since,
            timeout_s=timeout_s)
        return event


@pytest.fixture
async def sim() -> AsyncIterator[LutronSimulator]:
    async with LutronSimulator(RepeaterEngine(demo_house())) as simulator:
        yield simulator


@contextlib.asynccontextmanager
async def running(simulator: LutronSimulator, transport: str, *, wait_ok: bool = True,
                  sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                  **overrides: Any) -> AsyncIterator[tuple[LutronDriver, Sink]]:
    """A driver connected to the simulator (fast timers unless overridden)."""
    options: dict[str, Any] = {"devices": DEMO_DEVICES, "fetch_integration_report": False,
                               "backoff_min_s": 0.05, "backoff_max_s": 0.2,
                               "login_timeout_s": 2.0, "hold_after_s": 0.2}
    options.update(overrides)
    driver = LutronDriver(simulator.settings(transport, **options), seed=1, sleep=sleep)
    sink = Sink()
    task = asyncio.create_task(driver.run(sink))
    try:
        if wait_ok:
            await sink.wait_health(RadioStatus.OK)
        yield driver, sink
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
