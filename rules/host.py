"""The live host of rule runs: real commands, timers on the engine's heap, waits on the index."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import NamedTuple

from hubd.bus import Bus
from hubd.core.clock import Clock
from hubd.core.events import CommandResult, Notice
from hubd.core.model import Capability, Command, Value, rule_origin
from hubd.core.state import StateStore
from rules.actions import MAX_STEPS_TRACED, Path, Run, describe_command
from rules.evaluate import Check, Env, compile_conditions
from rules.model import Action, CommandAction, Condition, Trigger
from rules.persistence import NO_DEADLINE, RulePersistence
from rules.schedule import Place
from rules.timers import TimerHeap
from rules.trace import CondNote, StepNote, TriggerInfo
from rules.watch import Watch, Watcher

log = logging.getLogger(__name__)

Execute = Callable[[Command], Awaitable[CommandResult]]


class PlainStep(NamedTuple):
    """One command of a plain rule, prepared at load: what each run sends and traces."""

    path: str
    text: str
    device: str
    capability: Capability
    name: str
    args: Mapping[str, Value]


def _settle(future: asyncio.Future[bool], value: bool, run: Run) -> None:
    if not future.done():
        future.set_result(value)
        run.is_parked = False  # busy from now on, even before its task resumes (for settle())


def record(note: StepNote, result: CommandResult) -> None:
    """A command's result into its step note (the status is a StrEnum: a str as it is)."""
    note.status = result.status
    note.latency_s = result.latency_s
    if result.error:
        note.detail = result.error


def failure(exc: BaseException) -> str:
    """What a trace says of an executor that raised."""
    return f"{type(exc).__name__}: {exc}"


def failed(note: StepNote, exc: BaseException) -> None:
    """An executor that raised, into the step note."""
    note.status, note.detail = "failed", failure(exc)


class LiveHost:
    """Does what rule runs ask, for real (see ``rules.actions.RunHost``)."""

    def __init__(self, *, state: StateStore, bus: Bus, execute: Execute, clock: Clock,
                 persistence: RulePersistence, place: Place, timers: TimerHeap,
                 watcher: Watcher, command_deadline_s: float,
                 mode_of: Callable[[], str], set_mode: Callable[[str], None],
                 payload_of: Callable[[Run, Path, str], str]) -> None:
        self._state = state
        self._bus = bus
        self._execute = execute
        self._clock = clock
        self._persist = persistence
        self._place = place
        self.timers = timers
        self._watcher = watcher
        self._deadline_s = command_deadline_s
        self._mode_of = mode_of
        self._set_mode = set_mode
        self._payload_of = payload_of
        self._checks: dict[int, tuple[tuple[Condition, ...], Check]] = {}
        self._commands: dict[str, tuple[Capability, str]] = {}
        self._texts: dict[int, tuple[CommandAction, str]] = {}
        self.is_stopping = False

    def compile(self, conditions: tuple[Condition, ...]) -> Check:
        """The compiled check of a tuple of conditions (compiled once, cached by identity)."""
        cached = self._checks.get(id(conditions))
        if cached is not None and cached[0] is conditions:
            return cached[1]
        check = compile_conditions(conditions, self._watcher.name_of)
        self._checks[id(conditions)] = (conditions, check)
        return check

    def forget_compiled(self) -> None:
        """Drop compiled conditions (rules were replaced)."""
        self._checks.clear()
        self._texts.clear()

    def now(self) -> float:
        """Wall-clock time."""
        return self._clock.time()

    def name_of(self, device_id: str) -> str:
        """A device's name, for traces."""
        return self._watcher.name_of(device_id)

    def describe(self, action: CommandAction) -> str:
        """A command action for traces, made once per action."""
        cached = self._texts.get(id(action))
        if cached is None or cached[0] is not action:
            cached = self._texts[id(action)] = (action, describe_command(action, self.name_of))
        return cached[1]

    def _parts(self, command: str) -> tuple[Capability, str]:
        parts = self._commands.get(command)
        if parts is None:
            capability, _, name = command.partition(".")
            parts = self._commands[command] = (Capability(capability), name)
        return parts

    def command_of(self, run: Run, action: CommandAction) -> Command:
        """The Command a command action sends in this run (its context, a deadline)."""
        capability, name = self._parts(action.command)
        return Command(action.device, capability, name, action.args, run.context,
                       self._clock.monotonic() + self._deadline_s)

    def plain_steps(self, actions: tuple[Action, ...]) -> tuple[PlainStep, ...] | None:
        """A rule's actions prepared for the lean run if they are only commands (and few
        enough to trace each), else None: the run then goes through the interpreter."""
        if len(actions) > MAX_STEPS_TRACED:
            return None
        steps = []
        for i, action in enumerate(actions):
            if not isinstance(action, CommandAction):
                return None
            steps.append(PlainStep(str(i), self.describe(action), action.device,
                                   *self._parts(action.command), action.args))
        return tuple(steps)

    async def command(self, run: Run, action: CommandAction, note: StepNote) -> None:
        """Hand a command to the daemon's executor; the note gets the CommandResult."""
        try:
            result = await self._execute(self.command_of(run, action))
        except Exception as exc:  # the executor must not raise; if it does, the run goes on
            log.exception("event=rule_command_raised rule=%s command=%s", run.rule_id,
                          action.command)
            failed(note, exc)
            return
        record(note, result)

    async def sleep_until(self, run: Run, deadline: float, path: Path) -> None:
        """Park the run until the deadline; saved so that a restart resumes it."""
        key = f"run:{run.run_id}"
        self._persist.save_timer(key, run.rule_id, deadline, self._payload_of(run, path, "delay"))
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        timer = self.timers.call_at(deadline, lambda: _settle(future, True, run))
        run.is_parked = True
        try:
            await future
        finally:
            run.is_parked = False
            self.timers.cancel(timer)
            if not self.is_stopping:
                self._persist.delete_timer(key)

    async def wait_trigger(self, run: Run, trigger: Trigger, deadline: float | None,
                           path: Path) -> bool:
        """Park the run until the trigger fires (True) or the deadline passes (False)."""
        key = f"run:{run.run_id}"
        self._persist.save_timer(key, run.rule_id, NO_DEADLINE if deadline is None else deadline,
                                 self._payload_of(run, path, "wait"))
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def fired(info: TriggerInfo) -> None:
            _settle(future, True, run)

        watch = Watch(trigger, fired, run.rule_id)
        self._watcher.add(watch)
        timer = (None if deadline is None
                 else self.timers.call_at(deadline, lambda: _settle(future, False, run)))
        run.is_parked = True
        try:
            return await future
        finally:
            run.is_parked = False
            self._watcher.remove(watch)
            self.timers.cancel(timer)
            if not self.is_stopping:
                self._persist.delete_timer(key)

    def check(self, run: Run, conditions: tuple[Condition, ...], note: StepNote) -> bool:
        """Evaluate conditions now; the step note gets each one's result."""
        notes: list[CondNote] = []
        env = Env(self._state, self._clock.time(), self._mode_of(),
                  run.trace.trigger.trigger_id, self._place, notes)
        is_true = self.compile(conditions)(env)
        note.detail = "; ".join(f"{'✓' if n.is_true else '✗'} {n.text}"
                                + (f" ({n.detail})" if n.detail else "") for n in notes)
        return is_true

    def change_mode(self, run: Run, mode: str) -> None:
        """Set the hub mode."""
        self._set_mode(mode)

    def notify(self, run: Run, message: str, level: str) -> None:
        """Publish a Notice carrying the run's context."""
        self._bus.publish(Notice(rule_origin(run.rule_id), message, self._clock.time(),
                                 run.context, level))
