"""The Z-Wave radio end to end against Z-Wave JS's mock controller and a real zwave-js-server."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from hubd.core.errors import DeviceError
from hubd.core.events import (
    ButtonEvent,
    DeviceJoined,
    DeviceLeft,
    RadioHealth,
    RadioStatus,
    RuleRan,
    StateChanged,
)
from hubd.core.model import ButtonAction, Capability, Command, CommandStatus
from radios.zwave.inclusion import InclusionRequest
from radios.zwave.session import InclusionStrategy
from radios.zwave.sim.demo import DEMO_NODES, KIND_CAPABILITIES
from tests.radios.zwave.conftest import Network

# The first test also pays for the module's network (interviews take ~10 s quiet, > 60 s at load
# ~18): the per-test limit must cover that setup, or every test of the module errors with it. Each
# wait inside a test stays bounded by its own, shorter timeout.
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(150)]

C = Capability


def caps(network: Network, dev_id: str) -> set[Capability]:
    device = network.hub.state.get_device(dev_id)
    assert device is not None, f"{dev_id} unknown"
    return set(device.capabilities)


async def test_every_mock_node_is_interviewed_and_mapped(network: Network) -> None:
    for node_id, (kind, name, room) in DEMO_NODES.items():
        device = network.hub.state.get_device(f"zwave:{node_id}")
        assert device is not None
        # The node's own name and location (Node Naming and Location CC) name the device.
        assert (device.name, device.room, device.capabilities) == (
            name, room, KIND_CAPABILITIES[kind])
    assert caps(network, "zwave:2") == {C.SWITCH}
    assert caps(network, "zwave:3") == {C.SWITCH, C.LEVEL}
    assert caps(network, "zwave:4") == {C.LOCK, C.BATTERY}
    assert caps(network, "zwave:5") == {C.CONTACT, C.BATTERY}
    assert caps(network, "zwave:6") == {C.MOTION, C.BATTERY}
    assert caps(network, "zwave:7") == {C.TEMPERATURE, C.BATTERY}
    assert caps(network, "zwave:8") == {C.THERMOSTAT, C.TEMPERATURE}
    assert caps(network, "zwave:9") == {C.BUTTON, C.BATTERY}
    health = network.hub.health["zwave"]
    assert health.status is RadioStatus.OK and "controller ready" in health.detail
    assert network.hub.state.value("zwave:7", "temperature.celsius") == 21.5


@pytest.mark.parametrize(("dev_id", "cap", "name", "args", "frame", "attribute", "value"), [
    ("zwave:2", C.SWITCH, "on", {}, "BinarySwitchCCSet", "switch.on", True),
    ("zwave:3", C.LEVEL, "set", {"level_pct": 40.0}, "MultilevelSwitchCCSet",
     "level.level_pct", 40.4),
    ("zwave:4", C.LOCK, "lock", {}, "DoorLockCCOperationSet", "lock.state", "locked"),
    ("zwave:8", C.THERMOSTAT, "set_heat_setpoint", {"celsius": 22.5},
     "ThermostatSetpointCCSet", "thermostat.heat_setpoint_c", 22.5),
    ("zwave:8", C.THERMOSTAT, "set_mode", {"mode": "heat"}, "ThermostatModeCCSet",
     "thermostat.mode", "heat"),
])
async def test_commands_reach_the_node_and_come_back_as_state(
        network: Network, dev_id: str, cap: Capability, name: str, args: dict[str, object],
        frame: str, attribute: str, value: object) -> None:
    node_id = int(dev_id.split(":")[1])
    result = await network.hub.execute(Command(dev_id, cap, name, args))  # type: ignore[arg-type]
    # Supervision: the mock node said SUCCESS, so the hub knows the device did it.
    assert (result.status, result.error) == (CommandStatus.CONFIRMED, None)
    seen = await network.stick.wait_frame(node_id, frame)
    assert seen.node_id == node_id
    await network.until(lambda: network.hub.state.value(dev_id, attribute) == value)


async def test_a_rejected_set_value_is_a_failed_command(network: Network) -> None:
    # The mock thermostat refuses setpoints outside 5-35 °C with Supervision FAIL.
    result = await network.hub.execute(
        Command("zwave:8", C.THERMOSTAT, "set_cool_setpoint", {"celsius": 45.0}))
    assert result.status is CommandStatus.FAILED and result.error


async def test_sensors_report_through_the_serial_api(network: Network) -> None:
    await network.stick.temperature(7, 23.5)
    await network.until(lambda: network.hub.state.value("zwave:7", "temperature.celsius")
                        == 23.5)
    await network.stick.notify(6, 0x07, 0x08)  # Home Security: motion detected
    await network.until(lambda: network.hub.state.value("zwave:6", "motion.is_active") is True)


async def test_a_door_notification_fires_a_rule_that_switches_a_node(network: Network) -> None:
    off = await network.hub.execute(Command("zwave:2", C.SWITCH, "off"))
    assert off.status is CommandStatus.CONFIRMED
    network.stick.frames = type(network.stick.frames)()  # forget earlier frames
    mark = network.recorder.mark()
    await network.stick.notify(5, 0x06, 0x16)  # Access Control: window/door is open
    opened = await network.recorder.wait_for(
        StateChanged, lambda e: e.device_id == "zwave:5" and e.new is True, after=mark)
    assert opened.context.origin == "physical"
    ran = await network.recorder.wait_for(RuleRan, lambda e: e.rule_id == "zwave_door_switch",
                                          after=mark)
    assert ran.outcome == "done", ran
    await network.stick.wait_frame(2, "BinarySwitchCCSet")
    await network.until(lambda: network.hub.state.value("zwave:2", "switch.on") is True)


async def test_a_central_scene_key_is_a_button_event(network: Network) -> None:
    mark = network.recorder.mark()
    await network.stick.scene(9, 3, key=2)  # scene 3 held down
    event = await network.recorder.wait_for(ButtonEvent, after=mark)
    assert (event.device_id, event.button, event.action) == ("zwave:9", "3", ButtonAction.HOLD)


async def test_include_a_node_see_it_interviewed_and_mapped(network: Network) -> None:
    await network.stick.queue_inclusion(20, "dimmer")
    mark = network.recorder.mark()
    await network.driver.include(InclusionRequest(InclusionStrategy.INSECURE))
    joined = await network.recorder.wait_for(
        DeviceJoined, lambda e: e.device.id == "zwave:20", after=mark, timeout_s=30)
    assert set(joined.device.capabilities) == {C.SWITCH, C.LEVEL}
    result = await network.hub.execute(Command("zwave:20", C.LEVEL, "set", {"level_pct": 99.0}))
    assert result.status is CommandStatus.CONFIRMED


async def test_exclusion_removes_the_device(network: Network) -> None:
    await network.until(lambda: network.hub.state.get_device("zwave:20") is not None)
    await network.stick.queue_exclusion(20)
    mark = network.recorder.mark()
    await network.driver.exclude()
    await network.recorder.wait_for(DeviceLeft, lambda e: e.device_id == "zwave:20",
                                    after=mark, timeout_s=20)
    assert network.hub.state.get_device("zwave:20") is None
    assert 20 not in network.driver.nodes


async def test_s2_inclusion_with_the_pin_from_the_devices_label(network: Network) -> None:
    await network.stick.queue_inclusion(21, "door_lock_s2")
    mark = network.recorder.mark()
    await network.driver.include(InclusionRequest(InclusionStrategy.SECURITY_S2))
    node_id, pin = 0, ""
    while node_id != 21:  # the label of the lock, not of a node included earlier
        node_id, _, pin = await asyncio.wait_for(network.stick.labels.get(), 20)
    # The server shows the DSK without its first five digits: those are the PIN to type.
    await asyncio.wait_for(network.driver.pin_wanted.wait(), 30)
    assert network.driver.inclusion.dsk.startswith("-")
    await network.driver.enter_pin(pin)
    joined = await network.recorder.wait_for(
        DeviceJoined, lambda e: e.device.id == "zwave:21", after=mark, timeout_s=45)
    assert C.LOCK in joined.device.capabilities
    assert network.driver.nodes[21].is_secure
    result = await network.hub.execute(Command("zwave:21", C.LOCK, "lock"))
    assert result.status is CommandStatus.CONFIRMED
    await network.until(lambda: network.hub.state.value("zwave:21", "lock.state") == "locked")


async def test_heal_starts_and_stops(network: Network) -> None:
    # (remove_failed is not tried here: the mock controller does not answer IsFailedNode.)
    await network.driver.heal()
    await network.driver.request("controller.stop_rebuilding_routes")
    with pytest.raises(DeviceError, match="not a known Z-Wave node"):
        await network.driver.remove_failed("zwave:77")


async def test_a_killed_server_is_restarted_and_the_hub_resyncs(network: Network) -> None:
    server = network.daemon.zwave_server
    assert server is not None and server.pid is not None
    first_pid, starts, sessions = server.pid, server.starts, network.driver.sessions
    mark = network.recorder.mark()
    os.kill(first_pid, signal.SIGKILL)
    await network.recorder.wait_for(
        RadioHealth, lambda e: e.radio == "zwave" and e.status is not RadioStatus.OK,
        after=mark)
    await network.recorder.wait_for(
        RadioHealth, lambda e: e.radio == "zwave" and e.status is RadioStatus.OK, after=mark,
        timeout_s=40)
    assert server.starts == starts + 1 and server.pid != first_pid
    assert network.driver.sessions == sessions + 1
    assert not network.task.done()  # the hub itself never restarted
    # The resynced hub still knows every node and still drives them.
    assert caps(network, "zwave:4") == {C.LOCK, C.BATTERY}
    result = await network.hub.execute(Command("zwave:4", C.LOCK, "unlock"))
    assert result.status is CommandStatus.CONFIRMED
    await network.until(lambda: network.hub.state.value("zwave:4", "lock.state") == "unlocked")


async def test_a_stick_unplugged_and_back_is_reported_and_survived(network: Network) -> None:
    mark = network.recorder.mark()
    await network.stick.unplug_and_replug()
    # zwave-js reopens the port by itself; a command while it cannot fails with its reason and
    # the radio's health says the stick is gone, until the stick answers again.
    async with asyncio.timeout(40):
        while True:
            result = await network.hub.execute(Command("zwave:2", C.SWITCH, "on"))
            if result.status is CommandStatus.CONFIRMED:
                break
            assert result.status is CommandStatus.FAILED and result.error, result
            await asyncio.sleep(0.5)
    down = [n for n, e in enumerate(network.recorder.events)
            if n >= mark and isinstance(e, RadioHealth) and e.radio == "zwave"
            and e.status is not RadioStatus.OK]
    if down:  # the gap may be shorter than one command's round trip
        first = network.recorder.events[down[0]]
        assert isinstance(first, RadioHealth)
        assert "stick" in first.detail or "unresponsive" in first.detail, first
        await network.recorder.wait_for(
            RadioHealth, lambda e: e.radio == "zwave" and e.status is RadioStatus.OK,
            after=down[-1])
    assert not network.task.done()
    await network.stick.wait_frame(2, "BinarySwitchCCSet")
