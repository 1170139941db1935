"""Which reports are a command's echo: digital only when they are what the command asked for.

A device reports the state a command gave it (a light's On/Off attribute after "on"); that
report is the command's doing and carries its context (origin digital, one level deeper in the
same trace), so loop protection can count it and ``origins: physical`` triggers ignore it. But
any other report in the same window is someone at the device: a press a second after the
command that turns the light off again is physical. So a command leaves *expectations* (the
attribute and the value it asked for) and only a report that meets one is an echo.

Pure and bounded: at most ``MAX_PER_DEVICE`` expectations a device, each until its deadline,
and group commands leave theirs on the members (groups never report).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hubd.core.model import Command, Context, Value

MAX_PER_DEVICE = 8


@dataclass(frozen=True, slots=True)
class Expectation:
    """A report a command should cause: this attribute, this value (None: any), give or take."""

    attribute: str
    value: Value = None
    tolerance: float = 0.0

    def is_met_by(self, attribute: str, value: Value) -> bool:
        """Whether a reported value is what was asked for (rounding on the device allowed)."""
        if attribute != self.attribute:
            return False
        if self.value is None or value == self.value:
            return True
        if isinstance(value, bool) or isinstance(self.value, bool):
            return False
        if isinstance(value, int | float) and isinstance(self.value, int | float):
            return abs(value - self.value) <= self.tolerance
        return False


def _num(command: Command, name: str) -> float:
    value = command.args.get(name)
    return float(value) if isinstance(value, int | float) else 0.0


def _level(c: Command) -> tuple[Expectation, ...]:
    # Move to Level with On/Off (ZCL 3.10.2.4.5) also switches the light on, or off at 0.
    pct = _num(c, "level_pct")
    return (Expectation("level.level_pct", pct, 1.0), Expectation("switch.on", pct > 0))


def _kelvin(c: Command) -> tuple[Expectation, ...]:
    kelvin = _num(c, "color_temp_k")
    return (Expectation("color.color_temp_k", kelvin, kelvin * 0.02),)  # mireds round


def _any(attribute: str) -> Callable[[Command], tuple[Expectation, ...]]:
    # A toggle or a move: the value is the device's to choose, the attribute is the echo.
    return lambda c: (Expectation(attribute),)

_EXPECTED: Mapping[str, Callable[[Command], tuple[Expectation, ...]]] = {
    "switch.on": lambda c: (Expectation("switch.on", True),),
    "switch.off": lambda c: (Expectation("switch.on", False),),
    "switch.toggle": _any("switch.on"),
    "level.set": _level,
    "level.raise": _any("level.level_pct"),
    "level.lower": _any("level.level_pct"),
    "level.stop": _any("level.level_pct"),
    "color.set_hue_saturation": lambda c: (
        Expectation("color.hue", _num(c, "hue"), 2.0),
        Expectation("color.saturation", _num(c, "saturation"), 1.0)),
    "color.set_color_temp": _kelvin,
    "lock.lock": lambda c: (Expectation("lock.state", "locked"),),
    "lock.unlock": lambda c: (Expectation("lock.state", "unlocked"),),
    "thermostat.set_mode": lambda c: (Expectation("thermostat.mode", c.args.get("mode")),),
    "thermostat.set_heat_setpoint": lambda c: (
        Expectation("thermostat.heat_setpoint_c", _num(c, "celsius"), 0.05),),
    "thermostat.set_cool_setpoint": lambda c: (
        Expectation("thermostat.cool_setpoint_c", _num(c, "celsius"), 0.05),),
    "shade.set_position": lambda c: (
        Expectation("shade.position_pct", _num(c, "position_pct"), 1.0),),
    "shade.open": _any("shade.position_pct"),
    "shade.close": _any("shade.position_pct"),
    "shade.stop": _any("shade.position_pct"),
}


def expected_reports(command: Command) -> tuple[Expectation, ...]:
    """The reports a command should cause (none for a command the table does not know)."""
    build = _EXPECTED.get(command.qualified_name)
    return build(command) if build is not None else ()


@dataclass(frozen=True, slots=True)
class _Pending:
    context: Context
    expectation: Expectation
    until: float


class EchoBook:
    """Expectations left by commands, per device, each until its deadline."""

    def __init__(self) -> None:
        self._pending: dict[str, list[_Pending]] = {}

    def __len__(self) -> int:
        return sum(len(items) for items in self._pending.values())

    def expect(self, ieee: str, command: Command, context: Context, until: float,
               now: float) -> None:
        """A command went to this device: its echo, until ``until``, carries ``context``."""
        items = [p for p in self._pending.get(ieee, ()) if p.until >= now]
        # A newer command about the same attribute replaces the older one's expectation.
        expectations = expected_reports(command)
        attributes = {e.attribute for e in expectations}
        items = [p for p in items if p.expectation.attribute not in attributes]
        items.extend(_Pending(context, e, until) for e in expectations)
        if items:
            self._pending[ieee] = items[-MAX_PER_DEVICE:]
        else:
            self._pending.pop(ieee, None)

    def match(self, ieee: str, attribute: str, value: Value, now: float) -> Context | None:
        """The context of the command this report answers, or None (the report is physical).

        A matched expectation is used up: the echo comes once; a second identical report
        changes nothing, and a later change is someone else's doing.
        """
        items = self._pending.get(ieee)
        if not items:
            return None
        live = [p for p in items if p.until >= now]
        found = next((p for p in live if p.expectation.is_met_by(attribute, value)), None)
        if found is not None:
            live.remove(found)
        if live:
            self._pending[ieee] = live
        else:
            del self._pending[ieee]
        return found.context if found is not None else None

    def forget(self, ieee: str) -> None:
        """The device left."""
        self._pending.pop(ieee, None)
