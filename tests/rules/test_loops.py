"""Loop protection: a self-triggering pair of rules is broken, reported, and the hub goes on."""

from rules.trace import Outcome
from tests.rules.conftest import START, Harness

PAIR = """\
- id: ping
  mode: parallel
  triggers: [{kind: state, device: Porch light, attribute: switch.on}]
  actions: [{kind: command, device: Living lamp, command: toggle}]
- id: pong
  mode: parallel
  triggers: [{kind: state, device: Living lamp, attribute: switch.on}]
  actions: [{kind: command, device: Porch light, command: toggle}]
- id: door
  triggers: [{kind: state, device: Front door, attribute: is_open, to: true}]
  actions: [{kind: command, device: Hall light, command: switch.on}]
"""


def persisted_enabled(harness: Harness, rule_id: str) -> bool:
    """Whether the rule is saved as enabled (a call, so mypy keeps no narrowing of it)."""
    return harness.persistence.rule_states[rule_id].is_enabled


async def test_depth_breaks_a_loop_whose_context_is_carried(harness: Harness) -> None:
    await harness.start(PAIR)
    await harness.report("Porch light", "switch.on", True)
    # ping (depth 1) → pong (2) → ... → depth 9 is dropped: 8 commands, then nothing.
    assert len(harness.house.commands) == 8
    depths = [c.context.depth for c in harness.house.commands]
    assert depths == list(range(1, 9))
    dropped = [t for rule in ("ping", "pong") for t in harness.engine.traces(rule)
               if t.outcome is Outcome.DROPPED_DEPTH]
    assert len(dropped) == 1 and "depth 9 > 8" in dropped[0].note
    # Both rules stay enabled: the next physical change is handled again.
    assert harness.engine.status("ping").is_enabled and harness.engine.status("pong").is_enabled
    await harness.report("Front door", "contact.is_open", True)
    assert harness.house.sent()[-1] == "Hall light: switch.on"


async def test_storm_disables_a_loop_that_loses_its_context(harness: Harness) -> None:
    harness.house.keep_context = False  # echoes lose their chain: depth cannot see the loop
    await harness.start(PAIR)
    await harness.report("Porch light", "switch.on", True)
    await harness.house.bus.drain()
    statuses = {s.rule_id: s for s in harness.engine.statuses()}
    disabled = [r for r in ("ping", "pong") if not statuses[r].is_enabled]
    # ping's first run came from a person (physical): only the echoes after it count, so pong
    # reaches 21 hub-caused runs first.
    assert disabled == ["pong"]
    assert "ran more than 20 times in 10 s" in statuses["pong"].reason
    assert statuses["pong"].is_storm and statuses["pong"].disabled_until == START + 60
    assert [s.rule_id for s in harness.engine.disabled()] == ["pong"]
    assert "pong" not in harness.persistence.rule_states  # a storm is not kept for good
    assert harness.engine.status("ping").runs_started == 21
    assert harness.engine.status("pong").runs_started == 20
    assert len(harness.house.commands) == 41  # then the chain is cut
    warnings = [n for n in harness.house.notices if n.level == "warning"]
    assert len(warnings) == 1 and "pong" in warnings[0].message
    # The storm's refusal is last but for the run whose command was in flight then.
    assert Outcome.DISABLED_STORM in [t.outcome for t in harness.engine.traces("pong")[-2:]]
    # The hub stays responsive.
    await harness.report("Front door", "contact.is_open", True)
    assert harness.house.sent()[-1] == "Hall light: switch.on"
    # Re-enabled by the user, it runs again at once.
    harness.engine.enable("pong")
    assert persisted_enabled(harness, "pong")
    assert harness.engine.status("pong").is_enabled
    assert harness.engine.status("pong").disabled_until is None


async def test_runs_spread_over_time_are_not_a_storm(harness: Harness) -> None:
    await harness.start("""\
- id: tick
  triggers: [{kind: button, device: Kitchen remote}]
  actions: [{kind: command, device: Porch light, command: toggle}]
""")
    for _ in range(40):
        await harness.press("Kitchen remote")
        await harness.engine.advance(1)
    assert harness.engine.status("tick").is_enabled
    assert len(harness.house.commands) == 40
