"""The hub joins drivers, state and bus: reports in, commands out."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from hubd.bus import Bus
from hubd.core.clock import SystemClock
from hubd.core.events import CommandResult, DeviceJoined, Report, StateChanged
from hubd.core.model import Capability, Command, CommandStatus, Context, Device, Origin
from hubd.core.state import StateStore
from hubd.hub import Hub
from radios.virtual.driver import VirtualDriver
from radios.virtual.settings import VirtualDevice, VirtualKind, VirtualSettings

DEVICES = (
    VirtualDevice("1", "Hall light", VirtualKind.DIMMER, "Hall"),
    VirtualDevice("3", "Front door", VirtualKind.CONTACT, "Hall"),
)


@pytest.fixture
async def running() -> AsyncIterator[tuple[Hub, VirtualDriver, list[object]]]:
    clock = SystemClock()
    bus = Bus()
    hub = Hub(clock, bus, StateStore())
    driver = VirtualDriver(VirtualSettings(DEVICES), clock)
    hub.add_driver(driver)
    seen: list[object] = []
    bus.subscribe((StateChanged, CommandResult), seen.append, name="test")
    task = asyncio.create_task(driver.run(hub))
    assert await hub.wait_radios(2.0) == []
    await bus.drain()
    seen.clear()
    yield hub, driver, seen
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await bus.close()


async def test_devices_announced_with_state(running: tuple[Hub, VirtualDriver, list[object]]
                                            ) -> None:
    hub, _, _ = running
    assert hub.state.resolve("hall light").has(Capability.LEVEL)
    assert hub.state.value("virtual:3", "contact.is_open") is False
    assert hub.health["virtual"].status == "ok"


async def test_command_changes_state_and_reports_back(
        running: tuple[Hub, VirtualDriver, list[object]]) -> None:
    hub, _, seen = running
    ctx = Context.new("api:test")
    result = await hub.execute(Command("virtual:1", Capability.LEVEL, "set", {"level_pct": 40},
                                       ctx))
    assert result.status is CommandStatus.CONFIRMED
    await hub.bus.drain()
    changes = [e for e in seen if isinstance(e, StateChanged)]
    assert {(c.attribute, c.new) for c in changes} == {("level.level_pct", 40.0),
                                                        ("switch.on", True)}
    assert all((c.context.origin, c.context.parent_id) == ("digital", ctx.id) for c in changes)
    assert any(isinstance(e, CommandResult) for e in seen)


@pytest.mark.parametrize(("command", "status", "error"), [
    (Command("virtual:9", Capability.SWITCH, "on"), CommandStatus.FAILED, "unknown device"),
    (Command("virtual:3", Capability.SWITCH, "on"), CommandStatus.FAILED, "has no switch"),
    (Command("virtual:1", Capability.LEVEL, "set", {"level_pct": 400}), CommandStatus.FAILED,
     "between 0 and 100"),
    (Command("virtual:1", Capability.SWITCH, "on", deadline=0.0), CommandStatus.EXPIRED,
     "deadline"),
])
async def test_bad_commands_get_clear_results(
        running: tuple[Hub, VirtualDriver, list[object]], command: Command,
        status: CommandStatus, error: str) -> None:
    hub, _, _ = running
    result = await hub.execute(command)
    assert result.status is status
    assert result.error is not None and error in result.error


async def test_bad_report_is_counted_and_the_hub_goes_on(
        running: tuple[Hub, VirtualDriver, list[object]]) -> None:
    hub, driver, seen = running
    ctx = Context.new(Origin.PHYSICAL)
    hub.report(Report("virtual:42", "switch.on", True, 0.0, ctx))
    hub.report(Report("virtual:1", "switch.warp", True, 0.0, ctx))
    assert hub.rejected == 2
    driver.physical_set("3", "contact.is_open", True)
    await hub.bus.drain()
    assert [(e.device_id, e.new) for e in seen if isinstance(e, StateChanged)] == [
        ("virtual:3", True)]


async def test_config_names_a_device_its_radio_left_nameless() -> None:
    hub = Hub(SystemClock(), Bus(), StateStore(), {"zigbee:00:01": ("Back door", "Hall")})
    ctx = Context.new(Origin.SYSTEM)
    nameless = Device("zigbee:00:01", "zigbee", "00:01", "",
                      capabilities=frozenset({Capability.CONTACT}))
    hub.report(DeviceJoined(nameless, 0.0, ctx))
    named = hub.state.resolve("back door")
    assert (named.id, named.room) == ("zigbee:00:01", "Hall")
    other = Device("zigbee:00:02", "zigbee", "00:02", "", capabilities=frozenset())
    hub.report(DeviceJoined(other, 0.0, ctx))
    assert hub.state.resolve("zigbee:00:02").name == ""
    await hub.bus.close()


async def test_a_radio_expected_before_its_driver_is_waited_for() -> None:
    """The daemon adds the Zigbee driver once zigpy is imported; whoever waits for the radios
    meanwhile (the demo, READY) waits for it too, and finds its driver once it has spoken."""
    clock = SystemClock()
    hub = Hub(clock, Bus(), StateStore())
    hub.expect_radio("virtual")
    assert await hub.wait_radios(0.05) == ["virtual"]
    waiting = asyncio.create_task(hub.wait_radios(10.0, ["virtual"]))
    await asyncio.sleep(0)
    driver = VirtualDriver(VirtualSettings(DEVICES), clock)
    hub.add_driver(driver)  # keeps the event the waiter holds
    task = asyncio.create_task(driver.run(hub))
    try:
        assert await waiting == []
        assert hub.drivers["virtual"] is driver
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await hub.bus.close()
