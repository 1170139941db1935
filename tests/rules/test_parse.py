"""Parsing rule files: every kind of item, and errors that name file, line and field."""

import datetime as dt
from pathlib import Path

import pytest

from hubd.core.model import ButtonAction
from rules.model import (
    AllCondition,
    AnyCondition,
    Availability,
    AvailabilityTrigger,
    ButtonTrigger,
    ChooseAction,
    CommandAction,
    DelayAction,
    HubStartedTrigger,
    IfAction,
    IntervalTrigger,
    ModeCondition,
    NotCondition,
    NotifyAction,
    NumericCondition,
    NumericTrigger,
    OnTimeout,
    RepeatAction,
    RunMode,
    SceneAction,
    SetModeAction,
    StateCondition,
    StateTrigger,
    StopAction,
    SunCondition,
    SunEvent,
    SunTrigger,
    TimeCondition,
    TimeTrigger,
    TriggeredByCondition,
    WaitAction,
)
from rules.parse import load_rules_dir, parse_rules

EVERYTHING = """\
scenes:
  - name: Evening
    transition: 2s
    states:
      Kitchen light: {level_pct: 40}
      Living lamp: {on: true}
rules:
  - id: everything
    name: Every kind there is
    mode: queued
    max_runs: 3
    triggers:
      - {kind: state, device: Front door, attribute: contact.is_open, from: false, to: true,
         for: 1m30s, origin: physical}
      - {kind: state, device: Front door, attribute: is_open, not_to: [false], not_from: true}
      - {kind: numeric, device: Kitchen sensor, attribute: celsius, above: 25, below: 40,
         hysteresis: 0.5, for: 5m}
      - {kind: button, device: Kitchen remote, button: 1, action: multi_tap, count: 2}
      - {kind: time, at: "07:30", weekdays: [mon, Friday]}
      - {kind: sun, event: sunset, offset: -15m}
      - {kind: interval, every: 10m}
      - {kind: availability, device: Hall motion, to: offline, for: 2m}
      - {kind: hub_started, id: boot}
    conditions:
      - {kind: state, device: Living lamp, attribute: on, state: false, for: 10s}
      - {kind: numeric, device: Kitchen sensor, attribute: temperature.celsius, below: 30}
      - {kind: time, after: "22:00", before: "06:00"}
      - {kind: weekday, weekdays: [sat, sun]}
      - {kind: sun, after: sunset, after_offset: 30m, before: sunrise}
      - {kind: mode, mode: [home, night]}
      - {kind: trigger, id: boot}
      - kind: or
        conditions:
          - {kind: mode, mode: away}
          - kind: not
            conditions: [{kind: mode, mode: night}]
      - kind: and
        conditions: [{kind: mode, mode: home}]
    actions:
      - {kind: command, device: Hall light, command: level.set, args: {level_pct: 80},
         transition: 2s}
      - {kind: scene, scene: evening}
      - {kind: delay, duration: "0:02:00"}
      - kind: wait
        trigger: {kind: state, device: Hall motion, attribute: is_active, to: false}
        timeout: 5m
        on_timeout: stop
      - kind: if
        conditions: [{kind: mode, mode: night}]
        then: [{kind: command, device: Porch light, command: "on"}]
        else: [{kind: command, device: Porch light, command: switch.off}]
      - kind: choose
        options:
          - conditions: [{kind: mode, mode: away}]
            actions: [{kind: notify, message: away!, level: warning}]
        default: [{kind: stop, reason: nothing to do}]
      - kind: repeat
        count: 3
        actions: [{kind: command, device: Living lamp, command: switch.toggle}]
        until: [{kind: mode, mode: away}]
      - {kind: set_mode, mode: night}
      - {kind: stop}
      - {kind: notify, message: done}
"""


def test_every_kind_parses_into_typed_items() -> None:
    rules, problems = parse_rules(EVERYTHING, "all.yaml")
    assert problems == []
    (rule,) = rules
    assert (rule.id, rule.name, rule.mode, rule.max_runs) == (
        "everything", "Every kind there is", RunMode.QUEUED, 3)
    t = rule.triggers
    assert t[0] == StateTrigger(t[0].loc, "0", "Front door", "contact.is_open", to=(True,),
                                from_=(False,), for_s=90.0, origins=("physical",))
    assert isinstance(t[1], StateTrigger) and t[1].not_to == (False,) and t[1].to is None
    assert isinstance(t[2], NumericTrigger) and (t[2].above, t[2].below, t[2].hysteresis,
                                                 t[2].for_s) == (25, 40, 0.5, 300)
    assert t[3] == ButtonTrigger(t[3].loc, "3", "Kitchen remote", "1", ButtonAction.MULTI_TAP, 2)
    assert t[4] == TimeTrigger(t[4].loc, "4", dt.time(7, 30), frozenset({0, 4}))
    assert t[5] == SunTrigger(t[5].loc, "5", SunEvent.SUNSET, -900.0)
    assert t[6] == IntervalTrigger(t[6].loc, "6", 600.0)
    assert t[7] == AvailabilityTrigger(t[7].loc, "7", "Hall motion", Availability.OFFLINE, 120)
    assert t[8] == HubStartedTrigger(t[8].loc, "boot")
    kinds = [type(c) for c in rule.conditions]
    assert kinds == [StateCondition, NumericCondition, TimeCondition, TimeCondition,
                     SunCondition, ModeCondition, TriggeredByCondition, AnyCondition,
                     AllCondition]
    assert isinstance(rule.conditions[7], AnyCondition)
    assert isinstance(rule.conditions[7].conditions[1], NotCondition)
    a = rule.actions
    assert [type(x) for x in a] == [CommandAction, SceneAction, DelayAction, WaitAction,
                                    IfAction, ChooseAction, RepeatAction, SetModeAction,
                                    StopAction, NotifyAction]
    assert isinstance(a[0], CommandAction)
    assert dict(a[0].args) == {"level_pct": 80.0, "transition_s": 2.0}
    assert isinstance(a[1], SceneAction) and a[1].scene is not None
    assert a[1].scene.name == "Evening" and len(a[1].scene.states) == 2
    assert isinstance(a[2], DelayAction) and a[2].delay_s == 120
    assert isinstance(a[3], WaitAction) and a[3].on_timeout is OnTimeout.STOP
    assert a[3].timeout_s == 300


def test_locations_are_one_based_lines_with_field_paths() -> None:
    rules, _ = parse_rules(EVERYTHING, "all.yaml")
    rule = rules[0]
    assert (rule.loc.file, rule.loc.line) == ("all.yaml", 8)
    assert rule.triggers[2].loc.line == 16
    assert rule.triggers[2].loc.field == "triggers[2]"
    assert rule.actions[3].loc.field == "actions[3]"


@pytest.mark.parametrize(("yaml_text", "line", "field", "message"), [
    ("- id: r\n  triggers: [{kind: stat, device: x, attribute: on}]\n  actions: []\n",
     2, "triggers[0].kind", "unknown kind 'stat'"),
    ("- id: r\n  triggers:\n    - kind: state\n      device: x\n      attribute: on\n"
     "      too: true\n  actions: []\n", 6, "triggers[0].too", "unknown field 'too'"),
    ("- id: r\n  triggers:\n    - kind: time\n      at: '25:00'\n  actions: []\n",
     4, "triggers[0].at", "not a time of day"),
    ("- id: r\n  triggers: [{kind: interval, every: 5 minutes}]\n  actions: []\n",
     2, "triggers[0].every", "not a duration"),
    ("- id: r\n  triggers: [{kind: state, device: x, attribute: contact.is_open, to: 3}]\n"
     "  actions: []\n", 2, "triggers[0].to", "must be true or false"),
    ("- id: r\n  triggers: [{kind: hub_started}]\n  actions:\n    - kind: command\n"
     "      device: x\n      command: level.set\n      args: {level_pct: 120}\n",
     7, "actions[0].args", "between 0 and 100"),
    ("- id: r\n  triggers: [{kind: hub_started}]\n  actions: [{kind: command, device: x,"
     " command: switch.explode}]\n", 3, "actions[0].command", "unknown command"),
    ("- id: r\n  triggers: [{kind: numeric, device: x, attribute: temperature.celsius}]\n"
     "  actions: []\n", 2, "triggers[0]", "needs above, below or both"),
    ("- id: r\n  triggers: []\n  actions: []\n", 2, "triggers", "at least one trigger"),
    ("- id: r\n  triggers: [{kind: hub_started}]\n", 1, "", "needs 'actions'"),
    ("- id: bad id!\n  triggers: [{kind: hub_started}]\n  actions: []\n", 1, "id",
     "not a rule id"),
    ("- id: r\n  triggers: [{kind: hub_started}]\n  actions: [{kind: scene, scene: Nope}]\n",
     3, "actions[0]", "no scene named 'Nope'"),
    ("- id: r\n  triggers: [{kind: button, device: x, count: 2}]\n  actions: []\n", 2,
     "triggers[0].count", "count goes with action: multi_tap"),
    ("- id: r\n  triggers: [{kind: hub_started}]\n  actions: [{kind: repeat, count: 0,"
     " actions: []}]\n", 3, "actions[0].count", "between 1 and 1000"),
    ("- id: r\n  mode: sometimes\n  triggers: [{kind: hub_started}]\n  actions: []\n", 2,
     "mode", "'sometimes' is not one of single, restart, queued, parallel"),
    ("rules:\n  - id: r\n    triggers: [{kind: hub_started}\n", 4, "", "YAML syntax"),
])
def test_errors_name_file_line_and_field(yaml_text: str, line: int, field: str,
                                         message: str) -> None:
    rules, problems = parse_rules(yaml_text, "house.yaml")
    assert rules == []
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.file, problem.line, problem.field) == ("house.yaml", line, field), problem
    assert message in problem.message
    assert str(problem).startswith(f"house.yaml:{line}: ")
    if problem.rule_id:
        assert str(problem).startswith(f"house.yaml:{line}: rule {problem.rule_id}: {field}")


def test_a_broken_rule_never_stops_the_others() -> None:
    text = """\
rules:
  - id: good1
    triggers: [{kind: hub_started}]
    actions: [{kind: notify, message: one}]
  - id: broken
    triggers: [{kind: hub_started}]
    actions: [{kind: delay, duration: soon}]
  - id: good2
    triggers: [{kind: hub_started}]
    actions: [{kind: notify, message: two}]
"""
    rules, problems = parse_rules(text, "f.yaml")
    assert [r.id for r in rules] == ["good1", "good2"]
    assert [(p.rule_id, p.line, p.field) for p in problems] == [
        ("broken", 7, "actions[0].duration")]


def test_directory_links_scenes_across_files_and_reports_duplicates(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "scenes:\n  - name: Evening\n    states: {Living lamp: {on: true}}\n"
        "rules:\n  - id: one\n    triggers: [{kind: hub_started}]\n"
        "    actions: [{kind: notify, message: hi}]\n")
    (tmp_path / "b.yml").write_text(
        "- id: two\n  triggers: [{kind: hub_started}]\n  actions: [{kind: scene, scene: Evening}]\n"
        "- id: one\n  triggers: [{kind: hub_started}]\n  actions: []\n")
    (tmp_path / "notes.txt").write_text("not a rule file")
    (tmp_path / "empty.yaml").write_text("")
    rules, problems = load_rules_dir(tmp_path)
    assert [r.id for r in rules] == ["one", "two"]
    assert len(problems) == 1
    assert problems[0].file.endswith("b.yml") and problems[0].line == 4
    assert "already used at" in problems[0].message and "a.yaml:5" in problems[0].message


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90.0), ("1.5", 1.5), ("'90s'", 90.0), ("2m", 120.0), ("1h30m", 5400.0),
    ("500ms", 0.5), ("'0:02:00'", 120.0), ("'1:00'", 3600.0),
])
def test_durations(text: str, seconds: float) -> None:
    rules, problems = parse_rules(
        f"- id: r\n  triggers: [{{kind: hub_started}}]\n"
        f"  actions: [{{kind: delay, duration: {text}}}]\n", "d.yaml")
    assert problems == []
    action = rules[0].actions[0]
    assert isinstance(action, DelayAction) and action.delay_s == seconds
