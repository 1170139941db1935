"""The rule engine: events in, indexed to the rules that name them, runs out, loops broken.

Theory of operation. ``load`` resolves each rule against the device registry (a rule naming an
unknown device is kept, disabled with the reason, and retried when devices join) and registers
its triggers with the ``Watcher`` index. ``handle`` (the bus handler, synchronous) offers an event
to the watches of its (device, attribute); a firing trigger goes to the ``Runner``
(``rules.runner``: depth, conditions, storm breaker, run mode, then a run).

Rules can be changed one at a time while the engine runs (``put_rule``, ``remove_rule``,
``enable``, ``disable``): only that rule's watches, runs and timers are touched, every other
rule's pending delays, waits and ``for`` timers go on. The storm breaker (``rules.breaker``)
disables a looping rule for a growing cool-down; ``disabled()`` says which rules are off and why.

Timers (delays, waits, ``for``, schedules, cool-downs) live on one heap keyed by wall-clock
deadline (``rules.timers``). Delays and waits are saved through ``RulePersistence`` with their
step path, so that ``restore`` + ``run`` resume them at their deadline after a restart
(``rules.restore``). Tests drive time with a ManualClock and ``advance``; the daemon runs ``run()``.

The pieces. ``RuleEngine`` is the facade the hub talks to, and what it does itself is the engine's
life: taking events, the storm's verdict and its notices, dry runs, restoring and running the
task, driving time in tests. What is loaded, and whether each rule is on, is the rule set's
(``rules.ruleset``: load, put, remove, resolve, activate, deactivate, disable, enable,
cool-downs); firing and running rules is the runner's (``rules.runner``); keeping traces the
trace keeper's (``rules.tracekeep``). The engine builds and owns one of each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import assert_never

from hubd.bus import Bus, Subscription
from hubd.core.clock import Clock
from hubd.core.events import AvailabilityChanged, ButtonEvent, DeviceJoined, Notice, StateChanged
from hubd.core.model import Context, Origin
from hubd.core.state import StateEntry, StateStore
from rules.breaker import storm_reason, trip
from rules.host import Execute, LiveHost
from rules.model import Rule, RuleProblem, Scene
from rules.parse import parse_rule_text
from rules.persistence import RulePersistence, SavedRuleState, SavedTimer, TimerLedger
from rules.plainrun import TraceRecord, record_of, trace_of
from rules.resolve import Resolver
from rules.restore import catch_up, hub_started, kept_rule_states, resume_timers, run_payload
from rules.ruleset import RuleSet
from rules.runner import Runner
from rules.schedule import Place
from rules.settings import EngineSettings, RuleStatus
from rules.slot import Slot
from rules.sun import Observer
from rules.timers import TimerHeap, advance, settle
from rules.trace import Outcome, Trace
from rules.tracekeep import TraceKeeper
from rules.watch import Watcher

__all__ = ["EngineEvent", "EngineSettings", "Execute", "RuleEngine", "RuleStatus"]

log = logging.getLogger(__name__)

EngineEvent = StateChanged | ButtonEvent | AvailabilityChanged | DeviceJoined
USER_DISABLED = "disabled through the API"


class RuleEngine:
    """Runs rules on events and timers; see the module docstring."""

    def __init__(self, state: StateStore, bus: Bus, execute: Execute, clock: Clock,
                 persistence: RulePersistence, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        s = self.settings
        self._state = state
        self._bus = bus
        self._clock = clock
        # The ledger knows the live timers, so that run() started again resumes them.
        self._persist = ledger = TimerLedger(persistence)
        self._place = Place(s.timezone, Observer(s.latitude, s.longitude, s.elevation_m))
        self._timers = TimerHeap(clock)
        self._watcher = Watcher(state, clock, self._timers, ledger, self._place, s.catch_up_s)
        self._saved_timers: list[SavedTimer] = []
        self._last_seen: float | None = None
        self._traces = TraceKeeper(ledger, self._timers, s.trace_flush_s, s.trace_flush_batch)
        self._subs: list[Subscription] = []  # while run() goes on
        self.mode = s.default_mode
        self.ready = asyncio.Event()
        self._host = LiveHost(state=state, bus=bus, execute=execute, clock=clock,
                              persistence=ledger, place=self._place, timers=self._timers,
                              watcher=self._watcher, command_deadline_s=s.command_deadline_s,
                              mode_of=lambda: self.mode, set_mode=self.set_mode,
                              payload_of=run_payload)
        self._runner = Runner(settings=s, state=state, bus=bus, clock=clock, host=self._host,
                              execute=execute, traces=self._traces, persist=ledger,
                              place=self._place, mode_of=lambda: self.mode,
                              on_storm=self._storm)
        self._rules = RuleSet(resolver=Resolver(state), host=self._host, watcher=self._watcher,
                              timers=self._timers, traces=self._traces, persist=ledger,
                              traces_per_rule=s.traces_per_rule, fire=self._runner.fire,
                              on_back=self._back_on)

    # -- loading and changing rules (the rule set does it: rules.ruleset) ----------------------

    def load(self, rules: Iterable[Rule], scenes: Iterable[Scene] = ()) -> list[RuleProblem]:
        """Replace every loaded rule (and the scenes rules given later may name); returns the
        problems of rules kept disabled. Forgets every run and timer: to change one rule while
        the others go on, use ``put_rule`` / ``remove_rule``."""
        return self._rules.load(rules, scenes)

    async def load_async(self, rules: Iterable[Rule], scenes: Iterable[Scene] = (),
                         batch: int = 250) -> list[RuleProblem]:
        """``load``, yielding to the event loop every ``batch`` rules (the daemon's boot: 20,000
        rules take seconds to resolve, and the watchdog and radios must go on meanwhile)."""
        return await self._rules.load_async(rules, scenes, batch)

    def parse_rule(self, text: str, source: str = "api") -> Rule:
        """One rule from YAML or JSON text, its scenes linked to the loaded scenes; raises
        ``rules.parse.RuleTextError`` (a RuleError) locating each problem in ``source``."""
        return parse_rule_text(text, source, self._rules.scenes)

    def put_rule(self, rule: Rule) -> list[RuleProblem]:
        """Add a rule, or replace the one with its id (its runs and timers are dropped, its
        traces and an API disable are kept); every other rule goes on untouched. Returns the
        problems that keep it disabled (unknown devices: it is enabled when they join)."""
        return self._rules.put(rule)

    def remove_rule(self, rule_id: str) -> None:
        """Delete a rule: its runs are cancelled, its timers dropped; KeyError if unknown."""
        self._rules.remove(rule_id)

    def rule(self, rule_id: str) -> Rule:
        """A loaded rule as written (names, not ids); KeyError if unknown."""
        return self._rules.slots[rule_id].rule

    # -- state of rules ----------------------------------------------------------------------

    def status(self, rule_id: str) -> RuleStatus:
        """A loaded rule's status; KeyError if no such rule."""
        s = self._rules.slots[rule_id]
        return RuleStatus(rule_id, s.rule.name, s.is_enabled, s.reason, s.started, s.skipped,
                          s.dropped, bool(s.runs), s.disabled_until, s.disabled_until is not None)

    def statuses(self) -> list[RuleStatus]:
        """Every loaded rule's status, in load order."""
        return [self.status(rule_id) for rule_id in self._rules.slots]

    def disabled(self) -> list[RuleStatus]:
        """The rules that are off, each with why (boot log, health status, the LAN API)."""
        return [status for status in self.statuses() if not status.is_enabled]

    def disable(self, rule_id: str, reason: str = USER_DISABLED) -> None:
        """Disable a rule (persisted: it stays off across restarts); its runs are cancelled;
        KeyError if unknown."""
        self._rules.disable(rule_id, reason)

    def enable(self, rule_id: str) -> list[RuleProblem]:
        """Enable a rule at once, whatever disabled it (API, storm cool-down; not its file's
        ``enabled: false``); persisted. Returns problems if it cannot be resolved."""
        return self._rules.enable(rule_id)

    def traces(self, rule_id: str) -> list[Trace]:
        """The last traces of a rule, oldest first, running runs last ([] if unknown)."""
        slot = self._rules.slots.get(rule_id)
        if slot is None:
            return []
        return [*map(trace_of, slot.traces),
                *(trace_of(record_of(run)) for run in slot.runs)]

    def set_mode(self, mode: str) -> None:
        """Set the hub mode (persisted as meta ``mode``) and say so on the bus."""
        if mode == self.mode:
            return
        self.mode = mode
        self._persist.set_meta("mode", mode)
        self._bus.publish(Notice("rules", f"hub mode is now {mode}", self._clock.time(),
                                 Context.new(Origin.SYSTEM)))

    # -- events ------------------------------------------------------------------------------

    def handle(self, event: EngineEvent) -> None:
        """Take one event (synchronous: the hot path never awaits; the bus hands state changes
        straight to the index, see run())."""
        match event:
            case StateChanged():
                self._watcher.on_state(event)
            case ButtonEvent():
                self._watcher.on_button(event)
            case AvailabilityChanged():
                self._watcher.on_availability(event)
            case DeviceJoined():
                self._rules.on_device_joined()
            case _:
                assert_never(event)

    def _storm(self, slot: Slot, trace: TraceRecord) -> None:
        """The breaker tripped: off for a cool-down (not persisted), then back by itself."""
        cool_down_s = trip(slot, self._clock.monotonic(), self.settings)
        reason = storm_reason(self.settings, cool_down_s)
        self._runner.keep(slot, trace, Outcome.DISABLED_STORM, reason)
        self._rules.cool_down(slot, reason, self._clock.time() + cool_down_s)
        log.error("event=rule_storm_disabled rule=%s cool_down_s=%g strikes=%d", slot.rule.id,
                  cool_down_s, slot.strikes)
        self._bus.publish(Notice(slot.origin, f"rule {slot.rule.name!r} {reason}",
                                 self._clock.time(), Context.new(Origin.SYSTEM), "warning"))

    def _back_on(self, slot: Slot) -> None:
        """A storming rule's cool-down is over and it is on again: say so."""
        log.warning("event=rule_enabled rule=%s reason=cool_down_over", slot.rule.id)
        self._bus.publish(Notice(slot.origin, f"rule {slot.rule.name!r} is back on after its "
                                 "cool-down", self._clock.time(), Context.new(Origin.SYSTEM)))

    # -- dry run -----------------------------------------------------------------------------

    def dry_run(self, rule: Rule, states: Iterable[StateEntry], now: float,
                trigger_id: str | None = None) -> Trace:
        """What a rule (loaded or not) would do: its conditions against the live states
        overlaid with ``states``, at ``now``, its actions simulated (nothing is sent)."""
        from rules.dryrun import dry_run  # the simulator is needed only here

        return dry_run(rule, self._state, states, now, self._place, self.mode, trigger_id)

    # -- the task ----------------------------------------------------------------------------

    def restore(self, *, timers: Iterable[SavedTimer | tuple[str, str, float, str]] = (),
                traces: dict[str, list[str]] | None = None,
                rule_states: Iterable[SavedRuleState | tuple[str, bool, str]] = (),
                mode: str | None = None, last_seen: float | None = None) -> None:
        """Give back what was persisted; call before ``run()`` (before or after ``load``)."""
        self._saved_timers = [t if isinstance(t, SavedTimer) else SavedTimer(*t) for t in timers]
        saved_states = kept_rule_states(
            (s if isinstance(s, SavedRuleState) else SavedRuleState(*s) for s in rule_states),
            self._persist)
        self._traces.saved = dict(traces or {})
        if mode:
            self.mode = mode
        self._last_seen = last_seen
        self._rules.restore(saved_states)

    async def run(self) -> None:
        """Watch events and timers until cancelled; resumes what was restored, then hub_started."""
        self._runner.is_stopping = self._host.is_stopping = self._watcher.is_stopping = False
        # State changes, the hot path, go straight to the index; the rest through handle().
        self._subs = [
            self._bus.subscribe((StateChanged,), self._watcher.on_state, name="rules",
                                inline=True),
            self._bus.subscribe((ButtonEvent, AvailabilityChanged, DeviceJoined), self.handle,
                                name="rules:other", inline=True)]
        try:
            slots = self._rules.slots
            self._rules.watch()
            saved, self._saved_timers = self._saved_timers, []
            self._persist.forget()
            resume_timers(saved, slots, self._watcher, self._persist, self._runner.start,
                          self._clock)
            if self._last_seen is not None:
                catch_up(slots.values(), self._last_seen, self._clock.time(), self._place,
                         self.settings.catch_up_s, self._watcher, self._runner.fire)
            self._housekeeping()
            hub_started(slots.values(), self._clock.time(), self._watcher,
                        self._runner.fire)
            self.ready.set()
            await self._timers.run()
        finally:
            await self._stop()

    def _housekeeping(self) -> None:
        self._traces.rearm()  # the timers were cleared when the engine last stopped
        self._timers.every(self.settings.last_seen_every_s,
                           lambda: self._persist.set_meta("last_seen", repr(self._clock.time())))

    async def _stop(self) -> None:
        self._runner.is_stopping = self._host.is_stopping = self._watcher.is_stopping = True
        self.ready.clear()
        for sub in self._subs:
            self._bus.unsubscribe(sub)
        self._subs = []
        self._rules.is_watching = False  # a rule put while stopping is not watched
        runs = [run for slot in self._rules.slots.values() for run in slot.runs]
        for run in runs:
            run.cancel()
        await asyncio.gather(*(run.task for run in runs if run.task), return_exceptions=True)
        await asyncio.sleep(0)  # plain runs finish in their done callbacks
        self._rules.unwatch()
        self.flush_traces()
        self._persist.set_meta("last_seen", repr(self._clock.time()))
        self._timers.clear()
        self._saved_timers = self._persist.live()  # if run() is started again, resume these
        self._last_seen = None

    def flush_traces(self, limit: int | None = None) -> int:
        """Save finished traces not yet saved (see ``TraceKeeper.flush``)."""
        return self._traces.flush(limit)

    # -- driving time in tests ---------------------------------------------------------------

    async def settle(self, max_rounds: int = 10_000, min_wait_s: float = 5.0) -> None:
        """Let queued events and runs go on until every run is parked on a timer or a wait
        (a run waiting on a radio's answer gets up to ``min_wait_s`` of real time)."""
        await settle(self._is_busy, max_rounds, min_wait_s)

    def _is_busy(self) -> bool:
        # The engine's subscription is inline: no queue of its own to wait for.
        return any(not run.is_parked for slot in self._rules.slots.values() for run in slot.runs)

    async def advance(self, seconds: float) -> None:
        """Move a ManualClock forward, firing every timer at its own deadline, in order."""
        await advance(self._clock, self._timers, seconds, self.settle)
