"""Actions: what a rule's run does, step by step (commands, scenes, delays and waits, if / choose /
repeat, the hub mode, stop, notify)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from hubd.core.model import Value
from rules.model.conditions import Condition
from rules.model.loc import Loc
from rules.model.scene import Scene
from rules.model.triggers import Trigger

__all__ = [
    "Action", "ChooseAction", "ChooseOption", "CommandAction", "DelayAction", "IfAction",
    "NotifyAction", "OnTimeout", "RepeatAction", "SceneAction", "SetModeAction", "StopAction",
    "WaitAction",
]


class OnTimeout(StrEnum):
    """What a wait does when its timeout passes first."""

    CONTINUE = "continue"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class CommandAction:
    """Send a command to a device (``command`` is ``capability.name`` once resolved)."""

    loc: Loc
    device: str
    command: str
    args: Mapping[str, Value] = field(default_factory=dict)


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
