"""The pure half of the engine: does an event match a trigger, do the conditions hold.

Nothing here awaits, sleeps or keeps state between calls: the engine passes in what it remembers
(a numeric trigger's armed flag) and gets back what to remember. Conditions are compiled once, at
load, into closures; evaluating one appends a ``CondNote`` per node when the caller asks for notes,
which is how a trace explains a rule that did not fire.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hubd.core.events import ButtonEvent
from hubd.core.model import Value
from hubd.core.state import StateEntry
from rules.model import (
    AllCondition,
    AnyCondition,
    ButtonTrigger,
    Condition,
    ModeCondition,
    NotCondition,
    NumericCondition,
    NumericTrigger,
    StateCondition,
    StateTrigger,
    SunCondition,
    TimeCondition,
    TriggeredByCondition,
)
from rules.schedule import Place
from rules.trace import CondNote

NameOf = Callable[[str], str]


class StateReader(Protocol):
    """What conditions read: the last value of an attribute and when it changed."""

    def entry(self, device_id: str, attribute: str) -> StateEntry | None:
        """The entry, or None if unknown."""
        ...


class Env:
    """What one evaluation of conditions sees: states, the time, the hub mode, the trigger."""

    __slots__ = ("depth", "mode", "notes", "now", "place", "state", "trigger_id")

    def __init__(self, state: StateReader, now: float, mode: str, trigger_id: str, place: Place,
                 notes: list[CondNote] | None = None) -> None:
        self.state = state
        self.now = now
        self.mode = mode
        self.trigger_id = trigger_id
        self.place = place
        self.notes = notes
        self.depth = 0

    def note(self, text: str, is_true: bool, detail: str = "") -> None:
        """Record a condition's result, if this evaluation keeps notes."""
        if self.notes is not None:
            self.notes.append(CondNote(self.depth, text, is_true, detail))


Check = Callable[[Env], bool]

# -- triggers ---------------------------------------------------------------------------------


def origin_allows(origins: tuple[str, ...], origin: str) -> bool:
    """Whether an event's origin passes a trigger's ``origin`` filter (``rule`` = any rule)."""
    return not origins or any(origin == o or origin.startswith(o + ":") for o in origins)


def state_change_matches(t: StateTrigger, old: Value, new: Value) -> bool:
    """Whether a change old → new is one the state trigger waits for."""
    return ((t.to is None or new in t.to) and (t.from_ is None or old in t.from_)
            and new not in t.not_to and old not in t.not_from)


def state_holds(t: StateTrigger, value: Value) -> bool:
    """Whether a value still satisfies the trigger's target (for a pending ``for``)."""
    return (t.to is None or value in t.to) and value not in t.not_to


def in_range(above: float | None, below: float | None, value: Value) -> bool:
    """Whether a value is a number strictly inside (above, below)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return (above is None or value > above) and (below is None or value < below)


def rearms(t: NumericTrigger, value: Value) -> bool:
    """Whether a value is far enough outside the range (past the hysteresis band) to re-arm."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    h = t.hysteresis
    return ((t.above is not None and value <= t.above - h)
            or (t.below is not None and value >= t.below + h))


@dataclass(frozen=True, slots=True)
class NumericStep:
    """What a new value does to a numeric trigger: did it cross in, and is it armed now."""

    is_crossing: bool
    is_armed: bool


def numeric_step(t: NumericTrigger, value: Value, is_armed: bool) -> NumericStep:
    """Edge detection with hysteresis: fire once on entering the range, re-arm only past the band.

    An armed trigger crosses when the value enters (above, below) and is then disarmed; a disarmed
    trigger re-arms when the value leaves the range by at least ``hysteresis``.
    """
    if is_armed:
        if in_range(t.above, t.below, value):
            return NumericStep(True, False)
        return NumericStep(False, True)
    return NumericStep(False, rearms(t, value))


def initially_armed(t: NumericTrigger, value: Value) -> bool:
    """At load: armed unless the value is already in range (no firing for an old crossing)."""
    return not in_range(t.above, t.below, value)


def button_matches(t: ButtonTrigger, event: ButtonEvent) -> bool:
    """Whether a button event is the one the trigger waits for."""
    return (event.action is t.action and (t.button is None or event.button == t.button)
            and (t.count is None or event.count == t.count))


# -- conditions -------------------------------------------------------------------------------


def _values_text(values: tuple[Value, ...]) -> str:
    return " or ".join(_v(v) for v in values)


def _v(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "unknown" if value is None else str(value)


def _state(c: StateCondition, name_of: NameOf) -> Check:
    dev, attr, values, for_s = c.device, c.attribute, c.values, c.for_s
    text = f"{name_of(dev)} {attr} is {_values_text(values)}"
    if for_s:
        text += f" for {for_s:g}s"

    def check(env: Env) -> bool:
        entry = env.state.entry(dev, attr)
        value = None if entry is None else entry.value
        ok = value in values
        if ok and for_s and entry is not None and env.now - entry.ts < for_s:
            ok = False
        if env.notes is not None:
            since = "" if entry is None else f" for {env.now - entry.ts:.0f}s"
            env.note(text, ok, f"is {_v(value)}{since}")
        return ok

    return check


def _numeric(c: NumericCondition, name_of: NameOf) -> Check:
    dev, attr, above, below = c.device, c.attribute, c.above, c.below
    bounds = " and ".join(p for p in (f"above {above:g}" if above is not None else "",
                                      f"below {below:g}" if below is not None else "") if p)
    text = f"{name_of(dev)} {attr} {bounds}"

    def check(env: Env) -> bool:
        entry = env.state.entry(dev, attr)
        value = None if entry is None else entry.value
        ok = in_range(above, below, value)
        env.note(text, ok, f"is {_v(value)}")
        return ok

    return check


def time_in_window(c: TimeCondition, minute_of_day_s: float, weekday: int) -> bool:
    """Whether a local time (seconds since midnight) and weekday are in the condition's window."""
    if c.weekdays and weekday not in c.weekdays:
        return False
    after = None if c.after is None else c.after.hour * 3600 + c.after.minute * 60 + c.after.second
    before = (None if c.before is None
              else c.before.hour * 3600 + c.before.minute * 60 + c.before.second)
    if after is not None and before is not None and after > before:
        return minute_of_day_s >= after or minute_of_day_s < before  # crosses midnight
    return ((after is None or minute_of_day_s >= after)
            and (before is None or minute_of_day_s < before))


def _time(c: TimeCondition) -> Check:
    parts = []
    if c.after is not None:
        parts.append(f"after {c.after.isoformat()}")
    if c.before is not None:
        parts.append(f"before {c.before.isoformat()}")
    if c.weekdays:
        parts.append("on " + ",".join(("mon", "tue", "wed", "thu", "fri", "sat", "sun")[d]
                                      for d in sorted(c.weekdays)))
    text = "time " + " ".join(parts)

    def check(env: Env) -> bool:
        local = env.place.local(env.now)
        seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        ok = time_in_window(c, seconds, local.weekday())
        env.note(text, ok, f"it is {local:%a %H:%M:%S}")
        return ok

    return check


def _sun(c: SunCondition) -> Check:
    parts = []
    if c.after is not None:
        parts.append(f"after {c.after}{c.after_offset_s:+g}s")
    if c.before is not None:
        parts.append(f"before {c.before}{c.before_offset_s:+g}s")
    text = "sun " + " and ".join(parts)

    def check(env: Env) -> bool:
        day = env.place.local(env.now).date()
        ok, detail = True, []
        for event, offset_s, is_after in ((c.after, c.after_offset_s, True),
                                          (c.before, c.before_offset_s, False)):
            if event is None:
                continue
            ts = env.place.sun(event, day)
            if ts is None:
                ok = False
                detail.append(f"no {event} today")
                continue
            ts += offset_s
            ok = ok and (env.now >= ts if is_after else env.now < ts)
            detail.append(f"{event}{offset_s:+g}s at {env.place.local(ts):%H:%M}")
        env.note(text, ok, ", ".join(detail))
        return ok

    return check


def _group(c: AllCondition | AnyCondition | NotCondition, name_of: NameOf) -> Check:
    checks = tuple(compile_condition(i, name_of) for i in c.conditions)
    kind = {AllCondition: "and", AnyCondition: "or", NotCondition: "not"}[type(c)]

    def check(env: Env) -> bool:
        at = len(env.notes) if env.notes is not None else 0
        env.note(kind, False)
        env.depth += 1
        if isinstance(c, AllCondition):
            ok = all(ch(env) for ch in checks)
        elif isinstance(c, AnyCondition):
            ok = any(ch(env) for ch in checks)
        else:
            ok = not any(ch(env) for ch in checks)
        env.depth -= 1
        if env.notes is not None:
            env.notes[at] = CondNote(env.depth, kind, ok)
        return ok

    return check


class _NotesBySeen:
    """The notes of a condition that depends on one value it sees (the mode, the trigger): the
    same for the same value at the same depth, so each is made once, not per run (a mode
    condition guards the commonest rules; a hub has a handful of modes and triggers)."""

    __slots__ = ("_made", "_saw", "_text")

    def __init__(self, text: str, saw: str) -> None:
        self._text = text
        self._saw = saw  # what it saw, with {} for the value
        self._made: dict[tuple[str, int], CondNote] = {}

    def add(self, env: Env, seen: str, is_true: bool) -> None:
        """Note the result, if this evaluation keeps notes."""
        if env.notes is not None:
            note = self._made.get((seen, env.depth))
            if note is None:
                note = self._made[seen, env.depth] = CondNote(env.depth, self._text, is_true,
                                                              self._saw.format(seen))
            env.notes.append(note)


def compile_condition(c: Condition, name_of: NameOf = str) -> Check:
    """A condition as a closure over its (resolved) data."""
    if isinstance(c, StateCondition):
        return _state(c, name_of)
    if isinstance(c, NumericCondition):
        return _numeric(c, name_of)
    if isinstance(c, TimeCondition):
        return _time(c)
    if isinstance(c, SunCondition):
        return _sun(c)
    if isinstance(c, ModeCondition):
        modes = c.modes
        mode_notes = _NotesBySeen(f"mode is {' or '.join(modes)}", "mode is {}")

        def mode_check(env: Env) -> bool:
            ok = env.mode in modes
            mode_notes.add(env, env.mode, ok)
            return ok

        return mode_check
    if isinstance(c, TriggeredByCondition):
        ids = c.trigger_ids
        trigger_notes = _NotesBySeen(f"triggered by {' or '.join(ids)}", "trigger was {}")

        def trigger_check(env: Env) -> bool:
            ok = env.trigger_id in ids
            trigger_notes.add(env, env.trigger_id, ok)
            return ok

        return trigger_check
    return _group(c, name_of)


def compile_conditions(conditions: tuple[Condition, ...], name_of: NameOf = str) -> Check:
    """A list of conditions (all must hold; evaluation stops at the first that does not)."""
    checks = tuple(compile_condition(c, name_of) for c in conditions)
    if not checks:
        return lambda env: True
    if len(checks) == 1:
        return checks[0]
    return lambda env: all(check(env) for check in checks)
