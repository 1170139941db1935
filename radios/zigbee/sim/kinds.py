"""The kinds of simulated device, declared as data: device type, logical type and clusters."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from radios.zigbee.sim.clusters import ClusterId
from radios.zigbee.sim.zcl import AttrValue
from radios.zigbee.sim.zdo import LogicalType


class DeviceKind(StrEnum):
    """What a simulated device is."""

    ON_OFF_LIGHT = "on_off_light"
    CT_LIGHT = "ct_light"  # dimmable + colour temperature
    SMART_PLUG = "smart_plug"
    CONTACT_SENSOR = "contact_sensor"
    MOTION_SENSOR = "motion_sensor"
    TEMP_HUMIDITY_SENSOR = "temp_humidity_sensor"
    DOOR_LOCK = "door_lock"
    THERMOSTAT = "thermostat"
    REMOTE = "remote"  # 4 buttons: on, off, brighter, dimmer


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One device to simulate: its IEEE address and kind, optionally its Basic strings."""

    ieee: int
    kind: DeviceKind
    manufacturer: str = "hubd-sim"
    model: str | None = None
    manufacturer_code: int = 0x1234


@dataclass(frozen=True, slots=True)
class KindDef:
    """The ZDO and ZCL shape of a kind of device (all on endpoint 1, Home Automation)."""

    device_type: int
    logical_type: LogicalType
    model: str
    in_clusters: tuple[ClusterId, ...]
    out_clusters: tuple[int, ...] = ()
    overrides: dict[ClusterId, dict[int, AttrValue]] = field(default_factory=dict)


C = ClusterId
_LIGHT = (C.BASIC, C.IDENTIFY, C.GROUPS, C.SCENES, C.ON_OFF)
_BATTERY: dict[ClusterId, dict[int, AttrValue]] = {C.BASIC: {0x0007: 0x03}}  # power source: battery
_R, _E = LogicalType.ROUTER, LogicalType.END_DEVICE

# HA device type ids: Zigbee Home Automation 1.2, table 5-1 (and ZLL/Z3 ids where used).
KINDS: dict[DeviceKind, KindDef] = {
    DeviceKind.ON_OFF_LIGHT: KindDef(0x0100, _R, "SIM-LIGHT", _LIGHT),
    DeviceKind.CT_LIGHT: KindDef(0x010C, _R, "SIM-CT-LIGHT", (*_LIGHT, C.LEVEL, C.COLOR)),
    DeviceKind.SMART_PLUG: KindDef(0x0051, _R, "SIM-PLUG", (*_LIGHT, C.METERING, C.ELECTRICAL)),
    DeviceKind.CONTACT_SENSOR: KindDef(
        0x0402, _E, "SIM-CONTACT", (C.BASIC, C.POWER_CONFIG, C.IDENTIFY, C.IAS_ZONE),
        out_clusters=(C.IDENTIFY,), overrides={**_BATTERY, C.IAS_ZONE: {0x0001: 0x0015}},
    ),
    DeviceKind.MOTION_SENSOR: KindDef(
        0x0402, _E, "SIM-MOTION",
        (C.BASIC, C.POWER_CONFIG, C.IDENTIFY, C.OCCUPANCY, C.IAS_ZONE),
        overrides={**_BATTERY, C.IAS_ZONE: {0x0001: 0x000D}},
    ),
    DeviceKind.TEMP_HUMIDITY_SENSOR: KindDef(
        0x0302, _E, "SIM-CLIMATE",
        (C.BASIC, C.POWER_CONFIG, C.IDENTIFY, C.TEMPERATURE, C.HUMIDITY), overrides=_BATTERY,
    ),
    DeviceKind.DOOR_LOCK: KindDef(
        0x000A, _E, "SIM-LOCK", (C.BASIC, C.POWER_CONFIG, C.IDENTIFY, C.DOOR_LOCK),
        overrides=_BATTERY,
    ),
    DeviceKind.THERMOSTAT: KindDef(
        0x0301, _R, "SIM-THERMOSTAT", (C.BASIC, C.IDENTIFY, C.GROUPS, C.THERMOSTAT)
    ),
    DeviceKind.REMOTE: KindDef(
        0x0820, _E, "SIM-REMOTE", (C.BASIC, C.POWER_CONFIG, C.IDENTIFY),
        out_clusters=(C.IDENTIFY, C.GROUPS, C.SCENES, C.ON_OFF, C.LEVEL), overrides=_BATTERY,
    ),
}  # fmt: skip
