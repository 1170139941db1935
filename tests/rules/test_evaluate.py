"""The pure evaluator: trigger matching, hysteresis, time windows, and condition notes."""

import datetime as dt

from hubd.core.model import Value
from hubd.core.state import StateEntry
from rules.evaluate import (
    Env,
    compile_conditions,
    initially_armed,
    numeric_step,
    origin_allows,
    state_change_matches,
    time_in_window,
)
from rules.model import (
    AnyCondition,
    Loc,
    ModeCondition,
    NotCondition,
    NumericCondition,
    NumericTrigger,
    StateCondition,
    StateTrigger,
    SunCondition,
    SunEvent,
    TimeCondition,
)
from rules.schedule import Place
from rules.sun import Observer
from rules.trace import CondNote

L = Loc("t.yaml", 1, "")
BERLIN = Place("Europe/Berlin", Observer(52.52, 13.405))


class States:
    """A tiny state reader."""

    def __init__(self, **values: tuple[Value, float]) -> None:
        self._entries = {k.replace("__", "."): StateEntry("d", k.replace("__", "."), v, ts)
                         for k, (v, ts) in values.items()}

    def entry(self, device_id: str, attribute: str) -> StateEntry | None:
        return self._entries.get(attribute)


def _fires(trigger: NumericTrigger, values: list[float], start: float | None = None) -> list[int]:
    armed = initially_armed(trigger, start)
    fired = []
    for i, v in enumerate(values):
        step = numeric_step(trigger, v, armed)
        armed = step.is_armed
        if step.is_crossing:
            fired.append(i)
    return fired


def test_numeric_fires_once_per_crossing_with_hysteresis() -> None:
    t = NumericTrigger(L, "0", "d", "temperature.celsius", above=25.0, hysteresis=1.0)
    #        0     1     2     3     4     5     6     7     8
    values = [24.0, 25.5, 26.0, 24.5, 25.8, 23.9, 25.1, 26.5, 24.0]
    # 1: crosses; 2: still above; 3: below 25 but not by 1 → no re-arm; 4: no second firing;
    # 5: 23.9 ≤ 24 re-arms; 6: crosses again; 7: still above.
    assert _fires(t, values) == [1, 6]


def test_numeric_below_and_band() -> None:
    below = NumericTrigger(L, "0", "d", "battery.pct", below=20.0, hysteresis=5.0)
    assert _fires(below, [30, 19, 18, 22, 19, 26, 10]) == [1, 6]
    band = NumericTrigger(L, "0", "d", "humidity.pct", above=40.0, below=60.0)
    assert _fires(band, [30, 50, 55, 70, 50, 65, 40, 45]) == [1, 4, 7]


def test_numeric_already_in_range_at_load_does_not_fire() -> None:
    t = NumericTrigger(L, "0", "d", "temperature.celsius", above=25.0)
    assert _fires(t, [27, 28, 20, 26], start=26.0) == [3]


def test_numeric_ignores_non_numbers() -> None:
    t = NumericTrigger(L, "0", "d", "temperature.celsius", above=25.0)
    assert _fires(t, [None, True, 30.0]) == [2]  # type: ignore[list-item]


def test_state_change_matching() -> None:
    t = StateTrigger(L, "0", "d", "contact.is_open", to=(True,), from_=(False,))
    assert state_change_matches(t, False, True)
    assert not state_change_matches(t, None, True)
    anything_but_off = StateTrigger(L, "0", "d", "lock.state", not_to=("jammed",),
                                    not_from=("jammed",))
    assert state_change_matches(anything_but_off, "locked", "unlocked")
    assert not state_change_matches(anything_but_off, "locked", "jammed")
    assert not state_change_matches(anything_but_off, "jammed", "locked")


def test_origin_filter() -> None:
    assert origin_allows((), "rule:x")
    assert origin_allows(("physical",), "physical")
    assert not origin_allows(("physical",), "rule:door")
    assert origin_allows(("rule",), "rule:door")
    assert origin_allows(("rule:door",), "rule:door")
    assert not origin_allows(("rule:door",), "rule:other")


def test_time_window_crosses_midnight() -> None:
    night = TimeCondition(L, dt.time(22), dt.time(6))
    assert time_in_window(night, 23 * 3600, 0)
    assert time_in_window(night, 3 * 3600, 0)
    assert not time_in_window(night, 12 * 3600, 0)
    assert not time_in_window(night, 6 * 3600, 0)  # before is exclusive
    day = TimeCondition(L, dt.time(8), dt.time(18), frozenset({5, 6}))
    assert time_in_window(day, 9 * 3600, 5)
    assert not time_in_window(day, 9 * 3600, 2)


def _env(states: States, now: float, mode: str = "home") -> tuple[Env, list[CondNote]]:
    notes: list[CondNote] = []
    return Env(states, now, mode, "0", BERLIN, notes), notes


def test_conditions_explain_themselves_as_a_tree() -> None:
    states = States(contact__is_open=(True, 100.0), temperature__celsius=(21.5, 50.0))
    check = compile_conditions((
        StateCondition(L, "d", "contact.is_open", (True,), for_s=60),
        AnyCondition(L, (ModeCondition(L, ("away",)),
                         NotCondition(L, (NumericCondition(L, "d", "temperature.celsius",
                                                           above=20.0),)))),
    ))
    env, notes = _env(states, 130.0)
    assert check(env) is False
    # Open for only 30 s: the first condition fails and evaluation stops there.
    assert [(n.depth, n.is_true) for n in notes] == [(0, False)]
    assert "is true for 30s" in notes[0].detail
    env, notes = _env(states, 200.0)
    assert check(env) is False
    assert [(n.depth, n.text, n.is_true) for n in notes] == [
        (0, "d contact.is_open is true for 60s", True),
        (0, "or", False),
        (1, "mode is away", False),
        (1, "not", False),
        (2, "d temperature.celsius above 20", True),
    ]
    env, notes = _env(states, 200.0, mode="away")
    assert check(env) is True


def test_sun_condition_uses_local_day() -> None:
    after_sunset = compile_conditions((SunCondition(L, after=SunEvent.SUNSET),))
    noon = dt.datetime(2024, 6, 21, 12, 0, tzinfo=BERLIN.tz).timestamp()
    late = dt.datetime(2024, 6, 21, 22, 30, tzinfo=BERLIN.tz).timestamp()  # sunset ~21:33
    assert after_sunset(_env(States(), noon)[0]) is False
    env, notes = _env(States(), late)
    assert after_sunset(env) is True
    assert "sunset+0s at 21:3" in notes[0].detail
