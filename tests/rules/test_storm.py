"""The storm breaker stops loops, not houses: only hub-caused runs count; cool-downs end."""

from hubd.core.model import Context, Origin
from rules.persistence import SavedRuleState
from tests.rules.conftest import START, Harness, make_harness
from tests.rules.test_loops import PAIR

DOOR = """\
- id: door
  mode: parallel
  triggers: [{kind: state, device: Front door, attribute: is_open}]
  actions: [{kind: command, device: Hall light, command: switch.on}]
"""


async def test_a_flapping_contact_never_disables_its_rule(harness: Harness) -> None:
    await harness.start(DOOR)
    for n in range(600):  # ~3 events/s for 200 s, each one a run: ~30 in any 10 s
        await harness.report("Front door", "contact.is_open", n % 2 == 0)
        await harness.engine.advance(0.33)
    status = harness.engine.status("door")
    assert status.is_enabled and status.reason == ""
    assert status.runs_started == 600
    assert harness.engine.disabled() == []


async def test_app_and_cloud_changes_do_not_count(harness: Harness) -> None:
    await harness.start(DOOR)
    for n in range(100):
        origin = "api:phone" if n % 4 < 2 else Origin.CLOUD
        await harness.report("Front door", "contact.is_open", n % 2 == 0, Context.new(origin))
    assert harness.engine.status("door").is_enabled


async def test_a_storm_cools_down_by_itself_and_longer_each_time(harness: Harness) -> None:
    harness.house.keep_context = False
    await harness.start(PAIR)
    await harness.report("Porch light", "switch.on", True)
    first = harness.engine.status("pong")
    assert not first.is_enabled and first.is_storm and first.disabled_until == START + 60
    await harness.engine.advance(59)
    assert not harness.engine.status("pong").is_enabled
    await harness.engine.advance(1)
    assert harness.engine.status("pong").is_enabled  # back by itself
    assert any("back on" in n.message for n in harness.house.notices)
    # The loop is still there: the next storm keeps it off twice as long.
    await harness.report("Porch light", "switch.on", not harness.house.state.value(
        "virtual:2", "switch.on"))
    second = harness.engine.disabled()
    assert [s.rule_id for s in second] == ["pong"]
    assert second[0].disabled_until == harness.house.clock.time() + 120
    assert "disabled for 120 s" in second[0].reason


async def test_enabling_during_a_cool_down_brings_it_back_at_once(harness: Harness) -> None:
    harness.house.keep_context = False
    await harness.start(PAIR)
    await harness.report("Porch light", "switch.on", True)
    assert not harness.engine.status("pong").is_enabled
    harness.engine.enable("pong")
    status = harness.engine.status("pong")
    assert status.is_enabled and status.disabled_until is None and not status.is_storm
    before = len(harness.house.commands)
    await harness.report("Living lamp", "switch.on", not harness.house.state.value(
        "virtual:7", "switch.on"))
    assert len(harness.house.commands) > before
    await harness.engine.advance(120)  # the old cool-down timer is gone: nothing changes
    assert harness.engine.status("ping").is_enabled or harness.engine.status("pong").is_enabled


async def test_a_storm_disable_persisted_by_an_older_hub_is_dropped_at_boot() -> None:
    h = make_harness()
    h.engine.restore(rule_states=[SavedRuleState(
        "door", False, "ran more than 20 times in 10 s (a loop?); disabled")])
    await h.start(DOOR)
    try:
        assert h.engine.status("door").is_enabled
        assert h.persistence.rule_states["door"].is_enabled is True
    finally:
        await h.stop()
        await h.house.bus.close()


async def test_a_user_disable_is_kept_and_listed_with_its_reason() -> None:
    h = make_harness()
    h.engine.restore(rule_states=[SavedRuleState("door", False, "disabled through the API")])
    await h.start(DOOR)
    try:
        assert [(s.rule_id, s.reason, s.is_storm) for s in h.engine.disabled()] == [
            ("door", "disabled through the API", False)]
    finally:
        await h.stop()
        await h.house.bus.close()
