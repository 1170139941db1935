"""Every trigger kind, through the running engine on the in-memory house."""

import datetime as dt

from hubd.core.clock import ManualClock
from hubd.core.model import ButtonAction, Capability, Context, Device
from tests.rules.conftest import Harness, make_harness

NOTIFY = "    actions: [{kind: command, device: Porch light, command: toggle}]\n"


def rule(trigger: str, extra: str = "") -> str:
    return f"- id: r\n  mode: parallel\n  triggers: [{trigger}]\n{extra}" + NOTIFY[2:]


async def test_state_trigger_from_to(harness: Harness) -> None:
    await harness.start(rule("{kind: state, device: Front door, attribute: is_open, "
                             "from: false, to: true}"))
    await harness.report("Front door", "contact.is_open", True)  # from unknown: no
    await harness.report("Front door", "contact.is_open", False)
    await harness.report("Front door", "contact.is_open", True)  # false → true: yes
    assert harness.house.sent() == ["Porch light: switch.toggle"]


async def test_state_trigger_for_fires_only_if_the_state_lasts(harness: Harness) -> None:
    await harness.start(rule("{kind: state, device: Front door, attribute: is_open, to: true,"
                             " for: 5m}"))
    await harness.report("Front door", "contact.is_open", True)
    await harness.engine.advance(200)
    await harness.report("Front door", "contact.is_open", False)  # closed before 5 min
    await harness.engine.advance(600)
    assert harness.house.commands == []
    await harness.report("Front door", "contact.is_open", True)
    await harness.engine.advance(299)
    assert harness.house.commands == []
    await harness.engine.advance(1)
    assert harness.house.sent() == ["Porch light: switch.toggle"]


async def test_numeric_trigger_once_per_crossing(harness: Harness) -> None:
    await harness.start(rule("{kind: numeric, device: Kitchen sensor, attribute: celsius, "
                             "above: 25, hysteresis: 1}"))
    for value in (24.0, 25.5, 26.0, 24.5, 25.8, 23.5, 25.2):
        await harness.report("Kitchen sensor", "temperature.celsius", value)
    assert len(harness.house.commands) == 2


async def test_numeric_trigger_with_for(harness: Harness) -> None:
    await harness.start(rule("{kind: numeric, device: Kitchen sensor, attribute: celsius, "
                             "above: 25, for: 1m}"))
    await harness.report("Kitchen sensor", "temperature.celsius", 26.0)
    await harness.engine.advance(30)
    await harness.report("Kitchen sensor", "temperature.celsius", 24.0)  # dipped: cancelled
    await harness.report("Kitchen sensor", "temperature.celsius", 26.0)  # crosses again
    await harness.engine.advance(59)
    assert harness.house.commands == []
    await harness.report("Kitchen sensor", "temperature.celsius", 27.0)  # still above
    await harness.engine.advance(1)
    assert len(harness.house.commands) == 1


async def test_button_trigger_action_and_count(harness: Harness) -> None:
    await harness.start(rule("{kind: button, device: Kitchen remote, button: 2, "
                             "action: multi_tap, count: 2}"))
    await harness.press("Kitchen remote", "2", ButtonAction.PRESS)
    await harness.press("Kitchen remote", "2", ButtonAction.MULTI_TAP, 3)
    await harness.press("Kitchen remote", "1", ButtonAction.MULTI_TAP, 2)
    assert harness.house.commands == []
    await harness.press("Kitchen remote", "2", ButtonAction.MULTI_TAP, 2)
    assert len(harness.house.commands) == 1


async def test_origin_physical_ignores_rule_made_changes(harness: Harness) -> None:
    await harness.start(rule("{kind: state, device: Hall light, attribute: switch.on, "
                             "to: true, origin: physical}"))
    await harness.report("Hall light", "switch.on", True,
                         Context.new("rule:other").child("rule:other"))
    assert harness.house.commands == []
    await harness.report("Hall light", "switch.on", False)
    await harness.report("Hall light", "switch.on", True)
    assert len(harness.house.commands) == 1


async def test_time_trigger_fires_at_local_time_every_day() -> None:
    start = dt.datetime(2024, 6, 3, 6, 0, tzinfo=dt.UTC).timestamp()  # 08:00 in Berlin
    h = make_harness(clock=ManualClock(start))
    await h.start(rule("{kind: time, at: '09:30'}"))
    await h.engine.advance(3600 + 29 * 60)
    assert h.house.commands == []
    await h.engine.advance(60)
    assert len(h.house.commands) == 1
    trace = h.engine.traces("r")[-1]
    assert trace.trigger.ts == dt.datetime(2024, 6, 3, 7, 30, tzinfo=dt.UTC).timestamp()
    await h.engine.advance(24 * 3600)
    assert len(h.house.commands) == 2
    await h.stop()


async def test_sun_trigger_fires_at_sunset_with_offset() -> None:
    start = dt.datetime(2024, 6, 21, 10, 0, tzinfo=dt.UTC).timestamp()
    h = make_harness(clock=ManualClock(start))
    await h.start(rule("{kind: sun, event: sunset, offset: 10m}"))
    await h.engine.advance(9 * 3600 + 40 * 60)  # 19:40 UTC; sunset 19:33 UTC + 10 min
    assert h.house.commands == []
    await h.engine.advance(5 * 60)
    assert len(h.house.commands) == 1
    assert h.engine.traces("r")[-1].trigger.text == "sunset+600s"
    await h.stop()


async def test_interval_trigger(harness: Harness) -> None:
    await harness.start(rule("{kind: interval, every: 10m}"))
    await harness.engine.advance(3600)
    assert len(harness.house.commands) == 6


async def test_availability_trigger_with_grace(harness: Harness) -> None:
    await harness.start(rule("{kind: availability, device: Hall motion, to: offline, for: 2m}"))
    harness.house.availability("Hall motion", False)
    await harness.engine.advance(60)
    harness.house.availability("Hall motion", True)  # back within the grace period
    await harness.engine.advance(600)
    assert harness.house.commands == []
    harness.house.availability("Hall motion", False)
    await harness.engine.advance(120)
    assert len(harness.house.commands) == 1
    assert "Hall motion is offline" in harness.engine.traces("r")[-1].trigger.text


async def test_hub_started_fires_when_run_starts(harness: Harness) -> None:
    await harness.start(rule("{kind: hub_started}"))
    assert len(harness.house.commands) == 1


async def test_rule_for_unknown_device_is_kept_disabled_then_enabled_when_it_joins(
        harness: Harness) -> None:
    from rules.parse import parse_rules
    rules, _ = parse_rules(rule("{kind: state, device: Garage door, attribute: is_open, "
                                "to: true}"), "g.yaml")
    problems = harness.engine.load(rules)
    assert [str(p) for p in problems] == [
        "g.yaml:3: rule r: triggers[0]: no device has the id or name 'Garage door' (yet)"]
    assert harness.engine.status("r").is_enabled is False
    assert "Garage door" in harness.engine.status("r").reason
    await harness.start()
    harness.house.join(Device("virtual:9", "virtual", "9", "Garage door",
                              capabilities=frozenset({Capability.CONTACT})))
    await harness.engine.settle()
    assert harness.engine.status("r").is_enabled is True
    await harness.report("Garage door", "contact.is_open", True)
    assert len(harness.house.commands) == 1


async def test_a_wall_clock_jump_does_not_replay_every_missed_day() -> None:
    start = dt.datetime(2024, 6, 3, 6, 0, tzinfo=dt.UTC).timestamp()
    clock = ManualClock(start)
    h = make_harness(clock=clock)
    await h.start(rule("{kind: time, at: '09:30'}"))
    clock.set_time(start + 30 * 86400)  # NTP fixes a clock that was a month behind
    await h.engine.advance(0)
    assert h.house.commands == []
    await h.engine.advance(86400)
    assert len(h.house.commands) == 1
    await h.stop()
