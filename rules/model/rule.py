"""The rule itself: its triggers, conditions and actions, and what it does when triggered while
running (``RunMode``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rules.model.actions import Action
from rules.model.conditions import Condition
from rules.model.loc import Loc
from rules.model.triggers import Trigger

__all__ = ["Rule", "RunMode"]


class RunMode(StrEnum):
    """What a rule does when triggered while a run of it is still going."""

    SINGLE = "single"  # ignore the new trigger (counted, logged once per burst)
    RESTART = "restart"  # cancel the running run, start again
    QUEUED = "queued"  # run after the current one (up to max_runs waiting and running)
    PARALLEL = "parallel"  # run alongside (up to max_runs at once)


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
