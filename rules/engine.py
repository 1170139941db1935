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
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from hubd.bus import Bus, Subscription
from hubd.core.clock import Clock
from hubd.core.events import (
    AvailabilityChanged,
    ButtonEvent,
    CommandResult,
    DeviceJoined,
    Notice,
    StateChanged,
)
from hubd.core.model import Command, Context
from hubd.core.state import StateEntry, StateStore
from rules.actions import Path, Run, StopRun, run_actions, run_commands
from rules.evaluate import Env
from rules.host import LiveHost
from rules.model import (
    CommandAction,
    HubStartedTrigger,
    Rule,
    RuleProblem,
    RunMode,
    SunTrigger,
    TimeTrigger,
)
from rules.persistence import RulePersistence, SavedRuleState, SavedTimer
from rules.resolve import Resolver
from rules.restore import resume_timers
from rules.schedule import Place
from rules.slot import Slot
from rules.sun import Observer
from rules.timers import TimerHeap
from rules.trace import Outcome, Trace, TriggerInfo
from rules.watch import Watch, Watcher

log = logging.getLogger(__name__)

Execute = Callable[[Command], Awaitable[CommandResult]]


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the engine guards loops, catches up, keeps traces, and where on Earth it runs."""

    max_depth: int = 8
    storm_runs: int = 20
    storm_window_s: float = 10.0
    catch_up_s: float = 300.0
    latitude: float = 0.0
    longitude: float = 0.0
    elevation_m: float = 0.0
    timezone: str = "UTC"
    traces_per_rule: int = 20
    command_deadline_s: float = 10.0
    trace_flush_s: float = 0.5
    trace_flush_batch: int = 200  # traces serialised per flush tick, at most
    last_seen_every_s: float = 60.0
    default_mode: str = "home"


@dataclass(frozen=True, slots=True)
class RuleStatus:
    """A loaded rule's state, for the API and the demo."""

    rule_id: str
    name: str
    is_enabled: bool
    reason: str
    runs_started: int
    runs_skipped: int
    runs_dropped: int
    is_running: bool


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
        self._persist = persistence
        self._place = Place(s.timezone, Observer(s.latitude, s.longitude, s.elevation_m))
        self._timers = TimerHeap(clock)
        self._watcher = Watcher(state, clock, self._timers, persistence, self._place)
        self._resolver = Resolver(state)
        self._slots: dict[str, Slot] = {}
        self._saved_states: dict[str, SavedRuleState] = {}
        self._saved_timers: list[SavedTimer] = []
        self._saved_traces: dict[str, list[str]] = {}
        self._last_seen: float | None = None
        self._unsaved: dict[str, deque[Trace]] = {}
        self._sub: Subscription | None = None
        self._is_stopping = False
        self.mode = s.default_mode
        self.ready = asyncio.Event()
        self._host = LiveHost(state=state, bus=bus, execute=execute, clock=clock,
                              persistence=persistence, place=self._place, timers=self._timers,
                              watcher=self._watcher, command_deadline_s=s.command_deadline_s,
                              mode_of=lambda: self.mode, set_mode=self.set_mode,
                              payload_of=self.payload_of)

    # -- loading -----------------------------------------------------------------------------

    def load(self, rules: Iterable[Rule]) -> list[RuleProblem]:
        """Replace the loaded rules; returns the problems of rules kept disabled."""
        for slot in list(self._slots.values()):
            self._deactivate(slot)
        self._slots.clear()
        self._host.forget_compiled()
        problems: list[RuleProblem] = []
        for rule in rules:
            slot = Slot(rule, self.settings.traces_per_rule)
            self._slots[rule.id] = slot
            self._adopt_traces(slot)
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

    def _fire(self, slot: Slot, info: TriggerInfo, *, is_catch_up: bool = False) -> None:
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
        if self._is_storm(slot):
            return self._storm(slot, trace)
        if slot.runs and not self._make_room(slot, trace, context):
            return
        self._start(slot, trace, context)

    def _is_storm(self, slot: Slot) -> bool:
        now = self._clock.monotonic()
        times = slot.run_times
        times.append(now)
        window = self.settings.storm_window_s
        while times and times[0] <= now - window:
            times.popleft()
        return len(times) > self.settings.storm_runs

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
        rule = slot.resolved
        if rule is None:
            return False
        if rule.mode is RunMode.SINGLE:
            slot.skipped += 1
            slot.runs[0].trace.skipped += 1
            if not slot.is_skip_logged:
                slot.is_skip_logged = True
                log.info("event=rule_busy rule=%s mode=single (further triggers counted)",
                         rule.id)
            return False
        if rule.mode is RunMode.RESTART:
            for run in slot.runs:
                if run.task is not None:
                    run.task.cancel()
            return True
        busy = len(slot.runs) + (len(slot.queue) if rule.mode is RunMode.QUEUED else 0)
        if busy >= rule.max_runs:
            slot.dropped += 1
            self._keep(slot, trace, Outcome.DROPPED_MAX_RUNS,
                       f"{rule.mode} mode allows {rule.max_runs} runs")
            return False
        if rule.mode is RunMode.QUEUED:
            slot.queue.append((trace, context))
            return False
        return True

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
                await run_commands(self._host, run, rule.actions)  # the common case, lean
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
        self._keep(slot, run.trace, outcome, note)
        if self._is_stopping:
            return
        if not slot.runs:
            slot.is_skip_logged = False
        if slot.queue and slot.is_enabled and not slot.runs:
            trace, context = slot.queue.popleft()
            self._start(slot, trace, context)

    def _keep(self, slot: Slot, trace: Trace, outcome: Outcome, note: str = "") -> None:
        trace.outcome = outcome
        trace.note = trace.note or note
        trace.end_ts = self._clock.time()
        slot.traces.append(trace)
        pending = self._unsaved.get(trace.rule_id)
        if pending is None:
            pending = self._unsaved[trace.rule_id] = deque(maxlen=self.settings.traces_per_rule)
        pending.append(trace)

    def flush_traces(self, limit: int | None = None) -> int:
        """Save finished traces not yet saved, at most ``limit`` (round robin over rules).

        Write-behind and bounded: a tick never blocks the loop for long, and a busy rule's older
        traces are superseded (only the last ``traces_per_rule`` of each rule wait to be saved).
        """
        saved = 0
        pending = self._unsaved
        while pending and (limit is None or saved < limit):
            rule_id = next(iter(pending))
            traces = pending.pop(rule_id)
            trace = traces.popleft()
            if traces:
                pending[rule_id] = traces  # to the back of the line
            self._persist.save_trace(rule_id, trace.start_ts, trace.to_json())
            saved += 1
        return saved

    def _flush_tick(self) -> None:
        self.flush_traces(self.settings.trace_flush_batch)

    def _adopt_traces(self, slot: Slot) -> None:
        for body in self._saved_traces.pop(slot.rule.id, []):
            try:
                slot.traces.append(Trace.from_json(body))
            except ValueError:
                log.warning("event=rule_trace_unreadable rule=%s", slot.rule.id)

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
        self._saved_states = {}
        for state in rule_states:
            saved = state if isinstance(state, SavedRuleState) else SavedRuleState(*state)
            self._saved_states[saved.rule_id] = saved
        self._saved_traces = dict(traces or {})
        if mode:
            self.mode = mode
        self._last_seen = last_seen
        for slot in self._slots.values():
            self._adopt_traces(slot)
            saved_state = self._saved_states.get(slot.rule.id)
            if slot.is_enabled and saved_state is not None and not saved_state.is_enabled:
                self._deactivate(slot)
                slot.disable(saved_state.reason or "disabled")

    async def run(self) -> None:
        """Watch events and timers until cancelled; resumes what was restored, then hub_started."""

        self._is_stopping = self._host.is_stopping = self._watcher.is_stopping = False
        self._sub = self._bus.subscribe(
            (StateChanged, ButtonEvent, AvailabilityChanged, DeviceJoined), self.handle,
            name="rules")
        try:
            for slot in self._slots.values():
                if slot.is_enabled:
                    self._watch_triggers(slot)
            resume_timers(self._saved_timers, self._slots, self._watcher, self._persist,
                          self._start, self._clock)
            self._saved_timers = []
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
        self._every(s.trace_flush_s, self._flush_tick)
        self._every(s.last_seen_every_s,
                    lambda: self._persist.set_meta("last_seen", repr(self._clock.time())))

    def _every(self, period_s: float, fn: Callable[[], None]) -> None:
        def tick() -> None:
            fn()
            self._timers.call_at(self._clock.time() + period_s, tick)
        self._timers.call_at(self._clock.time() + period_s, tick)

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

    # -- driving time in tests ---------------------------------------------------------------

    async def settle(self, max_rounds: int = 10_000) -> None:
        """Let queued events and runs go on until every run is parked on a timer or a wait."""
        for _ in range(max_rounds):
            await asyncio.sleep(0)
            is_busy = (self._sub is not None and not self._sub.queue.empty()) or any(
                not run.is_parked for slot in self._slots.values() for run in slot.runs)
            if not is_busy:
                return

    async def advance(self, seconds: float) -> None:
        """Move a ManualClock forward, firing every timer at its own deadline, in order."""
        step = getattr(self._clock, "advance", None)
        if step is None:
            raise TypeError("advance() needs a clock that can be advanced (ManualClock)")
        target = self._clock.time() + seconds
        await self.settle()
        while (deadline := self._timers.next_deadline()) is not None and deadline <= target:
            if deadline > self._clock.time():
                step(deadline - self._clock.time())
            self._timers.fire_due(self._clock.time())
            await self.settle()
        if target > self._clock.time():
            step(target - self._clock.time())
        await self.settle()

    def _catch_up_all(self, last_seen: float) -> None:
        for slot in list(self._slots.values()):
            for trigger in slot.resolved.triggers if slot.is_enabled and slot.resolved else ():
                if isinstance(trigger, TimeTrigger | SunTrigger):
                    self.catch_up(slot, trigger, last_seen)

    def catch_up(self, slot: Slot, trigger: TimeTrigger | SunTrigger, last_seen: float) -> None:
        """Run a time trigger missed while the hub was down, if it is recent enough."""
        now = self._clock.time()
        missed = self._place.last_fire(trigger, last_seen, now)
        if missed is not None and now - missed <= self.settings.catch_up_s:
            late = f" (missed at {self._place.local(missed):%H:%M:%S}, caught up on boot)"
            self._fire(slot, self._watcher.scheduled_info(trigger, missed, late))

    def slots(self) -> dict[str, Slot]:
        """The loaded rules' slots (for restore and tests)."""
        return self._slots

    def payload_of(self, run: Run, path: Path, step: str) -> str:
        """The JSON saved with a parked run's timer."""
        t = run.trace.trigger
        return json.dumps({
            "t": "run", "run": run.run_id, "step": step, "path": list(path),
            "ctx": [run.context.id, run.context.origin, run.context.parent_id, run.context.depth],
            "trigger": [t.trigger_id, t.kind, t.text, t.ts, t.device_id, t.attribute],
        }, separators=(",", ":"))
