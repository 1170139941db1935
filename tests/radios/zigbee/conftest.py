"""Fixtures: the simulated coordinator on a pty, the driver on it, and a sink that records."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import pytest

from hubd.core.clock import Clock
from hubd.core.events import DeviceJoined, DriverEvent, RadioHealth, RadioStatus
from radios.zigbee.driver import ZigbeeDriver
from radios.zigbee.settings import ZigbeeSettings
from radios.zigbee.sim import Simulator
from radios.zigbee.sim.ezsp.simulator import EzspSimulator

E = TypeVar("E")
S = TypeVar("S", Simulator, EzspSimulator)

# zigpy's timeouts shrunk by configuration, so faults show up in seconds, not minutes.
FAST = ZigbeeSettings(
    path="", channel=15, skip_bootloader=False, request_timeout_s=1.0, callback_timeout_s=2.0,
    watchdog_period_s=0.3, backoff_min_s=0.05, backoff_max_s=0.2, command_timeout_s=2.0,
    configure_timeout_s=10.0, availability_check_interval_s=0.05,
)


@dataclass
class RecordingSink:
    """A RadioSink that keeps every event and wakes waiters when one arrives."""

    events: list[DriverEvent] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def report(self, event: DriverEvent) -> None:
        """Keep the event."""
        self.events.append(event)
        self._changed.set()

    def of(self, kind: type[E]) -> list[E]:
        """Events of one type, in order."""
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(self, kind: type[E], predicate: Callable[[E], bool] = lambda e: True,
                       timeout_s: float = 10.0, *, after: int = 0) -> E:
        """The first event of this type (from index ``after``) that satisfies the predicate."""
        async with asyncio.timeout(timeout_s):
            while True:
                for event in self.events[after:]:
                    if isinstance(event, kind) and predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()

    async def wait_health(self, status: RadioStatus, *, after: int = 0,
                          timeout_s: float = 10.0) -> RadioHealth:
        """The next RadioHealth with this status."""
        return await self.wait_for(RadioHealth, lambda h: h.status is status, timeout_s,
                                   after=after)


@dataclass
class Running:
    """A driver running against a simulator."""

    sim: Simulator
    driver: ZigbeeDriver
    sink: RecordingSink
    task: asyncio.Task[None]

    async def stop(self) -> None:
        """Cancel the driver and wait for zigpy to shut down."""
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def launch_driver(sim: Simulator, state_dir: Path, *, clock: Clock | None = None,
                  **overrides: object) -> Running:
    """A driver on the simulator's pty, just started (not yet up)."""
    settings = replace(FAST, path=sim.path, **overrides)  # type: ignore[arg-type]
    driver = ZigbeeDriver(settings, state_dir, clock)
    sink = RecordingSink()
    return Running(sim, driver, sink, asyncio.create_task(driver.run(sink)))


async def start_driver(sim: Simulator, state_dir: Path, *, clock: Clock | None = None,
                       **overrides: object) -> Running:
    """A driver on the simulator's pty, up (health OK) before returning."""
    running = launch_driver(sim, state_dir, clock=clock, **overrides)
    sink = running.sink
    try:
        await sink.wait_health(RadioStatus.OK, timeout_s=15.0)
    except BaseException:
        await running.stop()
        raise
    return running


def assert_understood(stick: Simulator | EzspSimulator) -> None:
    """The coordinator met no request it does not know and none it could not parse."""
    assert (stick.unknown_requests, stick.engine.malformed_requests) == ([], [])


@asynccontextmanager
async def strict_on_pty(stick: S) -> AsyncIterator[S]:
    """The simulated coordinator on a pty, closed at the end; it must have understood the host."""
    await stick.start_pty()
    try:
        yield stick
    finally:
        await stick.close()
    assert_understood(stick)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A factory-fresh simulated coordinator on a pty; strict about unknown requests."""
    async with strict_on_pty(Simulator()) as simulator:
        yield simulator


@pytest.fixture
async def zigbee(sim: Simulator, tmp_path: Path) -> AsyncIterator[Running]:
    """The driver running on the simulator, network formed."""
    running = await start_driver(sim, tmp_path)
    try:
        yield running
    finally:
        await running.stop()


def joined_with_capabilities(ieee: str) -> Callable[[DeviceJoined], bool]:
    """A predicate for Sink.wait_for: this device joined and its capabilities are known."""
    return lambda e: e.device.address == ieee and bool(e.device.capabilities)
