"""Checking a rule's references against the device registry, and writing them as ids.

Users name devices by id or unique name and may shorten attributes (``is_open``) and commands
(``on``) when the device's capabilities leave one choice. Resolving gives back the same rule with
device ids, qualified attributes (``contact.is_open``) and commands (``switch.on``), values
checked against the vocabulary, and scenes turned into the commands that set their states. A
rule that cannot be resolved yields problems (file, line, field), never an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from hubd.core.errors import RuleError, UnknownDeviceError
from hubd.core.model import (
    ATTRIBUTES,
    COMMANDS,
    Capability,
    Device,
    Value,
    validate_args,
    validate_value,
)
from hubd.core.state import StateStore
from rules.model import (
    Action,
    AllCondition,
    AnyCondition,
    AvailabilityTrigger,
    ButtonTrigger,
    ChooseAction,
    CommandAction,
    Condition,
    IfAction,
    Loc,
    NotCondition,
    NumericCondition,
    NumericTrigger,
    RepeatAction,
    Rule,
    RuleProblem,
    SceneAction,
    SceneState,
    StateCondition,
    StateTrigger,
    Trigger,
    WaitAction,
)
from rules.walk import map_actions

T = TypeVar("T")


class _Unresolved(RuleError):
    """A reference in a rule names no device, attribute or command the hub knows (yet)."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message, file=loc.file, key=loc.field or None, line=loc.line)
        self.loc = loc


# A scene's wanted state → the command that sets it: attribute → (command, value → args).
_SCENE_COMMANDS: dict[str, Callable[[Value], tuple[str, dict[str, Value]]]] = {
    "switch.on": lambda v: ("switch.on" if v else "switch.off", {}),
    "level.level_pct": lambda v: ("level.set", {"level_pct": v}),
    "color.color_temp_k": lambda v: ("color.set_color_temp", {"color_temp_k": v}),
    "shade.position_pct": lambda v: ("shade.set_position", {"position_pct": v}),
    "lock.state": lambda v: ("lock.lock" if v == "locked" else "lock.unlock", {}),
    "thermostat.mode": lambda v: ("thermostat.set_mode", {"mode": v}),
    "thermostat.heat_setpoint_c": lambda v: ("thermostat.set_heat_setpoint", {"celsius": v}),
    "thermostat.cool_setpoint_c": lambda v: ("thermostat.set_cool_setpoint", {"celsius": v}),
}


class Resolver:
    """Resolves rules against one StateStore."""

    def __init__(self, state: StateStore) -> None:
        self._state = state

    def resolve(self, rule: Rule) -> tuple[Rule | None, list[RuleProblem]]:
        """The rule with references resolved, or None and the problems found."""
        problems: list[RuleProblem] = []
        triggers = self._each(rule.id, rule.triggers, self.trigger, problems)
        conditions = self._each(rule.id, rule.conditions, self.condition, problems)
        actions = rule.actions
        try:
            actions = self._containers(map_actions(rule.actions, self._action_leaf))
        except _Unresolved as exc:
            problems.append(RuleProblem.at(exc.loc, exc.message, rule.id))
        if problems:
            return None, problems
        return replace(rule, triggers=triggers, conditions=conditions, actions=actions), []

    @staticmethod
    def _each(rule_id: str, items: tuple[T, ...], fn: Callable[[T], T],
              problems: list[RuleProblem]) -> tuple[T, ...]:
        out: list[T] = []
        for item in items:
            try:
                out.append(fn(item))
            except _Unresolved as exc:
                problems.append(RuleProblem.at(exc.loc, exc.message, rule_id))
        return tuple(out)

    # -- references --------------------------------------------------------------------------

    def device(self, loc: Loc, ref: str) -> Device:
        """The device named by id or unique name."""
        try:
            return self._state.resolve(ref)
        except UnknownDeviceError:
            raise _Unresolved(loc, f"no device has the id or name {ref!r} (yet)") from None

    def attribute(self, loc: Loc, device: Device, name: str) -> str:
        """The qualified attribute, checked against the device's capabilities."""
        if "." in name:
            if Capability(name.split(".", 1)[0]) not in device.capabilities:
                raise _Unresolved(loc, f"{device.name or device.id} has no attribute {name}")
            return name
        found = [spec.name for cap in device.capabilities for spec in ATTRIBUTES[cap]
                 if spec.name.split(".", 1)[1] == name]
        if len(found) != 1:
            what = "no" if not found else "more than one"
            raise _Unresolved(loc, f"{device.name or device.id} has {what} attribute {name!r}"
                              + (f" ({', '.join(found)}); qualify it" if found else ""))
        return found[0]

    def command(self, loc: Loc, device: Device, name: str) -> str:
        """The qualified command, checked against the device's capabilities."""
        if "." in name:
            if Capability(name.split(".", 1)[0]) not in device.capabilities:
                raise _Unresolved(loc, f"{device.name or device.id} has no command {name}")
            return name
        found = [f"{cap}.{name}" for cap in sorted(device.capabilities)
                 if f"{cap}.{name}" in COMMANDS]
        if len(found) != 1:
            what = "no" if not found else "more than one"
            raise _Unresolved(loc, f"{device.name or device.id} has {what} command {name!r}"
                              + (f" ({', '.join(found)}); qualify it" if found else ""))
        return found[0]

    def _values(self, loc: Loc, attribute: str, values: tuple[Value, ...] | None
                ) -> tuple[Value, ...] | None:
        if values is None:
            return None
        try:
            return tuple(validate_value(attribute, v) for v in values)
        except ValueError as exc:
            raise _Unresolved(loc, str(exc)) from None

    # -- items -------------------------------------------------------------------------------

    def trigger(self, t: Trigger) -> Trigger:
        """A trigger with its device and attribute resolved."""
        if isinstance(t, StateTrigger):
            device = self.device(t.loc, t.device)
            attr = self.attribute(t.loc, device, t.attribute)
            return replace(t, device=device.id, attribute=attr,
                           to=self._values(t.loc, attr, t.to),
                           from_=self._values(t.loc, attr, t.from_),
                           not_to=self._values(t.loc, attr, t.not_to) or (),
                           not_from=self._values(t.loc, attr, t.not_from) or ())
        if isinstance(t, NumericTrigger):
            device = self.device(t.loc, t.device)
            attr = self.attribute(t.loc, device, t.attribute)
            self._require_number(t.loc, attr)
            return replace(t, device=device.id, attribute=attr)
        if isinstance(t, ButtonTrigger):
            device = self.device(t.loc, t.device)
            if Capability.BUTTON not in device.capabilities:
                raise _Unresolved(t.loc, f"{device.name or device.id} has no buttons")
            return replace(t, device=device.id)
        if isinstance(t, AvailabilityTrigger):
            return replace(t, device=self.device(t.loc, t.device).id)
        return t

    def _require_number(self, loc: Loc, attribute: str) -> None:
        spec = next(s for specs in ATTRIBUTES.values() for s in specs if s.name == attribute)
        if spec.kind not in (int, float):
            raise _Unresolved(loc, f"{attribute} is not a number")

    def condition(self, c: Condition) -> Condition:
        """A condition with devices and attributes resolved (recursively)."""
        if isinstance(c, StateCondition):
            device = self.device(c.loc, c.device)
            attr = self.attribute(c.loc, device, c.attribute)
            return replace(c, device=device.id, attribute=attr,
                           values=self._values(c.loc, attr, c.values) or ())
        if isinstance(c, NumericCondition):
            device = self.device(c.loc, c.device)
            attr = self.attribute(c.loc, device, c.attribute)
            self._require_number(c.loc, attr)
            return replace(c, device=device.id, attribute=attr)
        if isinstance(c, AllCondition | AnyCondition | NotCondition):
            return replace(c, conditions=tuple(self.condition(i) for i in c.conditions))
        return c

    def _action_leaf(self, action: Action) -> Action:
        if isinstance(action, CommandAction):
            return self.command_action(action)
        if isinstance(action, SceneAction) and action.scene is not None:
            scene = action.scene
            commands = tuple(self._scene_command(s, scene.transition_s) for s in scene.states)
            return replace(action, commands=commands)
        if isinstance(action, WaitAction):
            return replace(action, trigger=self.trigger(action.trigger))
        return action

    def _containers(self, actions: tuple[Action, ...]) -> tuple[Action, ...]:
        """Resolve the conditions held by if / choose / repeat (leaves are done already)."""
        out: list[Action] = []
        for a in actions:
            if isinstance(a, IfAction):
                a = replace(a, conditions=tuple(self.condition(c) for c in a.conditions),
                            then=self._containers(a.then), else_=self._containers(a.else_))
            elif isinstance(a, ChooseAction):
                options = tuple(replace(o, conditions=tuple(self.condition(c)
                                                            for c in o.conditions),
                                        actions=self._containers(o.actions))
                                for o in a.options)
                a = replace(a, options=options, default=self._containers(a.default))
            elif isinstance(a, RepeatAction):
                a = replace(a, until=tuple(self.condition(c) for c in a.until),
                            actions=self._containers(a.actions))
            out.append(a)
        return tuple(out)

    def command_action(self, action: CommandAction) -> CommandAction:
        """A command with its device, name and arguments resolved and checked."""
        device = self.device(action.loc, action.device)
        command = self.command(action.loc, device, action.command)
        capability, _, name = command.partition(".")
        try:
            args = validate_args(capability, name, action.args)
        except ValueError as exc:
            raise _Unresolved(action.loc, str(exc)) from None
        return replace(action, device=device.id, command=command, args=args)

    def _scene_command(self, state: SceneState, transition_s: float | None) -> CommandAction:
        device = self.device(state.loc, state.device)
        attribute = self.attribute(state.loc, device, state.attribute)
        make = _SCENE_COMMANDS.get(attribute)
        if make is None:
            raise _Unresolved(state.loc, f"{attribute} cannot be set by a scene")
        try:
            value = validate_value(attribute, state.value)
        except ValueError as exc:
            raise _Unresolved(state.loc, str(exc)) from None
        command, args = make(value)
        spec = COMMANDS[command]
        if transition_s is not None and any(a.name == "transition_s" for a in spec.args):
            args["transition_s"] = transition_s
        return self.command_action(CommandAction(state.loc, device.id, command, args))
