"""Dry runs: a rule evaluated against given states at a given time, its actions simulated.

Nothing is sent and nothing is persisted. The simulated clock starts at ``now`` and jumps over
delays; a wait cannot be satisfied without events, so it is taken as timed out (after its timeout,
if any). Given states override the live ones; devices are resolved against the live registry.
The interpreter is driven by hand (one ``send``): every host call completes at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from hubd.core.model import Context, Origin, new_id, rule_origin
from hubd.core.state import StateEntry, StateStore
from rules.actions import Path, Run, StopRun, describe_command, run_actions
from rules.evaluate import Env, compile_conditions
from rules.model import CommandAction, Condition, Rule, Trigger
from rules.resolve import Resolver
from rules.schedule import Place
from rules.trace import CondNote, Outcome, StepNote, Trace, TriggerInfo


class _Overlay:
    """Given states first, then the live store."""

    def __init__(self, live: StateStore, given: Iterable[StateEntry]) -> None:
        self._live = live
        self._given = {(e.device_id, e.attribute): e for e in given}

    def entry(self, device_id: str, attribute: str) -> StateEntry | None:
        """The given entry, else the live one."""
        found = self._given.get((device_id, attribute))
        return found if found is not None else self._live.entry(device_id, attribute)


class DryHost:
    """Simulates what rule runs ask (see ``rules.actions.RunHost``)."""

    def __init__(self, states: _Overlay, now: float, place: Place, mode: str,
                 live: StateStore) -> None:
        self._live = live
        self._states = states
        self._now = now
        self._place = place
        self.mode = mode

    def now(self) -> float:
        """The simulated time."""
        return self._now

    def name_of(self, device_id: str) -> str:
        """A device's name, for traces."""
        device = self._live.get_device(device_id)
        return device.name if device is not None and device.name else device_id

    def describe(self, action: CommandAction) -> str:
        """A command action for traces."""
        return describe_command(action, self.name_of)

    async def command(self, run: Run, action: CommandAction, note: StepNote) -> None:
        """Record the command that would be sent."""
        note.status, note.detail = "simulated", "not sent (dry run)"

    async def sleep_until(self, run: Run, deadline: float, path: Path) -> None:
        """Jump the simulated clock."""
        self._now = max(self._now, deadline)

    async def wait_trigger(self, run: Run, trigger: Trigger, deadline: float | None,
                           path: Path) -> bool:
        """No events happen in a dry run: the wait times out."""
        if deadline is not None:
            self._now = max(self._now, deadline)
        return False

    def check(self, run: Run, conditions: tuple[Condition, ...], note: StepNote) -> bool:
        """Evaluate against the given states at the simulated time."""
        notes: list[CondNote] = []
        env = Env(self._states, self._now, self.mode, run.trace.trigger.trigger_id, self._place,
                  notes)
        is_true = compile_conditions(conditions, self.name_of)(env)
        note.detail = "; ".join(f"{'✓' if n.is_true else '✗'} {n.text} ({n.detail})"
                                for n in notes)
        return is_true

    def change_mode(self, run: Run, mode: str) -> None:
        """Change the simulated mode."""
        self.mode = mode

    def notify(self, run: Run, message: str, level: str) -> None:
        """Nothing is published in a dry run (the step is in the trace)."""


def dry_run(rule: Rule, live: StateStore, states: Iterable[StateEntry], now: float,
            place: Place, mode: str, trigger_id: str | None = None) -> Trace:
    """The trace a run of the rule would leave, given states and a time."""
    overlay = _Overlay(live, states)
    trigger_id = trigger_id or (rule.triggers[0].id if rule.triggers else "")
    context = Context.new(Origin.SYSTEM)
    run_context = context.child(rule_origin(rule.id))
    info = TriggerInfo(trigger_id, "dry_run", f"dry run as if trigger {trigger_id} fired", now,
                       context)
    trace = Trace(rule.id, new_id(), info, now, run_context.id, run_context.depth,
                  is_dry_run=True)
    resolved, problems = Resolver(live).resolve(rule)
    if resolved is None:
        trace.outcome, trace.end_ts = Outcome.FAILED, now
        trace.note = "; ".join(str(p) for p in problems)
        return trace
    host = DryHost(overlay, now, place, mode, live)
    env = Env(overlay, now, mode, trigger_id, place, trace.conditions)
    if not compile_conditions(resolved.conditions, host.name_of)(env):
        trace.outcome, trace.end_ts = Outcome.CONDITIONS_FALSE, now
        return trace
    run = Run(rule.id, trace.run_id, run_context, trace)
    coro = run_actions(host, run, resolved.actions, (), None)
    trace.outcome = Outcome.DONE
    try:
        coro.send(None)
    except StopIteration:
        pass
    except StopRun as stop:
        trace.outcome, trace.note = stop.outcome, stop.reason
    else:  # pragma: no cover - every DryHost call completes at once
        coro.close()
        raise RuntimeError("a dry run suspended")
    trace.end_ts = host.now()
    return trace
