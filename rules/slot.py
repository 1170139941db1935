"""What the engine keeps per loaded rule: its state, watches, runs, counters and traces."""

from __future__ import annotations

from collections import deque

from hubd.core.model import Context, rule_origin
from rules.actions import Run
from rules.evaluate import Check
from rules.host import PlainStep
from rules.model import Rule
from rules.plainrun import PlainRun, TraceRecord
from rules.timers import Timer
from rules.watch import Watch


def _never(env: object) -> bool:
    return False


class TraceRing(deque[TraceRecord]):
    """A rule's last traces, oldest first, and how many of the newest wait to be saved (the
    trace keeper saves them from here: a trace is kept in one place only)."""

    __slots__ = ("rule_id", "unsaved")

    def __init__(self, rule_id: str, size: int) -> None:
        super().__init__((), size)
        self.rule_id = rule_id
        self.unsaved = 0  # may exceed len(): the oldest unsaved were pushed out, superseded

    def add(self, record: TraceRecord) -> bool:
        """Keep a finished trace, to be saved; True if no other waits (the keeper must know)."""
        self.append(record)
        self.unsaved += 1
        return self.unsaved == 1


class Slot:
    """One loaded rule (as written and as resolved) and everything live about it."""

    __slots__ = ("check", "cool_timer", "disabled_until", "dropped", "is_enabled",
                 "is_skip_logged", "is_unresolved", "last_storm", "origin", "plain", "queue",
                 "reason", "resolved", "rule", "run_times", "runs", "skipped", "started",
                 "strikes", "traces", "watches")

    def __init__(self, rule: Rule, traces_per_rule: int) -> None:
        self.rule = rule
        self.resolved: Rule | None = None
        self.is_enabled = False
        self.is_unresolved = False
        # Only commands, prepared at load: runs skip the interpreter (see rules.runner).
        self.plain: tuple[PlainStep, ...] | None = None
        self.reason = "not loaded yet"
        self.origin = rule_origin(rule.id)
        self.check: Check = _never
        self.watches: list[Watch] = []
        self.runs: list[Run | PlainRun] = []
        self.queue: deque[tuple[TraceRecord, Context]] = deque()
        self.run_times: deque[float] = deque()
        self.traces = TraceRing(rule.id, traces_per_rule)
        self.started = 0
        self.skipped = 0
        self.dropped = 0
        self.is_skip_logged = False
        self.strikes = 0  # storms in a row (see rules.breaker)
        self.last_storm: float | None = None  # monotonic
        self.disabled_until: float | None = None  # wall clock: a storm's cool-down ends
        self.cool_timer: Timer | None = None

    def enable(self, check: Check) -> None:
        """Mark enabled, with its compiled conditions."""
        self.is_enabled = True
        self.is_unresolved = False
        self.reason = ""
        self.check = check

    def disable(self, reason: str, *, is_unresolved: bool = False) -> None:
        """Mark disabled, saying why."""
        self.is_enabled = False
        self.is_unresolved = is_unresolved
        self.reason = reason
