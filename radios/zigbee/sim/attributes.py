"""The attributes of the simulated cluster servers, declared as data (ZCL specification)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from radios.zigbee.sim.zcl import AttrValue, DataType


class ClusterId(IntEnum):
    """Cluster ids the simulated devices implement."""

    BASIC = 0x0000
    POWER_CONFIG = 0x0001
    IDENTIFY = 0x0003
    GROUPS = 0x0004
    SCENES = 0x0005
    ON_OFF = 0x0006
    LEVEL = 0x0008
    DOOR_LOCK = 0x0101
    THERMOSTAT = 0x0201
    COLOR = 0x0300
    TEMPERATURE = 0x0402
    HUMIDITY = 0x0405
    OCCUPANCY = 0x0406
    IAS_ZONE = 0x0500
    METERING = 0x0702
    ELECTRICAL = 0x0B04


@dataclass(frozen=True, slots=True)
class AttrDef:
    """How one attribute is declared: type, default, and whether it is writable/reportable."""

    type: DataType
    default: AttrValue
    is_writable: bool = False
    is_reportable: bool = True


D = DataType
ATTRIBUTES: dict[ClusterId, dict[int, AttrDef]] = {
    ClusterId.BASIC: {
        0x0000: AttrDef(D.UINT8, 3, is_reportable=False),  # zcl_version
        0x0004: AttrDef(D.CHAR_STR, "hubd-sim", is_reportable=False),  # manufacturer_name
        0x0005: AttrDef(D.CHAR_STR, "sim", is_reportable=False),  # model_identifier
        0x0007: AttrDef(D.ENUM8, 0x01, is_reportable=False),  # power_source: mains
        0x4000: AttrDef(D.CHAR_STR, "1.0.0", is_reportable=False),  # sw_build_id
    },
    ClusterId.POWER_CONFIG: {
        0x0020: AttrDef(D.UINT8, 30),  # battery_voltage, 100 mV
        0x0021: AttrDef(D.UINT8, 200),  # battery_percentage_remaining, half percent
    },
    ClusterId.IDENTIFY: {0x0000: AttrDef(D.UINT16, 0, is_writable=True, is_reportable=False)},
    # name_support: bit 7 set, group names are kept (3.6.2.2.1)
    ClusterId.GROUPS: {0x0000: AttrDef(D.MAP8, 0x80, is_reportable=False)},
    ClusterId.SCENES: {
        0x0000: AttrDef(D.UINT8, 0, is_reportable=False),  # scene_count
        0x0001: AttrDef(D.UINT8, 0, is_reportable=False),  # current_scene
        0x0002: AttrDef(D.UINT16, 0, is_reportable=False),  # current_group
        0x0003: AttrDef(D.BOOL, 0, is_reportable=False),  # scene_valid
        0x0004: AttrDef(D.MAP8, 0, is_reportable=False),  # name_support
    },
    ClusterId.ON_OFF: {0x0000: AttrDef(D.BOOL, 0)},
    ClusterId.LEVEL: {0x0000: AttrDef(D.UINT8, 254)},  # current_level
    ClusterId.COLOR: {
        0x0007: AttrDef(D.UINT16, 370),  # color_temperature, mireds
        0x0008: AttrDef(D.ENUM8, 2, is_reportable=False),  # color_mode: temperature
        0x400A: AttrDef(D.MAP16, 0x0010, is_reportable=False),  # capabilities: temperature
        0x400B: AttrDef(D.UINT16, 153, is_reportable=False),  # min mireds (6500 K)
        0x400C: AttrDef(D.UINT16, 500, is_reportable=False),  # max mireds (2000 K)
    },
    ClusterId.DOOR_LOCK: {
        0x0000: AttrDef(D.ENUM8, 1),  # lock_state: locked
        0x0001: AttrDef(D.ENUM8, 0, is_reportable=False),  # lock_type: deadbolt
        0x0002: AttrDef(D.BOOL, 1, is_reportable=False),  # actuator_enabled
    },
    ClusterId.THERMOSTAT: {
        0x0000: AttrDef(D.INT16, 2000),  # local_temperature, 0.01 C
        0x0011: AttrDef(D.INT16, 2600, is_writable=True),  # occupied_cooling_setpoint
        0x0012: AttrDef(D.INT16, 2000, is_writable=True),  # occupied_heating_setpoint
        0x001B: AttrDef(D.ENUM8, 4, is_reportable=False),  # control_sequence: cool+heat
        0x001C: AttrDef(D.ENUM8, 4, is_writable=True),  # system_mode: heat
        0x0029: AttrDef(D.MAP16, 0),  # running_state
    },
    ClusterId.TEMPERATURE: {0x0000: AttrDef(D.INT16, 2100)},  # measured_value, 0.01 C
    ClusterId.HUMIDITY: {0x0000: AttrDef(D.UINT16, 4500)},  # measured_value, 0.01 %
    ClusterId.OCCUPANCY: {
        0x0000: AttrDef(D.MAP8, 0),  # occupancy
        0x0001: AttrDef(D.ENUM8, 0, is_reportable=False),  # sensor type: PIR
    },
    ClusterId.IAS_ZONE: {
        0x0000: AttrDef(D.ENUM8, 0),  # zone_state: not enrolled
        0x0001: AttrDef(D.ENUM16, 0x0015, is_reportable=False),  # zone_type: contact switch
        0x0002: AttrDef(D.MAP16, 0),  # zone_status
        0x0010: AttrDef(D.IEEE, 0, is_writable=True, is_reportable=False),  # cie_addr
        0x0011: AttrDef(D.UINT8, 0xFF, is_reportable=False),  # zone_id
    },
    ClusterId.METERING: {
        0x0000: AttrDef(D.UINT48, 0),  # current_summ_delivered, Wh with the divisor below
        0x0300: AttrDef(D.ENUM8, 0, is_reportable=False),  # unit_of_measure: kWh
        0x0301: AttrDef(D.UINT24, 1, is_reportable=False),  # multiplier
        0x0302: AttrDef(D.UINT24, 1000, is_reportable=False),  # divisor
        0x0306: AttrDef(D.MAP8, 0, is_reportable=False),  # metering_device_type
        0x0400: AttrDef(D.INT24, 0),  # instantaneous_demand, W
    },
    ClusterId.ELECTRICAL: {
        0x0505: AttrDef(D.UINT16, 230),  # rms_voltage, V
        0x0508: AttrDef(D.UINT16, 0),  # rms_current, mA
        0x050B: AttrDef(D.INT16, 0),  # active_power, W
        0x0600: AttrDef(D.UINT16, 1, is_reportable=False),  # ac_voltage_multiplier
        0x0601: AttrDef(D.UINT16, 1, is_reportable=False),  # ac_voltage_divisor
        0x0602: AttrDef(D.UINT16, 1, is_reportable=False),  # ac_current_multiplier
        0x0603: AttrDef(D.UINT16, 1000, is_reportable=False),  # ac_current_divisor
        0x0604: AttrDef(D.UINT16, 1, is_reportable=False),  # ac_power_multiplier
        0x0605: AttrDef(D.UINT16, 1, is_reportable=False),  # ac_power_divisor
    },
}
