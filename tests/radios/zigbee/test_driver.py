"""The driver through the real zigpy-znp, over a pty, against the simulated coordinator:
join and interview, commands, reports, buttons, groups, leave and availability."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Callable
from pathlib import Path

from hubd.core.events import (
    AvailabilityChanged,
    ButtonEvent,
    CommandResult,
    DeviceJoined,
    DeviceLeft,
    Report,
)
from hubd.core.model import (
    ButtonAction,
    Capability,
    Command,
    CommandStatus,
    Origin,
    Value,
)
from radios.zigbee.sim import DeviceKind, Simulator
from radios.zigbee.sim.clusters import ClusterId as SimCluster
from tests.radios.zigbee.conftest import Running, joined_with_capabilities, start_driver

LIGHT = "00:0d:6f:00:00:00:01:01"
CT_LIGHT = "00:0d:6f:00:00:00:01:02"
CONTACT = "00:0d:6f:00:00:00:01:03"
CLIMATE = "00:0d:6f:00:00:00:01:04"
LOCK = "00:0d:6f:00:00:00:01:05"
REMOTE = "00:0d:6f:00:00:00:01:06"
MOTION = "00:0d:6f:00:00:00:01:07"
PLUG = "00:0d:6f:00:00:00:01:08"
THERMOSTAT = "00:0d:6f:00:00:00:01:09"


def dev(ieee: str) -> str:
    return f"zigbee:{ieee}"


def cmd(ieee: str, qualified: str, **args: Value) -> Command:
    cap, name = qualified.split(".")
    return Command(dev(ieee), Capability(cap), name, args)


async def join(z: Running, kind: DeviceKind, ieee: str) -> DeviceJoined:
    """Add a simulated device, open the network and wait for the driver to announce it."""
    z.sim.add_device(kind, ieee)
    await z.driver.permit_join(60)
    return await z.sink.wait_for(DeviceJoined, lambda e: e.device.address == ieee)


async def report(z: Running, ieee: str, attribute: str, value: Value, *, after: int = 0
                 ) -> Report:
    return await z.sink.wait_for(
        Report, lambda r: (r.device_id, r.attribute, r.value) == (dev(ieee), attribute, value),
        after=after)


async def test_form_keeps_the_key_private(zigbee: Running, tmp_path: Path) -> None:
    db = tmp_path / "zigbee.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    app = zigbee.driver.adapter.app  # type: ignore[union-attr]
    assert app is not None and app.state.network_info.channel == 15
    assert app.state.network_info.pan_id not in (0x0000, 0xFFFF)
    backup = tmp_path / "zigbee.backup.json"
    await app.backups.create_backup()  # zigpy's periodic backup, taken now
    assert zigbee.driver.adapter is not None
    await zigbee.driver.adapter.backups_written()  # written in a thread, off the loop
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert app.state.network_info.network_key.key.serialize().hex() in backup.read_text()


async def test_join_interview_and_capabilities(zigbee: Running) -> None:
    expected = {
        LIGHT: (DeviceKind.ON_OFF_LIGHT, {Capability.SWITCH}, "SIM-LIGHT"),
        CT_LIGHT: (DeviceKind.CT_LIGHT, {Capability.SWITCH, Capability.LEVEL,
                                         Capability.COLOR}, "SIM-CT-LIGHT"),
        CONTACT: (DeviceKind.CONTACT_SENSOR, {Capability.CONTACT, Capability.BATTERY},
                  "SIM-CONTACT"),
        CLIMATE: (DeviceKind.TEMP_HUMIDITY_SENSOR, {Capability.TEMPERATURE,
                                                    Capability.HUMIDITY, Capability.BATTERY},
                  "SIM-CLIMATE"),
        LOCK: (DeviceKind.DOOR_LOCK, {Capability.LOCK, Capability.BATTERY}, "SIM-LOCK"),
        REMOTE: (DeviceKind.REMOTE, {Capability.BUTTON, Capability.BATTERY}, "SIM-REMOTE"),
        PLUG: (DeviceKind.SMART_PLUG, {Capability.SWITCH, Capability.POWER}, "SIM-PLUG"),
        THERMOSTAT: (DeviceKind.THERMOSTAT, {Capability.THERMOSTAT}, "SIM-THERMOSTAT"),
    }
    for ieee, (kind, _, _) in expected.items():
        zigbee.sim.add_device(kind, ieee)
    await zigbee.driver.permit_join(60)
    for ieee, (_, caps, model) in expected.items():
        joined = await zigbee.sink.wait_for(DeviceJoined, joined_with_capabilities(ieee))
        assert joined.device.capabilities == caps, ieee
        assert (joined.device.manufacturer, joined.device.model) == ("hubd-sim", model)
        assert joined.device.radio == "zigbee" and joined.device.is_available


async def test_a_commands_echo_carries_its_context(zigbee: Running) -> None:
    """The device's report of what a command did is that command's doing: digital, one level
    deeper in the same trace (loop protection counts on it); an untouched device's stays
    physical."""
    await join(zigbee, DeviceKind.ON_OFF_LIGHT, LIGHT)
    await join(zigbee, DeviceKind.CONTACT_SENSOR, CONTACT)
    command = cmd(LIGHT, "switch.on")
    assert (await zigbee.driver.send(command)).status is CommandStatus.CONFIRMED
    echo = await report(zigbee, LIGHT, "switch.on", True)
    assert (echo.context.origin, echo.context.parent_id, echo.context.depth) == (
        Origin.DIGITAL, command.context.id, command.context.depth + 1)
    zigbee.sim.device(CONTACT).open()
    opened = await report(zigbee, CONTACT, "contact.is_open", True)
    assert (opened.context.origin, opened.context.depth) == (Origin.PHYSICAL, 0)


async def test_switch_dim_colour_and_lock(zigbee: Running) -> None:
    await join(zigbee, DeviceKind.CT_LIGHT, CT_LIGHT)
    await join(zigbee, DeviceKind.DOOR_LOCK, LOCK)
    light = zigbee.sim.device(CT_LIGHT).endpoint
    on_off = light.cluster(SimCluster.ON_OFF)
    assert on_off is not None

    result = await zigbee.driver.send(cmd(CT_LIGHT, "switch.on"))
    assert (result.status, result.error) == (CommandStatus.CONFIRMED, None)
    assert on_off.get(0x0000) is True or on_off.get(0x0000) == 1
    await report(zigbee, CT_LIGHT, "switch.on", True)

    result = await zigbee.driver.send(cmd(CT_LIGHT, "level.set", level_pct=50))
    assert result.status is CommandStatus.CONFIRMED
    await report(zigbee, CT_LIGHT, "level.level_pct", 50.0)

    result = await zigbee.driver.send(cmd(CT_LIGHT, "color.set_color_temp", color_temp_k=2700))
    assert result.status is CommandStatus.CONFIRMED
    await report(zigbee, CT_LIGHT, "color.color_temp_k", 2703)

    result = await zigbee.driver.send(cmd(CT_LIGHT, "switch.off"))
    assert result.status is CommandStatus.CONFIRMED
    await report(zigbee, CT_LIGHT, "switch.on", False)

    for name, state in (("lock", "locked"), ("unlock", "unlocked")):
        result = await zigbee.driver.send(cmd(LOCK, f"lock.{name}"))
        assert (result.status, result.error) == (CommandStatus.CONFIRMED, None)
        await report(zigbee, LOCK, "lock.state", state)
    assert result.latency_s > 0


async def test_sensor_reports_become_reports(zigbee: Running) -> None:
    await join(zigbee, DeviceKind.TEMP_HUMIDITY_SENSOR, CLIMATE)
    await join(zigbee, DeviceKind.CONTACT_SENSOR, CONTACT)
    await join(zigbee, DeviceKind.MOTION_SENSOR, MOTION)
    mark = len(zigbee.sink.events)
    zigbee.sim.device(CLIMATE).set_temperature(21.5)
    zigbee.sim.device(CLIMATE).set_humidity(40.25)
    zigbee.sim.device(CONTACT).open()
    zigbee.sim.device(MOTION).motion(True)
    temp = await report(zigbee, CLIMATE, "temperature.celsius", 21.5, after=mark)
    assert temp.context.origin == Origin.PHYSICAL
    await report(zigbee, CLIMATE, "humidity.pct", 40.25, after=mark)
    await report(zigbee, CONTACT, "contact.is_open", True, after=mark)
    await report(zigbee, MOTION, "motion.is_active", True, after=mark)
    zigbee.sim.device(CONTACT).close()
    await report(zigbee, CONTACT, "contact.is_open", False, after=mark)


async def test_contact_sensor_switches_a_light(zigbee: Running) -> None:
    """Door opens -> light on, through a small in-test reaction standing in for a rule."""
    await join(zigbee, DeviceKind.ON_OFF_LIGHT, LIGHT)
    await join(zigbee, DeviceKind.CONTACT_SENSOR, CONTACT)
    results: list[CommandResult] = []
    done = asyncio.Event()
    original = zigbee.sink.report

    def react(event: object) -> None:
        original(event)  # type: ignore[arg-type]
        if isinstance(event, Report) and event.device_id == dev(CONTACT) \
                and event.attribute == "contact.is_open" and event.value is True:
            command = Command(dev(LIGHT), Capability.SWITCH, "on",
                              context=event.context.child("rule:hall"))

            async def run() -> None:
                results.append(await zigbee.driver.send(command))
                done.set()

            asyncio.get_running_loop().create_task(run())

    zigbee.sink.report = react  # type: ignore[method-assign]
    zigbee.sim.device(CONTACT).open()
    await asyncio.wait_for(done.wait(), 10)
    assert results[0].status is CommandStatus.CONFIRMED
    assert results[0].context.depth == 1
    on_off = zigbee.sim.device(LIGHT).endpoint.cluster(SimCluster.ON_OFF)
    assert on_off is not None and bool(on_off.get(0x0000))


async def test_remote_buttons(zigbee: Running) -> None:
    await join(zigbee, DeviceKind.REMOTE, REMOTE)
    remote = zigbee.sim.device(REMOTE)
    remote.press(1)
    remote.press(3, "hold")
    remote.press(3, "release")
    remote.press(4)
    events = [await zigbee.sink.wait_for(ButtonEvent, _more_than(zigbee, n)) for n in range(4)]
    got = [(e.button, e.action) for e in zigbee.sink.of(ButtonEvent)[:4]]
    assert got == [("on", ButtonAction.PRESS), ("up", ButtonAction.HOLD),
                   ("up", ButtonAction.RELEASE), ("down", ButtonAction.PRESS)]
    assert all(e.device_id == dev(REMOTE) for e in events)


async def test_group_command_is_one_multicast(zigbee: Running) -> None:
    await join(zigbee, DeviceKind.ON_OFF_LIGHT, LIGHT)
    await join(zigbee, DeviceKind.CT_LIGHT, CT_LIGHT)
    for ieee in (LIGHT, CT_LIGHT):
        await zigbee.driver.add_to_group(dev(ieee), 0x0010)
    for ieee in (LIGHT, CT_LIGHT):
        assert zigbee.sim.device(ieee).endpoint.groups == {0x0010: "hubd 16"}
    result = await zigbee.driver.send(Command("zigbee:group:0x0010", Capability.SWITCH, "on"))
    assert (result.status, result.error) == (CommandStatus.SENT, None)
    assert [r.address for r in zigbee.sim.engine.network.multicasts] == [0x0010]
    for ieee in (LIGHT, CT_LIGHT):
        on_off = zigbee.sim.device(ieee).endpoint.cluster(SimCluster.ON_OFF)
        assert on_off is not None and bool(on_off.get(0x0000))


async def test_leave_is_reported(zigbee: Running) -> None:
    await join(zigbee, DeviceKind.ON_OFF_LIGHT, LIGHT)
    zigbee.sim.device(LIGHT).leave()
    left = await zigbee.sink.wait_for(DeviceLeft)
    assert left.device_id == dev(LIGHT)
    assert LIGHT not in zigbee.driver.nodes


async def test_availability_from_last_seen(sim: Simulator, tmp_path: Path) -> None:
    z = await start_driver(sim, tmp_path, availability_battery_s=0.5)
    try:
        await join(z, DeviceKind.TEMP_HUMIDITY_SENSOR, CLIMATE)
        gone = await z.sink.wait_for(AvailabilityChanged, lambda e: not e.is_available)
        assert gone.device_id == dev(CLIMATE)
        mark = len(z.sink.events)
        sim.device(CLIMATE).set_temperature(18.0)
        back = await z.sink.wait_for(AvailabilityChanged, lambda e: e.is_available, after=mark)
        assert back.device_id == dev(CLIMATE)
        # Back before the report: the state store sees the device available when it arrives.
        temp = await report(z, CLIMATE, "temperature.celsius", 18.0, after=mark)
        assert z.sink.events.index(back) < z.sink.events.index(temp)
    finally:
        await z.stop()


async def test_thermostat_writes_and_plug_power(zigbee: Running) -> None:
    await join(zigbee, DeviceKind.THERMOSTAT, THERMOSTAT)
    await join(zigbee, DeviceKind.SMART_PLUG, PLUG)
    result = await zigbee.driver.send(cmd(THERMOSTAT, "thermostat.set_heat_setpoint",
                                          celsius=22.5))
    assert (result.status, result.error) == (CommandStatus.CONFIRMED, None)
    thermostat = zigbee.sim.device(THERMOSTAT).endpoint.cluster(SimCluster.THERMOSTAT)
    assert thermostat is not None and thermostat.get(0x0012) == 2250
    result = await zigbee.driver.send(cmd(THERMOSTAT, "thermostat.set_mode", mode="cool"))
    assert (result.status, result.error) == (CommandStatus.CONFIRMED, None)
    assert thermostat.get(0x001C) == 3
    mark = len(zigbee.sink.events)
    zigbee.sim.device(THERMOSTAT).set_heating_setpoint(19.5)
    await report(zigbee, THERMOSTAT, "thermostat.heat_setpoint_c", 19.5, after=mark)
    zigbee.sim.device(PLUG).set_power(60.0)
    power = await zigbee.sink.wait_for(
        Report, lambda r: r.device_id == dev(PLUG) and r.attribute == "power.watts"
        and r.value != 0.0, after=mark)
    assert power.value == 60.0


def _more_than(zigbee: Running, n: int) -> Callable[[ButtonEvent], bool]:
    """A predicate: more than n button events have arrived."""
    return lambda _: len(zigbee.sink.of(ButtonEvent)) > n


async def test_a_physical_press_after_a_command_is_physical(zigbee: Running) -> None:
    """Within the echo window, only what the command asked for is its echo: someone switching
    the light off again a moment later is physical (``origins: physical`` rules must fire)."""
    await join(zigbee, DeviceKind.ON_OFF_LIGHT, LIGHT)
    command = cmd(LIGHT, "switch.on")
    assert (await zigbee.driver.send(command)).status is CommandStatus.CONFIRMED
    echo = await report(zigbee, LIGHT, "switch.on", True)
    assert echo.context.origin == Origin.DIGITAL
    mark = len(zigbee.sink.events)
    zigbee.sim.device(LIGHT).switch(False)  # a press on the lamp itself, well within 5 s
    pressed = await report(zigbee, LIGHT, "switch.on", False, after=mark)
    assert (pressed.context.origin, pressed.context.depth) == (Origin.PHYSICAL, 0)
