"""Conditions: what must hold when a rule is triggered (or in an if, choose or repeat).

A device's state or number, the time, the sun, the hub mode, the trigger that fired, and their
all / any / not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hubd.core.model import Value
from rules.model.loc import Loc
from rules.sun import SunEvent

__all__ = [
    "AllCondition", "AnyCondition", "Condition", "ModeCondition", "NotCondition",
    "NumericCondition", "StateCondition", "SunCondition", "TimeCondition", "TriggeredByCondition",
]


@dataclass(frozen=True, slots=True)
class StateCondition:
    """An attribute is one of some values (and has been for at least ``for_s``)."""

    loc: Loc
    device: str
    attribute: str
    values: tuple[Value, ...]
    for_s: float = 0.0


@dataclass(frozen=True, slots=True)
class NumericCondition:
    """A number is above and/or below limits (strictly)."""

    loc: Loc
    device: str
    attribute: str
    above: float | None = None
    below: float | None = None


@dataclass(frozen=True, slots=True)
class TimeCondition:
    """Local time is in [after, before) (the window may cross midnight), on some weekdays."""

    loc: Loc
    after: dt.time | None = None
    before: dt.time | None = None
    weekdays: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class SunCondition:
    """Now is after one sun event (± offset) and/or before another, today."""

    loc: Loc
    after: SunEvent | None = None
    after_offset_s: float = 0.0
    before: SunEvent | None = None
    before_offset_s: float = 0.0


@dataclass(frozen=True, slots=True)
class ModeCondition:
    """The hub mode is one of these (home, away, night or any custom name)."""

    loc: Loc
    modes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TriggeredByCondition:
    """The run was started by one of these trigger ids (to tell triggers apart in choose)."""

    loc: Loc
    trigger_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AllCondition:
    """Every inner condition holds."""

    loc: Loc
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyCondition:
    """At least one inner condition holds."""

    loc: Loc
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class NotCondition:
    """None of the inner conditions holds."""

    loc: Loc
    conditions: tuple[Condition, ...]


Condition = (StateCondition | NumericCondition | TimeCondition | SunCondition | ModeCondition
             | TriggeredByCondition | AllCondition | AnyCondition | NotCondition)
