"""Changing one rule while the others run: their delays, waits and ``for`` timers go on."""

import asyncio
import json
from functools import partial

import pytest

from hubd.core.errors import RuleError
from hubd.core.state import StateEntry
from rules.parse import RuleTextError
from rules.trace import Outcome
from tests.rules.conftest import START, Harness

RULES = """\
- id: porch_later
  triggers: [{kind: button, device: Kitchen remote}]
  actions:
    - {kind: delay, duration: 2m}
    - {kind: command, device: Porch light, command: switch.on}
- id: door_held
  triggers: [{kind: state, device: Front door, attribute: is_open, to: true, for: 3m}]
  actions: [{kind: command, device: Hall light, command: switch.on}]
- id: lamp
  triggers: [{kind: state, device: Hall motion, attribute: is_active, to: true}]
  actions: [{kind: command, device: Living lamp, command: switch.on}]
- id: waiter
  triggers: [{kind: button, device: Kitchen remote, button: "1"}]
  actions:
    - {kind: wait, trigger: {kind: button, device: Kitchen remote, button: "2"}, timeout: 10m}
    - {kind: command, device: Living lamp, command: switch.on}
"""

LAMP_V2 = """\
id: lamp
triggers: [{kind: state, device: Hall motion, attribute: is_active, to: true}]
actions: [{kind: command, device: Kitchen light, command: switch.on}]
"""


async def _pending(harness: Harness) -> None:
    await harness.start(RULES)
    await harness.press("Kitchen remote")  # porch_later parks in its 2 min delay
    await harness.report("Front door", "contact.is_open", True)  # door_held's 3 min for
    assert sorted(t.rule_id for t in harness.persistence.timers.values()) == [
        "door_held", "porch_later", "waiter"]


async def test_replacing_one_rule_keeps_every_other_rules_timers(harness: Harness) -> None:
    await _pending(harness)
    assert harness.engine.put_rule(harness.engine.parse_rule(LAMP_V2)) == []
    await harness.report("Hall motion", "motion.is_active", True)
    assert harness.house.sent() == ["Kitchen light: switch.on"]  # the new lamp rule
    await harness.press("Kitchen remote", "2")  # the waiting run goes on
    assert harness.house.sent()[-1] == "Living lamp: switch.on"
    await harness.engine.advance(180)
    assert harness.house.sent()[-2:] == ["Porch light: switch.on", "Hall light: switch.on"]


async def test_replacing_a_rule_drops_only_its_own_timers(harness: Harness) -> None:
    await _pending(harness)
    replaced = harness.engine.parse_rule(
        "id: porch_later\ntriggers: [{kind: button, device: Kitchen remote}]\n"
        "actions: [{kind: delay, duration: 5m}, "
        "{kind: command, device: Porch light, command: switch.on}]\n")
    harness.engine.put_rule(replaced)
    await harness.engine.settle()
    assert sorted(t.rule_id for t in harness.persistence.timers.values()) == [
        "door_held", "waiter"]
    await harness.engine.advance(400)
    assert harness.house.sent() == ["Hall light: switch.on"]
    assert [t.rule_id for t in harness.persistence.timers.values()] == ["waiter"]  # 10 min
    assert harness.engine.traces("porch_later")[-1].outcome is Outcome.CANCELLED


async def test_removing_a_rule_keeps_the_others(harness: Harness) -> None:
    await _pending(harness)
    harness.engine.remove_rule("door_held")
    assert [s.rule_id for s in harness.engine.statuses()] == ["porch_later", "lamp", "waiter"]
    await harness.engine.advance(200)
    assert harness.house.sent() == ["Porch light: switch.on"]
    assert [t.rule_id for t in harness.persistence.timers.values()] == ["waiter"]
    with pytest.raises(KeyError):
        harness.engine.remove_rule("door_held")


async def test_adding_a_rule_while_running(harness: Harness) -> None:
    await _pending(harness)
    rule = harness.engine.parse_rule(json.dumps({
        "id": "new", "triggers": [{"kind": "button", "device": "Kitchen remote"}],
        "actions": [{"kind": "command", "device": "Living lamp", "command": "switch.on"}]}))
    assert harness.engine.put_rule(rule) == []
    await harness.press("Kitchen remote")
    assert harness.house.sent() == ["Living lamp: switch.on"]
    assert harness.engine.rule("new").name == "new"


async def test_disable_and_enable_by_id(harness: Harness) -> None:
    await _pending(harness)
    harness.engine.disable("door_held")
    assert [(s.rule_id, s.reason) for s in harness.engine.disabled()] == [
        ("door_held", "disabled through the API")]
    assert harness.persistence.rule_states["door_held"].is_enabled is False
    await harness.engine.advance(200)
    assert harness.house.sent() == ["Porch light: switch.on"]  # door_held's for was dropped
    assert harness.engine.enable("door_held") == []
    await harness.report("Front door", "contact.is_open", False)
    await harness.report("Front door", "contact.is_open", True)
    await harness.engine.advance(180)
    assert harness.house.sent()[-1] == "Hall light: switch.on"


def test_rule_text_errors_name_source_line_and_field() -> None:
    from rules.parse import parse_rule_text

    with pytest.raises(RuleTextError) as info:
        parse_rule_text("id: x\ntriggers: [{kind: button, device: D}]\nactions:\n"
                        "  - {kind: delay, duration: soon}\n", "api:phone")
    assert isinstance(info.value, RuleError)
    assert str(info.value) == ("api:phone:4: actions[0].duration: 'soon' is not a duration "
                               "(write e.g. 30s, 2m, 1h30m or 0:02:00)")
    text = '{\n  "id": "x",\n  "triggers": [{"kind": "button", "device": "D"}],\n  "actions": 3\n}'
    with pytest.raises(RuleTextError) as info:
        parse_rule_text(text)
    assert info.value.problems[0].line == 4 and info.value.problems[0].field == "actions"
    with pytest.raises(RuleTextError) as info:
        parse_rule_text('{"id": "x",\n "triggers": [}')
    assert str(info.value).startswith("api:2: JSON:")
    with pytest.raises(RuleTextError, match="must be one rule"):
        parse_rule_text("- id: x\n")
    with pytest.raises(RuleTextError, match="nested"):
        parse_rule_text("[" * 100_000)


async def test_dry_run_of_a_rule_not_loaded(harness: Harness) -> None:
    await harness.start(RULES)
    rule = harness.engine.parse_rule(LAMP_V2)
    trace = harness.engine.dry_run(rule, [StateEntry("virtual:4", "motion.is_active", True,
                                                     START)], START)
    assert trace.is_dry_run and trace.outcome is Outcome.DONE
    assert [s.text for s in trace.steps] == ["switch.on Kitchen light"]
    assert harness.house.commands == []


async def test_a_flapping_for_trigger_leaves_no_pile_of_dead_timers(harness: Harness) -> None:
    await harness.start(RULES)
    timers = harness.engine._timers  # the heap itself: what this test is about
    for n in range(2_000):  # each open starts a 3 min ``for``, each close cancels it
        await harness.report("Front door", "contact.is_open", n % 2 == 0)
    assert timers.size < 200, timers.size  # was 1,000 dead timers until their deadlines
    assert harness.house.commands == []


async def test_a_rule_put_while_running_fires_straight_into_the_runner(harness: Harness) -> None:
    await harness.start(RULES)
    assert harness.engine.put_rule(harness.engine.parse_rule(LAMP_V2)) == []
    engine = harness.engine
    slot = engine._rules.slots["lamp"]  # the hot path's shape is what this test is about
    (watch,) = slot.watches
    # A partial of the runner's own fire: no Python frame between the index and the runner.
    assert isinstance(watch.on_fire, partial)
    assert watch.on_fire.func == engine._runner.fire and watch.on_fire.args == (slot,)


async def test_load_async_lets_the_loop_run_between_batches(harness: Harness) -> None:
    from rules.parse import parse_rules

    text = "".join(f"- id: r{n}\n  triggers: [{{kind: button, device: Kitchen remote}}]\n"
                   f"  actions: [{{kind: command, device: Hall light, command: on}}]\n"
                   for n in range(1_000))
    rules, problems = parse_rules(text, "many.yaml")
    assert problems == []
    turns = 0

    async def other_work() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    try:
        assert await harness.engine.load_async(rules, batch=100) == []
    finally:
        ticker.cancel()
    assert turns >= 10
    assert len(harness.engine.statuses()) == 1_000
