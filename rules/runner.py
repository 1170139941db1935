"""Firing rules and running them: the hot path from a trigger to the commands it sends.

A firing trigger goes through, in order: the loop depth check (context depth > ``max_depth``:
dropped), the compiled conditions, the storm breaker (hub-caused runs only: ``rules.breaker``)
and the run mode (``rules.modes``). Then a run starts:

- a *plain* run (a rule made only of commands, the common "door → light") is a ``PlainRun``,
  the run and its trace in one record (``rules.plainrun``), and one task of one coroutine that
  awaits each command's ``execute`` in turn: no interpreter, no step paths to save. (Scheduling
  each send with a done callback instead was measured slower: a done callback costs the loop
  one more turn per command than a task that awaits a send finishing at once. Starting the
  coroutine in the caller's turn, with no task, was 5-10 % faster in the rules bench, but a
  driver's ``asyncio.timeout`` would then belong to the caller's task, the radio's reader.)
- any other run is a ``Run`` with a ``Trace``, a task interpreting the action tree
  (``rules.actions``), which can park on delays and waits and resume after a restart.

Either way the trace is finished in ``keep``, which keeps it in the rule's ring (whence the
trace keeper saves it) and publishes ``RuleRan``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hubd.bus import Bus
from hubd.core.clock import Clock
from hubd.core.events import RuleRan
from hubd.core.model import Command, Context
from hubd.core.state import StateStore
from rules.actions import Path, Run, StopRun, run_actions
from rules.breaker import is_hub_caused, is_storm
from rules.evaluate import Env
from rules.host import Execute, LiveHost, failure
from rules.modes import Admission, admit
from rules.persistence import TimerLedger
from rules.plainrun import PlainRun, TraceRecord
from rules.schedule import Place
from rules.settings import EngineSettings
from rules.slot import Slot
from rules.trace import Outcome, Trace, TriggerInfo
from rules.tracekeep import TraceKeeper

log = logging.getLogger(__name__)

_SCHEDULED = frozenset({"time", "sun"})


class Runner:
    """Fires rules and runs them; the engine owns one (see the module docstring)."""

    def __init__(self, *, settings: EngineSettings, state: StateStore, bus: Bus, clock: Clock,
                 host: LiveHost, execute: Execute, traces: TraceKeeper, persist: TimerLedger,
                 place: Place, mode_of: Callable[[], str],
                 on_storm: Callable[[Slot, TraceRecord], None]) -> None:
        self._settings = settings
        self._state = state
        self._bus = bus
        self._clock = clock
        self._host = host
        self._execute = execute
        self._traces = traces
        self._persist = persist
        self._place = place
        self._mode_of = mode_of
        self._on_storm = on_storm
        self.is_stopping = False

    # -- firing ------------------------------------------------------------------------------

    def fire(self, slot: Slot, info: TriggerInfo) -> None:
        """A trigger of the rule fired: depth, conditions, storm, mode; then maybe a run."""
        rule = slot.resolved
        if rule is None or not slot.is_enabled:
            return
        context = info.context.child(slot.origin)
        now = self._clock.time()
        trace: TraceRecord = (
            Trace(rule.id, context.id, info, now, context.id, context.depth)
            if slot.plain is None else PlainRun(rule.id, info, context, now, slot.plain))
        if info.kind in _SCHEDULED:
            self._persist.set_meta("last_seen", repr(now))
        s = self._settings
        if context.depth > s.max_depth:
            slot.dropped += 1
            log.warning("event=rule_loop_dropped rule=%s depth=%d", rule.id, context.depth)
            return self.keep(slot, trace, Outcome.DROPPED_DEPTH,
                             f"context depth {context.depth} > {s.max_depth}")
        if rule.conditions and not slot.check(Env(self._state, now, self._mode_of(),
                                                  info.trigger_id, self._place,
                                                  trace.conditions)):
            return self.keep(slot, trace, Outcome.CONDITIONS_FALSE)
        if (is_hub_caused(info.context.origin)
                and is_storm(slot, self._clock.monotonic(), s)):
            return self._on_storm(slot, trace)
        if slot.runs:
            verdict = admit(slot, trace, context)
            if verdict is Admission.DROP:
                self.keep(slot, trace, Outcome.DROPPED_MAX_RUNS,
                          f"{rule.mode} mode allows {rule.max_runs} runs")
            if verdict is not Admission.START:
                return
        self.start(slot, trace, context)

    # -- runs --------------------------------------------------------------------------------

    def start(self, slot: Slot, trace: TraceRecord, context: Context,
              resume: Path | None = None, resume_deadline: float | None = None) -> None:
        """Start a run now: a plain run's task, or a task of the interpreter for the others (and
        for every resumed run)."""
        slot.started += 1
        loop = asyncio.get_running_loop()
        if isinstance(trace, PlainRun):
            slot.runs.append(trace)
            trace.task = loop.create_task(self._plain(slot, trace))
            return
        run = Run(slot.rule.id, trace.run_id, context, trace, resume, resume_deadline)
        slot.runs.append(run)
        run.task = loop.create_task(self._interpret(slot, run))

    async def _plain(self, slot: Slot, run: PlainRun) -> None:
        """A run made only of commands, prepared at load: each awaited in turn, in this one
        coroutine; each command's start, end and result noted in the run's record."""
        clock, execute, done = self._clock, self._execute, run.done
        deadline_s = self._settings.command_deadline_s
        outcome, reason = Outcome.DONE, ""
        try:
            for step in run.steps:
                run.step_at = at = clock.time()
                command = Command(step.device, step.capability, step.name, step.args,
                                  run.context, clock.monotonic() + deadline_s)
                try:
                    result = await execute(command)
                except Exception as exc:  # an executor must not raise; if one does, go on
                    log.exception("event=rule_command_raised rule=%s command=%s.%s",
                                  run.rule_id, step.capability, step.name)
                    done.append((at, clock.time(), "failed", failure(exc), None))
                else:
                    done.append((at, clock.time(), result.status, result.error or "",
                                 result.latency_s))
                run.step_at = None
        except asyncio.CancelledError:
            outcome, reason = Outcome.CANCELLED, "hub stopping" if self.is_stopping else ""
            raise
        finally:
            self._finish(slot, run, outcome, reason)

    async def _interpret(self, slot: Slot, run: Run) -> None:
        rule = slot.resolved
        outcome, note = Outcome.DONE, ""
        try:
            if rule is not None:
                await run_actions(self._host, run, rule.actions, (), run.resume)
        except StopRun as stop:
            outcome, note = stop.outcome, stop.reason
        except asyncio.CancelledError:
            outcome, note = Outcome.CANCELLED, "hub stopping" if self.is_stopping else ""
            raise
        except Exception as exc:
            log.exception("event=rule_run_failed rule=%s run=%s", run.rule_id, run.run_id)
            outcome, note = Outcome.FAILED, f"{type(exc).__name__}: {exc}"
        finally:
            self._finish(slot, run, outcome, note)

    def _finish(self, slot: Slot, run: Run | PlainRun, outcome: Outcome, note: str) -> None:
        if run in slot.runs:
            slot.runs.remove(run)
        if isinstance(run, PlainRun):
            run.task = None  # kept as a trace now: let the task go while it is fresh in memory
            self.keep(slot, run, outcome, note)
        else:  # a resumed run's trace names its own context as the trigger's: rebuild that one
            self.keep(slot, run.trace, outcome, note, run.context if run.resume is None else None)
        if self.is_stopping:
            return
        if not slot.runs:
            slot.is_skip_logged = False
        if slot.queue and slot.is_enabled and not slot.runs:
            trace, context = slot.queue.popleft()
            self.start(slot, trace, context)

    def keep(self, slot: Slot, trace: TraceRecord, outcome: Outcome, note: str = "",
             context: Context | None = None) -> None:
        """Finish a trace, keep it (to be saved) and publish RuleRan; ``context``, if given, is
        the run's."""
        trace.outcome = outcome
        trace.note = trace.note or note
        trace.end_ts = self._clock.time()
        if slot.traces.add(trace):
            self._traces.waiting(slot.traces)
        # A run, or a refusal people should see, is said on the bus (if anyone listens: the
        # trace has it all anyway).
        if outcome is not Outcome.CONDITIONS_FALSE and self._bus.wants(RuleRan):
            if isinstance(trace, PlainRun):
                context, commands = trace.context, len(trace.done)
            else:
                commands = sum(1 for s in trace.steps if s.kind == "command")
                if context is None:
                    context = Context(trace.context_id, slot.origin, trace.trigger.context.id,
                                      trace.depth)
            self._bus.publish(RuleRan(
                trace.rule_id, trace.run_id, outcome, trace.trigger.text, trace.trigger.ts,
                trace.end_ts, commands, context, trace.note))
