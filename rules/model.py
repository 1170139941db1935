"""Rules as typed data: triggers, conditions, actions, scenes and the rule that holds them.

Parsing (``rules.parse``) builds these from YAML with each item's location; resolving
(``rules.resolve``) replaces the device names users wrote by device ids and short attribute or
command names by qualified ones. Every item is frozen: a loaded rule never changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from hubd.core.model import ButtonAction, Value
from rules.sun import SunEvent

__all__ = [
    "Action", "AllCondition", "AnyCondition", "Availability", "AvailabilityTrigger",
    "ButtonTrigger", "ChooseAction", "ChooseOption", "CommandAction", "Condition",
    "DelayAction", "HubStartedTrigger", "IfAction", "IntervalTrigger", "Loc", "ModeCondition",
    "NotCondition", "NotifyAction", "NumericCondition", "NumericTrigger", "OnTimeout",
    "RepeatAction", "Rule", "RuleProblem", "RunMode", "Scene", "SceneAction", "SceneState",
    "SetModeAction", "StateCondition", "StateTrigger", "StopAction", "SunCondition", "SunEvent",
    "SunTrigger", "TimeCondition", "TimeTrigger", "Trigger", "TriggeredByCondition",
    "WaitAction",
]


class RunMode(StrEnum):
    """What a rule does when triggered while a run of it is still going."""

    SINGLE = "single"  # ignore the new trigger (counted, logged once per burst)
    RESTART = "restart"  # cancel the running run, start again
    QUEUED = "queued"  # run after the current one (up to max_runs waiting and running)
    PARALLEL = "parallel"  # run alongside (up to max_runs at once)


class Availability(StrEnum):
    """The two ends of a device's reachability."""

    ONLINE = "online"
    OFFLINE = "offline"


class OnTimeout(StrEnum):
    """What a wait does when its timeout passes first."""

    CONTINUE = "continue"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class Loc:
    """Where an item was written: file, 1-based line and the field path inside the rule."""

    file: str
    line: int
    field: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}"


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """Why a rule (or a scene) could not be loaded or enabled, and where."""

    file: str
    line: int
    field: str
    message: str
    rule_id: str = ""

    @classmethod
    def at(cls, loc: Loc, message: str, rule_id: str = "") -> RuleProblem:
        """A problem at an item's location."""
        return cls(loc.file, loc.line, loc.field, message, rule_id)

    def __str__(self) -> str:
        rule = f"rule {self.rule_id}: " if self.rule_id else ""
        field = f"{self.field}: " if self.field else ""
        return f"{self.file}:{self.line}: {rule}{field}{self.message}"


# -- triggers ---------------------------------------------------------------------------------


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

# -- conditions -------------------------------------------------------------------------------


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

# -- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandAction:
    """Send a command to a device (``command`` is ``capability.name`` once resolved)."""

    loc: Loc
    device: str
    command: str
    args: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SceneState:
    """One device's wanted state in a scene, as the command that makes it so."""

    loc: Loc
    device: str
    attribute: str
    value: Value


@dataclass(frozen=True, slots=True)
class Scene:
    """A named set of device states, applied together."""

    loc: Loc
    name: str
    states: tuple[SceneState, ...]
    transition_s: float | None = None


@dataclass(frozen=True, slots=True)
class SceneAction:
    """Apply a scene (linked to its definition after all files are parsed)."""

    loc: Loc
    name: str
    scene: Scene | None = None
    commands: tuple[CommandAction, ...] = ()  # filled in when the scene's devices are resolved


@dataclass(frozen=True, slots=True)
class DelayAction:
    """Wait a while (persisted as an absolute deadline: it survives a restart)."""

    loc: Loc
    delay_s: float


@dataclass(frozen=True, slots=True)
class WaitAction:
    """Wait until a trigger fires, at most ``timeout_s``; then continue or stop."""

    loc: Loc
    trigger: Trigger
    timeout_s: float | None = None
    on_timeout: OnTimeout = OnTimeout.CONTINUE


@dataclass(frozen=True, slots=True)
class IfAction:
    """Run ``then`` if every condition holds, else ``else_``."""

    loc: Loc
    conditions: tuple[Condition, ...]
    then: tuple[Action, ...]
    else_: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class ChooseOption:
    """One branch of a choose: conditions and the actions run when they hold."""

    loc: Loc
    conditions: tuple[Condition, ...]
    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class ChooseAction:
    """Run the first option whose conditions hold, else the default."""

    loc: Loc
    options: tuple[ChooseOption, ...]
    default: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class RepeatAction:
    """Run actions ``count`` times, or fewer if ``until`` holds after an iteration."""

    loc: Loc
    count: int
    actions: tuple[Action, ...]
    until: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class SetModeAction:
    """Set the hub mode."""

    loc: Loc
    mode: str


@dataclass(frozen=True, slots=True)
class StopAction:
    """End the run here."""

    loc: Loc
    reason: str = ""


@dataclass(frozen=True, slots=True)
class NotifyAction:
    """Tell the people of the house (a Notice on the bus; the tunnel and LAN API forward it)."""

    loc: Loc
    message: str
    level: str = "info"


Action = (CommandAction | SceneAction | DelayAction | WaitAction | IfAction | ChooseAction
          | RepeatAction | SetModeAction | StopAction | NotifyAction)

# -- the rule ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """Triggers, conditions and actions, with a run mode."""

    loc: Loc
    id: str
    name: str
    triggers: tuple[Trigger, ...]
    conditions: tuple[Condition, ...] = ()
    actions: tuple[Action, ...] = ()
    mode: RunMode = RunMode.SINGLE
    max_runs: int = 10  # queued / parallel: runs waiting plus running
    is_enabled: bool = True
    description: str = ""
