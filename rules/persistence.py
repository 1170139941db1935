"""The seam to durable storage: what the engine saves, and what it is given back at boot.

The daemon's write-behind store implements ``RulePersistence`` (every method returns at once).
Timers are saved with absolute wall-clock deadlines and a JSON payload saying what to resume:

- ``{"t": "run", ...}``: a run parked in a delay or a wait (rule, run id, step path, trigger);
- ``{"t": "for", ...}``: a trigger's pending ``for`` (trigger id, the value waited on and the
  time that value was set, so that boot can tell whether the state changed meanwhile).

Meta keys: ``mode`` (the hub mode) and ``last_seen`` (epoch seconds the engine was last known
alive: written every minute, after each time trigger and at stop; boot uses it to catch up time
triggers missed by less than ``catch_up_s``).
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Protocol

NO_DEADLINE = 253402300799.0  # 9999-12-31: a wait without timeout, as a storable number


class RulePersistence(Protocol):
    """Durable storage for the rule engine; every method is non-blocking."""

    def save_timer(self, key: str, rule_id: str, deadline: float, payload: str) -> None:
        """Remember (or replace) a pending timer."""
        ...

    def delete_timer(self, key: str) -> None:
        """Forget a timer that fired or was cancelled."""
        ...

    def save_trace(self, rule_id: str, ts: float, body: str) -> None:
        """Keep a run's trace (the store keeps the last 20 per rule)."""
        ...

    def set_meta(self, key: str, value: str) -> None:
        """Remember a small value (``mode``, ``last_seen``)."""
        ...

    def set_rule_state(self, rule_id: str, is_enabled: bool, reason: str) -> None:
        """Remember that a rule was disabled (and why) or enabled again."""
        ...


@dataclass(frozen=True, slots=True)
class SavedTimer:
    """A timer as persisted."""

    key: str
    rule_id: str
    deadline: float
    payload: str


@dataclass(frozen=True, slots=True)
class SavedRuleState:
    """A rule's enabled state as persisted."""

    rule_id: str
    is_enabled: bool
    reason: str


class MemoryPersistence:
    """Persistence in memory: for tests, dry runs and a hub without a state directory."""

    def __init__(self, traces_per_rule: int = 20) -> None:
        self.timers: dict[str, SavedTimer] = {}
        self.traces: defaultdict[str, deque[str]] = defaultdict(
            lambda: deque(maxlen=traces_per_rule))
        self.meta: dict[str, str] = {}
        self.rule_states: dict[str, SavedRuleState] = {}

    def save_timer(self, key: str, rule_id: str, deadline: float, payload: str) -> None:
        """Remember a timer."""
        self.timers[key] = SavedTimer(key, rule_id, deadline, payload)

    def delete_timer(self, key: str) -> None:
        """Forget a timer."""
        self.timers.pop(key, None)

    def save_trace(self, rule_id: str, ts: float, body: str) -> None:
        """Keep a trace."""
        self.traces[rule_id].append(body)

    def set_meta(self, key: str, value: str) -> None:
        """Remember a value."""
        self.meta[key] = value

    def set_rule_state(self, rule_id: str, is_enabled: bool, reason: str) -> None:
        """Remember a rule's state."""
        self.rule_states[rule_id] = SavedRuleState(rule_id, is_enabled, reason)

    def saved_timers(self) -> list[SavedTimer]:
        """The timers, as a store would load them at boot."""
        return list(self.timers.values())

    def saved_traces(self) -> dict[str, list[str]]:
        """Trace bodies per rule, oldest first."""
        return {rule_id: list(bodies) for rule_id, bodies in self.traces.items()}

    def last_seen(self) -> float | None:
        """The ``last_seen`` meta value as a number, if any."""
        value = self.meta.get("last_seen")
        return None if value is None else float(value)


class TimerLedger:
    """Persistence that also remembers which timers are live, so a restarted ``run()`` (the
    daemon supervises it) resumes them without reading the store back."""

    def __init__(self, persistence: RulePersistence) -> None:
        self._inner = persistence
        self._live: dict[str, SavedTimer] = {}

    def save_timer(self, key: str, rule_id: str, deadline: float, payload: str) -> None:
        """Remember and persist a timer."""
        self._live[key] = SavedTimer(key, rule_id, deadline, payload)
        self._inner.save_timer(key, rule_id, deadline, payload)

    def delete_timer(self, key: str) -> None:
        """Forget and unpersist a timer."""
        self._live.pop(key, None)
        self._inner.delete_timer(key)

    def save_trace(self, rule_id: str, ts: float, body: str) -> None:
        """Persist a trace."""
        self._inner.save_trace(rule_id, ts, body)

    def set_meta(self, key: str, value: str) -> None:
        """Persist a meta value."""
        self._inner.set_meta(key, value)

    def set_rule_state(self, rule_id: str, is_enabled: bool, reason: str) -> None:
        """Persist a rule's state."""
        self._inner.set_rule_state(rule_id, is_enabled, reason)

    def live(self) -> list[SavedTimer]:
        """The timers saved and not deleted since this ledger was made."""
        return list(self._live.values())

    def forget(self) -> None:
        """Drop the in-memory list (its timers were handed to a new run)."""
        self._live.clear()
