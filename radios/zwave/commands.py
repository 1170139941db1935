"""hubd commands as Z-Wave set_value calls, and their answers as command results (pure).

A command becomes one or more ``node.set_value`` requests on the values zwave-js names
(``targetValue``, ``targetMode``...), checked against the command classes the node has; the
SetValueResult the server answers (Supervision status where the device supports it, Z-Wave JS
API ``node.set_value``) says whether the device confirmed it. Numbers follow SDS13781
(Application Command Classes).
"""

from __future__ import annotations

import colorsys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hubd.core.model import Capability, Command, CommandStatus, Value
from radios.zwave.mapping import CC, CommandClass, find_value, is_number
from radios.zwave.session import NodeState, SetValueStatus, ValueId

_MODE_CODES: Mapping[str, int] = {"off": 0, "heat": 1, "cool": 2, "auto": 3}
_CONFIRMED = {SetValueStatus.SUCCESS, SetValueStatus.WORKING}


@dataclass(frozen=True, slots=True)
class SetValue:
    """One node.set_value request: where, what, and zwave-js's options (transition)."""

    value_id: ValueId
    value: object
    options: Mapping[str, object] | None = None


def to_set_values(command: Command, node: NodeState, current: Mapping[str, Value]
                  ) -> list[SetValue]:
    """The set_value calls that carry out a command; ValueError if the node cannot."""
    writer = _WRITERS.get(command.capability)
    if writer is None:
        raise ValueError(f"{command.qualified_name} is not supported on Z-Wave")
    calls = writer(command, node, current)
    for call in calls:
        if call.value_id.command_class not in node.command_classes:
            cc = call.value_id.command_class
            name = CommandClass(cc).name if cc in CommandClass._value2member_map_ else hex(cc)
            raise ValueError(f"node {node.node_id} has no {name} for {command.qualified_name}")
    return calls


def _transition(command: Command) -> Mapping[str, object] | None:
    transition = command.args.get("transition_s")
    if isinstance(transition, int | float) and not isinstance(transition, bool):
        return {"transitionDuration": f"{float(transition):g}s"}
    return None


def _number(command: Command, name: str, default: float = 0.0) -> float:
    value = command.args.get(name)
    return float(value) if is_number(value) else default


def _write_switch(command: Command, node: NodeState, current: Mapping[str, Value]
                  ) -> list[SetValue]:
    on = (not current.get("switch.on", False)) if command.name == "toggle" else (
        command.name == "on")
    if CC.BINARY_SWITCH in node.command_classes:
        return [SetValue(ValueId(CC.BINARY_SWITCH, 0, "targetValue"), on)]
    # 255: "on at the last level" (SDS13781 Multilevel Switch Set).
    return [SetValue(ValueId(CC.MULTILEVEL_SWITCH, 0, "targetValue"), 255 if on else 0)]


def _write_level(command: Command, node: NodeState, current: Mapping[str, Value]
                 ) -> list[SetValue]:
    if command.name == "set":
        return [SetValue(ValueId(CC.MULTILEVEL_SWITCH, 0, "targetValue"),
                         _level(_number(command, "level_pct")), _transition(command))]
    # Start or stop a level change (SDS13781 Multilevel Switch Start/Stop Level Change).
    prop = "Down" if command.name == "lower" else "Up"
    return [SetValue(ValueId(CC.MULTILEVEL_SWITCH, 0, prop), command.name != "stop")]


def _write_lock(command: Command, node: NodeState, current: Mapping[str, Value]
                ) -> list[SetValue]:
    mode = 0xFF if command.name == "lock" else 0x00
    return [SetValue(ValueId(CC.DOOR_LOCK, 0, "targetMode"), mode)]


def _write_thermostat(command: Command, node: NodeState, current: Mapping[str, Value]
                      ) -> list[SetValue]:
    if command.name == "set_mode":
        return [SetValue(ValueId(CC.THERMOSTAT_MODE, 0, "mode"),
                         _MODE_CODES[str(command.args["mode"])])]
    key = 1 if command.name == "set_heat_setpoint" else 2
    found = find_value(node.values, CC.THERMOSTAT_SETPOINT, "setpoint", key)
    celsius = _number(command, "celsius")
    value = round(celsius * 9 / 5 + 32, 1) if found and found.unit == "°F" else celsius
    return [SetValue(ValueId(CC.THERMOSTAT_SETPOINT, 0, "setpoint", key), value)]


def _write_shade(command: Command, node: NodeState, current: Mapping[str, Value]
                 ) -> list[SetValue]:
    if command.name == "stop":
        return [_shade(node, False, "levelChangeUp")]
    pct = {"open": 100.0, "close": 0.0}.get(command.name, _number(command, "position_pct"))
    return [_shade(node, _level(pct))]


def _write_color(command: Command, node: NodeState, current: Mapping[str, Value]
                 ) -> list[SetValue]:
    if command.name == "set_hue_saturation":
        r, g, b = colorsys.hsv_to_rgb(_number(command, "hue") / 360,
                                      _number(command, "saturation") / 100, 1.0)
        mix = {"red": round(r * 255), "green": round(g * 255), "blue": round(b * 255),
               "warmWhite": 0, "coldWhite": 0}
    else:
        kelvin = _number(command, "color_temp_k", 2700)
        cold = round(max(0.0, min(1.0, (kelvin - 2700) / (6500 - 2700))) * 255)
        mix = {"red": 0, "green": 0, "blue": 0, "warmWhite": 255 - cold, "coldWhite": cold}
    return [SetValue(ValueId(CC.COLOR_SWITCH, 0, "targetColor"), mix, _transition(command))]


_WRITERS: Mapping[Capability, Callable[[Command, NodeState, Mapping[str, Value]],
                                       list[SetValue]]] = {
    Capability.SWITCH: _write_switch, Capability.LEVEL: _write_level,
    Capability.LOCK: _write_lock, Capability.THERMOSTAT: _write_thermostat,
    Capability.SHADE: _write_shade, Capability.COLOR: _write_color,
}


def _shade(node: NodeState, value: object, prop: str = "targetValue") -> SetValue:
    if CC.WINDOW_COVERING in node.command_classes:
        current = find_value(node.values, CC.WINDOW_COVERING, "currentValue")
        key = current.id.property_key if current is not None else None
        return SetValue(ValueId(CC.WINDOW_COVERING, 0, prop, key), value)
    if CC.MULTILEVEL_SWITCH in node.command_classes:
        return SetValue(ValueId(CC.MULTILEVEL_SWITCH, 0, "Up" if prop != "targetValue"
                                else prop), value)
    raise ValueError(f"node {node.node_id} has no Window Covering or Multilevel Switch")


def _level(pct: float) -> int:
    return min(99, round(pct * 99 / 100))


def set_value_outcome(answer: Any) -> tuple[CommandStatus, str | None]:
    """A set_value answer ({result: {status, message}}) as a command status and error."""
    result = answer.get("result") if isinstance(answer, dict) else None
    status = result.get("status") if isinstance(result, dict) else None
    if not isinstance(status, int) or status not in SetValueStatus._value2member_map_:
        return CommandStatus.SENT, None
    value_status = SetValueStatus(status)
    if value_status in _CONFIRMED:
        return CommandStatus.CONFIRMED, None
    if value_status is SetValueStatus.SUCCESS_UNSUPERVISED:
        # Delivered (the node acknowledged the frame) but the device cannot say it acted.
        return CommandStatus.SENT, None
    message = result.get("message") if isinstance(result, dict) else None
    return CommandStatus.FAILED, str(message or value_status.name.lower().replace("_", " "))
