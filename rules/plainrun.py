"""A plain rule's run and its trace in one record: the lean path of "door opens → light on".

A plain rule is made only of commands (the common rule of a house). Every event of a busy
house may fire one, so its run keeps the least it can: one record that is at once the run
(in its rule's ``runs`` while it goes on: its task, ``cancel``) and its trace (in its rule's
ring of traces once it ended). What the trace says is kept as it happens — the trigger, what
the conditions saw, each command's start, end and result — and ``trace()`` builds the
``Trace`` when someone reads it (the API, the keeper saving it, a test), which is seldom
compared with how often the rule runs.

Measured on the rules bench (every event fires a plain rule and a command): against a ``Run``
plus a ``Trace`` plus a ``StepNote`` per command, recorded as they go, this record is the
main part of the lean path's gain (see the README's rules figures).
"""

from __future__ import annotations

import asyncio

from hubd.core.model import Context
from rules.actions import Run
from rules.host import PlainStep
from rules.trace import CondNote, Outcome, StepNote, Trace, TriggerInfo

# One command of a plain run, once it ended: start, end, status, detail, radio latency.
StepDone = tuple[float, float, str, str, float | None]


class PlainRun:
    """One run of a plain rule, and what its trace says (see the module docstring)."""

    __slots__ = ("conditions", "context", "done", "end_ts", "note", "outcome", "rule_id",
                 "skipped", "start_ts", "step_at", "steps", "task", "trigger")

    is_parked = False  # a plain run only ever waits on a radio (see RuleEngine.settle)

    def __init__(self, rule_id: str, trigger: TriggerInfo, context: Context, start_ts: float,
                 steps: tuple[PlainStep, ...]) -> None:
        self.rule_id = rule_id
        self.trigger = trigger
        self.context = context
        self.start_ts = start_ts
        self.steps = steps
        self.conditions: list[CondNote] = []
        self.done: list[StepDone] = []
        self.step_at: float | None = None  # when the command under way started
        self.outcome = Outcome.RUNNING
        self.end_ts: float | None = None
        self.note = ""
        self.skipped = 0
        self.task: asyncio.Task[None] | None = None

    @property
    def run_id(self) -> str:
        """The run's id: its context's."""
        return self.context.id

    def cancel(self) -> None:
        """End the run (restart mode, rule disabled or replaced, hub stopping)."""
        if self.task is not None:
            self.task.cancel()

    def trace(self) -> Trace:
        """The run's trace as it stands (a command under way, or cut short, has no status)."""
        ctx = self.context
        notes = [StepNote(step.path, "command", step.text, *done)
                 for step, done in zip(self.steps, self.done, strict=False)]
        if self.step_at is not None and len(notes) < len(self.steps):  # under way, or cut short
            step = self.steps[len(notes)]
            notes.append(StepNote(step.path, "command", step.text, self.step_at))
        return Trace(self.rule_id, ctx.id, self.trigger, self.start_ts, ctx.id, ctx.depth,
                     list(self.conditions), notes, self.outcome, self.end_ts, self.note,
                     self.skipped)

    def to_json(self) -> str:
        """The trace as a JSON document (see ``Trace.to_json``)."""
        return self.trace().to_json()


TraceRecord = Trace | PlainRun


def record_of(run: Run | PlainRun) -> TraceRecord:
    """Where a running run's trace is kept (a plain run is its own)."""
    return run if isinstance(run, PlainRun) else run.trace


def trace_of(record: TraceRecord) -> Trace:
    """The Trace of a kept record (a plain run's is built now)."""
    return record if isinstance(record, Trace) else record.trace()
