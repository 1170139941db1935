"""Z-Wave values as hubd's vocabulary (pure); the way back, commands, is radios.zwave.commands.

Z-Wave JS names every value by (command class, endpoint, property, property key); the tables
below say which of them mean what to hubd. Numbers follow SDS13781 (Application Command Classes)
and SDS13713 (Notification types and events), the names are zwave-js's value properties.
"""

from __future__ import annotations

import colorsys
from collections.abc import Callable, Iterable, Mapping
from enum import IntEnum
from typing import TypeGuard

from hubd.core.model import ButtonAction, Capability
from radios.observations import AttributeValue, ButtonPress, Observation
from radios.zwave.session import NodeState, ValueId, ValueState


class CommandClass(IntEnum):
    """The command classes hubd maps (SDS13781)."""

    BINARY_SWITCH = 0x25
    MULTILEVEL_SWITCH = 0x26
    BINARY_SENSOR = 0x30
    MULTILEVEL_SENSOR = 0x31
    METER = 0x32
    COLOR_SWITCH = 0x33
    THERMOSTAT_MODE = 0x40
    THERMOSTAT_SETPOINT = 0x43
    CENTRAL_SCENE = 0x5B
    DOOR_LOCK = 0x62
    WINDOW_COVERING = 0x6A
    NOTIFICATION = 0x71
    BATTERY = 0x80


CC = CommandClass


# Notification (type name, variable) -> (attribute, values meaning true or a state table).
_DOOR_OPEN = frozenset({22, 5632, 5633})
_NOTIFICATIONS: Mapping[tuple[str, str], tuple[str, frozenset[int]]] = {
    ("Access Control", "Door state"): ("contact.is_open", _DOOR_OPEN),
    ("Access Control", "Door state (simple)"): ("contact.is_open", frozenset({22})),
    ("Home Security", "Motion sensor status"): ("motion.is_active", frozenset({7, 8})),
    ("Water Alarm", "Sensor status"): ("water.is_wet", frozenset({1, 2})),
    ("Smoke Alarm", "Sensor status"): ("smoke.is_detected", frozenset({1, 2})),
}
_LOCK_EVENTS: Mapping[int, str] = {1: "locked", 3: "locked", 5: "locked", 9: "locked",
                                   2: "unlocked", 4: "unlocked", 6: "unlocked", 11: "jammed"}
_BINARY_SENSORS: Mapping[str, str] = {"Door/Window": "contact.is_open",
                                      "Motion": "motion.is_active", "Water": "water.is_wet",
                                      "Smoke": "smoke.is_detected"}
_MULTILEVEL_SENSORS: Mapping[str, str] = {"Air temperature": "temperature.celsius",
                                          "Humidity": "humidity.pct",
                                          "Illuminance": "illuminance.lux",
                                          "Power": "power.watts"}
_THERMOSTAT_MODES: Mapping[int, str] = {0: "off", 1: "heat", 2: "cool", 3: "auto", 10: "auto",
                                        11: "heat", 12: "cool"}
_SETPOINTS: Mapping[int, str] = {1: "thermostat.heat_setpoint_c", 2: "thermostat.cool_setpoint_c"}
# Central Scene key attributes (SDS13781 "Central Scene Notification").
_SCENE_KEYS: Mapping[int, tuple[ButtonAction, int]] = {
    0: (ButtonAction.PRESS, 1), 1: (ButtonAction.RELEASE, 1), 2: (ButtonAction.HOLD, 1),
    3: (ButtonAction.MULTI_TAP, 2), 4: (ButtonAction.MULTI_TAP, 3),
    5: (ButtonAction.MULTI_TAP, 4), 6: (ButtonAction.MULTI_TAP, 5)}
_ATTRIBUTE_CAPABILITY = {"contact": Capability.CONTACT, "motion": Capability.MOTION,
                         "water": Capability.WATER, "smoke": Capability.SMOKE,
                         "temperature": Capability.TEMPERATURE, "humidity": Capability.HUMIDITY,
                         "illuminance": Capability.ILLUMINANCE, "power": Capability.POWER}
_METER_ELECTRIC = 1
_METER_SCALES: Mapping[int, str] = {0: "power.kwh", 2: "power.watts"}


def capabilities(node: NodeState) -> frozenset[Capability]:
    """What a node can do, from its command classes and the values it has."""
    ccs = node.command_classes
    caps: set[Capability] = set()
    if CC.WINDOW_COVERING in ccs:
        caps.add(Capability.SHADE)
    elif CC.MULTILEVEL_SWITCH in ccs:
        caps.update((Capability.SWITCH, Capability.LEVEL))
    if CC.BINARY_SWITCH in ccs:
        caps.add(Capability.SWITCH)
    if CC.COLOR_SWITCH in ccs:
        caps.add(Capability.COLOR)
    if CC.DOOR_LOCK in ccs:
        caps.add(Capability.LOCK)
    if ccs & {CC.THERMOSTAT_MODE, CC.THERMOSTAT_SETPOINT}:
        caps.add(Capability.THERMOSTAT)
    if CC.BATTERY in ccs:
        caps.add(Capability.BATTERY)
    if CC.CENTRAL_SCENE in ccs:
        caps.add(Capability.BUTTON)
    for value in node.values:
        attribute = _sensed_attribute(value)
        if attribute is not None:
            cap = _ATTRIBUTE_CAPABILITY.get(attribute.split(".", 1)[0])
            if cap is not None:
                caps.add(cap)
    return frozenset(caps)


def _sensed_attribute(value: ValueState) -> str | None:
    """The attribute a sensor value feeds, known before its first report (no value yet)."""
    cc, prop, key = value.id.command_class, value.id.property, value.id.property_key
    if cc == CC.NOTIFICATION and isinstance(prop, str) and isinstance(key, str):
        meaning = _NOTIFICATIONS.get((prop, key))
        return meaning[0] if meaning else None
    if cc == CC.BINARY_SENSOR and isinstance(prop, str):
        return _BINARY_SENSORS.get(prop)
    if cc == CC.MULTILEVEL_SENSOR and isinstance(prop, str):
        attribute = _MULTILEVEL_SENSORS.get(prop)
        return None if attribute == "illuminance.lux" and value.unit == "%" else attribute
    if cc == CC.METER:
        return _meter_attribute(value.id)
    return None


def observe(value_id: ValueId, value: object, unit: str, ccs: Iterable[int]
            ) -> list[Observation]:
    """What a value (from the state dump or an event) means in the vocabulary; [] if nothing."""
    reader = _READERS.get(value_id.command_class)
    return reader(value_id, value, unit, frozenset(ccs)) if reader is not None else []


def _binary_switch(vid: ValueId, value: object, unit: str, ccs: frozenset[int]
                   ) -> list[Observation]:
    if vid.property == "currentValue" and isinstance(value, bool):
        return [AttributeValue("switch.on", value)]
    return []


def _multilevel_switch(vid: ValueId, value: object, unit: str, ccs: frozenset[int]
                       ) -> list[Observation]:
    if vid.property != "currentValue" or not _is_level(value) or CC.WINDOW_COVERING in ccs:
        return []
    return [AttributeValue("switch.on", value > 0), AttributeValue("level.level_pct",
                                                                   _pct(value))]


def _window_covering(vid: ValueId, value: object, unit: str, ccs: frozenset[int]
                     ) -> list[Observation]:
    if vid.property == "currentValue" and _is_level(value):
        return [AttributeValue("shade.position_pct", _pct(value))]
    return []


def _binary_sensor(vid: ValueId, value: object, unit: str, ccs: frozenset[int]
                   ) -> list[Observation]:
    if not isinstance(vid.property, str) or not isinstance(value, bool):
        return []
    attribute = _BINARY_SENSORS.get(vid.property)
    return [AttributeValue(attribute, value)] if attribute else []


def _multilevel_sensor(vid: ValueId, value: object, unit: str, ccs: frozenset[int]
                       ) -> list[Observation]:
    if not isinstance(vid.property, str) or not is_number(value):
        return []
    return _sensor(vid.property, float(value), unit, ccs)


def _meter(vid: ValueId, value: object, unit: str, ccs: frozenset[int]) -> list[Observation]:
    attribute = _meter_attribute(vid)
    return [AttributeValue(attribute, float(value))] if attribute and is_number(value) else []


def _battery(vid: ValueId, value: object, unit: str, ccs: frozenset[int]) -> list[Observation]:
    if vid.property == "level" and is_number(value):
        return [AttributeValue("battery.pct", float(min(100, max(0, value))))]
    if vid.property == "isLow" and isinstance(value, bool):
        return [AttributeValue("battery.is_low", value)]
    return []


def _door_lock(vid: ValueId, value: object, unit: str, ccs: frozenset[int]
               ) -> list[Observation]:
    # SDS13781 Door Lock Operation Report: 0xFF secured, 0xFE unknown, the rest unsecured.
    if vid.property != "currentMode" or not isinstance(value, int) or value == 0xFE:
        return []
    return [AttributeValue("lock.state", "locked" if value == 0xFF else "unlocked")]


def _thermostat_mode(vid: ValueId, value: object, unit: str, ccs: frozenset[int]
                     ) -> list[Observation]:
    mode = _THERMOSTAT_MODES.get(value) if isinstance(value, int) else None
    return [AttributeValue("thermostat.mode", mode)] if vid.property == "mode" and mode else []


def _setpoint(vid: ValueId, value: object, unit: str, ccs: frozenset[int]
              ) -> list[Observation]:
    key = vid.property_key
    attribute = _SETPOINTS.get(key) if isinstance(key, int) else None
    if vid.property != "setpoint" or attribute is None or not is_number(value):
        return []
    return [AttributeValue(attribute, _celsius(float(value), unit))]


def _color_switch(vid: ValueId, value: object, unit: str, ccs: frozenset[int]
                  ) -> list[Observation]:
    if vid.property != "currentColor" or vid.property_key is not None:
        return []
    return _color(value)


def _scene_reader(vid: ValueId, value: object, unit: str, ccs: frozenset[int]
                  ) -> list[Observation]:
    return _scene(vid.property, vid.property_key, value)


def _notification_reader(vid: ValueId, value: object, unit: str, ccs: frozenset[int]
                         ) -> list[Observation]:
    return _notification(vid.property, vid.property_key, value)


_READERS: Mapping[int, Callable[[ValueId, object, str, frozenset[int]], list[Observation]]] = {
    CC.BINARY_SWITCH: _binary_switch, CC.MULTILEVEL_SWITCH: _multilevel_switch,
    CC.WINDOW_COVERING: _window_covering, CC.BINARY_SENSOR: _binary_sensor,
    CC.MULTILEVEL_SENSOR: _multilevel_sensor, CC.METER: _meter, CC.BATTERY: _battery,
    CC.DOOR_LOCK: _door_lock, CC.THERMOSTAT_MODE: _thermostat_mode,
    CC.THERMOSTAT_SETPOINT: _setpoint, CC.COLOR_SWITCH: _color_switch,
    CC.CENTRAL_SCENE: _scene_reader, CC.NOTIFICATION: _notification_reader,
}


def is_number(value: object) -> TypeGuard[int | float]:
    """True for an int or float that is not a bool (JSON numbers as zwave-js sends them)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_level(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 99


def _pct(level: int) -> float:
    """Multilevel 0-99 (SDS13781 Multilevel Switch: 99 is fully on) as 0-100 %."""
    return 100.0 if level == 99 else round(level * 100 / 99, 1)


def _celsius(value: float, unit: str) -> float:
    return round((value - 32) * 5 / 9, 2) if unit == "°F" else value


def _scene(prop: object, key: object, value: object) -> list[Observation]:
    if prop != "scene" or not isinstance(key, str) or not isinstance(value, int):
        return []
    action = _SCENE_KEYS.get(value)
    if action is None:
        return []
    return [ButtonPress(str(int(key)) if key.isdigit() else key, *action)]


def _notification(prop: object, key: object, value: object) -> list[Observation]:
    if not isinstance(prop, str) or not isinstance(key, str) or not isinstance(value, int):
        return []
    if (prop, key) == ("Access Control", "Lock state"):
        state = _LOCK_EVENTS.get(value)
        return [AttributeValue("lock.state", state)] if state else []
    meaning = _NOTIFICATIONS.get((prop, key))
    if meaning is None:
        return []
    attribute, true_values = meaning
    if value == 0 or value in true_values or attribute == "contact.is_open":
        return [AttributeValue(attribute, value in true_values)]
    return []


def _sensor(prop: str, value: float, unit: str, ccs: Iterable[int]) -> list[Observation]:
    attribute = _MULTILEVEL_SENSORS.get(prop)
    if attribute is None:
        return []
    if attribute == "temperature.celsius":
        celsius = _celsius(value, unit)
        out: list[Observation] = [AttributeValue(attribute, celsius)]
        if {CC.THERMOSTAT_MODE, CC.THERMOSTAT_SETPOINT} & set(ccs):
            out.append(AttributeValue("thermostat.current_c", celsius))
        return out
    if attribute == "illuminance.lux" and unit == "%":
        return []  # some sensors report light as a percentage: no lux to give
    return [AttributeValue(attribute, value)]


def _meter_attribute(value_id: ValueId) -> str | None:
    """zwave-js's meter property key packs (meter type << 16) | (scale << 8) | rate type."""
    key = value_id.property_key
    if value_id.property != "value" or not isinstance(key, int):
        return None
    if key >> 16 != _METER_ELECTRIC:
        return None
    return _METER_SCALES.get((key >> 8) & 0xFF)


def _color(value: object) -> list[Observation]:
    if not isinstance(value, dict):
        return []
    red, green, blue = (value.get(c, 0) for c in ("red", "green", "blue"))
    if not all(is_number(c) for c in (red, green, blue)) or not (red or green or blue):
        return []
    hue, saturation, _ = colorsys.rgb_to_hsv(red / 255, green / 255, blue / 255)
    return [AttributeValue("color.hue", round(hue * 360, 1)),
            AttributeValue("color.saturation", round(saturation * 100, 1))]


def find_value(values: Iterable[ValueState], cc: int, prop: str | int,
               key: str | int | None = None) -> ValueState | None:
    """The node's value with this command class, property and (when given) property key."""
    for value in values:
        if (value.id.command_class == cc and value.id.property == prop
                and (key is None or value.id.property_key == key)):
            return value
    return None


