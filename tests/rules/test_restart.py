"""Restart safety: delays, waits and for-durations resume after a kill; time triggers catch up."""

import copy
import datetime as dt

from hubd.core.clock import ManualClock
from hubd.core.state import StateStore
from rules.persistence import MemoryPersistence
from rules.trace import Outcome
from tests.rules.conftest import Harness, make_harness, make_state, manual

DELAYED = """\
- id: hall
  triggers: [{kind: state, device: Front door, attribute: is_open, to: true}]
  actions:
    - {kind: command, device: Hall light, command: switch.on}
    - kind: if
      conditions: [{kind: mode, mode: home}]
      then:
        - {kind: delay, duration: 2m}
        - {kind: command, device: Hall light, command: switch.off}
"""


async def _reboot(old: Harness, snapshot: MemoryPersistence, *, stop_old: bool = True,
                  state: StateStore | None = None, text: str = DELAYED,
                  clock: ManualClock | None = None) -> Harness:
    """A new engine from what was persisted at the moment of the 'kill'."""
    if stop_old:
        await old.stop()
    clock = clock or manual(old.house.clock)
    new = make_harness(clock=clock, state=state or old.house.state,
                       persistence=copy.deepcopy(snapshot))
    from rules.parse import parse_rules
    rules, _ = parse_rules(text, "r.yaml")
    assert new.engine.load(rules) == []
    p = new.persistence
    new.engine.restore(timers=p.saved_timers(), traces=p.saved_traces(),
                       rule_states=list(p.rule_states.values()), mode=p.meta.get("mode"),
                       last_seen=p.last_seen())
    return await new.start()


async def test_a_delay_pending_across_a_kill_fires_at_its_deadline(harness: Harness) -> None:
    await harness.start(DELAYED)
    await harness.report("Front door", "contact.is_open", True)
    await harness.engine.advance(30)
    assert harness.house.sent() == ["Hall light: switch.on"]
    (timer,) = harness.persistence.saved_timers()
    assert timer.rule_id == "hall" and timer.deadline == harness.house.clock.time() + 90
    killed = copy.deepcopy(harness.persistence)  # SIGKILL: nothing more gets written
    new = await _reboot(harness, killed)
    await new.engine.advance(89)
    assert new.house.commands == []
    await new.engine.advance(1)
    assert new.house.sent() == ["Hall light: switch.off"]
    assert new.persistence.timers == {}
    trace = new.engine.traces("hall")[-1]
    assert trace.outcome is Outcome.DONE and "resumed at step 1/then/0" in trace.note
    assert trace.context_id == harness.house.commands[0].context.id  # the same run's context
    await new.stop()


async def test_a_graceful_stop_keeps_pending_timers(harness: Harness) -> None:
    await harness.start(DELAYED)
    await harness.report("Front door", "contact.is_open", True)
    await harness.stop()
    assert len(harness.persistence.saved_timers()) == 1
    assert harness.persistence.last_seen() == harness.house.clock.time()


async def test_a_delay_whose_deadline_passed_while_down_fires_at_boot(harness: Harness) -> None:
    await harness.start(DELAYED)
    await harness.report("Front door", "contact.is_open", True)
    snapshot = copy.deepcopy(harness.persistence)
    await harness.stop()
    manual(harness.house.clock).advance(600)  # the hub was down for ten minutes
    new = await _reboot(harness, snapshot, stop_old=False)
    assert new.house.sent() == ["Hall light: switch.off"]
    await new.stop()


FOR_RULE = """\
- id: left_open
  triggers: [{kind: state, device: Front door, attribute: is_open, to: true, for: 5m}]
  actions: [{kind: command, device: Porch light, command: switch.on}]
"""


async def test_for_resumes_when_the_state_did_not_change(harness: Harness) -> None:
    await harness.start(FOR_RULE)
    await harness.report("Front door", "contact.is_open", True)
    await harness.engine.advance(60)
    snapshot = copy.deepcopy(harness.persistence)
    new = await _reboot(harness, snapshot, text=FOR_RULE)
    await new.engine.advance(239)
    assert new.house.commands == []
    await new.engine.advance(1)
    assert new.house.sent() == ["Porch light: switch.on"]
    assert "resumed after restart" in new.engine.traces("left_open")[-1].trigger.text
    await new.stop()


async def test_for_is_dropped_when_the_state_changed_meanwhile(harness: Harness) -> None:
    await harness.start(FOR_RULE)
    await harness.report("Front door", "contact.is_open", True)
    snapshot = copy.deepcopy(harness.persistence)  # killed before the close was persisted
    await harness.stop()
    manual(harness.house.clock).advance(10)
    # The stored state says: closed, then opened again (a different change time).
    harness.house.report("Front door", "contact.is_open", False)
    manual(harness.house.clock).advance(10)
    harness.house.report("Front door", "contact.is_open", True)
    new = await _reboot(harness, snapshot, stop_old=False, text=FOR_RULE)
    await new.engine.advance(600)
    assert new.house.commands == []
    assert new.persistence.timers == {}
    await new.stop()


WAITING = """\
- id: wait
  triggers: [{kind: button, device: Kitchen remote}]
  actions:
    - kind: wait
      trigger: {kind: state, device: Front door, attribute: is_open, to: true}
      timeout: 10m
    - {kind: command, device: Porch light, command: switch.on}
"""


async def test_a_wait_resumes_and_keeps_its_timeout(harness: Harness) -> None:
    await harness.start(WAITING)
    await harness.press("Kitchen remote")
    await harness.engine.advance(60)
    snapshot = copy.deepcopy(harness.persistence)
    new = await _reboot(harness, snapshot, text=WAITING)
    await new.report("Front door", "contact.is_open", True)
    assert new.house.sent() == ["Porch light: switch.on"]
    await new.stop()
    # And the timeout is the saved one: 9 minutes left after the reboot.
    again = await _reboot(new, snapshot, stop_old=False, text=WAITING,
                          state=make_state())
    await again.engine.advance(539)
    assert again.house.commands == []
    await again.engine.advance(1)
    assert again.house.sent() == ["Porch light: switch.on"]  # timed out, continues
    await again.stop()


CLOCKWORK = """\
- id: morning
  triggers: [{kind: time, at: "07:00"}]
  actions: [{kind: command, device: Kitchen light, command: switch.on}]
"""


def _berlin(hh: int, mm: int) -> float:
    return dt.datetime(2024, 6, 3, hh, mm, tzinfo=dt.timezone(dt.timedelta(hours=2))).timestamp()


async def test_time_trigger_missed_by_less_than_catch_up_runs_once_on_boot() -> None:
    down = make_harness(clock=ManualClock(_berlin(6, 58)))
    await down.start(CLOCKWORK)
    await down.stop()
    snapshot = copy.deepcopy(down.persistence)
    assert snapshot.last_seen() == _berlin(6, 58)  # written at stop
    up = await _reboot(down, snapshot, stop_old=False, text=CLOCKWORK,
                       clock=ManualClock(_berlin(7, 3)))
    assert up.house.sent() == ["Kitchen light: switch.on"]
    assert "caught up on boot" in up.engine.traces("morning")[-1].trigger.text
    await up.stop()
    late = await _reboot(down, snapshot, stop_old=False, text=CLOCKWORK,
                         clock=ManualClock(_berlin(7, 6)))
    assert late.house.commands == []
    await late.stop()


async def test_traces_mode_and_disabled_rules_survive_a_restart(harness: Harness) -> None:
    await harness.start(DELAYED)
    harness.engine.set_mode("away")
    await harness.report("Front door", "contact.is_open", True)  # runs; the if says no delay
    harness.engine.disable("hall", "switched off by the user")
    await harness.stop()
    new = await _reboot(harness, harness.persistence, stop_old=False)
    assert new.engine.mode == "away"
    assert [t.outcome for t in new.engine.traces("hall")] == [Outcome.DONE]
    status = new.engine.status("hall")
    assert (status.is_enabled, status.reason) == (False, "switched off by the user")
    await new.stop()


async def test_run_started_again_resumes_its_pending_delay(harness: Harness) -> None:
    """The daemon supervises run(): after a crash it is started again on the same engine."""
    await harness.start(DELAYED)
    await harness.report("Front door", "contact.is_open", True)
    await harness.stop()
    await harness.start()
    await harness.engine.advance(119)
    assert harness.house.sent() == ["Hall light: switch.on"]
    await harness.engine.advance(1)
    assert harness.house.sent() == ["Hall light: switch.on", "Hall light: switch.off"]
    assert harness.persistence.timers == {}
