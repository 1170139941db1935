"""The hub's model: devices, the capability vocabulary, contexts, commands and their results.

Every radio maps its devices onto one vocabulary. A capability owns attributes (state, named
``capability.field`` so that ``battery.pct`` and ``humidity.pct`` never collide) and commands
(``switch.on``, ``level.set``). Both are declared as data below; ``validate_command`` and
``validate_value`` check against that data, so the API, the rules and the radios agree.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from hubd.core.errors import InvalidValueError

Value = bool | int | float | str | None


class Capability(StrEnum):
    """What a device can do or sense; one vocabulary for every radio."""

    SWITCH = "switch"
    LEVEL = "level"
    COLOR = "color"
    CONTACT = "contact"
    MOTION = "motion"
    WATER = "water"
    SMOKE = "smoke"
    TEMPERATURE = "temperature"
    HUMIDITY = "humidity"
    ILLUMINANCE = "illuminance"
    BATTERY = "battery"
    LOCK = "lock"
    THERMOSTAT = "thermostat"
    SHADE = "shade"
    BUTTON = "button"
    POWER = "power"


class LockState(StrEnum):
    """Values of ``lock.state``."""

    LOCKED = "locked"
    UNLOCKED = "unlocked"
    JAMMED = "jammed"


class ThermostatMode(StrEnum):
    """Values of ``thermostat.mode``."""

    OFF = "off"
    HEAT = "heat"
    COOL = "cool"
    AUTO = "auto"


class ButtonAction(StrEnum):
    """What a button did."""

    PRESS = "press"
    RELEASE = "release"
    HOLD = "hold"
    MULTI_TAP = "multi_tap"


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """One piece of state a capability holds: its type, unit-bearing name and allowed range."""

    name: str
    kind: type
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ArgSpec:
    """One argument of a command."""

    name: str
    kind: type
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    is_required: bool = True


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command a capability accepts."""

    capability: Capability
    name: str
    args: tuple[ArgSpec, ...] = ()


def _a(name: str, kind: type, lo: float | None = None, hi: float | None = None,
       choices: tuple[str, ...] = ()) -> AttributeSpec:
    return AttributeSpec(name, kind, lo, hi, choices)


_LOCK_STATES = tuple(s.value for s in LockState)
_MODES = tuple(m.value for m in ThermostatMode)

ATTRIBUTES: Mapping[Capability, tuple[AttributeSpec, ...]] = {
    Capability.SWITCH: (_a("switch.on", bool),),
    Capability.LEVEL: (_a("level.level_pct", float, 0, 100),),
    Capability.COLOR: (_a("color.hue", float, 0, 360), _a("color.saturation", float, 0, 100),
                       _a("color.color_temp_k", int, 1000, 10000)),
    Capability.CONTACT: (_a("contact.is_open", bool),),
    Capability.MOTION: (_a("motion.is_active", bool),),
    Capability.WATER: (_a("water.is_wet", bool),),
    Capability.SMOKE: (_a("smoke.is_detected", bool),),
    Capability.TEMPERATURE: (_a("temperature.celsius", float, -100, 200),),
    Capability.HUMIDITY: (_a("humidity.pct", float, 0, 100),),
    Capability.ILLUMINANCE: (_a("illuminance.lux", float, 0, 200_000),),
    Capability.BATTERY: (_a("battery.pct", float, 0, 100), _a("battery.is_low", bool)),
    Capability.LOCK: (_a("lock.state", str, choices=_LOCK_STATES),),
    Capability.THERMOSTAT: (_a("thermostat.mode", str, choices=_MODES),
                            _a("thermostat.heat_setpoint_c", float, 0, 50),
                            _a("thermostat.cool_setpoint_c", float, 0, 50),
                            _a("thermostat.current_c", float, -100, 200)),
    Capability.SHADE: (_a("shade.position_pct", float, 0, 100),),
    Capability.BUTTON: (),
    Capability.POWER: (_a("power.watts", float, -1e6, 1e6), _a("power.kwh", float, 0, 1e9)),
}

ATTRIBUTE_SPECS: Mapping[str, AttributeSpec] = {
    spec.name: spec for specs in ATTRIBUTES.values() for spec in specs
}


def _c(cap: Capability, name: str, *args: ArgSpec) -> CommandSpec:
    return CommandSpec(cap, name, args)


_TRANSITION = ArgSpec("transition_s", float, 0, 3600, is_required=False)

COMMANDS: Mapping[str, CommandSpec] = {
    f"{spec.capability}.{spec.name}": spec
    for spec in (
        _c(Capability.SWITCH, "on"),
        _c(Capability.SWITCH, "off"),
        _c(Capability.SWITCH, "toggle"),
        _c(Capability.LEVEL, "set", ArgSpec("level_pct", float, 0, 100), _TRANSITION),
        _c(Capability.LEVEL, "raise"),
        _c(Capability.LEVEL, "lower"),
        _c(Capability.LEVEL, "stop"),
        _c(Capability.COLOR, "set_hue_saturation", ArgSpec("hue", float, 0, 360),
           ArgSpec("saturation", float, 0, 100), _TRANSITION),
        _c(Capability.COLOR, "set_color_temp", ArgSpec("color_temp_k", int, 1000, 10000),
           _TRANSITION),
        _c(Capability.LOCK, "lock"),
        _c(Capability.LOCK, "unlock"),
        _c(Capability.THERMOSTAT, "set_mode", ArgSpec("mode", str, choices=_MODES)),
        _c(Capability.THERMOSTAT, "set_heat_setpoint", ArgSpec("celsius", float, 0, 50)),
        _c(Capability.THERMOSTAT, "set_cool_setpoint", ArgSpec("celsius", float, 0, 50)),
        _c(Capability.SHADE, "set_position", ArgSpec("position_pct", float, 0, 100)),
        _c(Capability.SHADE, "open"),
        _c(Capability.SHADE, "close"),
        _c(Capability.SHADE, "stop"),
    )
}


def _check(what: str, kind: type, lo: float | None, hi: float | None,
           choices: tuple[str, ...], value: Value) -> Value:
    """Coerce ``value`` to ``kind`` within bounds, or raise ValueError saying why."""
    if kind is bool:
        if not isinstance(value, bool):
            raise InvalidValueError(f"{what} must be true or false, not {value!r}")
        return value
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValueError(f"{what} must be a number, not {value!r}")
        number: float = kind(value)
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise InvalidValueError(f"{what} must be between {lo:g} and {hi:g}, not {value!r}")
        return number
    if not isinstance(value, str):
        raise InvalidValueError(f"{what} must be a string, not {value!r}")
    if choices and value not in choices:
        raise InvalidValueError(f"{what} must be one of {', '.join(choices)}, not {value!r}")
    return value


def validate_value(attribute: str, value: Value) -> Value:
    """Check a reported or wanted attribute value; None (unknown) is always allowed."""
    spec = ATTRIBUTE_SPECS.get(attribute)
    if spec is None:
        raise InvalidValueError(f"unknown attribute {attribute!r}")
    if value is None:
        return None
    return _check(attribute, spec.kind, spec.minimum, spec.maximum, spec.choices, value)


# The same, by (capability, name): the hub checks every command it sends, and building the
# qualified name first cost more than the lookup (a Capability hashes as its str value).
_COMMANDS_BY_PARTS: Mapping[tuple[str, str], CommandSpec] = {
    (spec.capability, spec.name): spec for spec in COMMANDS.values()}


def validate_args(capability: str, name: str, args: Mapping[str, Value]) -> dict[str, Value]:
    """Check a command's name and arguments against the vocabulary; return coerced arguments."""
    spec = _COMMANDS_BY_PARTS.get((capability, name))
    if spec is None:
        raise InvalidValueError(f"unknown command {capability}.{name}")
    if not args and not spec.args:  # switch.on, lock.lock: the common case has nothing to check
        return {}
    known = {a.name for a in spec.args}
    extra = sorted(set(args) - known)
    if extra:
        raise InvalidValueError(f"{capability}.{name} takes no argument {', '.join(extra)}")
    checked: dict[str, Value] = {}
    for arg in spec.args:
        if arg.name not in args:
            if arg.is_required:
                raise InvalidValueError(f"{capability}.{name} needs {arg.name}")
            continue
        checked[arg.name] = _check(f"{capability}.{name} {arg.name}", arg.kind, arg.minimum,
                                   arg.maximum, arg.choices, args[arg.name])
    return checked


def device_id(radio: str, address: str) -> str:
    """The stable id of a device: its radio and its address on that radio."""
    return f"{radio}:{address}"


@dataclass(frozen=True, slots=True)
class Device:
    """A thing the hub controls or listens to."""

    id: str
    radio: str
    address: str
    name: str
    room: str = ""
    manufacturer: str = ""
    model: str = ""
    capabilities: frozenset[Capability] = frozenset()
    is_available: bool = True

    def has(self, capability: Capability | str) -> bool:
        """Whether the device has a capability."""
        return capability in self.capabilities


class Origin(StrEnum):
    """The fixed origins of a Context; ``rule:<id>`` and ``api:<client>`` are built by helpers."""

    PHYSICAL = "physical"
    DIGITAL = "digital"
    CLOUD = "cloud"
    SYSTEM = "system"


def rule_origin(rule_id: str) -> str:
    """The origin of whatever a rule does."""
    return f"rule:{rule_id}"


def api_origin(client: str) -> str:
    """The origin of whatever an API client does."""
    return f"api:{client}"


# Ids are a per-boot random prefix plus a counter: unique, ordered, and cheap on the hot path.
_ID_PREFIX = os.urandom(4).hex()
_ids = itertools.count(1)


def new_id() -> str:
    """A fresh, unique id for a context or command."""
    return f"{_ID_PREFIX}{next(_ids):08x}"


class Context(NamedTuple):
    """What caused something: a chain from a tap or a sensor through rules to radio frames (a
    NamedTuple: one is made per rule run and per command, see ``hubd.core.events``)."""

    id: str
    origin: str
    parent_id: str | None = None
    depth: int = 0

    @classmethod
    def new(cls, origin: str) -> Context:
        """A context with no parent."""
        return cls(new_id(), origin)

    def child(self, origin: str) -> Context:
        """A context caused by this one, one level deeper (loops are caught by depth)."""
        return Context(new_id(), origin, self.id, self.depth + 1)


class CommandStatus(StrEnum):
    """How a command ended: acknowledged, sent without a way to confirm, failed, or too late."""

    CONFIRMED = "confirmed"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"


class _CommandFields(NamedTuple):
    device_id: str
    capability: Capability
    name: str
    args: Mapping[str, Value]
    context: Context
    deadline: float | None  # monotonic seconds; past it the command is not sent
    id: str


NO_ARGS: Mapping[str, Value] = MappingProxyType({})


class Command(_CommandFields):
    """Something to make a device do: ``switch.on``, ``level.set`` with ``level_pct``...

    Immutable and typed like the events (a NamedTuple: one is made per command, see
    ``hubd.core.events``); left out, ``context`` is a new digital one and ``id`` a new id.
    """

    __slots__ = ()

    def __new__(cls, device_id: str, capability: Capability, name: str,
                args: Mapping[str, Value] = NO_ARGS, context: Context | None = None,
                deadline: float | None = None, id: str = "") -> Command:
        return tuple.__new__(cls, (device_id, capability, name, args,
                                   context or Context.new(Origin.DIGITAL), deadline,
                                   id or new_id()))

    @property
    def qualified_name(self) -> str:
        """``capability.name``, as written in rules and the API."""
        return f"{self.capability}.{self.name}"
