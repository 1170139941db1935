"""Keeping traces: write-behind persistence, bounded per tick, and adopting saved ones at boot."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from rules.persistence import RulePersistence
from rules.slot import Slot
from rules.trace import Trace

log = logging.getLogger(__name__)


class TraceKeeper:
    """Traces waiting to be saved, and the saved ones waiting for their rule to load."""

    def __init__(self, persistence: RulePersistence, per_rule: int) -> None:
        self._persist = persistence
        self._per_rule = per_rule
        self._pending: dict[str, deque[Trace]] = {}
        self.saved: dict[str, list[str]] = {}
        # Called when a trace starts waiting and none did: the engine arms one flush then, so an
        # idle hub has no flush timer ticking (a day of manual-clock time was 172,800 ticks).
        self.on_pending: Callable[[], None] | None = None

    @property
    def has_pending(self) -> bool:
        """Whether traces wait to be saved."""
        return bool(self._pending)

    def unsaved(self, trace: Trace) -> None:
        """A finished trace to save (a busy rule's older unsaved traces are superseded)."""
        was_idle = not self._pending
        pending = self._pending.get(trace.rule_id)
        if pending is None:
            pending = self._pending[trace.rule_id] = deque(maxlen=self._per_rule)
        pending.append(trace)
        if was_idle and self.on_pending is not None:
            self.on_pending()

    def flush(self, limit: int | None = None) -> int:
        """Save pending traces, at most ``limit``, round robin over rules; returns how many.

        Bounded so that a tick never blocks the loop for long (serialising is the costly part).
        """
        saved = 0
        pending = self._pending
        while pending and (limit is None or saved < limit):
            rule_id = next(iter(pending))
            traces = pending.pop(rule_id)
            trace = traces.popleft()
            if traces:
                pending[rule_id] = traces  # to the back of the line
            self._persist.save_trace(rule_id, trace.start_ts, trace.to_json())
            saved += 1
        return saved

    def adopt(self, slot: Slot) -> None:
        """Give a rule the traces saved before the restart (oldest first)."""
        for body in self.saved.pop(slot.rule.id, []):
            try:
                slot.traces.append(Trace.from_json(body))
            except ValueError:
                log.warning("event=rule_trace_unreadable rule=%s", slot.rule.id)
