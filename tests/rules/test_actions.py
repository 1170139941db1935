"""Every action kind, through the running engine on the in-memory house."""

from hubd.core.events import Notice
from rules.trace import Outcome
from tests.rules.conftest import Harness

HEAD = """\
scenes:
  - name: Evening
    transition: 3s
    states:
      Kitchen light: {level_pct: 40}
      Living lamp: {on: true}
      Porch light: {on: false}
rules:
  - id: r
    triggers: [{kind: button, device: Kitchen remote, button: "1"}]
    actions:
"""


def actions(text: str) -> str:
    return HEAD + "".join(f"      {line}\n" for line in text.strip("\n").splitlines())


async def test_command_carries_rule_context_and_transition(harness: Harness) -> None:
    await harness.start(actions("- {kind: command, device: Hall light, command: set,"
                                " args: {level_pct: 70}, transition: 2s}"))
    await harness.press("Kitchen remote")
    (command,) = harness.house.commands
    assert command.qualified_name == "level.set"
    assert dict(command.args) == {"level_pct": 70.0, "transition_s": 2.0}
    assert command.context.origin == "rule:r"
    assert command.context.depth == 1
    assert command.context.parent_id is not None
    assert command.deadline is not None
    step = harness.engine.traces("r")[-1].steps[0]
    assert (step.status, step.latency_s) == ("confirmed", 0.002)


async def test_scene_sets_every_device_state(harness: Harness) -> None:
    await harness.start(actions("- {kind: scene, scene: Evening}"))
    harness.house.report("Porch light", "switch.on", True)
    await harness.press("Kitchen remote")
    assert harness.house.sent() == ["Kitchen light: level.set", "Living lamp: switch.on",
                                    "Porch light: switch.off"]
    assert dict(harness.house.commands[0].args) == {"level_pct": 40.0, "transition_s": 3.0}
    state = harness.house.state
    assert state.value("virtual:6", "level.level_pct") == 40.0
    assert state.value("virtual:7", "switch.on") is True
    assert state.value("virtual:2", "switch.on") is False


async def test_delay_then_command(harness: Harness) -> None:
    await harness.start(actions("- {kind: delay, duration: 2m}\n"
                                "- {kind: command, device: Porch light, command: 'on'}"))
    await harness.press("Kitchen remote")
    await harness.engine.advance(119)
    assert harness.house.commands == []
    await harness.engine.advance(1)
    assert harness.house.sent() == ["Porch light: switch.on"]


async def test_wait_for_trigger_continues_when_it_fires(harness: Harness) -> None:
    await harness.start(actions("""
- kind: wait
  trigger: {kind: state, device: Front door, attribute: is_open, to: true}
  timeout: 1m
- {kind: command, device: Porch light, command: 'on'}"""))
    await harness.press("Kitchen remote")
    await harness.engine.advance(30)
    assert harness.house.commands == []
    await harness.report("Front door", "contact.is_open", True)
    assert harness.house.sent() == ["Porch light: switch.on"]
    assert harness.engine.traces("r")[-1].steps[0].status == "triggered"


async def test_wait_timeout_continue_or_stop(harness: Harness) -> None:
    await harness.start(actions("""
- kind: wait
  trigger: {kind: state, device: Front door, attribute: is_open, to: true}
  timeout: 1m
- {kind: command, device: Porch light, command: 'on'}
- kind: wait
  trigger: {kind: state, device: Front door, attribute: is_open, to: true}
  timeout: 1m
  on_timeout: stop
- {kind: command, device: Living lamp, command: 'on'}"""))
    await harness.press("Kitchen remote")
    await harness.engine.advance(120)
    assert harness.house.sent() == ["Porch light: switch.on"]
    trace = harness.engine.traces("r")[-1]
    assert trace.outcome is Outcome.TIMED_OUT
    assert [s.status for s in trace.steps] == ["timed out", "confirmed", "timed out"]


async def test_if_and_choose_pick_branches_from_state_and_mode(harness: Harness) -> None:
    await harness.start(actions("""
- kind: if
  conditions: [{kind: state, device: Front door, attribute: is_open, state: true}]
  then: [{kind: command, device: Porch light, command: 'on'}]
  else: [{kind: command, device: Porch light, command: 'off'}]
- kind: choose
  options:
    - conditions: [{kind: mode, mode: away}]
      actions: [{kind: command, device: Living lamp, command: 'on'}]
    - conditions: [{kind: mode, mode: night}]
      actions: [{kind: command, device: Hall light, command: 'switch.on'}]
  default: [{kind: command, device: Kitchen light, command: switch.on}]"""))
    await harness.press("Kitchen remote")
    harness.engine.set_mode("night")
    harness.house.report("Front door", "contact.is_open", True)
    await harness.press("Kitchen remote")
    assert harness.house.sent() == ["Porch light: switch.off", "Kitchen light: switch.on",
                                    "Porch light: switch.on", "Hall light: switch.on"]
    step = harness.engine.traces("r")[-1].steps[0]
    assert step.status == "then" and "✓" in step.detail


async def test_repeat_is_bounded_and_until_stops_it(harness: Harness) -> None:
    await harness.start(actions("""
- kind: repeat
  count: 5
  actions: [{kind: command, device: Living lamp, command: toggle}]
  until: [{kind: state, device: Living lamp, attribute: on, state: true}]
- kind: repeat
  count: 3
  actions: [{kind: command, device: Porch light, command: toggle}]"""))
    await harness.press("Kitchen remote")
    # The lamp starts unknown: toggled to on after one iteration, until holds.
    assert harness.house.sent() == ["Living lamp: switch.toggle"] + [
        "Porch light: switch.toggle"] * 3


async def test_set_mode_stop_and_notify(harness: Harness) -> None:
    await harness.start(actions("""
- {kind: set_mode, mode: away}
- {kind: notify, message: Everyone left, level: warning}
- {kind: stop, reason: enough}
- {kind: command, device: Porch light, command: 'on'}"""))
    await harness.press("Kitchen remote")
    await harness.house.bus.drain()
    assert harness.engine.mode == "away"
    assert harness.persistence.meta["mode"] == "away"
    assert harness.house.commands == []
    trace = harness.engine.traces("r")[-1]
    assert (trace.outcome, trace.note) == (Outcome.STOPPED, "enough")
    notices = [n for n in harness.house.notices if isinstance(n, Notice)]
    notify = [n for n in notices if n.source == "rule:r"]
    assert [(n.message, n.level, n.context.origin) for n in notify] == [
        ("Everyone left", "warning", "rule:r")]
    assert any("hub mode is now away" in n.message for n in notices)
