"""Rules as typed data: triggers, conditions, actions, scenes and the rule that holds them.

Parsing (``rules.parse``) builds these from YAML with each item's location; resolving
(``rules.resolve``) replaces the device names users wrote by device ids and short attribute or
command names by qualified ones. Every item is frozen: a loaded rule never changes.

Import them from here; each kind lives in its own module: ``loc`` (where an item was written, and
the problems found there), ``triggers``, ``conditions``, ``actions``, ``scene`` and ``rule``.
"""

from __future__ import annotations

from rules.model.actions import (
    Action,
    ChooseAction,
    ChooseOption,
    CommandAction,
    DelayAction,
    IfAction,
    NotifyAction,
    OnTimeout,
    RepeatAction,
    SceneAction,
    SetModeAction,
    StopAction,
    WaitAction,
)
from rules.model.conditions import (
    AllCondition,
    AnyCondition,
    Condition,
    ModeCondition,
    NotCondition,
    NumericCondition,
    StateCondition,
    SunCondition,
    TimeCondition,
    TriggeredByCondition,
)
from rules.model.loc import Loc, RuleProblem
from rules.model.rule import Rule, RunMode
from rules.model.scene import Scene, SceneState
from rules.model.triggers import (
    Availability,
    AvailabilityTrigger,
    ButtonTrigger,
    DeviceTrigger,
    HubStartedTrigger,
    IntervalTrigger,
    NumericTrigger,
    StateTrigger,
    SunTrigger,
    TimeTrigger,
    Trigger,
)
from rules.sun import SunEvent

__all__ = [
    "Action", "AllCondition", "AnyCondition", "Availability", "AvailabilityTrigger",
    "ButtonTrigger", "ChooseAction", "ChooseOption", "CommandAction", "Condition",
    "DelayAction", "DeviceTrigger", "HubStartedTrigger", "IfAction", "IntervalTrigger", "Loc",
    "ModeCondition", "NotCondition", "NotifyAction", "NumericCondition", "NumericTrigger",
    "OnTimeout", "RepeatAction", "Rule", "RuleProblem", "RunMode", "Scene", "SceneAction",
    "SceneState", "SetModeAction", "StateCondition", "StateTrigger", "StopAction", "SunCondition",
    "SunEvent", "SunTrigger", "TimeCondition", "TimeTrigger", "Trigger", "TriggeredByCondition",
    "WaitAction",
]
