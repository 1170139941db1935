"""Boot: turning saved timers back into parked runs and pending ``for`` triggers, and catching up
the schedules missed while the hub was down.

A saved run (parked in a delay or wait) is started again at its step path with its saved deadline:
a delay whose deadline passed while the hub was down fires at once. A saved ``for`` resumes only
if the state it waited on still has the same value and the same change time (it did not change
before shutdown and still matches after boot); otherwise it is forgotten. Timers of rules that no
longer exist, or are disabled, are forgotten and logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from hubd.core.clock import Clock
from hubd.core.model import Context
from rules.actions import Path, Run
from rules.breaker import is_storm_reason
from rules.model import HubStartedTrigger, SunTrigger, TimeTrigger
from rules.persistence import RulePersistence, SavedRuleState, SavedTimer
from rules.schedule import Place
from rules.slot import Slot
from rules.trace import Trace, TriggerInfo
from rules.watch import Watcher

log = logging.getLogger(__name__)

StartRun = Callable[[Slot, Trace, Context, Path | None, float | None], None]


def resume_timers(timers: Iterable[SavedTimer], slots: Mapping[str, Slot], watcher: Watcher,
                  persistence: RulePersistence, start_run: StartRun, clock: Clock) -> int:
    """Re-arm what can be re-armed; returns how many timers were resumed."""
    resumed = 0
    for saved in timers:
        slot = slots.get(saved.rule_id)
        try:
            payload = json.loads(saved.payload)
            kind = payload["t"]
        except (ValueError, KeyError, TypeError):
            log.warning("event=rule_timer_unreadable key=%s", saved.key)
            persistence.delete_timer(saved.key)
            continue
        if slot is None or not slot.is_enabled or slot.resolved is None:
            log.info("event=rule_timer_dropped key=%s reason=rule_gone_or_disabled", saved.key)
            persistence.delete_timer(saved.key)
            continue
        if kind == "run":
            is_resumed = _resume_run(slot, saved, payload, start_run, clock)
        else:
            is_resumed = kind == "for" and _resume_for(slot, saved, payload, watcher)
        if is_resumed:
            resumed += 1
        else:
            log.info("event=rule_timer_dropped key=%s reason=state_changed_or_unknown", saved.key)
            persistence.delete_timer(saved.key)
    return resumed


def _context(raw: Any) -> Context:
    return Context(str(raw[0]), str(raw[1]), raw[2], int(raw[3]))


def _resume_run(slot: Slot, saved: SavedTimer, payload: dict[str, Any], start_run: StartRun,
                clock: Clock) -> bool:
    try:
        path: Path = tuple(p if isinstance(p, int | str) else str(p) for p in payload["path"])
        context = _context(payload["ctx"])
        tid, kind, text, ts, device_id, attribute = payload["trigger"]
        run_id = str(payload["run"])
    except (KeyError, TypeError, ValueError, IndexError):
        return False
    info = TriggerInfo(str(tid), str(kind), f"{text} (resumed after restart)", float(ts),
                       context, str(device_id),
                       str(attribute))
    now = clock.time()
    trace = Trace(saved.rule_id, run_id, info, now, context.id, context.depth)
    trace.note = f"resumed at step {'/'.join(map(str, path))} after restart"
    start_run(slot, trace, context, path, saved.deadline)
    log.info("event=rule_run_resumed rule=%s run=%s step=%s in_s=%.1f", saved.rule_id, run_id,
             payload.get("step"), saved.deadline - now)
    return True


def _resume_for(slot: Slot, saved: SavedTimer, payload: dict[str, Any], watcher: Watcher) -> bool:
    trigger_id = payload.get("trigger")
    for watch in slot.watches:
        if watch.trigger.id == trigger_id:
            return watcher.resume_for(watch, payload, saved.deadline)
    return False


def run_payload(run: Run, path: Path, step: str) -> str:
    """The JSON saved with a parked run's timer: enough to start it again at its step."""
    t = run.trace.trigger
    c = run.context
    return json.dumps({
        "t": "run", "run": run.run_id, "step": step, "path": list(path),
        "ctx": [c.id, c.origin, c.parent_id, c.depth],
        "trigger": [t.trigger_id, t.kind, t.text, t.ts, t.device_id, t.attribute],
    }, separators=(",", ":"))


def missed_recently(place: Place, trigger: TimeTrigger | SunTrigger, last_seen: float,
                    now: float, catch_up_s: float) -> float | None:
    """When a time trigger last fired unseen while the hub was down, if within ``catch_up_s``."""
    missed = place.last_fire(trigger, last_seen, now)
    return missed if missed is not None and now - missed <= catch_up_s else None


def catch_up(slots: Iterable[Slot], last_seen: float, now: float, place: Place, within_s: float,
             watcher: Watcher, fire: Callable[[Slot, TriggerInfo], None]) -> None:
    """Fire, once, each enabled time or sun trigger missed while the hub was down (if it was
    missed in the last ``within_s``): the morning routine runs after a short outage."""
    for slot in list(slots):
        for trigger in slot.resolved.triggers if slot.is_enabled and slot.resolved else ():
            if not isinstance(trigger, TimeTrigger | SunTrigger):
                continue
            missed = missed_recently(place, trigger, last_seen, now, within_s)
            if missed is not None:
                late = f" (missed at {place.local(missed):%H:%M:%S}, caught up on boot)"
                fire(slot, watcher.scheduled_info(trigger, missed, late))


def hub_started(slots: Iterable[Slot], now: float, watcher: Watcher,
                fire: Callable[[Slot, TriggerInfo], None]) -> None:
    """Fire every ``hub_started`` trigger: the engine is up."""
    for slot in list(slots):
        for trigger in slot.resolved.triggers if slot.resolved else ():
            if isinstance(trigger, HubStartedTrigger):
                fire(slot, watcher.scheduled_info(trigger, now))


def kept_rule_states(states: Iterable[SavedRuleState], persistence: RulePersistence
                     ) -> dict[str, SavedRuleState]:
    """The saved enabled/disabled states to apply, by rule id. Older hubs disabled storming
    rules for good; a storm is not kept any more: such rules are enabled (and saved so)."""
    kept = {}
    for state in states:
        if not state.is_enabled and is_storm_reason(state.reason):
            log.warning("event=rule_enabled rule=%s reason=storm_not_kept", state.rule_id)
            persistence.set_rule_state(state.rule_id, True, "")
        else:
            kept[state.rule_id] = state
    return kept
