"""The virtual radio keeps honest state."""

import asyncio

import pytest

from hubd.core.clock import ManualClock
from hubd.core.events import ButtonEvent, DeviceJoined, DriverEvent, RadioHealth, Report
from hubd.core.model import ButtonAction, Capability, Command, CommandStatus
from radios.virtual.driver import SENT_KEPT, VirtualDriver
from radios.virtual.settings import VirtualDevice, VirtualKind, VirtualSettings


class Recorder:
    """A RadioSink that keeps what it is told."""

    def __init__(self) -> None:
        self.events: list[DriverEvent] = []
        self.arrived = asyncio.Event()

    def report(self, event: DriverEvent) -> None:
        self.events.append(event)
        self.arrived.set()

    def last(self) -> DriverEvent:
        """The latest event (a call: mypy keeps no narrowing of it across reports)."""
        return self.events[-1]


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel the driver and await it: it must end by its cancellation, not by a crash."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def started(settings: VirtualSettings) -> tuple[VirtualDriver, Recorder, asyncio.Task[None]]:
    driver = VirtualDriver(settings, ManualClock(), seed=1)
    sink = Recorder()
    task = asyncio.create_task(driver.run(sink))
    await asyncio.sleep(0)
    return driver, sink, task


async def test_announces_devices_then_health() -> None:
    settings = VirtualSettings((VirtualDevice("1", "Lamp", VirtualKind.SWITCH),
                                VirtualDevice("5", "Remote", VirtualKind.BUTTON)))
    driver, sink, task = await started(settings)
    joined = [e.device for e in sink.events if isinstance(e, DeviceJoined)]
    assert [(d.id, d.capabilities) for d in joined] == [
        ("virtual:1", frozenset({Capability.SWITCH})),
        ("virtual:5", frozenset({Capability.BUTTON, Capability.BATTERY}))]
    assert isinstance(sink.last(), RadioHealth)
    driver.physical_press("5", "2", ButtonAction.HOLD)
    press = sink.last()
    assert isinstance(press, ButtonEvent) and (press.button, press.action) == ("2", "hold")
    await stop(task)


async def test_switch_commands_and_dimmer_memory() -> None:
    driver, sink, task = await started(VirtualSettings((VirtualDevice("1", "Dim",
                                                                      VirtualKind.DIMMER),)))
    sink.events.clear()
    for name in ("on", "toggle", "toggle"):
        result = await driver.send(Command("virtual:1", Capability.SWITCH, name))
        assert result.status is CommandStatus.CONFIRMED
    values = [(e.attribute, e.value) for e in sink.events if isinstance(e, Report)]
    assert values == [("switch.on", True), ("level.level_pct", 100.0), ("switch.on", False),
                      ("switch.on", True)]
    failed = await driver.send(Command("virtual:1", Capability.LOCK, "lock"))
    assert failed.status is CommandStatus.FAILED and "cannot lock.lock" in (failed.error or "")
    await stop(task)


async def test_activity_loop_makes_physical_events() -> None:
    settings = VirtualSettings((VirtualDevice("3", "Door", VirtualKind.CONTACT),),
                               activity_interval_s=0.001)
    _, sink, task = await started(settings)
    async with asyncio.timeout(2):
        while not any(isinstance(e, Report) and e.context.origin == "physical"
                      for e in sink.events):
            sink.arrived.clear()
            await sink.arrived.wait()
    await stop(task)


async def test_the_sent_list_is_bounded() -> None:
    driver, _, task = await started(VirtualSettings((VirtualDevice("1", "Dim",
                                                                   VirtualKind.DIMMER),)))
    commands = [Command("virtual:1", Capability.SWITCH, "toggle") for _ in range(SENT_KEPT * 3)]
    for command in commands:
        await driver.send(command)
    assert list(driver.sent) == commands[-SENT_KEPT:]  # the newest kept, the rest let go
    await stop(task)
