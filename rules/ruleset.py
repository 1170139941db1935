"""The rule set: the loaded rules, and which of them are on.

The engine (``rules.engine``) is what the rest of the hub talks to: events in, a task that runs,
timers, the status it reports. What it runs is this: each loaded rule as a ``Slot``, the scenes
rules may name, and the saved on/off states. Every change of what is loaded or whether a rule is
on goes through here, and only here: loading all rules, putting or removing one, resolving a rule
against the device registry (again when devices join), activating it (conditions compiled,
triggers watched) and deactivating it (watches gone, runs cancelled), an API disable or enable
(persisted), and a storm's cool-down (not persisted: off for a while, then back by itself).
Apart from the engine because these transitions are the engine's state machine and read best
as one: the engine around them (events, the task, driving time in tests) never sets a rule on or
off itself, it asks here. The engine's public methods say what each change means to a caller.

A watch calls the runner's ``fire`` through a partial of the slot: no Python frame in between.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from functools import partial

from rules.host import LiveHost
from rules.model import HubStartedTrigger, Rule, RuleProblem, Scene
from rules.persistence import RulePersistence, SavedRuleState
from rules.resolve import Resolver
from rules.slot import Slot
from rules.timers import TimerHeap
from rules.trace import TriggerInfo
from rules.tracekeep import TraceKeeper
from rules.watch import Watch, Watcher

log = logging.getLogger(__name__)

Fire = Callable[[Slot, TriggerInfo], None]


class RuleSet:
    """The loaded rules (slots, scenes, saved states) and every change of them; see the module
    docstring."""

    def __init__(self, *, resolver: Resolver, host: LiveHost, watcher: Watcher,
                 timers: TimerHeap, traces: TraceKeeper, persist: RulePersistence,
                 traces_per_rule: int, fire: Fire, on_back: Callable[[Slot], None]) -> None:
        self._resolver = resolver
        self._host = host
        self._watcher = watcher
        self._timers = timers
        self._traces = traces
        self._persist = persist
        self._traces_per_rule = traces_per_rule
        self._fire = fire  # the runner's: each watch calls it with its slot
        self._on_back = on_back
        self._slots: dict[str, Slot] = {}
        self._saved_states: dict[str, SavedRuleState] = {}
        self.scenes: list[Scene] = []
        # Triggers are watched only while the engine runs (schedules need the loop).
        self.is_watching = False

    @property
    def slots(self) -> Mapping[str, Slot]:
        """The loaded rules by id, in load order (read only: change them through the methods)."""
        return self._slots

    # -- loading and changing rules ----------------------------------------------------------

    def load(self, rules: Iterable[Rule], scenes: Iterable[Scene] = ()) -> list[RuleProblem]:
        """Replace every loaded rule (see ``RuleEngine.load``)."""
        self._clear(scenes)
        problems = [p for rule in rules for p in self._add(rule)]
        self._log_problems(problems)
        return problems

    async def load_async(self, rules: Iterable[Rule], scenes: Iterable[Scene] = (),
                         batch: int = 250) -> list[RuleProblem]:
        """``load``, yielding to the event loop every ``batch`` rules."""
        self._clear(scenes)
        problems: list[RuleProblem] = []
        for n, rule in enumerate(rules, 1):
            problems += self._add(rule)
            if n % batch == 0:
                await asyncio.sleep(0)
        self._log_problems(problems)
        return problems

    def _clear(self, scenes: Iterable[Scene]) -> None:
        self.scenes = list(scenes)
        for slot in list(self._slots.values()):
            self._drop(slot)
        self._slots.clear()
        self._host.forget_compiled()

    def _add(self, rule: Rule) -> list[RuleProblem]:
        slot = Slot(rule, self._traces_per_rule)
        self._slots[rule.id] = slot
        self._traces.adopt(slot)
        return self._try_activate(slot)

    @staticmethod
    def _log_problems(problems: list[RuleProblem]) -> None:
        for problem in problems:
            log.warning("event=rule_problem rule=%s where=%s", problem.rule_id, problem)

    def put(self, rule: Rule) -> list[RuleProblem]:
        """Add a rule or replace the one with its id (see ``RuleEngine.put_rule``)."""
        old = self._slots.get(rule.id)
        slot = Slot(rule, self._traces_per_rule)
        if old is not None:
            self._drop(old)
            slot.traces = old.traces  # shared: the old runs' last traces land there too
        else:
            self._traces.adopt(slot)
        self._slots[rule.id] = slot
        self._host.forget_compiled()  # bounded: the old rule's compiled checks go too
        problems = self._try_activate(slot)
        log.info("event=rule_put rule=%s replaced=%s problems=%d", rule.id, old is not None,
                 len(problems))
        return problems

    def remove(self, rule_id: str) -> None:
        """Delete a rule: its runs are cancelled, its timers dropped; KeyError if unknown."""
        self._drop(self._slots.pop(rule_id))
        self._host.forget_compiled()
        if rule_id in self._saved_states:
            del self._saved_states[rule_id]
            self._persist.set_rule_state(rule_id, True, "")
        log.info("event=rule_removed rule=%s", rule_id)

    def _drop(self, slot: Slot) -> None:
        """A rule replaced or removed: nothing of it goes on, not even its cool-down."""
        self.deactivate(slot)
        self._timers.cancel(slot.cool_timer)

    def on_device_joined(self) -> None:
        """Devices joined: rules that named unknown devices may resolve now."""
        self._watcher.relabel()
        for slot in self._slots.values():
            if slot.is_unresolved and not self._try_activate(slot):
                log.info("event=rule_enabled rule=%s reason=devices_known", slot.rule.id)

    # -- on and off --------------------------------------------------------------------------

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
        elif slot.disabled_until is None:
            self._activate(slot)
        return []

    def _activate(self, slot: Slot) -> None:
        rule = slot.resolved
        if rule is None:
            return
        slot.enable(self._host.compile(rule.conditions))
        slot.plain = self._host.plain_steps(rule.actions)
        if self.is_watching:
            self._watch_triggers(slot)

    def _watch_triggers(self, slot: Slot) -> None:
        rule = slot.resolved
        if rule is None or slot.watches:
            return
        for trigger in rule.triggers:
            if isinstance(trigger, HubStartedTrigger):
                continue
            # A partial, not a closure: the watch calls the runner with no frame in between.
            watch = Watch(trigger, partial(self._fire, slot), rule.id, is_persistent=True)
            slot.watches.append(watch)
            self._watcher.add(watch)

    def deactivate(self, slot: Slot) -> None:
        """Stop watching a rule's triggers and cancel its runs (its state is the caller's)."""
        for watch in slot.watches:
            self._watcher.remove(watch)
        slot.watches.clear()
        slot.queue.clear()
        for run in list(slot.runs):
            run.cancel()

    def disable(self, rule_id: str, reason: str) -> None:
        """Disable a rule, persisted (see ``RuleEngine.disable``)."""
        slot = self._slots[rule_id]
        self._drop(slot)
        slot.cool_timer = slot.disabled_until = None
        slot.disable(reason)
        self._saved_states[rule_id] = SavedRuleState(rule_id, False, reason)
        self._persist.set_rule_state(rule_id, False, reason)

    def enable(self, rule_id: str) -> list[RuleProblem]:
        """Enable a rule at once, persisted (see ``RuleEngine.enable``)."""
        slot = self._slots[rule_id]
        self._saved_states.pop(rule_id, None)
        self._persist.set_rule_state(rule_id, True, "")
        self._timers.cancel(slot.cool_timer)
        slot.cool_timer = slot.disabled_until = None
        slot.strikes = 0
        slot.run_times.clear()
        return self._try_activate(slot)

    def cool_down(self, slot: Slot, reason: str, until: float) -> None:
        """Switch a storming rule off until ``until`` (wall clock), not persisted; then it comes
        back by itself and ``on_back`` is told."""
        self.deactivate(slot)
        slot.disable(reason)
        self._arm_cool_down(slot, until)

    def _arm_cool_down(self, slot: Slot, until: float) -> None:
        slot.disabled_until = until
        self._timers.cancel(slot.cool_timer)
        slot.cool_timer = self._timers.call_at(until, lambda: self._cooled_down(slot))

    def _cooled_down(self, slot: Slot) -> None:
        slot.cool_timer = None
        if self._slots.get(slot.rule.id) is not slot or slot.disabled_until is None:
            return  # replaced, removed or enabled meanwhile
        slot.disabled_until = None
        slot.run_times.clear()
        if not self._try_activate(slot) and slot.is_enabled:
            self._on_back(slot)

    # -- boot and stop -----------------------------------------------------------------------

    def restore(self, saved_states: dict[str, SavedRuleState]) -> None:
        """Take the saved on/off states (kept for rules loaded later too) and the saved traces
        (already given to the trace keeper); apply both to the loaded rules."""
        self._saved_states = saved_states
        for slot in self._slots.values():
            self._traces.adopt(slot)
            saved_state = saved_states.get(slot.rule.id)
            if slot.is_enabled and saved_state is not None and not saved_state.is_enabled:
                self.deactivate(slot)
                slot.disable(saved_state.reason or "disabled")

    def watch(self) -> None:
        """The engine runs: watch every enabled rule's triggers, re-arm cool-downs."""
        self.is_watching = True
        for slot in self._slots.values():
            if slot.is_enabled:
                self._watch_triggers(slot)
            elif slot.disabled_until is not None:  # run() again: the heap was cleared
                self._arm_cool_down(slot, slot.disabled_until)

    def unwatch(self) -> None:
        """The engine stopped: no watches; the heap, cleared next, holds no cool-down of ours."""
        for slot in self._slots.values():
            for watch in slot.watches:
                self._watcher.remove(watch)
            slot.watches.clear()
            slot.cool_timer = None
