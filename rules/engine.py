"""The rule engine: events in, indexed to the rules that name them, runs out, loops broken.

Theory of operation. ``load`` resolves each rule against the device registry (a rule naming an
unknown device is kept, disabled with the reason, and retried when devices join) and registers
its triggers with the ``Watcher`` index. ``handle`` (the bus handler, synchronous) offers an event
to the watches of its (device, attribute); a firing trigger goes through, in order: the loop
depth check (context depth > ``max_depth``: dropped), the compiled conditions, the storm breaker
(> ``storm_runs`` runs in ``storm_window_s``: the rule is disabled, a Notice says so, and the state
is persisted) and the run mode (single / restart / queued / parallel). A run is an asyncio task
interpreting the actions (``rules.actions``) with this engine as its host.

Timers (delays, waits, ``for``, schedules) live on one heap keyed by wall-clock deadline
(``rules.timers``). Delays and waits are saved through ``RulePersistence`` with their step path,
so that ``restore`` + ``run`` resume them at their deadline after a restart (``rules.restore``).
Tests drive time with a ManualClock and ``advance``; the daemon runs ``run()``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from hubd.bus import Bus, Subscription
from hubd.core.clock import Clock
from hubd.core.events import (
    AvailabilityChanged,
    ButtonEvent,
    DeviceJoined,
    Notice,
    RuleRan,
    StateChanged,
)
from hubd.core.model import Context
from hubd.core.state import StateEntry, StateStore
from rules.actions import Path, Run, StopRun, run_actions
from rules.evaluate import Env
from rules.host import Execute, LiveHost
from rules.model import (
    CommandAction,
    HubStartedTrigger,
    Rule,
    RuleProblem,
    Scene,
    SunTrigger,
    TimeTrigger,
)
from rules.modes import Admission, admit, is_storm
from rules.persistence import RulePersistence, SavedRuleState, SavedTimer, TimerLedger
from rules.resolve import Resolver
from rules.restore import missed_recently, resume_timers, run_payload
from rules.schedule import Place
from rules.settings import EngineSettings, RuleStatus
from rules.slot import Slot
from rules.sun import Observer
from rules.timers import TimerHeap, advance, settle
from rules.trace import Outcome, Trace, TriggerInfo
from rules.tracekeep import TraceKeeper
from rules.watch import Watch, Watcher

__all__ = ["EngineSettings", "Execute", "RuleEngine", "RuleStatus"]

log = logging.getLogger(__name__)


class RuleEngine:
    """Runs rules on events and timers; see the module docstring."""

    def __init__(self, state: StateStore, bus: Bus, execute: Execute, clock: Clock,
                 persistence: RulePersistence, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        s = self.settings
        self._state = state
        self._bus = bus
        self._execute = execute
        self._clock = clock
        # The ledger knows the live timers, so that run() started again resumes them.
        self._persist = ledger = TimerLedger(persistence)
        self._place = Place(s.timezone, Observer(s.latitude, s.longitude, s.elevation_m))
        self._timers = TimerHeap(clock)
        self._watcher = Watcher(state, clock, self._timers, ledger, self._place,
                                s.catch_up_s)
        self._resolver = Resolver(state)
        self._slots: dict[str, Slot] = {}
        self._scenes: list[Scene] = []
        self._saved_states: dict[str, SavedRuleState] = {}
        self._saved_timers: list[SavedTimer] = []
        self._last_seen: float | None = None
        self._traces = TraceKeeper(ledger, s.traces_per_rule)
        self._sub: Subscription | None = None
        self._is_stopping = False
        self.mode = s.default_mode
        self.ready = asyncio.Event()
        self._host = LiveHost(state=state, bus=bus, execute=execute, clock=clock,
                              persistence=ledger, place=self._place, timers=self._timers,
                              watcher=self._watcher, command_deadline_s=s.command_deadline_s,
                              mode_of=lambda: self.mode, set_mode=self.set_mode,
                              payload_of=run_payload)

    # -- loading -----------------------------------------------------------------------------

    def load(self, rules: Iterable[Rule], scenes: Iterable[Scene] = ()) -> list[RuleProblem]:
        """Replace the loaded rules (and the scenes rules given later may name); returns the
        problems of rules kept disabled. Forgets every run and timer: see ``put_rule``."""
        self._scenes = list(scenes)
        for slot in list(self._slots.values()):
            self._deactivate(slot)
        self._slots.clear()
        self._host.forget_compiled()
        problems: list[RuleProblem] = []
        for rule in rules:
            slot = Slot(rule, self.settings.traces_per_rule)
            self._slots[rule.id] = slot
            self._traces.adopt(slot)
            problems += self._try_activate(slot)
        for problem in problems:
            log.warning("event=rule_problem rule=%s where=%s", problem.rule_id, problem)
        return problems

    def _try_activate(self, slot: Slot) -> list[RuleProblem]:
        resolved, problems = self._resolver.resolve(slot.rule)
        if resolved is None:
            slot.disable(str(problems[0]), is_unresolved=True)
            return problems
        slot.resolved = resolved
        saved = self._saved_states.get(resolved.id)
        if not resolved.is_enabled:
            slot.disable("disabled in its rule file")
        elif saved is not None and not saved.is_enabled:
            slot.disable(saved.reason or "disabled")
        else:
            self._activate(slot)
        return []

    def _activate(self, slot: Slot) -> None:
        rule = slot.resolved
        if rule is None:
            return
        slot.enable(self._host.compile(rule.conditions))
        slot.is_plain = all(isinstance(a, CommandAction) for a in rule.actions)
        if self._sub is None:
            return  # registered by run(), which needs the loop for schedules
        self._watch_triggers(slot)

    def _watch_triggers(self, slot: Slot) -> None:
        rule = slot.resolved
        if rule is None or slot.watches:
            return
        for trigger in rule.triggers:
            if isinstance(trigger, HubStartedTrigger):
                continue
            watch = Watch(trigger, self._fire_for(slot), rule.id, is_persistent=True)
            slot.watches.append(watch)
            self._watcher.add(watch)

    def _fire_for(self, slot: Slot) -> Callable[[Watch, TriggerInfo], None]:
        def on_fire(watch: Watch, info: TriggerInfo) -> None:
            self._fire(slot, info)
        return on_fire

    def _deactivate(self, slot: Slot) -> None:
        for watch in slot.watches:
            self._watcher.remove(watch)
        slot.watches.clear()
        slot.queue.clear()
        for run in list(slot.runs):
            if run.task is not None:
                run.task.cancel()

    def _on_device_joined(self) -> None:
        self._watcher.relabel()
        for slot in self._slots.values():
            if slot.is_unresolved and not self._try_activate(slot):
                log.info("event=rule_enabled rule=%s reason=devices_known", slot.rule.id)

    # -- state of rules ----------------------------------------------------------------------

    def status(self, rule_id: str) -> RuleStatus:
        """A loaded rule's status; KeyError if no such rule."""
        s = self._slots[rule_id]
        return RuleStatus(rule_id, s.rule.name, s.is_enabled, s.reason, s.started, s.skipped,
                          s.dropped, bool(s.runs))

    def statuses(self) -> list[RuleStatus]:
        """Every loaded rule's status."""
        return [self.status(rule_id) for rule_id in self._slots]

    def disable(self, rule_id: str, reason: str) -> None:
        """Disable a rule (persisted); its runs are cancelled."""
        slot = self._slots[rule_id]
        self._deactivate(slot)
        slot.disable(reason)
        self._persist.set_rule_state(rule_id, False, reason)

    def enable(self, rule_id: str) -> list[RuleProblem]:
        """Enable a rule again (persisted); returns problems if it cannot be resolved."""
        slot = self._slots[rule_id]
        self._saved_states.pop(rule_id, None)
        self._persist.set_rule_state(rule_id, True, "")
        slot.run_times.clear()
        return self._try_activate(slot)

    def traces(self, rule_id: str) -> list[Trace]:
        """The last traces of a rule, oldest first, running runs last."""
        slot = self._slots.get(rule_id)
        if slot is None:
            return []
        return [*slot.traces, *(run.trace for run in slot.runs)]

    def set_mode(self, mode: str) -> None:
        """Set the hub mode (persisted as meta ``mode``) and say so on the bus."""
        if mode == self.mode:
            return
        self.mode = mode
        self._persist.set_meta("mode", mode)
        self._bus.publish(Notice("rules", f"hub mode is now {mode}", self._clock.time(),
                                 Context.new("system")))

    # -- events ------------------------------------------------------------------------------

    def handle(self, event: object) -> None:
        """Take one event from the bus (synchronous: the hot path never awaits)."""
        cls = type(event)
        if cls is StateChanged:
            self._watcher.on_state(event)  # type: ignore[arg-type]
        elif cls is ButtonEvent:
            self._watcher.on_button(event)  # type: ignore[arg-type]
        elif cls is AvailabilityChanged:
            self._watcher.on_availability(event)  # type: ignore[arg-type]
        elif cls is DeviceJoined:
            self._on_device_joined()

    def _fire(self, slot: Slot, info: TriggerInfo) -> None:
        """A trigger of the rule fired: depth, conditions, storm, mode; then maybe a run."""
        rule = slot.resolved
        if rule is None or not slot.is_enabled:
            return
        context = info.context.child(slot.origin)
        now = self._clock.time()
        trace = Trace(rule.id, context.id, info, now, context.id, context.depth)
        if info.kind in ("time", "sun"):
            self._persist.set_meta("last_seen", repr(now))
        if context.depth > self.settings.max_depth:
            slot.dropped += 1
            log.warning("event=rule_loop_dropped rule=%s depth=%d", rule.id, context.depth)
            return self._keep(slot, trace, Outcome.DROPPED_DEPTH,
                              f"context depth {context.depth} > {self.settings.max_depth}")
        if rule.conditions and not slot.check(
                Env(self._state, now, self.mode, info.trigger_id, self._place, trace.conditions)):
            return self._keep(slot, trace, Outcome.CONDITIONS_FALSE)
        if is_storm(slot, self._clock.monotonic(), self.settings):
            return self._storm(slot, trace)
        if slot.runs and not self._make_room(slot, trace, context):
            return
        self._start(slot, trace, context)

    def _storm(self, slot: Slot, trace: Trace) -> None:
        s = self.settings
        reason = (f"ran more than {s.storm_runs} times in {s.storm_window_s:g} s "
                  "(a loop?); disabled")
        self._keep(slot, trace, Outcome.DISABLED_STORM, reason)
        self.disable(slot.rule.id, reason)
        log.error("event=rule_storm_disabled rule=%s", slot.rule.id)
        self._bus.publish(Notice(slot.origin, f"rule {slot.rule.name!r} {reason}",
                                 self._clock.time(), Context.new("system"), "warning"))

    def _make_room(self, slot: Slot, trace: Trace, context: Context) -> bool:
        """Apply the run mode when a run is going; True if the new run may start now."""
        verdict = admit(slot, trace, context)
        if verdict is Admission.DROP:
            self._keep(slot, trace, Outcome.DROPPED_MAX_RUNS,
                       f"{slot.rule.mode} mode allows {slot.rule.max_runs} runs")
        return verdict is Admission.START

    # -- runs --------------------------------------------------------------------------------

    def _start(self, slot: Slot, trace: Trace, context: Context, resume: Path | None = None,
               resume_deadline: float | None = None) -> Run:
        slot.started += 1
        run = Run(slot.rule.id, trace.run_id, context, trace, resume, resume_deadline)
        run.task = asyncio.get_running_loop().create_task(self._run_main(slot, run))
        slot.runs.append(run)
        return run

    async def _run_main(self, slot: Slot, run: Run) -> None:
        rule = slot.resolved
        outcome, note = Outcome.DONE, ""
        try:
            if rule is not None and slot.is_plain and run.resume is None:
                await self._host.run_commands(run, rule.actions)  # the common case, lean
            elif rule is not None:
                await run_actions(self._host, run, rule.actions, (), run.resume)
        except StopRun as stop:
            outcome, note = stop.outcome, stop.reason
        except asyncio.CancelledError:
            outcome, note = Outcome.CANCELLED, "hub stopping" if self._is_stopping else ""
            raise
        except Exception as exc:
            log.exception("event=rule_run_failed rule=%s run=%s", run.rule_id, run.run_id)
            outcome, note = Outcome.FAILED, f"{type(exc).__name__}: {exc}"
        finally:
            self._finish(slot, run, outcome, note)

    def _finish(self, slot: Slot, run: Run, outcome: Outcome, note: str) -> None:
        if run in slot.runs:
            slot.runs.remove(run)
        # A resumed run's trace names its own context as the trigger's: rebuild that one.
        self._keep(slot, run.trace, outcome, note, run.context if run.resume is None else None)
        if self._is_stopping:
            return
        if not slot.runs:
            slot.is_skip_logged = False
        if slot.queue and slot.is_enabled and not slot.runs:
            trace, context = slot.queue.popleft()
            self._start(slot, trace, context)

    def _keep(self, slot: Slot, trace: Trace, outcome: Outcome, note: str = "",
              context: Context | None = None) -> None:
        """Finish a trace; ``context``, if given, is the run's (equal to the one rebuilt here)."""
        trace.outcome = outcome
        trace.note = trace.note or note
        trace.end_ts = self._clock.time()
        slot.traces.append(trace)
        self._traces.unsaved(trace)
        if outcome is not Outcome.CONDITIONS_FALSE:  # a run, or a refusal people should see
            if context is None:
                context = Context(trace.context_id, slot.origin, trace.trigger.context.id,
                                  trace.depth)
            # _value_, not .value: the enum property costs 6x the attribute, on every run.
            self._bus.publish(RuleRan(
                trace.rule_id, trace.run_id, outcome._value_, trace.trigger.text,
                trace.trigger.ts, trace.end_ts, sum(1 for s in trace.steps if s.kind == "command"),
                context, trace.note))

    def flush_traces(self, limit: int | None = None) -> int:
        """Save finished traces not yet saved (see ``TraceKeeper.flush``)."""
        return self._traces.flush(limit)

    # -- dry run -----------------------------------------------------------------------------

    def dry_run(self, rule: Rule, states: Iterable[StateEntry], now: float,
                trigger_id: str | None = None) -> Trace:
        """Evaluate a rule against given states at a given time, simulating its actions."""
        from rules.dryrun import dry_run  # the simulator is needed only here

        return dry_run(rule, self._state, states, now, self._place, self.mode, trigger_id)

    # -- the task ----------------------------------------------------------------------------

    def restore(self, *, timers: Iterable[SavedTimer | tuple[str, str, float, str]] = (),
                traces: dict[str, list[str]] | None = None,
                rule_states: Iterable[SavedRuleState | tuple[str, bool, str]] = (),
                mode: str | None = None, last_seen: float | None = None) -> None:
        """Give back what was persisted; call before ``run()`` (before or after ``load``)."""
        self._saved_timers = [t if isinstance(t, SavedTimer) else SavedTimer(*t) for t in timers]
        saved = [s if isinstance(s, SavedRuleState) else SavedRuleState(*s) for s in rule_states]
        self._saved_states = {s.rule_id: s for s in saved}
        self._traces.saved = dict(traces or {})
        if mode:
            self.mode = mode
        self._last_seen = last_seen
        for slot in self._slots.values():
            self._traces.adopt(slot)
            saved_state = self._saved_states.get(slot.rule.id)
            if slot.is_enabled and saved_state is not None and not saved_state.is_enabled:
                self._deactivate(slot)
                slot.disable(saved_state.reason or "disabled")

    async def run(self) -> None:
        """Watch events and timers until cancelled; resumes what was restored, then hub_started."""
        self._is_stopping = self._host.is_stopping = self._watcher.is_stopping = False
        self._sub = self._bus.subscribe(
            (StateChanged, ButtonEvent, AvailabilityChanged, DeviceJoined), self.handle,
            name="rules", inline=True)
        try:
            for slot in self._slots.values():
                if slot.is_enabled:
                    self._watch_triggers(slot)
            saved, self._saved_timers = self._saved_timers, []
            self._persist.forget()
            resume_timers(saved, self._slots, self._watcher, self._persist, self._start,
                          self._clock)
            if self._last_seen is not None:
                self._catch_up_all(self._last_seen)
            self._housekeeping()
            self._fire_hub_started()
            self.ready.set()
            await self._timers.run()
        finally:
            await self._stop()

    def _fire_hub_started(self) -> None:
        for slot in self._slots.values():
            for trigger in slot.resolved.triggers if slot.resolved else ():
                if isinstance(trigger, HubStartedTrigger):
                    self._fire(slot, self._watcher.scheduled_info(trigger, self._clock.time()))

    def _housekeeping(self) -> None:
        s = self.settings
        self._timers.every(s.trace_flush_s, lambda: self._traces.flush_tick(s.trace_flush_batch))
        self._timers.every(s.last_seen_every_s,
                           lambda: self._persist.set_meta("last_seen", repr(self._clock.time())))

    async def _stop(self) -> None:
        self._is_stopping = self._host.is_stopping = self._watcher.is_stopping = True
        self.ready.clear()
        if self._sub is not None:
            self._bus.unsubscribe(self._sub)
            self._sub = None
        tasks = [run.task for slot in self._slots.values() for run in slot.runs if run.task]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for slot in self._slots.values():
            for watch in slot.watches:
                self._watcher.remove(watch)
            slot.watches.clear()
        self.flush_traces()
        self._persist.set_meta("last_seen", repr(self._clock.time()))
        self._timers.clear()
        self._saved_timers = self._persist.live()  # if run() is started again, resume these
        self._last_seen = None

    # -- driving time in tests ---------------------------------------------------------------

    async def settle(self, max_rounds: int = 10_000) -> None:
        """Let queued events and runs go on until every run is parked on a timer or a wait."""
        await settle(self._is_busy, max_rounds)

    def _is_busy(self) -> bool:
        # The engine's subscription is inline: no queue of its own to wait for.
        return any(not run.is_parked for slot in self._slots.values() for run in slot.runs)

    async def advance(self, seconds: float) -> None:
        """Move a ManualClock forward, firing every timer at its own deadline, in order."""
        await advance(self._clock, self._timers, seconds, self.settle)

    def _catch_up_all(self, last_seen: float) -> None:
        now = self._clock.time()
        for slot in list(self._slots.values()):
            for trigger in slot.resolved.triggers if slot.is_enabled and slot.resolved else ():
                if not isinstance(trigger, TimeTrigger | SunTrigger):
                    continue
                missed = missed_recently(self._place, trigger, last_seen, now,
                                         self.settings.catch_up_s)
                if missed is not None:
                    late = f" (missed at {self._place.local(missed):%H:%M:%S}, caught up on boot)"
                    self._fire(slot, self._watcher.scheduled_info(trigger, missed, late))
