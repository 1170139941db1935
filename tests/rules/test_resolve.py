"""Resolving references against the registry: short names, capabilities, scenes, values."""

from rules.model import CommandAction, SceneAction, StateTrigger
from rules.parse import parse_rules
from rules.persistence import MemoryPersistence
from rules.resolve import Resolver
from tests.rules.conftest import make_state


def _resolve(text: str) -> tuple[object, list[str]]:
    rules, problems = parse_rules(text, "r.yaml")
    assert problems == []
    resolved, problems = Resolver(make_state()).resolve(rules[0])
    return resolved, [str(p) for p in problems]


def test_short_names_become_ids_and_qualified_names() -> None:
    resolved, problems = _resolve("""\
- id: r
  triggers: [{kind: state, device: front DOOR, attribute: is_open, to: true}]
  actions:
    - {kind: command, device: virtual:1, command: set, args: {level_pct: 10}}
    - {kind: command, device: Porch light, command: "on"}
""")
    assert problems == []
    trigger = resolved.triggers[0]  # type: ignore[attr-defined]
    assert isinstance(trigger, StateTrigger)
    assert (trigger.device, trigger.attribute) == ("virtual:3", "contact.is_open")
    a0, a1 = resolved.actions  # type: ignore[attr-defined]
    assert isinstance(a0, CommandAction) and a0.command == "level.set"
    assert isinstance(a1, CommandAction) and (a1.device, a1.command) == ("virtual:2", "switch.on")


def test_every_problem_is_reported_with_its_place() -> None:
    resolved, problems = _resolve("""\
- id: r
  triggers:
    - {kind: state, device: Front door, attribute: level_pct, to: 3}
    - {kind: numeric, device: Front door, attribute: is_open, above: 1}
    - {kind: button, device: Porch light}
  conditions:
    - {kind: state, device: Attic, attribute: on, state: true}
  actions:
    - {kind: command, device: Hall light, command: lock}
""")
    assert resolved is None
    assert problems == [
        "r.yaml:3: rule r: triggers[0]: Front door has no attribute 'level_pct'",
        "r.yaml:4: rule r: triggers[1]: contact.is_open is not a number",
        "r.yaml:5: rule r: triggers[2]: Porch light has no buttons",
        "r.yaml:7: rule r: conditions[0]: no device has the id or name 'Attic' (yet)",
        "r.yaml:9: rule r: actions[0]: Hall light has no command 'lock'",
    ]


def test_ambiguous_short_attribute_asks_to_qualify() -> None:
    _, problems = _resolve("""\
- id: r
  triggers: [{kind: state, device: Kitchen sensor, attribute: pct, to: 3}]
  actions: []
""")
    assert problems == []  # battery.pct is the only "pct" on a temperature sensor
    _, problems = _resolve("""\
- id: r
  triggers: [{kind: numeric, device: Kitchen sensor, attribute: celsius, above: 300}]
  actions: [{kind: command, device: Kitchen sensor, command: "on"}]
""")
    assert problems == ["r.yaml:3: rule r: actions[0]: Kitchen sensor has no command 'on'"]


def test_scene_states_become_commands_and_bad_ones_are_reported() -> None:
    resolved, problems = _resolve("""\
scenes:
  - name: Night
    transition: 5s
    states:
      Hall light: {level_pct: 5, on: true}
      Living lamp: {switch.on: false}
rules:
  - id: r
    triggers: [{kind: hub_started}]
    actions: [{kind: scene, scene: Night}]
""")
    assert problems == []
    (scene,) = resolved.actions  # type: ignore[attr-defined]
    assert isinstance(scene, SceneAction)
    assert [(c.device, c.command, dict(c.args)) for c in scene.commands] == [
        ("virtual:1", "level.set", {"level_pct": 5.0, "transition_s": 5.0}),
        ("virtual:1", "switch.on", {}),
        ("virtual:7", "switch.off", {}),
    ]
    _, problems = _resolve("""\
scenes:
  - name: Odd
    states:
      Front door: {is_open: true}
rules:
  - id: r
    triggers: [{kind: hub_started}]
    actions: [{kind: scene, scene: Odd}]
""")
    assert problems == ["r.yaml:4: rule r: scenes[0].states.Front door.is_open: contact.is_open "
                        "cannot be set by a scene"]


def test_trace_flush_is_bounded_per_tick() -> None:
    from hubd.core.model import Context
    from rules.slot import TraceRing
    from rules.trace import Trace, TriggerInfo
    from rules.tracekeep import TraceKeeper
    persistence = MemoryPersistence()
    keeper = TraceKeeper(persistence)
    info = TriggerInfo("0", "state", "x", 0.0, Context.new("physical"))
    for rule in ("a", "b"):
        ring = TraceRing(rule, 3)
        for n in range(5):
            if ring.add(Trace(rule, f"{rule}{n}", info, float(n), "c", 0)):
                keeper.waiting(ring)
    assert keeper.flush(limit=4) == 4
    saved = persistence.saved_traces()
    assert sorted(saved) == ["a", "b"] and len(saved["a"]) == 2  # round robin
    assert keeper.flush() == 2  # only the last 3 of each rule were kept waiting
    assert [Trace.from_json(b).run_id for b in persistence.saved_traces()["a"]] == [
        "a2", "a3", "a4"]
