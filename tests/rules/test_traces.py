"""Traces explain runs and non-runs, are kept (20 per rule) and persisted; dry runs simulate."""

import json

import pytest

from hubd.core.state import StateEntry
from rules.parse import parse_rules
from rules.trace import Outcome, Trace
from tests.rules.conftest import Harness

GUARDED = """\
- id: night_door
  name: Door at night
  mode: parallel
  max_runs: 50
  triggers: [{kind: state, device: Front door, attribute: is_open, to: true}]
  conditions:
    - {kind: mode, mode: [night, away]}
    - kind: or
      conditions:
        - {kind: state, device: Porch light, attribute: on, state: false}
        - {kind: numeric, device: Kitchen sensor, attribute: celsius, below: 10}
  actions:
    - {kind: command, device: Porch light, command: switch.on}
    - {kind: delay, duration: 5m}
    - {kind: command, device: Porch light, command: switch.off}
"""


async def test_a_rule_that_did_not_fire_says_why(harness: Harness) -> None:
    await harness.start(GUARDED)
    await harness.report("Front door", "contact.is_open", True)
    assert harness.house.commands == []
    trace = harness.engine.traces("night_door")[-1]
    assert trace.outcome is Outcome.CONDITIONS_FALSE
    assert [(c.text, c.is_true, c.detail) for c in trace.conditions] == [
        ("mode is night or away", False, "mode is home")]
    text = trace.explain()
    assert "conditions_false" in text and "✗ mode is night or away — mode is home" in text
    assert "Front door contact.is_open unknown → true" in text

    harness.engine.set_mode("night")
    harness.house.report("Porch light", "switch.on", True)
    harness.house.report("Kitchen sensor", "temperature.celsius", 21.0)
    await harness.report("Front door", "contact.is_open", False)
    await harness.report("Front door", "contact.is_open", True)
    trace = harness.engine.traces("night_door")[-1]
    assert [(c.depth, c.text, c.is_true) for c in trace.conditions] == [
        (0, "mode is night or away", True),
        (0, "or", False),
        (1, "Porch light switch.on is false", False),
        (1, "Kitchen sensor temperature.celsius below 10", False),
    ]


async def test_a_run_trace_has_timed_steps_with_radio_results(harness: Harness) -> None:
    await harness.start(GUARDED)
    harness.engine.set_mode("away")
    harness.house.report("Porch light", "switch.on", False)
    await harness.report("Front door", "contact.is_open", True)
    running = harness.engine.traces("night_door")[-1]
    assert running.outcome is Outcome.RUNNING
    await harness.engine.advance(300)
    trace = harness.engine.traces("night_door")[-1]
    assert trace.outcome is Outcome.DONE
    assert [(s.path, s.kind, s.status) for s in trace.steps] == [
        ("0", "command", "confirmed"), ("1", "delay", "done"), ("2", "command", "confirmed")]
    delay = trace.steps[1]
    assert delay.end_ts is not None and delay.end_ts - delay.start_ts == 300
    assert trace.steps[0].latency_s == 0.002
    assert trace.trigger.context.origin == "physical"


async def test_last_20_traces_are_kept_and_persisted_as_json(harness: Harness) -> None:
    await harness.start(GUARDED)
    for _ in range(25):
        await harness.report("Front door", "contact.is_open", True)
        await harness.report("Front door", "contact.is_open", False)
    traces = harness.engine.traces("night_door")
    assert len(traces) == 20
    await harness.engine.advance(5)  # the write-behind flush (every 5 s in these tests)
    stored = harness.persistence.saved_traces()["night_door"]
    assert len(stored) == 20
    assert [Trace.from_json(body) for body in stored] == traces
    assert json.loads(stored[-1])["outcome"] == "conditions_false"


def test_unreadable_trace_json_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a rule trace"):
        Trace.from_json('{"v": 1}')


async def test_dry_run_simulates_without_touching_devices(harness: Harness) -> None:
    await harness.start(GUARDED)
    (rule,) = parse_rules(GUARDED, "g.yaml")[0]
    now = harness.house.clock.time()
    states = [StateEntry("virtual:2", "switch.on", False, now - 60)]
    harness.engine.set_mode("night")
    trace = harness.engine.dry_run(rule, states, now)
    assert trace.is_dry_run and trace.outcome is Outcome.DONE
    assert [(s.kind, s.status) for s in trace.steps] == [
        ("command", "simulated"), ("delay", "done"), ("command", "simulated")]
    assert trace.end_ts == now + 300
    assert harness.house.commands == []
    assert harness.persistence.timers == {}
    assert harness.engine.traces("night_door") == []

    states = [StateEntry("virtual:2", "switch.on", True, now - 60),
              StateEntry("virtual:8", "temperature.celsius", 15.0, now - 60)]
    trace = harness.engine.dry_run(rule, states, now)
    assert trace.outcome is Outcome.CONDITIONS_FALSE
    assert "✗ Kitchen sensor temperature.celsius below 10 — is 15.0" in trace.explain()


async def test_dry_run_of_a_rule_with_unknown_devices_fails_with_reasons(
        harness: Harness) -> None:
    (rule,) = parse_rules(GUARDED.replace("Porch light", "Porch lamp"), "g.yaml")[0]
    trace = harness.engine.dry_run(rule, [], harness.house.clock.time())
    assert trace.outcome is Outcome.FAILED
    assert "g.yaml:10: rule night_door: conditions[1]" in trace.note


async def test_each_run_is_announced_on_the_bus(harness: Harness) -> None:
    from hubd.core.events import RuleRan

    ran: list[RuleRan] = []
    harness.house.bus.subscribe((RuleRan,), ran.append, name="ran")
    await harness.start(GUARDED)
    await harness.report("Front door", "contact.is_open", True)  # conditions false: no word
    harness.engine.set_mode("night")
    harness.house.report("Porch light", "switch.on", False)
    await harness.report("Front door", "contact.is_open", False)
    await harness.report("Front door", "contact.is_open", True)
    await harness.engine.advance(5 * 60)
    await harness.house.bus.drain()
    assert [(r.rule_id, r.outcome, r.commands) for r in ran] == [("night_door", "done", 2)]
    assert ran[0].context.origin == "rule:night_door" and ran[0].context.depth == 1
    assert ran[0].end_ts - ran[0].trigger_ts == pytest.approx(300)


PLAIN = """\
- id: door_light
  mode: parallel
  max_runs: 50
  triggers: [{kind: state, device: Front door, attribute: is_open, to: true}]
  actions:
    - {kind: command, device: Porch light, command: switch.on}
    - {kind: command, device: Hall light, command: level.set, args: {level_pct: 40}}
"""


async def test_a_plain_run_is_traced_alike_and_announced_only_to_listeners(
        harness: Harness) -> None:
    from hubd.core.events import RuleRan

    await harness.start(PLAIN)
    await harness.report("Front door", "contact.is_open", True)  # nobody listens: no RuleRan
    ran: list[RuleRan] = []
    harness.house.bus.subscribe((RuleRan,), ran.append, name="ran")
    await harness.report("Front door", "contact.is_open", False)
    await harness.report("Front door", "contact.is_open", True)
    await harness.house.bus.drain()
    first, second = harness.engine.traces("door_light")
    for trace in (first, second):
        assert trace.outcome is Outcome.DONE
        assert [(s.path, s.kind, s.text, s.status) for s in trace.steps] == [
            ("0", "command", "switch.on Porch light", "confirmed"),
            ("1", "command", "level.set Hall light {'level_pct': 40.0}", "confirmed")]
    assert [(r.run_id, r.commands) for r in ran] == [(second.run_id, 2)]
