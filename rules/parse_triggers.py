"""The grammar of triggers and conditions: YAML nodes in, typed rule items out.

Every trigger and condition is a mapping with a ``kind`` field; the other fields depend on it
(see the ``rules`` package docstring for the whole language).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from enum import StrEnum
from typing import TypeVar

from hubd.core.model import ATTRIBUTE_SPECS, ButtonAction, Value, validate_value
from rules.model import (
    AllCondition,
    AnyCondition,
    Availability,
    AvailabilityTrigger,
    ButtonTrigger,
    Condition,
    HubStartedTrigger,
    IntervalTrigger,
    ModeCondition,
    NotCondition,
    NumericCondition,
    NumericTrigger,
    StateCondition,
    StateTrigger,
    SunCondition,
    SunEvent,
    SunTrigger,
    TimeCondition,
    TimeTrigger,
    Trigger,
    TriggeredByCondition,
)
from rules.yamlnode import Node

_ORIGINS = ("physical", "digital", "cloud", "system", "rule", "api")


def check_values(node: Node, attribute: str, values: tuple[Value, ...]) -> tuple[Value, ...]:
    """Values checked (and coerced) against a qualified attribute's type and range."""
    try:
        return tuple(validate_value(attribute, v) for v in values)
    except ValueError as exc:
        raise node.fail(str(exc)) from exc


def _attribute(node: Node) -> str:
    """An attribute name: ``contact.is_open``, or the short ``is_open`` resolved later."""
    name = node.text()
    if "." in name and name not in ATTRIBUTE_SPECS:
        raise node.fail(f"unknown attribute {name!r}")
    return name


def _maybe_values(node: Node | None, attribute: str) -> tuple[Value, ...] | None:
    if node is None:
        return None
    values = node.values()
    return check_values(node, attribute, values) if "." in attribute else values


def _origins(node: Node | None) -> tuple[str, ...]:
    if node is None:
        return ()
    origins = node.texts()
    for origin in origins:
        if origin.split(":", 1)[0] not in _ORIGINS:
            raise node.fail(f"unknown origin {origin!r}; expected one of {', '.join(_ORIGINS)}"
                            " (or rule:<id>, api:<client>)")
    return origins


def _bounds(fields: dict[str, Node], owner: Node) -> tuple[float | None, float | None]:
    above = fields["above"].number() if "above" in fields else None
    below = fields["below"].number() if "below" in fields else None
    if above is None and below is None:
        raise owner.fail("needs above, below or both")
    if above is not None and below is not None and above >= below:
        raise fields["below"].fail(f"below ({below:g}) must be greater than above ({above:g})")
    return above, below


# -- triggers ---------------------------------------------------------------------------------

_COMMON = ("kind", "id")
_DEVICE = (*_COMMON, "device")


def _state_trigger(node: Node, tid: str) -> StateTrigger:
    f = node.mapping((*_DEVICE, "attribute", "to", "from", "not_to", "not_from", "for",
                      "origin"))
    attribute = _attribute(need(node, f, "attribute"))
    return StateTrigger(
        node.loc, tid, need(node, f, "device").text(), attribute,
        to=_maybe_values(f.get("to"), attribute), from_=_maybe_values(f.get("from"), attribute),
        not_to=_maybe_values(f.get("not_to"), attribute) or (),
        not_from=_maybe_values(f.get("not_from"), attribute) or (),
        for_s=f["for"].duration_s() if "for" in f else 0.0, origins=_origins(f.get("origin")))


def _numeric_trigger(node: Node, tid: str) -> NumericTrigger:
    f = node.mapping((*_DEVICE, "attribute", "above", "below", "hysteresis", "for", "origin"))
    above, below = _bounds(f, node)
    hysteresis = f["hysteresis"].number() if "hysteresis" in f else 0.0
    if hysteresis < 0:
        raise f["hysteresis"].fail("must not be negative")
    return NumericTrigger(node.loc, tid, need(node, f, "device").text(),
                          _attribute(need(node, f, "attribute")), above, below, hysteresis,
                          f["for"].duration_s() if "for" in f else 0.0, _origins(f.get("origin")))


def _button_trigger(node: Node, tid: str) -> ButtonTrigger:
    f = node.mapping((*_DEVICE, "button", "action", "count", "origin"))
    action = ButtonAction.PRESS
    if "action" in f:
        action = choice(f["action"], ButtonAction)
    count = f["count"].integer(1, 10) if "count" in f else None
    if count is not None and action is not ButtonAction.MULTI_TAP:
        raise f["count"].fail("count goes with action: multi_tap")
    return ButtonTrigger(node.loc, tid, need(node, f, "device").text(),
                         f["button"].text() if "button" in f else None, action, count,
                         _origins(f.get("origin")))


def _time_trigger(node: Node, tid: str) -> TimeTrigger:
    f = node.mapping((*_COMMON, "at", "weekdays"))
    return TimeTrigger(node.loc, tid, need(node, f, "at").time_of_day(),
                       f["weekdays"].weekdays() if "weekdays" in f else frozenset())


def _sun_trigger(node: Node, tid: str) -> SunTrigger:
    f = node.mapping((*_COMMON, "event", "offset", "weekdays"))
    return SunTrigger(node.loc, tid, choice(need(node, f, "event"), SunEvent),
                      f["offset"].duration_s(is_signed=True) if "offset" in f else 0.0,
                      f["weekdays"].weekdays() if "weekdays" in f else frozenset())


def _interval_trigger(node: Node, tid: str) -> IntervalTrigger:
    f = node.mapping((*_COMMON, "every"))
    every_s = need(node, f, "every").duration_s()
    if every_s < 1:
        raise f["every"].fail("must be at least 1 second")
    return IntervalTrigger(node.loc, tid, every_s)


def _availability_trigger(node: Node, tid: str) -> AvailabilityTrigger:
    f = node.mapping((*_DEVICE, "to", "for"))
    return AvailabilityTrigger(node.loc, tid, need(node, f, "device").text(),
                               choice(need(node, f, "to"), Availability),
                               f["for"].duration_s() if "for" in f else 0.0)


def _hub_started_trigger(node: Node, tid: str) -> HubStartedTrigger:
    node.mapping(_COMMON)
    return HubStartedTrigger(node.loc, tid)


_TRIGGERS: dict[str, Callable[[Node, str], Trigger]] = {
    "state": _state_trigger, "numeric": _numeric_trigger, "button": _button_trigger,
    "time": _time_trigger, "sun": _sun_trigger, "interval": _interval_trigger,
    "availability": _availability_trigger, "hub_started": _hub_started_trigger,
}


def parse_trigger(node: Node, index: int) -> Trigger:
    """One trigger; its id is the user's ``id`` or its position in the list."""
    fields = node.mapping()
    kind = kind_of(node, fields, _TRIGGERS)
    tid = fields["id"].text() if "id" in fields else str(index)
    return _TRIGGERS[kind](node, tid)


# -- conditions -------------------------------------------------------------------------------


def _state_condition(node: Node) -> StateCondition:
    f = node.mapping(("kind", "device", "attribute", "state", "for"))
    attribute = _attribute(need(node, f, "attribute"))
    values = _maybe_values(need(node, f, "state"), attribute) or ()
    return StateCondition(node.loc, need(node, f, "device").text(), attribute, values,
                          f["for"].duration_s() if "for" in f else 0.0)


def _numeric_condition(node: Node) -> NumericCondition:
    f = node.mapping(("kind", "device", "attribute", "above", "below"))
    above, below = _bounds(f, node)
    return NumericCondition(node.loc, need(node, f, "device").text(),
                            _attribute(need(node, f, "attribute")), above, below)


def _time_condition(node: Node) -> TimeCondition:
    f = node.mapping(("kind", "after", "before", "weekdays"))
    if not f.keys() & {"after", "before", "weekdays"}:
        raise node.fail("needs after, before or weekdays")
    return TimeCondition(node.loc, f["after"].time_of_day() if "after" in f else None,
                         f["before"].time_of_day() if "before" in f else None,
                         f["weekdays"].weekdays() if "weekdays" in f else frozenset())


def _weekday_condition(node: Node) -> TimeCondition:
    f = node.mapping(("kind", "weekdays"))
    return TimeCondition(node.loc, weekdays=need(node, f, "weekdays").weekdays())


def _sun_condition(node: Node) -> SunCondition:
    f = node.mapping(("kind", "after", "after_offset", "before", "before_offset"))
    if not f.keys() & {"after", "before"}:
        raise node.fail("needs after, before or both")
    return SunCondition(
        node.loc, choice(f["after"], SunEvent) if "after" in f else None,
        f["after_offset"].duration_s(is_signed=True) if "after_offset" in f else 0.0,
        choice(f["before"], SunEvent) if "before" in f else None,
        f["before_offset"].duration_s(is_signed=True) if "before_offset" in f else 0.0)


def _mode_condition(node: Node) -> ModeCondition:
    f = node.mapping(("kind", "mode"))
    return ModeCondition(node.loc, need(node, f, "mode").texts())


def _trigger_condition(node: Node) -> TriggeredByCondition:
    f = node.mapping(("kind", "id"))
    return TriggeredByCondition(node.loc, need(node, f, "id").texts())


def _group(cls: type[AllCondition] | type[AnyCondition] | type[NotCondition]
           ) -> Callable[[Node], Condition]:
    def parse(node: Node) -> Condition:
        f = node.mapping(("kind", "conditions"))
        return cls(node.loc, parse_conditions(need(node, f, "conditions")))
    return parse


_CONDITIONS: dict[str, Callable[[Node], Condition]] = {
    "state": _state_condition, "numeric": _numeric_condition, "time": _time_condition,
    "weekday": _weekday_condition, "sun": _sun_condition, "mode": _mode_condition,
    "trigger": _trigger_condition, "and": _group(AllCondition), "or": _group(AnyCondition),
    "not": _group(NotCondition),
}


def parse_condition(node: Node) -> Condition:
    """One condition."""
    kind = kind_of(node, node.mapping(), _CONDITIONS)
    return _CONDITIONS[kind](node)


def parse_conditions(node: Node) -> tuple[Condition, ...]:
    """A list of conditions (all must hold)."""
    return tuple(parse_condition(n) for n in node.sequence())


# -- helpers ----------------------------------------------------------------------------------

E = TypeVar("E", bound=StrEnum)


def need(owner: Node, fields: dict[str, Node], key: str) -> Node:
    """The field, or an error at the owner saying it is missing."""
    node = fields.get(key)
    if node is None:
        raise owner.fail(f"needs {key!r}")
    return node


def kind_of(node: Node, fields: dict[str, Node], table: Collection[str]) -> str:
    """The item's ``kind``, checked against the known kinds."""
    kind_node = need(node, fields, "kind")
    kind = kind_node.text()
    if kind not in table:
        raise kind_node.fail(f"unknown kind {kind!r}; expected one of {', '.join(table)}")
    return kind


def choice(node: Node, enum: type[E]) -> E:
    """A value of a StrEnum, with the allowed names in the error."""
    text = node.text()
    try:
        return enum(text)
    except ValueError:
        names = ", ".join(str(m) for m in enum)
        raise node.fail(f"{text!r} is not one of {names}") from None
