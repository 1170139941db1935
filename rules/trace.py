"""Traces: what a rule run saw and did, to answer "why did (or didn't) it fire?".

A trace holds the trigger, each condition evaluated with its result (a tree, by depth), and each
action step with its start, end, status and, for commands, the radio's CommandResult status and
latency. A trace is built while its run goes on (so it is mutable) and frozen in JSON when
persisted; ``explain()`` renders it for people.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from hubd.core.model import Context, Value


class Outcome(StrEnum):
    """How a run ended (or why it never started)."""

    RUNNING = "running"
    DONE = "done"
    CONDITIONS_FALSE = "conditions_false"
    STOPPED = "stopped"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    FAILED = "failed"
    DROPPED_DEPTH = "dropped_depth"
    DROPPED_MAX_RUNS = "dropped_max_runs"
    DISABLED_STORM = "disabled_storm"


class TriggerInfo(NamedTuple):
    """What started a run: which trigger, and the event (if any) behind it.

    For state and numeric triggers ``text`` names the device and attribute only; ``describe()``
    adds the change (old → new), so the hot path does no formatting. A NamedTuple rather than a
    frozen dataclass: as immutable, and made on every firing, where a frozen dataclass's
    ``__init__`` (one ``object.__setattr__`` per field) costs three times as much.
    """

    trigger_id: str
    kind: str
    text: str
    ts: float
    context: Context
    device_id: str = ""
    attribute: str = ""
    old: Value = None
    new: Value = None

    def describe(self) -> str:
        """The trigger for people: ``Front door contact.is_open false → true``."""
        if self.kind in ("state", "numeric"):
            return f"{self.text} {_show(self.old)} → {_show(self.new)}"
        return self.text


def _show(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "unknown" if value is None else str(value)


class CondNote(NamedTuple):
    """One condition evaluated: its depth in the tree, what it says, its result and what it saw.

    A NamedTuple for the same reason as ``TriggerInfo``: one is made per condition per firing.
    """

    depth: int
    text: str
    is_true: bool
    detail: str = ""


@dataclass(slots=True)
class StepNote:
    """One action step; filled in as the step runs."""

    path: str
    kind: str
    text: str
    start_ts: float
    end_ts: float | None = None
    status: str = ""
    detail: str = ""
    latency_s: float | None = None


@dataclass(slots=True)
class Trace:
    """One run of one rule."""

    rule_id: str
    run_id: str
    trigger: TriggerInfo
    start_ts: float
    context_id: str
    depth: int
    conditions: list[CondNote] = field(default_factory=list)
    steps: list[StepNote] = field(default_factory=list)
    outcome: Outcome = Outcome.RUNNING
    end_ts: float | None = None
    note: str = ""
    skipped: int = 0  # single mode: triggers ignored while this run went on
    is_dry_run: bool = False

    def to_json(self) -> str:
        """The trace as a JSON document (what is persisted and served by the API)."""
        t = self.trigger
        body = {
            "v": 1, "rule_id": self.rule_id, "run_id": self.run_id, "start_ts": self.start_ts,
            "end_ts": self.end_ts, "outcome": self.outcome.value, "note": self.note,
            "context_id": self.context_id, "depth": self.depth, "skipped": self.skipped,
            "is_dry_run": self.is_dry_run,
            "trigger": {"id": t.trigger_id, "kind": t.kind, "text": t.text, "ts": t.ts,
                        "device_id": t.device_id, "attribute": t.attribute, "old": t.old,
                        "new": t.new, "context": _context_json(t.context)},
            "conditions": [[c.depth, c.text, c.is_true, c.detail] for c in self.conditions],
            "steps": [{"path": s.path, "kind": s.kind, "text": s.text, "start_ts": s.start_ts,
                       "end_ts": s.end_ts, "status": s.status, "detail": s.detail,
                       "latency_s": s.latency_s} for s in self.steps],
        }
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Trace:
        """A trace read back from its JSON; raises ValueError if it is not one."""
        try:
            body = json.loads(text)
            return cls._from_body(body)
        except (KeyError, TypeError, IndexError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a rule trace: {exc}") from exc

    @classmethod
    def _from_body(cls, body: dict[str, Any]) -> Trace:
        t = body["trigger"]
        c = t["context"]
        trigger = TriggerInfo(t["id"], t["kind"], t["text"], t["ts"],
                              Context(c["id"], c["origin"], c["parent_id"], c["depth"]),
                              t["device_id"], t["attribute"], t["old"], t["new"])
        return cls(
            body["rule_id"], body["run_id"], trigger, body["start_ts"], body["context_id"],
            body["depth"], [CondNote(*n) for n in body["conditions"]],
            [StepNote(**s) for s in body["steps"]], Outcome(body["outcome"]), body["end_ts"],
            body["note"], body["skipped"], body["is_dry_run"])

    def explain(self) -> str:
        """The trace as indented text, for people and logs."""
        lines = [f"rule {self.rule_id} run {self.run_id}: {self.outcome.value}"
                 + (f" ({self.note})" if self.note else ""),
                 f"  trigger {self.trigger.trigger_id}: {self.trigger.describe()}"]
        if self.conditions:
            lines.append("  conditions:")
            lines += [f"    {'  ' * c.depth}{'✓' if c.is_true else '✗'} {c.text}"
                      + (f" — {c.detail}" if c.detail else "") for c in self.conditions]
        if self.steps:
            lines.append("  steps:")
            for s in self.steps:
                took = "" if s.end_ts is None else f" {1e3 * (s.end_ts - s.start_ts):.1f} ms"
                latency = "" if s.latency_s is None else f" radio {1e3 * s.latency_s:.1f} ms"
                lines.append(f"    [{s.path}] {s.text}: {s.status or 'running'}{took}{latency}"
                             + (f" — {s.detail}" if s.detail else ""))
        return "\n".join(lines)


def _context_json(context: Context) -> dict[str, Any]:
    return {"id": context.id, "origin": context.origin, "parent_id": context.parent_id,
            "depth": context.depth}
