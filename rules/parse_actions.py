"""The grammar of actions: YAML nodes in, typed actions out."""

from __future__ import annotations

from collections.abc import Callable

from hubd.core.model import COMMANDS, Value, validate_args
from rules.model import (
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
from rules.parse_triggers import choice, kind_of, need, parse_conditions, parse_trigger
from rules.yamlnode import Node

MAX_REPEAT = 1000
NOTICE_LEVELS = ("info", "warning", "alert")


def check_args(node: Node, command: str, args: dict[str, Value]) -> dict[str, Value]:
    """Arguments checked against a qualified command's vocabulary."""
    capability, _, name = command.partition(".")
    try:
        return validate_args(capability, name, args)
    except ValueError as exc:
        raise node.fail(str(exc)) from exc


def _command(node: Node) -> CommandAction:
    f = node.mapping(("kind", "device", "command", "args", "transition"))
    command_node = need(node, f, "command")
    command = command_node.text()
    if "." in command and command not in COMMANDS:
        raise command_node.fail(f"unknown command {command!r}")
    args: dict[str, Value] = {}
    if "args" in f:
        args = {key: value.value() for key, value in f["args"].mapping().items()}
    if "transition" in f:
        args["transition_s"] = f["transition"].duration_s()
    if "." in command:
        args = check_args(f.get("args") or node, command, args)
    return CommandAction(node.loc, need(node, f, "device").text(), command, args)


def _scene(node: Node) -> SceneAction:
    f = node.mapping(("kind", "scene"))
    return SceneAction(node.loc, need(node, f, "scene").text())


def _delay(node: Node) -> DelayAction:
    f = node.mapping(("kind", "duration"))
    return DelayAction(node.loc, need(node, f, "duration").duration_s())


def _wait(node: Node) -> WaitAction:
    f = node.mapping(("kind", "trigger", "timeout", "on_timeout"))
    trigger = parse_trigger(need(node, f, "trigger"), 0)
    on_timeout = choice(f["on_timeout"], OnTimeout) if "on_timeout" in f else OnTimeout.CONTINUE
    return WaitAction(node.loc, trigger, f["timeout"].duration_s() if "timeout" in f else None,
                      on_timeout)


def _if(node: Node) -> IfAction:
    f = node.mapping(("kind", "conditions", "then", "else"))
    return IfAction(node.loc, parse_conditions(need(node, f, "conditions")),
                    parse_actions(need(node, f, "then")),
                    parse_actions(f["else"]) if "else" in f else ())


def _choose(node: Node) -> ChooseAction:
    f = node.mapping(("kind", "options", "default"))
    options = []
    for option in need(node, f, "options").sequence():
        of = option.mapping(("conditions", "actions"))
        options.append(ChooseOption(option.loc, parse_conditions(need(option, of, "conditions")),
                                    parse_actions(need(option, of, "actions"))))
    return ChooseAction(node.loc, tuple(options),
                        parse_actions(f["default"]) if "default" in f else ())


def _repeat(node: Node) -> RepeatAction:
    f = node.mapping(("kind", "count", "actions", "until"))
    return RepeatAction(node.loc, need(node, f, "count").integer(1, MAX_REPEAT),
                        parse_actions(need(node, f, "actions")),
                        parse_conditions(f["until"]) if "until" in f else ())


def _set_mode(node: Node) -> SetModeAction:
    f = node.mapping(("kind", "mode"))
    return SetModeAction(node.loc, need(node, f, "mode").text())


def _stop(node: Node) -> StopAction:
    f = node.mapping(("kind", "reason"))
    return StopAction(node.loc, f["reason"].text() if "reason" in f else "")


def _notify(node: Node) -> NotifyAction:
    f = node.mapping(("kind", "message", "level"))
    level = f["level"].text() if "level" in f else "info"
    if level not in NOTICE_LEVELS:
        raise f["level"].fail(f"{level!r} is not one of {', '.join(NOTICE_LEVELS)}")
    return NotifyAction(node.loc, need(node, f, "message").text(), level)


_ACTIONS: dict[str, Callable[[Node], Action]] = {
    "command": _command, "scene": _scene, "delay": _delay, "wait": _wait, "if": _if,
    "choose": _choose, "repeat": _repeat, "set_mode": _set_mode, "stop": _stop,
    "notify": _notify,
}


def parse_action(node: Node) -> Action:
    """One action."""
    return _ACTIONS[kind_of(node, node.mapping(), _ACTIONS)](node)


def parse_actions(node: Node) -> tuple[Action, ...]:
    """A list of actions, run in order."""
    return tuple(parse_action(n) for n in node.sequence())
