"""Pure mapping: clusters to capabilities, ZCL values to vocabulary units, remotes to buttons."""

from __future__ import annotations

import pytest

from hubd.core.model import ButtonAction, Capability
from radios.zigbee.mapping import (
    attribute_values,
    capabilities,
    command_observations,
    level_to_raw,
)
from radios.zigbee.model import (
    AttributeEvent,
    AttributeValue,
    ButtonPress,
    ClusterCommandEvent,
    ClusterId,
    EndpointInfo,
    NodeInfo,
    ZoneType,
)

IEEE = "00:17:88:01:02:03:04:05"


def node(*eps: tuple[set[int], set[int]], zone_type: int | None = None) -> NodeInfo:
    endpoints = tuple(EndpointInfo(n, frozenset(i), frozenset(o))
                      for n, (i, o) in enumerate(eps, start=1))
    return NodeInfo(IEEE, 0x1234, "Acme", "X", endpoints, True, zone_type)


C = ClusterId


@pytest.mark.parametrize(("clusters", "expected"), [
    ({C.BASIC, C.ON_OFF}, {Capability.SWITCH}),
    ({C.ON_OFF, C.LEVEL_CONTROL, C.COLOR_CONTROL}, {Capability.SWITCH, Capability.LEVEL,
                                                    Capability.COLOR}),
    ({C.TEMPERATURE_MEASUREMENT, C.RELATIVE_HUMIDITY, C.POWER_CONFIGURATION},
     {Capability.TEMPERATURE, Capability.HUMIDITY, Capability.BATTERY}),
    ({C.DOOR_LOCK}, {Capability.LOCK}),
    ({C.THERMOSTAT}, {Capability.THERMOSTAT}),
    ({C.WINDOW_COVERING}, {Capability.SHADE}),
    ({C.ON_OFF, C.METERING, C.ELECTRICAL_MEASUREMENT}, {Capability.SWITCH, Capability.POWER}),
    ({C.OCCUPANCY_SENSING, C.ILLUMINANCE_MEASUREMENT}, {Capability.MOTION,
                                                         Capability.ILLUMINANCE}),
    ({C.BASIC}, set()),
])
def test_server_clusters_map_to_capabilities(clusters: set[int], expected: set[Capability]
                                             ) -> None:
    assert capabilities(node((clusters, set()))) == expected


@pytest.mark.parametrize(("zone_type", "expected"), [
    (ZoneType.CONTACT_SWITCH, Capability.CONTACT),
    (ZoneType.MOTION_SENSOR, Capability.MOTION),
    (ZoneType.WATER_SENSOR, Capability.WATER),
])
def test_ias_zone_type_decides_the_capability(zone_type: int, expected: Capability) -> None:
    caps = capabilities(node(({C.IAS_ZONE}, set()), zone_type=zone_type))
    assert caps == {expected, Capability.BATTERY}


def test_ias_zone_of_unknown_type_gives_nothing_yet() -> None:
    assert capabilities(node(({C.IAS_ZONE}, set()))) == set()


def test_remote_is_a_client_of_on_off_and_level() -> None:
    remote = node(({C.BASIC, C.POWER_CONFIGURATION}, {C.ON_OFF, C.LEVEL_CONTROL}))
    assert capabilities(remote) == {Capability.BUTTON, Capability.BATTERY}


def ev(cluster: int, attr: int, value: object, mult: int = 1, div: int = 1) -> AttributeEvent:
    return AttributeEvent(IEEE, 1, cluster, attr, value, mult, div)  # type: ignore[arg-type]


@pytest.mark.parametrize(("event", "expected"), [
    (ev(C.ON_OFF, 0, 1), [AttributeValue("switch.on", True)]),
    (ev(C.ON_OFF, 0, False), [AttributeValue("switch.on", False)]),
    (ev(C.LEVEL_CONTROL, 0, 254), [AttributeValue("level.level_pct", 100.0)]),
    (ev(C.LEVEL_CONTROL, 0, 127), [AttributeValue("level.level_pct", 50.0)]),
    (ev(C.COLOR_CONTROL, 0, 127), [AttributeValue("color.hue", 180.0)]),
    (ev(C.COLOR_CONTROL, 1, 254), [AttributeValue("color.saturation", 100.0)]),
    (ev(C.COLOR_CONTROL, 7, 370), [AttributeValue("color.color_temp_k", 2703)]),
    (ev(C.TEMPERATURE_MEASUREMENT, 0, 2150), [AttributeValue("temperature.celsius", 21.5)]),
    (ev(C.TEMPERATURE_MEASUREMENT, 0, -550), [AttributeValue("temperature.celsius", -5.5)]),
    (ev(C.TEMPERATURE_MEASUREMENT, 0, -0x8000), []),
    (ev(C.RELATIVE_HUMIDITY, 0, 4550), [AttributeValue("humidity.pct", 45.5)]),
    (ev(C.RELATIVE_HUMIDITY, 0, 0xFFFF), []),
    (ev(C.ILLUMINANCE_MEASUREMENT, 0, 20001), [AttributeValue("illuminance.lux", 100.0)]),
    (ev(C.ILLUMINANCE_MEASUREMENT, 0, 0), [AttributeValue("illuminance.lux", 0.0)]),
    (ev(C.OCCUPANCY_SENSING, 0, 1), [AttributeValue("motion.is_active", True)]),
    (ev(C.POWER_CONFIGURATION, 0x21, 200), [AttributeValue("battery.pct", 100.0),
                                            AttributeValue("battery.is_low", False)]),
    (ev(C.POWER_CONFIGURATION, 0x21, 15), [AttributeValue("battery.pct", 7.5),
                                           AttributeValue("battery.is_low", True)]),
    (ev(C.DOOR_LOCK, 0, 1), [AttributeValue("lock.state", "locked")]),
    (ev(C.DOOR_LOCK, 0, 2), [AttributeValue("lock.state", "unlocked")]),
    (ev(C.DOOR_LOCK, 0, 0), [AttributeValue("lock.state", "jammed")]),
    (ev(C.DOOR_LOCK, 0, 0xFF), []),
    (ev(C.THERMOSTAT, 0, 1980), [AttributeValue("thermostat.current_c", 19.8)]),
    (ev(C.THERMOSTAT, 0x12, 2100), [AttributeValue("thermostat.heat_setpoint_c", 21.0)]),
    (ev(C.THERMOSTAT, 0x11, 2600), [AttributeValue("thermostat.cool_setpoint_c", 26.0)]),
    (ev(C.THERMOSTAT, 0x1C, 4), [AttributeValue("thermostat.mode", "heat")]),
    (ev(C.THERMOSTAT, 0x1C, 7), []),
    (ev(C.WINDOW_COVERING, 8, 0), [AttributeValue("shade.position_pct", 100.0)]),
    (ev(C.WINDOW_COVERING, 8, 75), [AttributeValue("shade.position_pct", 25.0)]),
    (ev(C.ELECTRICAL_MEASUREMENT, 0x050B, 1234, 1, 10), [AttributeValue("power.watts", 123.4)]),
    (ev(C.METERING, 0, 123456, 1, 1000), [AttributeValue("power.kwh", 123.456)]),
    (ev(C.METERING, 0x0400, 15, 1, 100), [AttributeValue("power.watts", 150.0)]),
    (ev(C.BASIC, 5, "model"), []),
    (ev(C.LEVEL_CONTROL, 0, None), []),
])
def test_attribute_values_in_vocabulary_units(event: AttributeEvent,
                                              expected: list[AttributeValue]) -> None:
    assert attribute_values(event, None) == expected


def test_ias_zone_status_by_zone_type() -> None:
    status = ev(C.IAS_ZONE, 0x0002, 0x0009)  # alarm1 + battery low
    assert attribute_values(status, ZoneType.CONTACT_SWITCH) == [
        AttributeValue("contact.is_open", True), AttributeValue("battery.is_low", True)]
    assert attribute_values(status, ZoneType.WATER_SENSOR)[0] == AttributeValue(
        "water.is_wet", True)


def cmd(cluster: int, command_id: int, *args: int, ep: int = 1) -> ClusterCommandEvent:
    return ClusterCommandEvent(IEEE, ep, cluster, command_id, tuple(args))


@pytest.mark.parametrize(("event", "zone", "expected"), [
    (cmd(C.IAS_ZONE, 0, 0x0001, 0, 1, 0), ZoneType.CONTACT_SWITCH,
     [AttributeValue("contact.is_open", True), AttributeValue("battery.is_low", False)]),
    (cmd(C.IAS_ZONE, 0, 0x0000, 0, 1, 0), ZoneType.MOTION_SENSOR,
     [AttributeValue("motion.is_active", False), AttributeValue("battery.is_low", False)]),
    (cmd(C.ON_OFF, 0x01), None, [ButtonPress("on", ButtonAction.PRESS)]),
    (cmd(C.ON_OFF, 0x00), None, [ButtonPress("off", ButtonAction.PRESS)]),
    (cmd(C.ON_OFF, 0x02, ep=2), None, [ButtonPress("toggle_2", ButtonAction.PRESS)]),
    (cmd(C.LEVEL_CONTROL, 0x06, 0, 50, 5), None, [ButtonPress("up", ButtonAction.PRESS)]),
    (cmd(C.LEVEL_CONTROL, 0x02, 1, 50, 5), None, [ButtonPress("down", ButtonAction.PRESS)]),
    (cmd(C.LEVEL_CONTROL, 0x05, 1, 50), None, [ButtonPress("down", ButtonAction.HOLD)]),
    (cmd(C.LEVEL_CONTROL, 0x07), None, [ButtonPress("dim", ButtonAction.RELEASE)]),
    (cmd(C.SCENES, 0x05, 0, 3), None, [ButtonPress("scene_3", ButtonAction.PRESS)]),
    (cmd(C.SCENES, 0x01, 0, 3), None, []),
    (cmd(C.DOOR_LOCK, 0x20, 1), None, []),
])
def test_commands_from_devices(event: ClusterCommandEvent, zone: int | None,
                               expected: list[object]) -> None:
    assert command_observations(event, zone) == expected


@pytest.mark.parametrize(("pct", "raw"), [(0, 0), (100, 254), (50, 127), (1, 3), (99.9, 254)])
def test_level_to_raw(pct: float, raw: int) -> None:
    assert level_to_raw(pct) == raw
