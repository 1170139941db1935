"""Zigbee clusters onto the capability vocabulary: which capabilities, which values, which buttons.

Pure and synchronous: the adapter turns zigpy's objects into ``radios.zigbee.model`` data and
this module turns that data into vocabulary attributes in the vocabulary's units. Section
numbers are those of the ZCL specification (07-5123).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hubd.core.model import ButtonAction, Capability, LockState, ThermostatMode, Value
from radios.zigbee.model import (
    AttributeEvent,
    AttributeValue,
    ButtonPress,
    ClusterCommandEvent,
    ClusterId,
    NodeInfo,
    Observation,
    ZoneType,
)

# -- capabilities ------------------------------------------------------------------------------

_SERVER_CAPABILITIES: Mapping[int, Capability] = {
    ClusterId.ON_OFF: Capability.SWITCH,
    ClusterId.LEVEL_CONTROL: Capability.LEVEL,
    ClusterId.COLOR_CONTROL: Capability.COLOR,
    ClusterId.OCCUPANCY_SENSING: Capability.MOTION,
    ClusterId.TEMPERATURE_MEASUREMENT: Capability.TEMPERATURE,
    ClusterId.RELATIVE_HUMIDITY: Capability.HUMIDITY,
    ClusterId.ILLUMINANCE_MEASUREMENT: Capability.ILLUMINANCE,
    ClusterId.POWER_CONFIGURATION: Capability.BATTERY,
    ClusterId.DOOR_LOCK: Capability.LOCK,
    ClusterId.THERMOSTAT: Capability.THERMOSTAT,
    ClusterId.WINDOW_COVERING: Capability.SHADE,
    ClusterId.ELECTRICAL_MEASUREMENT: Capability.POWER,
    ClusterId.METERING: Capability.POWER,
}

# A remote is a client of these clusters: it sends their commands to whoever it is bound to.
_BUTTON_CLIENT_CLUSTERS = frozenset({ClusterId.ON_OFF, ClusterId.LEVEL_CONTROL, ClusterId.SCENES})

_ZONE_CAPABILITIES: Mapping[int, Capability] = {
    ZoneType.CONTACT_SWITCH: Capability.CONTACT,
    ZoneType.MOTION_SENSOR: Capability.MOTION,
    ZoneType.WATER_SENSOR: Capability.WATER,
}


def capabilities(node: NodeInfo) -> frozenset[Capability]:
    """The capabilities a device's clusters (and IAS zone type) give it."""
    caps: set[Capability] = set()
    for ep in node.endpoints:
        caps.update(_SERVER_CAPABILITIES[c] for c in ep.in_clusters if c in _SERVER_CAPABILITIES)
        if ep.out_clusters & _BUTTON_CLIENT_CLUSTERS:
            caps.add(Capability.BUTTON)
        zone = _ZONE_CAPABILITIES.get(node.zone_type or -1)
        if ClusterId.IAS_ZONE in ep.in_clusters and zone is not None:
            caps.add(zone)
            caps.add(Capability.BATTERY)  # the zone status carries a battery-low bit
    return frozenset(caps)


# -- configuration: what to bind, report and read ----------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportConfig:
    """One attribute to have reported: min/max interval (s) and reportable change (raw units)."""

    attribute_id: int
    min_interval_s: int
    max_interval_s: int
    reportable_change: int | None = None


def _r(attribute_id: int, lo: int, hi: int, change: int | None = None) -> ReportConfig:
    return ReportConfig(attribute_id, lo, hi, change)


# ZCL 2.5.7 Configure Reporting; intervals as commonly used by ZHA for the same clusters.
REPORTING: Mapping[int, tuple[ReportConfig, ...]] = {
    ClusterId.ON_OFF: (_r(0x0000, 0, 900),),
    ClusterId.LEVEL_CONTROL: (_r(0x0000, 1, 900, 1),),
    ClusterId.COLOR_CONTROL: (_r(0x0000, 1, 900, 1), _r(0x0001, 1, 900, 1),
                              _r(0x0007, 1, 900, 1)),
    ClusterId.TEMPERATURE_MEASUREMENT: (_r(0x0000, 30, 900, 10),),
    ClusterId.RELATIVE_HUMIDITY: (_r(0x0000, 30, 900, 100),),
    ClusterId.ILLUMINANCE_MEASUREMENT: (_r(0x0000, 10, 900, 5),),
    ClusterId.OCCUPANCY_SENSING: (_r(0x0000, 0, 900),),
    ClusterId.POWER_CONFIGURATION: (_r(0x0021, 3600, 21600, 2),),
    ClusterId.DOOR_LOCK: (_r(0x0000, 0, 900),),
    ClusterId.THERMOSTAT: (_r(0x0000, 30, 900, 10), _r(0x0011, 0, 900, 1),
                           _r(0x0012, 0, 900, 1), _r(0x001C, 0, 900)),
    ClusterId.WINDOW_COVERING: (_r(0x0008, 1, 900, 1),),
    ClusterId.ELECTRICAL_MEASUREMENT: (_r(0x050B, 5, 900, 1),),
    ClusterId.METERING: (_r(0x0000, 10, 900, 1), _r(0x0400, 5, 900, 1)),
}

# Attributes read once after joining besides the reported ones (scaling and zone type are
# read earlier, before the device is announced).
EXTRA_READS: Mapping[int, tuple[int, ...]] = {
    ClusterId.IAS_ZONE: (0x0002,),  # zone_status
}

# Scaling attributes per cluster (multiplier id, divisor id), ZCL 10.2.2.2.4 and 4.9.2.2.5.
SCALING: Mapping[int, tuple[int, int]] = {
    ClusterId.ELECTRICAL_MEASUREMENT: (0x0604, 0x0605),
    ClusterId.METERING: (0x0301, 0x0302),
}

IAS_ZONE_TYPE = 0x0001
IAS_CIE_ADDRESS = 0x0010


# -- attribute values --------------------------------------------------------------------------


def _num(value: Value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _scaled_pct(raw: float, full: float) -> float:
    return round(min(raw, full) * 100.0 / full, 1)


def _temperature(raw: float) -> float | None:
    # ZCL 4.4.2.2.1.1: int16 in 0.01 °C, 0x8000 means "invalid".
    return None if raw == -0x8000 else round(raw / 100.0, 2)


def _illuminance(raw: float) -> float | None:
    # ZCL 4.2.2.2.1.1: MeasuredValue = 10,000 x log10(lux) + 1; 0 is "too low", 0xFFFF invalid.
    if raw == 0xFFFF:
        return None
    return 0.0 if raw <= 0 else round(10 ** ((raw - 1) / 10000.0), 1)


def _lock_state(raw: float) -> str | None:
    # ZCL 7.3.2.2.1: 0 not fully locked, 1 locked, 2 unlocked, 0xFF undefined.
    return {0: LockState.JAMMED, 1: LockState.LOCKED, 2: LockState.UNLOCKED}.get(int(raw))


def _system_mode(raw: float) -> str | None:
    # ZCL 6.3.2.2.2.10 SystemMode: 0 off, 1 auto, 3 cool, 4 heat (others have no vocabulary).
    return {0: ThermostatMode.OFF, 1: ThermostatMode.AUTO, 3: ThermostatMode.COOL,
            4: ThermostatMode.HEAT}.get(int(raw))


def _battery(raw: float) -> list[AttributeValue]:
    # ZCL 3.3.2.2.3.1 BatteryPercentageRemaining: half-percent units, 0xFF invalid.
    if raw == 0xFF:
        return []
    pct = _scaled_pct(raw, 200)
    return [AttributeValue("battery.pct", pct), AttributeValue("battery.is_low", pct <= 10)]


def _mireds_to_kelvin(raw: float) -> int | None:
    if raw <= 0 or raw >= 0xFFFF:
        return None
    return int(min(10000, max(1000, round(1_000_000 / raw))))


_Simple = Callable[[float], Value]

# (cluster, attribute) -> (vocabulary attribute, converter from the raw ZCL number)
_SIMPLE: Mapping[tuple[int, int], tuple[str, _Simple]] = {
    (ClusterId.LEVEL_CONTROL, 0x0000): ("level.level_pct", lambda v: _scaled_pct(v, 254)),
    (ClusterId.COLOR_CONTROL, 0x0000): ("color.hue", lambda v: round(min(v, 254) * 360 / 254, 1)),
    (ClusterId.COLOR_CONTROL, 0x0001): ("color.saturation", lambda v: _scaled_pct(v, 254)),
    (ClusterId.COLOR_CONTROL, 0x0007): ("color.color_temp_k", _mireds_to_kelvin),
    (ClusterId.TEMPERATURE_MEASUREMENT, 0x0000): ("temperature.celsius", _temperature),
    (ClusterId.RELATIVE_HUMIDITY, 0x0000): (
        "humidity.pct", lambda v: None if v == 0xFFFF else round(min(v, 10000) / 100.0, 2)),
    (ClusterId.ILLUMINANCE_MEASUREMENT, 0x0000): ("illuminance.lux", _illuminance),
    (ClusterId.OCCUPANCY_SENSING, 0x0000): ("motion.is_active", lambda v: bool(int(v) & 0x01)),
    (ClusterId.DOOR_LOCK, 0x0000): ("lock.state", _lock_state),
    (ClusterId.THERMOSTAT, 0x0000): ("thermostat.current_c", _temperature),
    (ClusterId.THERMOSTAT, 0x0011): ("thermostat.cool_setpoint_c", _temperature),
    (ClusterId.THERMOSTAT, 0x0012): ("thermostat.heat_setpoint_c", _temperature),
    (ClusterId.THERMOSTAT, 0x001C): ("thermostat.mode", _system_mode),
    # ZCL 7.4.2.1.2: lift percentage 0 is fully open; the vocabulary's 100 is fully open.
    (ClusterId.WINDOW_COVERING, 0x0008): (
        "shade.position_pct", lambda v: None if v > 100 else float(100 - int(v))),
}


def zone_status_values(zone_type: int | None, zone_status: int) -> list[AttributeValue]:
    """The vocabulary values an IAS ZoneStatus carries (ZCL 8.2.2.2.1.3, Table 8-6)."""
    alarm = bool(zone_status & 0x0001)  # Alarm1
    values = [AttributeValue("battery.is_low", bool(zone_status & 0x0008))]  # Battery
    if zone_type == ZoneType.CONTACT_SWITCH:
        values.insert(0, AttributeValue("contact.is_open", alarm))
    elif zone_type == ZoneType.MOTION_SENSOR:
        values.insert(0, AttributeValue("motion.is_active", alarm))
    elif zone_type == ZoneType.WATER_SENSOR:
        values.insert(0, AttributeValue("water.is_wet", alarm))
    return values


def _power(event: AttributeEvent, raw: float) -> list[AttributeValue]:
    scale = event.multiplier / event.divisor if event.divisor else 1.0
    if event.cluster_id == ClusterId.ELECTRICAL_MEASUREMENT and event.attribute_id == 0x050B:
        return [AttributeValue("power.watts", round(raw * scale, 3))]
    if event.cluster_id == ClusterId.METERING and event.attribute_id == 0x0000:
        # CurrentSummationDelivered in kWh once scaled (UnitOfMeasure 0, ZCL 10.4.2.2.4.1).
        return [AttributeValue("power.kwh", round(raw * scale, 3))]
    if event.cluster_id == ClusterId.METERING and event.attribute_id == 0x0400:
        return [AttributeValue("power.watts", round(raw * scale * 1000.0, 3))]  # kW
    return []


def attribute_values(event: AttributeEvent, zone_type: int | None) -> list[AttributeValue]:
    """The vocabulary values one ZCL attribute carries; empty when it carries none."""
    key = (event.cluster_id, event.attribute_id)
    if key == (ClusterId.ON_OFF, 0x0000):
        return [] if event.value is None else [AttributeValue("switch.on", bool(event.value))]
    raw = _num(event.value)
    if raw is None:
        return []
    simple = _SIMPLE.get(key)
    if simple is not None:
        value = simple[1](raw)
        return [] if value is None else [AttributeValue(simple[0], value)]
    if key == (ClusterId.POWER_CONFIGURATION, 0x0021):
        return _battery(raw)
    if key == (ClusterId.IAS_ZONE, 0x0002):
        return zone_status_values(zone_type, int(raw))
    return _power(event, raw)


# -- cluster commands from devices -------------------------------------------------------------


def _button(base: str, endpoint_id: int) -> str:
    # A multi-endpoint remote repeats its clusters per endpoint (one per button group).
    return base if endpoint_id <= 1 else f"{base}_{endpoint_id}"


def _int_arg(args: tuple[Value, ...], index: int) -> int:
    value = args[index] if index < len(args) else 0
    return int(value) if isinstance(value, int | float) else 0


def _on_off_command(event: ClusterCommandEvent) -> list[Observation]:
    # ZCL 3.8.2.3: 0x00 Off, 0x01 On, 0x02 Toggle, 0x40 Off with effect, 0x42 On with timed off.
    names = {0x00: "off", 0x01: "on", 0x02: "toggle", 0x40: "off", 0x42: "on"}
    name = names.get(event.command_id)
    return [] if name is None else [ButtonPress(_button(name, event.endpoint_id),
                                                ButtonAction.PRESS)]


def _level_command(event: ClusterCommandEvent) -> list[Observation]:
    # ZCL 3.10.2.4: 0x01/0x05 Move (hold), 0x02/0x06 Step (press), 0x03/0x07 Stop (release).
    command = event.command_id & 0x03 if event.command_id in (1, 2, 3, 5, 6, 7) else None
    if command is None:
        return []
    if command == 0x03:
        return [ButtonPress(_button("dim", event.endpoint_id), ButtonAction.RELEASE)]
    direction = "down" if _int_arg(event.args, 0) == 1 else "up"  # mode 0 up, 1 down
    action = ButtonAction.HOLD if command == 0x01 else ButtonAction.PRESS
    return [ButtonPress(_button(direction, event.endpoint_id), action)]


def command_observations(event: ClusterCommandEvent, zone_type: int | None
                         ) -> list[Observation]:
    """What a cluster command received from a device means in the vocabulary."""
    if event.cluster_id == ClusterId.IAS_ZONE and event.command_id == 0x00:
        # ZCL 8.2.2.4.1 Zone Status Change Notification: zone status is the first field.
        return list(zone_status_values(zone_type, _int_arg(event.args, 0)))
    if event.cluster_id == ClusterId.ON_OFF:
        return _on_off_command(event)
    if event.cluster_id == ClusterId.LEVEL_CONTROL:
        return _level_command(event)
    if event.cluster_id == ClusterId.SCENES and event.command_id == 0x05:
        # ZCL 3.7.2.4.7 Recall Scene: group id, scene id.
        scene = _int_arg(event.args, 1)
        return [ButtonPress(_button(f"scene_{scene}", event.endpoint_id), ButtonAction.PRESS)]
    return []


def level_to_raw(level_pct: float) -> int:
    """A level in percent as a ZCL CurrentLevel (1..254; 0 is reserved as "minimum" by some)."""
    return max(0, min(254, math.floor(level_pct * 254 / 100 + 0.5)))
