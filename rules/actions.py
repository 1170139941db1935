"""Running a rule's actions: a small interpreter over the action tree, driven by a host.

The host (the live engine, or the dry-run simulator) does everything that touches the world:
commands, sleeping, waiting for triggers, the hub mode, notices. The interpreter only walks the
tree, records each step in the trace and knows how to resume at a step path after a restart.

A step path names an action in the tree: ``(2,)`` is the third top-level action, ``(1, "then",
0)`` the first action of the ``then`` branch of action 1, ``(3, 4, 0)`` the first action of
iteration 4 of the repeat at 3, ``(0, 1, 2)`` action 2 of option 1 of a choose. A resumed run
skips straight to its path and re-enters the delay or wait there with the saved deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Protocol

from hubd.core.model import Context
from rules.evaluate import Check
from rules.model import (
    Action,
    ChooseAction,
    CommandAction,
    Condition,
    DelayAction,
    IfAction,
    NotifyAction,
    OnTimeout,
    RepeatAction,
    SceneAction,
    SetModeAction,
    Trigger,
    WaitAction,
)
from rules.trace import Outcome, StepNote, Trace

PathElem = int | str
Path = tuple[PathElem, ...]
MAX_STEPS_TRACED = 200


class StopRun(Exception):
    """Ends a run early: a stop action, or a wait that timed out with ``on_timeout: stop``."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


class Run:
    """One execution of a rule's actions: its context, trace and (when resumed) where it was."""

    __slots__ = ("context", "is_parked", "resume", "resume_deadline", "rule_id", "run_id", "task",
                 "trace")

    def __init__(self, rule_id: str, run_id: str, context: Context, trace: Trace,
                 resume: Path | None = None, resume_deadline: float | None = None) -> None:
        self.rule_id = rule_id
        self.run_id = run_id
        self.context = context
        self.trace = trace
        self.resume = resume
        self.resume_deadline = resume_deadline
        self.is_parked = False  # waiting on a timer or a trigger (not on a command)
        self.task: asyncio.Task[None] | None = None

    def cancel(self) -> None:
        """End the run (restart mode, rule disabled or replaced, hub stopping)."""
        if self.task is not None:
            self.task.cancel()

    def take_deadline(self) -> float | None:
        """The saved deadline of the step being resumed (once)."""
        deadline, self.resume_deadline = self.resume_deadline, None
        return deadline


class RunHost(Protocol):
    """What the interpreter needs from the world."""

    def now(self) -> float:
        """Wall-clock time."""
        ...

    def name_of(self, device_id: str) -> str:
        """A device's name, for traces."""
        ...

    def describe(self, action: CommandAction) -> str:
        """A command action for traces (hosts may cache it: it never changes)."""
        ...

    async def command(self, run: Run, action: CommandAction, note: StepNote) -> None:
        """Send a command and record its result in the note."""
        ...

    async def sleep_until(self, run: Run, deadline: float, path: Path) -> None:
        """Return at the deadline (persisted: survives a restart)."""
        ...

    async def wait_trigger(self, run: Run, trigger: Trigger, deadline: float | None,
                           path: Path) -> bool:
        """True when the trigger fires, False at the deadline."""
        ...

    def check(self, run: Run, conditions: tuple[Condition, ...], note: StepNote) -> bool:
        """Evaluate conditions now; the note gets what they saw."""
        ...

    def change_mode(self, run: Run, mode: str) -> None:
        """Set the hub mode."""
        ...

    def notify(self, run: Run, message: str, level: str) -> None:
        """Publish a notice."""
        ...


ChecksByConditions = Mapping[int, Check]


_PATH_TEXT: dict[Path, str] = {}


def describe_command(action: CommandAction, name_of: Callable[[str], str]) -> str:
    """``switch.on Hall light`` (with arguments, if any)."""
    args = f" {dict(action.args)}" if action.args else ""
    return f"{action.command} {name_of(action.device)}{args}"


def _path_text(path: Path) -> str:
    text = _PATH_TEXT.get(path)
    if text is None:
        if len(_PATH_TEXT) > 10_000:
            _PATH_TEXT.clear()
        text = _PATH_TEXT[path] = "/".join(str(p) for p in path)
    return text


def begin_step(host: RunHost, run: Run, path: Path, kind: str, text: str) -> StepNote:
    """Open a step note in the run's trace (traced up to ``MAX_STEPS_TRACED`` steps)."""
    note = StepNote(_path_text(path), kind, text, host.now())
    steps = run.trace.steps
    if len(steps) < MAX_STEPS_TRACED:
        steps.append(note)
    elif len(steps) == MAX_STEPS_TRACED:
        steps.append(StepNote("…", "note", "further steps not traced", note.start_ts))
    return note


def _end(host: RunHost, note: StepNote, status: str, detail: str = "") -> None:
    note.end_ts = host.now()
    if not note.status:
        note.status = status
    if detail and not note.detail:
        note.detail = detail


async def run_actions(host: RunHost, run: Run, actions: tuple[Action, ...], prefix: Path,
                      resume: Path | None) -> None:
    """Run a list of actions in order, starting at ``resume`` if given."""
    start = 0
    if resume:
        first = resume[0]
        start = first if isinstance(first, int) else 0
    for i in range(start, len(actions)):
        sub = resume[1:] if resume is not None and i == start else None
        await run_action(host, run, actions[i], (*prefix, i), sub)


async def run_action(host: RunHost, run: Run, action: Action, path: Path,
                     resume: Path | None) -> None:
    """Run one action; containers recurse, leaves go to the host."""
    if isinstance(action, CommandAction):
        note = begin_step(host, run, path, "command", host.describe(action))
        await host.command(run, action, note)
        _end(host, note, "done")
    elif isinstance(action, SceneAction):
        await _scene(host, run, action, path)
    elif isinstance(action, DelayAction):
        note = begin_step(host, run, path, "delay", f"delay {action.delay_s:g}s")
        saved = run.take_deadline() if resume is not None else None
        await host.sleep_until(run, saved if saved is not None else host.now() + action.delay_s,
                               path)
        _end(host, note, "done")
    elif isinstance(action, WaitAction):
        await _wait(host, run, action, path, resume)
    elif isinstance(action, IfAction | ChooseAction | RepeatAction):
        await _container(host, run, action, path, resume)
    elif isinstance(action, SetModeAction):
        note = begin_step(host, run, path, "set_mode", f"mode → {action.mode}")
        host.change_mode(run, action.mode)
        _end(host, note, "done")
    elif isinstance(action, NotifyAction):
        note = begin_step(host, run, path, "notify", f"notify: {action.message}")
        host.notify(run, action.message, action.level)
        _end(host, note, "done")
    else:
        note = begin_step(host, run, path, "stop", f"stop {action.reason}".strip())
        _end(host, note, "done")
        raise StopRun(Outcome.STOPPED, action.reason or "stop action")


async def _scene(host: RunHost, run: Run, action: SceneAction, path: Path) -> None:
    note = begin_step(host, run, path, "scene", f"scene {action.name}")
    failed = 0
    for command in action.commands:
        # Sequential, not gathered: radios pace their own frames; order stays as written.
        sub = begin_step(host, run, (*path, command.device), "command", host.describe(command))
        await host.command(run, command, sub)
        _end(host, sub, "done")
        failed += sub.status in ("failed", "expired")
    _end(host, note, "done" if not failed else "partly failed",
         f"{len(action.commands) - failed}/{len(action.commands)} commands ok")


async def _wait(host: RunHost, run: Run, action: WaitAction, path: Path,
                resume: Path | None) -> None:
    note = begin_step(host, run, path, "wait", f"wait for trigger ({action.trigger.loc.field})")
    if resume is not None:
        deadline = run.take_deadline()
    else:
        deadline = None if action.timeout_s is None else host.now() + action.timeout_s
    if await host.wait_trigger(run, action.trigger, deadline, path):
        _end(host, note, "triggered")
        return
    _end(host, note, "timed out")
    if action.on_timeout is OnTimeout.STOP:
        raise StopRun(Outcome.TIMED_OUT, f"wait at {note.path} timed out")


async def _container(host: RunHost, run: Run, action: IfAction | ChooseAction | RepeatAction,
                     path: Path, resume: Path | None) -> None:
    if isinstance(action, RepeatAction):
        first = resume[0] if resume and isinstance(resume[0], int) else 0
        for n in range(first, action.count):
            note = begin_step(host, run, (*path, n), "repeat", f"repeat {n + 1}/{action.count}")
            sub = resume[1:] if resume is not None and n == first else None
            await run_actions(host, run, action.actions, (*path, n), sub)
            _end(host, note, "done")
            if action.until and host.check(run, action.until, note):
                note.detail = "until holds"
                break
        return
    note = begin_step(host, run, path, "if" if isinstance(action, IfAction) else "choose", "")
    branch: PathElem
    if resume:
        branch, rest = resume[0], resume[1:]
    else:
        branch, rest = _pick(host, run, action, note), None
    actions = _branch(action, branch)
    note.text = f"{note.kind} → {branch}"
    _end(host, note, str(branch))
    await run_actions(host, run, actions, (*path, branch), rest)


def _pick(host: RunHost, run: Run, action: IfAction | ChooseAction, note: StepNote) -> PathElem:
    if isinstance(action, IfAction):
        return "then" if host.check(run, action.conditions, note) else "else"
    for i, option in enumerate(action.options):
        if host.check(run, option.conditions, note):
            return i
    return "default"


def _branch(action: IfAction | ChooseAction, branch: PathElem) -> tuple[Action, ...]:
    if isinstance(action, IfAction):
        return action.then if branch == "then" else action.else_
    if isinstance(branch, int) and 0 <= branch < len(action.options):
        return action.options[branch].actions
    return action.default
