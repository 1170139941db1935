"""Triggers: what starts a rule's run (a device's state, number, button or reachability, a time,
the sun, an interval, the hub's start)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from hubd.core.model import ButtonAction, Value
from rules.model.loc import Loc
from rules.sun import SunEvent

__all__ = [
    "Availability", "AvailabilityTrigger", "ButtonTrigger", "DeviceTrigger", "HubStartedTrigger",
    "IntervalTrigger", "NumericTrigger", "StateTrigger", "SunTrigger", "TimeTrigger", "Trigger",
]


class Availability(StrEnum):
    """The two ends of a device's reachability."""

    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class StateTrigger:
    """An attribute changed (from / to / not_from / not_to), optionally staying so ``for_s``."""

    loc: Loc
    id: str
    device: str
    attribute: str
    to: tuple[Value, ...] | None = None  # None: any new value
    from_: tuple[Value, ...] | None = None
    not_to: tuple[Value, ...] = ()
    not_from: tuple[Value, ...] = ()
    for_s: float = 0.0
    origins: tuple[str, ...] = ()  # empty: any origin


@dataclass(frozen=True, slots=True)
class NumericTrigger:
    """A number crossed into (above, below) — once per crossing, re-armed past the hysteresis."""

    loc: Loc
    id: str
    device: str
    attribute: str
    above: float | None = None
    below: float | None = None
    hysteresis: float = 0.0
    for_s: float = 0.0
    origins: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ButtonTrigger:
    """A button did something (press / release / hold / multi_tap with a count)."""

    loc: Loc
    id: str
    device: str
    button: str | None = None  # None: any button of the device
    action: ButtonAction = ButtonAction.PRESS
    count: int | None = None  # multi_tap only; None: any count
    origins: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TimeTrigger:
    """A local time of day, on some weekdays (0 = Monday; empty: every day)."""

    loc: Loc
    id: str
    at: dt.time
    weekdays: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class SunTrigger:
    """Sunrise, sunset, dawn or dusk, plus or minus an offset, on some weekdays."""

    loc: Loc
    id: str
    event: SunEvent
    offset_s: float = 0.0
    weekdays: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class IntervalTrigger:
    """Every so many seconds, counted from the engine's start."""

    loc: Loc
    id: str
    every_s: float


@dataclass(frozen=True, slots=True)
class AvailabilityTrigger:
    """A device went offline or came online, and stayed so for a grace period."""

    loc: Loc
    id: str
    device: str
    to: Availability
    for_s: float = 0.0


@dataclass(frozen=True, slots=True)
class HubStartedTrigger:
    """The rule engine started (the hub booted or the daemon restarted)."""

    loc: Loc
    id: str


Trigger = (StateTrigger | NumericTrigger | ButtonTrigger | TimeTrigger | SunTrigger
           | IntervalTrigger | AvailabilityTrigger | HubStartedTrigger)
DeviceTrigger = StateTrigger | NumericTrigger | ButtonTrigger | AvailabilityTrigger
