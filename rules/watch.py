"""Watching triggers: the (device, attribute) index, ``for`` timers, hysteresis and schedules.

A ``Watch`` is one trigger being watched for a rule or for a run that waits on it. Device
triggers sit in an index keyed by (device_id, attribute), (device_id, "button") or
(device_id, "availability"), so an event touches only the watches that name it. Time, sun and
interval triggers are timers on the engine's heap, re-armed after each firing. A pending ``for``
is a timer too, saved through persistence (rule watches only) so it can resume after a restart.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from hubd.core.clock import Clock
from hubd.core.events import AvailabilityChanged, ButtonEvent, StateChanged
from hubd.core.model import Context, Origin
from hubd.core.state import StateStore
from rules.evaluate import (
    button_matches,
    in_range,
    initially_armed,
    numeric_step,
    origin_allows,
    state_change_matches,
    state_holds,
)
from rules.model import (
    Availability,
    AvailabilityTrigger,
    ButtonTrigger,
    IntervalTrigger,
    NumericTrigger,
    StateTrigger,
    SunTrigger,
    TimeTrigger,
    Trigger,
)
from rules.persistence import RulePersistence
from rules.schedule import Place
from rules.timers import Timer, TimerHeap
from rules.trace import TriggerInfo

OnFire = Callable[[TriggerInfo], None]
POLAR_RETRY_S = 86_400.0

log = logging.getLogger(__name__)
Key = tuple[str, str]


class Watch:
    """One trigger being watched, with what the engine remembers about it."""

    __slots__ = ("for_key", "is_armed", "key", "label", "on_fire", "pending", "pending_info",
                 "rule_id", "trigger")

    def __init__(self, trigger: Trigger, on_fire: OnFire, rule_id: str = "",
                 is_persistent: bool = False) -> None:
        self.trigger = trigger
        self.on_fire = on_fire
        self.rule_id = rule_id
        self.key: Key | None = None
        self.label = ""  # "Front door contact.is_open": made once, not per event
        self.is_armed = True  # numeric triggers: ready to fire on the next crossing
        self.pending: Timer | None = None  # a running ``for`` (or the next scheduled firing)
        self.pending_info: TriggerInfo | None = None
        self.for_key = f"for:{rule_id}:{trigger.id}" if is_persistent else ""


def index_key(trigger: Trigger) -> Key | None:
    """Where a device trigger sits in the index (None for scheduled triggers)."""
    if isinstance(trigger, StateTrigger | NumericTrigger):
        return (trigger.device, trigger.attribute)
    if isinstance(trigger, ButtonTrigger):
        return (trigger.device, "button")
    if isinstance(trigger, AvailabilityTrigger):
        return (trigger.device, "availability")
    return None


class Watcher:
    """The index of watched triggers and the timers that serve them."""

    def __init__(self, state: StateStore, clock: Clock, timers: TimerHeap,
                 persistence: RulePersistence, place: Place, late_limit_s: float = 300.0) -> None:
        self._state = state
        self._clock = clock
        self._timers = timers
        self._persist = persistence
        self._place = place
        self._index: dict[Key, tuple[Watch, ...]] = {}
        self.is_stopping = False
        self.late_limit_s = late_limit_s

    def name_of(self, device_id: str) -> str:
        """A device's name for traces (its id if it has none)."""
        device = self._state.get_device(device_id)
        return device.name if device is not None and device.name else device_id

    # -- registration ------------------------------------------------------------------------

    def add(self, watch: Watch) -> None:
        """Start watching (device triggers go into the index; others are scheduled)."""
        t = watch.trigger
        key = index_key(t)
        if key is not None:
            watch.key = key
            watch.label = self._label(t)
            if isinstance(t, NumericTrigger):
                watch.is_armed = initially_armed(t, self._state.value(*key))
            self._index[key] = (*self._index.get(key, ()), watch)
        elif isinstance(t, TimeTrigger | SunTrigger | IntervalTrigger):
            self._schedule(watch, self._clock.time())

    def _label(self, t: Trigger) -> str:
        if isinstance(t, StateTrigger | NumericTrigger):
            return f"{self.name_of(t.device)} {t.attribute}"
        return self.name_of(t.device) if isinstance(t, ButtonTrigger | AvailabilityTrigger) else ""

    def relabel(self) -> None:
        """Refresh the device names shown in traces (devices joined or were renamed)."""
        for watches in self._index.values():
            for watch in watches:
                watch.label = self._label(watch.trigger)

    def remove(self, watch: Watch) -> None:
        """Stop watching; a pending ``for`` is dropped (and forgotten unless stopping)."""
        if watch.key is not None:
            rest = tuple(w for w in self._index.get(watch.key, ()) if w is not watch)
            if rest:
                self._index[watch.key] = rest
            else:
                self._index.pop(watch.key, None)
        self._drop_pending(watch)

    def _drop_pending(self, watch: Watch) -> None:
        self._timers.cancel(watch.pending)
        if watch.pending is not None and watch.for_key and not self.is_stopping:
            self._persist.delete_timer(watch.for_key)
        watch.pending = None
        watch.pending_info = None

    def __len__(self) -> int:
        return sum(len(ws) for ws in self._index.values())

    # -- events (the hot path) ---------------------------------------------------------------

    def on_state(self, event: StateChanged) -> None:
        """Offer a state change to the watches of its (device, attribute)."""
        watches = self._index.get((event.device_id, event.attribute))
        if watches is None:
            return
        for watch in watches:
            if type(watch.trigger) is StateTrigger:
                self._offer_state(watch, watch.trigger, event)
            else:
                self._offer_numeric(watch, watch.trigger, event)  # type: ignore[arg-type]

    def _offer_state(self, watch: Watch, t: StateTrigger, event: StateChanged) -> None:
        if (state_change_matches(t, event.old, event.new)
                and (not t.origins or origin_allows(t.origins, event.context.origin))):
            info = TriggerInfo(t.id, "state", watch.label, event.ts, event.context,
                               event.device_id, event.attribute, event.old, event.new)
            if t.for_s > 0:
                self._start_for(watch, info, self._clock.time() + t.for_s, event.ts)
            else:
                watch.on_fire(info)
        elif watch.pending is not None and not state_holds(t, event.new):
            self._drop_pending(watch)

    def _offer_numeric(self, watch: Watch, t: NumericTrigger, event: StateChanged) -> None:
        step = numeric_step(t, event.new, watch.is_armed)
        watch.is_armed = step.is_armed
        if step.is_crossing:
            if not origin_allows(t.origins, event.context.origin):
                return
            info = TriggerInfo(t.id, "numeric", watch.label, event.ts, event.context,
                               event.device_id, event.attribute, event.old, event.new)
            if t.for_s > 0:
                self._start_for(watch, info, self._clock.time() + t.for_s, event.ts)
            else:
                watch.on_fire(info)
        elif watch.pending is not None and not in_range(t.above, t.below, event.new):
            self._drop_pending(watch)
            watch.is_armed = True  # the crossing never lasted: it does not count as fired

    def on_button(self, event: ButtonEvent) -> None:
        """Offer a button event to the watches of its device."""
        for watch in self._index.get((event.device_id, "button"), ()):
            t = watch.trigger
            if (isinstance(t, ButtonTrigger) and button_matches(t, event)
                    and origin_allows(t.origins, event.context.origin)):
                count = f" x{event.count}" if event.count > 1 else ""
                text = f"{watch.label} button {event.button} {event.action}{count}"
                watch.on_fire(TriggerInfo(t.id, "button", text, event.ts, event.context,
                                                 event.device_id, "button", None, event.button))

    def on_availability(self, event: AvailabilityChanged) -> None:
        """Offer an availability change to the watches of its device."""
        for watch in self._index.get((event.device_id, "availability"), ()):
            t = watch.trigger
            if not isinstance(t, AvailabilityTrigger):
                continue
            if (t.to is Availability.ONLINE) == event.is_available:
                info = TriggerInfo(t.id, "availability",
                                   f"{watch.label} is {t.to}", event.ts,
                                   event.context, event.device_id, "availability",
                                   not event.is_available, event.is_available)
                if t.for_s > 0:
                    self._start_for(watch, info, self._clock.time() + t.for_s, event.ts)
                else:
                    watch.on_fire(info)
            elif watch.pending is not None:
                self._drop_pending(watch)

    # -- for ---------------------------------------------------------------------------------

    def _start_for(self, watch: Watch, info: TriggerInfo, deadline: float, since: float) -> None:
        self._timers.cancel(watch.pending)
        watch.pending_info = info
        watch.pending = self._timers.call_at(deadline, lambda: self._for_done(watch))
        if watch.for_key:
            payload = {"t": "for", "trigger": info.trigger_id, "device": info.device_id,
                       "attribute": info.attribute, "value": info.new, "since": since,
                       "text": info.text, "ctx": [info.context.id, info.context.origin,
                                                  info.context.parent_id, info.context.depth]}
            self._persist.save_timer(watch.for_key, watch.rule_id, deadline,
                                     json.dumps(payload, separators=(",", ":")))

    def _for_done(self, watch: Watch) -> None:
        info = watch.pending_info
        watch.pending = None
        watch.pending_info = None
        if watch.for_key:
            self._persist.delete_timer(watch.for_key)
        if info is not None:
            watch.on_fire(info)

    def resume_for(self, watch: Watch, payload: dict[str, object], deadline: float) -> bool:
        """Re-arm a saved ``for`` if the state is still the one waited on, unchanged since."""
        device_id, attribute = str(payload["device"]), str(payload["attribute"])
        value, since = payload["value"], payload["since"]
        if not isinstance(since, int | float) or not isinstance(value, bool | int | float | str):
            return False
        if attribute == "availability":
            device = self._state.get_device(device_id)
            is_same = device is not None and device.is_available == value
        else:
            entry = self._state.entry(device_id, attribute)
            # The state store keeps each value's change time: equal time means "never changed".
            is_same = entry is not None and entry.value == value and abs(entry.ts - since) < 1e-3
        if not is_same:
            return False
        ctx = payload.get("ctx")
        context = (Context(str(ctx[0]), str(ctx[1]), ctx[2], int(ctx[3]))
                   if isinstance(ctx, list) and len(ctx) == 4 else Context.new(Origin.SYSTEM))
        info = TriggerInfo(watch.trigger.id, "resumed",
                           f"{payload.get('text', '')} (resumed after restart)",
                           self._clock.time(), context, device_id, attribute, None, value)
        self._start_for(watch, info, deadline, float(since))
        return True

    # -- schedules ---------------------------------------------------------------------------

    def _schedule(self, watch: Watch, after_ts: float) -> None:
        t = watch.trigger
        deadline: float | None
        if isinstance(t, IntervalTrigger):
            deadline = after_ts + t.every_s
        elif isinstance(t, TimeTrigger | SunTrigger):
            deadline = self._place.next_fire(t, after_ts)
        else:
            return
        if deadline is None:  # the sun never does this here for a year (polar): look again later
            retry = after_ts + POLAR_RETRY_S
            watch.pending = self._timers.call_at(retry, lambda: self._schedule(watch, retry))
            return
        watch.pending = self._timers.call_at(deadline, lambda: self._scheduled(watch, deadline))

    def _scheduled(self, watch: Watch, deadline: float) -> None:
        t = watch.trigger
        watch.pending = None
        now = self._clock.time()
        is_late = now - deadline > self.late_limit_s
        # Late by more than the catch-up window (the wall clock jumped, e.g. NTP at boot):
        # skip it and plan from now, instead of replaying every missed day at once.
        after = now if is_late or isinstance(t, IntervalTrigger) else deadline
        self._schedule(watch, max(after, deadline))
        if is_late:
            log.info("event=rule_time_skipped trigger=%s late_s=%.0f", t.id, now - deadline)
            return
        watch.on_fire(self.scheduled_info(t, deadline))

    def scheduled_info(self, t: Trigger, at_ts: float, note: str = "") -> TriggerInfo:
        """The trigger info of a scheduled firing."""
        if isinstance(t, TimeTrigger):
            text = f"time {t.at.isoformat()}"
        elif isinstance(t, SunTrigger):
            text = f"{t.event}{t.offset_s:+g}s"
        elif isinstance(t, IntervalTrigger):
            text = f"every {t.every_s:g}s"
        else:
            text = "hub started"
        kind = type(t).__name__.removesuffix("Trigger").lower()
        return TriggerInfo(t.id, kind, text + note, at_ts, Context.new(Origin.SYSTEM))
