"""The rows the store reads and writes, the write batch, and the store's errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from hubd.core.errors import CorruptDatabaseError, SchemaTooNewError, StoreError
from hubd.core.model import Device
from hubd.core.state import StateEntry

TRACES_PER_RULE = 20


__all__ = ["CorruptDatabaseError", "SchemaTooNewError", "StoreError"]  # their home: core.errors


@dataclass(frozen=True, slots=True)
class TimerRow:
    """A pending rule timer (a delay, a for-duration), due at an absolute wall-clock deadline."""

    key: str
    rule_id: str
    deadline: float
    payload: str


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One run of a rule, as the rules engine described it (body is its JSON)."""

    rule_id: str
    ts: float
    body: str


@dataclass(frozen=True, slots=True)
class RuleRow:
    """A rule kept in the database (created through the API): where it came from and its text."""

    id: str
    source: str
    body: str
    is_enabled: bool = True
    reason: str = ""


class OutboxKind(StrEnum):
    """What an outbox row carries, which decides what is dropped first when the outbox is full."""

    STATE = "state"  # a state change; coalesced per attribute by its coalesce_key
    EVENT = "event"  # a button press, a command result, a notification: kept while possible
    TELEMETRY = "telemetry"  # high-volume readings: the first to go, oldest first
    DROPPED = "dropped"  # the marker saying how many rows were dropped (body: JSON)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One hub-to-cloud message waiting for the cloud's cumulative ack."""

    seq: int
    kind: str
    coalesce_key: str | None
    body: bytes
    ts: float


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A LAN API token, stored by the hash of its secret only."""

    id: str
    hash: str
    scope: str
    client: str
    created: float
    last_used: float | None = None


@dataclass(slots=True)
class Batch:
    """Everything one write applies in one transaction; newer values replace older ones by key.

    ``devices`` and ``timers`` map a key to its new row, or to None to delete it. Traces are
    appended in order; only the last TRACES_PER_RULE of each rule are kept.
    """

    state: dict[tuple[str, str], StateEntry] = field(default_factory=dict)
    devices: dict[str, Device | None] = field(default_factory=dict)
    timers: dict[str, TimerRow | None] = field(default_factory=dict)
    traces: list[TraceRow] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    rule_states: dict[str, tuple[bool, str]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        """Whether there is nothing to write."""
        return not (self.state or self.devices or self.timers or self.traces or self.meta
                    or self.rule_states)

    def row_count(self) -> int:
        """How many rows the batch touches (for stats)."""
        return (len(self.state) + len(self.devices) + len(self.timers) + len(self.traces)
                + len(self.meta) + len(self.rule_states))

    def add_state(self, entries: list[StateEntry], devices: Mapping[str, Device | None]) -> None:
        """Fold in what StateStore.drain_dirty returned."""
        for device_id, device in devices.items():
            self.devices[device_id] = device
            if device is None:
                # The device is gone: its pending values would only be deleted again.
                for key in [k for k in self.state if k[0] == device_id]:
                    del self.state[key]
        for entry in entries:
            self.state[(entry.device_id, entry.attribute)] = entry

    def absorb(self, newer: Batch) -> None:
        """Lay a newer batch over this one (used when a write failed and must be retried)."""
        self.add_state(list(newer.state.values()), newer.devices)
        self.timers.update(newer.timers)
        self.traces.extend(newer.traces)
        self.traces = _last_per_rule(self.traces)
        self.meta.update(newer.meta)
        self.rule_states.update(newer.rule_states)


def _last_per_rule(traces: list[TraceRow]) -> list[TraceRow]:
    """Keep the last TRACES_PER_RULE traces of each rule, in order: older ones would be pruned."""
    seen: dict[str, int] = {}
    kept: list[TraceRow] = []
    for trace in reversed(traces):
        count = seen.get(trace.rule_id, 0)
        if count < TRACES_PER_RULE:
            seen[trace.rule_id] = count + 1
            kept.append(trace)
    kept.reverse()
    return kept


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the daemon needs at boot, read in one go."""

    devices: tuple[Device, ...]
    state: tuple[StateEntry, ...]
    timers: tuple[TimerRow, ...]
    traces: tuple[TraceRow, ...]
    meta: Mapping[str, str]
    rule_states: Mapping[str, tuple[bool, str]]
