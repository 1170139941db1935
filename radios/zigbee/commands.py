"""Hub Commands as ZCL requests: which cluster, which command or attribute write, which numbers.

Pure: ``to_zcl`` checks the command against the vocabulary and returns a ``ZclRequest`` that the
adapter sends through zigpy. Section numbers are those of the ZCL specification (07-5123).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hubd.core.model import Command, ThermostatMode, Value, validate_args
from radios.zigbee.mapping import level_to_raw
from radios.zigbee.model import ClusterId


@dataclass(frozen=True, slots=True)
class AttributeWrite:
    """One attribute to write, with its raw ZCL value."""

    attribute_id: int
    value: int


@dataclass(frozen=True, slots=True)
class ZclRequest:
    """A cluster command (``command_id``) or an attribute write (``writes``) for one cluster."""

    cluster_id: int
    command_id: int | None = None
    args: tuple[int, ...] = ()
    writes: tuple[AttributeWrite, ...] = ()

    @property
    def is_write(self) -> bool:
        """Whether this is a Write Attributes request rather than a cluster command."""
        return self.command_id is None


def _tenths(args: Mapping[str, Value]) -> int:
    # Transition times are in tenths of a second (ZCL 3.10.2.4.1.2), 0xFFFF is "as fast as able".
    seconds = args.get("transition_s", 0.0)
    assert isinstance(seconds, int | float)
    return max(0, min(0xFFFE, round(seconds * 10)))


def _f(args: Mapping[str, Value], name: str) -> float:
    value = args[name]
    assert isinstance(value, int | float)
    return float(value)


def _cmd(cluster: int, command_id: int, *args: int) -> ZclRequest:
    return ZclRequest(cluster, command_id, tuple(args))


def _level_set(a: Mapping[str, Value]) -> ZclRequest:
    # ZCL 3.10.2.4.5 Move to Level (with On/Off): level, transition time.
    return _cmd(ClusterId.LEVEL_CONTROL, 0x04, level_to_raw(_f(a, "level_pct")), _tenths(a))


def _hue_sat(a: Mapping[str, Value]) -> ZclRequest:
    # ZCL 5.2.2.3.7 Move to Hue and Saturation: hue 0..254, saturation 0..254, transition.
    hue = min(254, round(_f(a, "hue") * 254 / 360))
    sat = min(254, round(_f(a, "saturation") * 254 / 100))
    return _cmd(ClusterId.COLOR_CONTROL, 0x06, hue, sat, _tenths(a))


def _color_temp(a: Mapping[str, Value]) -> ZclRequest:
    # ZCL 5.2.2.3.13 Move to Color Temperature: mireds (1,000,000 / kelvin), transition.
    return _cmd(ClusterId.COLOR_CONTROL, 0x0A, round(1_000_000 / _f(a, "color_temp_k")),
                _tenths(a))


# ZCL 6.3.2.2.2.10 SystemMode values of the vocabulary's modes.
_SYSTEM_MODES: Mapping[str, int] = {ThermostatMode.OFF: 0, ThermostatMode.AUTO: 1,
                                    ThermostatMode.COOL: 3, ThermostatMode.HEAT: 4}


def _write(cluster: int, attribute_id: int, value: int) -> ZclRequest:
    return ZclRequest(cluster, writes=(AttributeWrite(attribute_id, value),))


def _set_mode(a: Mapping[str, Value]) -> ZclRequest:
    mode = a["mode"]
    assert isinstance(mode, str)
    return _write(ClusterId.THERMOSTAT, 0x001C, _SYSTEM_MODES[mode])


def _setpoint(attribute_id: int) -> Callable[[Mapping[str, Value]], ZclRequest]:
    # Occupied heating / cooling setpoints, int16 in 0.01 °C (ZCL 6.3.2.2.2.3 / .4).
    return lambda a: _write(ClusterId.THERMOSTAT, attribute_id, round(_f(a, "celsius") * 100))


def _shade_position(a: Mapping[str, Value]) -> ZclRequest:
    # ZCL 7.4.2.2.5 Go to Lift Percentage: 0 is fully open, the vocabulary's 100 is fully open.
    return _cmd(ClusterId.WINDOW_COVERING, 0x05, 100 - round(_f(a, "position_pct")))


_BUILDERS: Mapping[str, Callable[[Mapping[str, Value]], ZclRequest]] = {
    # ZCL 3.8.2.3: Off 0x00, On 0x01, Toggle 0x02.
    "switch.off": lambda a: _cmd(ClusterId.ON_OFF, 0x00),
    "switch.on": lambda a: _cmd(ClusterId.ON_OFF, 0x01),
    "switch.toggle": lambda a: _cmd(ClusterId.ON_OFF, 0x02),
    "level.set": _level_set,
    # ZCL 3.10.2.4.6 Move (with On/Off): mode 0 up / 1 down, rate in units per second.
    "level.raise": lambda a: _cmd(ClusterId.LEVEL_CONTROL, 0x05, 0, 64),
    "level.lower": lambda a: _cmd(ClusterId.LEVEL_CONTROL, 0x05, 1, 64),
    "level.stop": lambda a: _cmd(ClusterId.LEVEL_CONTROL, 0x07),
    "color.set_hue_saturation": _hue_sat,
    "color.set_color_temp": _color_temp,
    # ZCL 7.3.2.3.1 / .2: Lock Door 0x00, Unlock Door 0x01.
    "lock.lock": lambda a: _cmd(ClusterId.DOOR_LOCK, 0x00),
    "lock.unlock": lambda a: _cmd(ClusterId.DOOR_LOCK, 0x01),
    "thermostat.set_mode": _set_mode,
    "thermostat.set_heat_setpoint": _setpoint(0x0012),
    "thermostat.set_cool_setpoint": _setpoint(0x0011),
    "shade.set_position": _shade_position,
    # ZCL 7.4.2.2: Up/Open 0x00, Down/Close 0x01, Stop 0x02.
    "shade.open": lambda a: _cmd(ClusterId.WINDOW_COVERING, 0x00),
    "shade.close": lambda a: _cmd(ClusterId.WINDOW_COVERING, 0x01),
    "shade.stop": lambda a: _cmd(ClusterId.WINDOW_COVERING, 0x02),
}


def to_zcl(command: Command) -> ZclRequest:
    """The ZCL request that carries out a command; ValueError says why there is none."""
    args = validate_args(command.capability, command.name, command.args)
    builder = _BUILDERS.get(command.qualified_name)
    if builder is None:
        raise ValueError(f"zigbee has no request for {command.qualified_name}")
    return builder(args)
