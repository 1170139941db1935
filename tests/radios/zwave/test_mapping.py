"""Z-Wave values as the vocabulary and commands as set_value calls (pure; the mock's dump)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hubd.core.model import ButtonAction, Capability, Command, Value
from radios.observations import AttributeValue, ButtonPress, Observation
from radios.zwave import commands, mapping
from radios.zwave.commands import SetValue
from radios.zwave.session import NodeState, NodeStatus, ValueId, ValueState, parse_state

DUMP = Path(__file__).with_name("state_dump.json")
C = Capability


@pytest.fixture(scope="module")
def nodes() -> dict[int, NodeState]:
    _, parsed = parse_state(json.loads(DUMP.read_text()))
    return {n.node_id: n for n in parsed}


@pytest.mark.parametrize(("node_id", "expected"), [
    (2, {C.SWITCH}), (3, {C.SWITCH, C.LEVEL}), (4, {C.LOCK, C.BATTERY}),
    (5, {C.CONTACT, C.BATTERY}), (6, {C.MOTION, C.BATTERY}), (7, {C.TEMPERATURE, C.BATTERY}),
    (8, {C.THERMOSTAT, C.TEMPERATURE}), (9, {C.BUTTON, C.BATTERY}),
])
def test_capabilities_of_the_mock_nodes(nodes: dict[int, NodeState], node_id: int,
                                        expected: set[Capability]) -> None:
    assert mapping.capabilities(nodes[node_id]) == expected


def see(cc: int, prop: str | int, key: str | int | None, value: object, unit: str = "",
        ccs: frozenset[int] = frozenset()) -> list[Observation]:
    return mapping.observe(ValueId(cc, 0, prop, key), value, unit, ccs)


@pytest.mark.parametrize(("prop", "key", "value", "expected"), [
    ("Access Control", "Door state", 22, AttributeValue("contact.is_open", True)),
    ("Access Control", "Door state", 23, AttributeValue("contact.is_open", False)),
    ("Access Control", "Door state", 5633, AttributeValue("contact.is_open", True)),
    ("Home Security", "Motion sensor status", 8, AttributeValue("motion.is_active", True)),
    ("Home Security", "Motion sensor status", 0, AttributeValue("motion.is_active", False)),
    ("Water Alarm", "Sensor status", 2, AttributeValue("water.is_wet", True)),
    ("Water Alarm", "Sensor status", 0, AttributeValue("water.is_wet", False)),
    ("Smoke Alarm", "Sensor status", 1, AttributeValue("smoke.is_detected", True)),
    ("Access Control", "Lock state", 11, AttributeValue("lock.state", "jammed")),
])
def test_notifications(prop: str, key: str, value: int, expected: AttributeValue) -> None:
    assert see(0x71, prop, key, value) == [expected]


def test_an_unknown_notification_variable_is_ignored() -> None:
    assert see(0x71, "Home Security", "Cover status", 3) == []


@pytest.mark.parametrize(("key_attribute", "action", "count"), [
    (0, ButtonAction.PRESS, 1), (1, ButtonAction.RELEASE, 1), (2, ButtonAction.HOLD, 1),
    (3, ButtonAction.MULTI_TAP, 2), (6, ButtonAction.MULTI_TAP, 5)])
def test_central_scene_keys_are_button_events(key_attribute: int, action: ButtonAction,
                                              count: int) -> None:
    assert see(0x5B, "scene", "002", key_attribute) == [ButtonPress("2", action, count)]


def test_levels_switches_locks_and_batteries() -> None:
    assert see(0x26, "currentValue", None, 99) == [AttributeValue("switch.on", True),
                                                   AttributeValue("level.level_pct", 100.0)]
    assert see(0x26, "currentValue", None, 254) == []  # "unknown" (SDS13781)
    assert see(0x25, "currentValue", None, True) == [AttributeValue("switch.on", True)]
    assert see(0x62, "currentMode", None, 0xFF) == [AttributeValue("lock.state", "locked")]
    assert see(0x62, "currentMode", None, 0x10) == [AttributeValue("lock.state", "unlocked")]
    assert see(0x62, "currentMode", None, 0xFE) == []
    assert see(0x80, "level", None, 101) == [AttributeValue("battery.pct", 100.0)]
    assert see(0x80, "isLow", None, True) == [AttributeValue("battery.is_low", True)]


def test_sensors_meters_and_thermostats_with_units() -> None:
    assert see(0x31, "Air temperature", None, 68.0, "°F") == [
        AttributeValue("temperature.celsius", 20.0)]
    assert see(0x31, "Air temperature", None, 20.5, "°C", frozenset({0x40})) == [
        AttributeValue("temperature.celsius", 20.5), AttributeValue("thermostat.current_c", 20.5)]
    assert see(0x31, "Illuminance", None, 40, "%") == []
    assert see(0x32, "value", 0x10001, 12.5) == [AttributeValue("power.kwh", 12.5)]
    assert see(0x32, "value", 0x10201, 4.2) == [AttributeValue("power.watts", 4.2)]
    assert see(0x32, "value", 0x20001, 3.0) == []  # a gas meter: not in the vocabulary
    assert see(0x43, "setpoint", 1, 21, "°C") == [
        AttributeValue("thermostat.heat_setpoint_c", 21.0)]
    assert see(0x40, "mode", None, 2) == [AttributeValue("thermostat.mode", "cool")]


def test_color_reports_as_hue_and_saturation() -> None:
    assert see(0x33, "currentColor", None, {"red": 255, "green": 0, "blue": 0}) == [
        AttributeValue("color.hue", 0.0), AttributeValue("color.saturation", 100.0)]


def command(device: str, cap: Capability, name: str, **args: Value) -> Command:
    return Command(device, cap, name, args)


def test_commands_become_set_values(nodes: dict[int, NodeState]) -> None:
    def calls(node_id: int, cap: Capability, name: str, **args: Value) -> list[SetValue]:
        return commands.to_set_values(command(f"zwave:{node_id}", cap, name, **args),
                                     nodes[node_id], {"switch.on": True})

    assert calls(2, C.SWITCH, "on") == [SetValue(ValueId(0x25, 0, "targetValue"), True)]
    assert calls(2, C.SWITCH, "toggle") == [SetValue(ValueId(0x25, 0, "targetValue"), False)]
    assert calls(3, C.SWITCH, "on") == [SetValue(ValueId(0x26, 0, "targetValue"), 255)]
    assert calls(3, C.LEVEL, "set", level_pct=50.0, transition_s=2.0) == [
        SetValue(ValueId(0x26, 0, "targetValue"), 50, {"transitionDuration": "2s"})]
    assert calls(3, C.LEVEL, "stop") == [SetValue(ValueId(0x26, 0, "Up"), False)]
    assert calls(4, C.LOCK, "lock") == [SetValue(ValueId(0x62, 0, "targetMode"), 0xFF)]
    assert calls(8, C.THERMOSTAT, "set_mode", mode="heat") == [
        SetValue(ValueId(0x40, 0, "mode"), 1)]
    assert calls(8, C.THERMOSTAT, "set_cool_setpoint", celsius=24.0) == [
        SetValue(ValueId(0x43, 0, "setpoint", 2), 24.0)]


def test_a_fahrenheit_thermostat_gets_fahrenheit() -> None:
    node = NodeState(12, True, NodeStatus.ALIVE, "", "", 8, frozenset({0x43}), (
        ValueState(ValueId(0x43, 0, "setpoint", 1), 68, "°F"),))
    (call,) = commands.to_set_values(command("zwave:12", C.THERMOSTAT, "set_heat_setpoint",
                                            celsius=21.0), node, {})
    assert call.value == 69.8


def test_a_command_the_node_cannot_carry_out_says_why(nodes: dict[int, NodeState]) -> None:
    with pytest.raises(ValueError, match="node 2 has no DOOR_LOCK"):
        commands.to_set_values(command("zwave:2", C.LOCK, "lock"), nodes[2], {})
    with pytest.raises(ValueError, match="not supported"):
        commands.to_set_values(command("zwave:5", C.CONTACT, "open"), nodes[5], {})
