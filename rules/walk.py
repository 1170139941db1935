"""Walking the action tree: rebuild it with some actions replaced, or list every action in it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from rules.model import Action, ChooseAction, ChooseOption, IfAction, RepeatAction


def map_actions(actions: tuple[Action, ...], fn: Callable[[Action], Action]
                ) -> tuple[Action, ...]:
    """The same tree with every leaf action passed through ``fn`` (containers rebuilt)."""
    return tuple(_map_one(action, fn) for action in actions)


def _map_one(action: Action, fn: Callable[[Action], Action]) -> Action:
    if isinstance(action, IfAction):
        return replace(action, then=map_actions(action.then, fn),
                       else_=map_actions(action.else_, fn))
    if isinstance(action, ChooseAction):
        options = tuple(ChooseOption(o.loc, o.conditions, map_actions(o.actions, fn))
                        for o in action.options)
        return replace(action, options=options, default=map_actions(action.default, fn))
    if isinstance(action, RepeatAction):
        return replace(action, actions=map_actions(action.actions, fn))
    return fn(action)


def iter_actions(actions: tuple[Action, ...]) -> Iterator[Action]:
    """Every action in the tree, containers included, depth first."""
    for action in actions:
        yield action
        if isinstance(action, IfAction):
            yield from iter_actions(action.then)
            yield from iter_actions(action.else_)
        elif isinstance(action, ChooseAction):
            for option in action.options:
                yield from iter_actions(option.actions)
            yield from iter_actions(action.default)
        elif isinstance(action, RepeatAction):
            yield from iter_actions(action.actions)
