"""Keeping traces: write-behind persistence, bounded per tick, and adopting saved ones at boot.

A finished trace is kept in its rule's ring (``rules.slot.TraceRing``); the keeper knows which
rings hold unsaved traces and saves them a little later, a bounded batch per tick, on the
engine's timer heap: one timer, armed only while traces wait (an idle hub ticks for nothing).
"""

from __future__ import annotations

import logging
from collections import deque

from rules.persistence import RulePersistence
from rules.slot import Slot, TraceRing
from rules.timers import TimerHeap
from rules.trace import Trace

log = logging.getLogger(__name__)


class TraceKeeper:
    """The rings with traces waiting to be saved, and the saved traces waiting for their rule."""

    def __init__(self, persistence: RulePersistence, timers: TimerHeap | None = None,
                 flush_s: float = 0.5, batch: int = 200) -> None:
        self._persist = persistence
        self._timers = timers  # None: saved only by flush() (tests of the keeper alone)
        self._flush_s = flush_s
        self._batch = batch
        self._is_armed = False
        self._waiting: deque[TraceRing] = deque()  # each ring once, while it has unsaved traces
        self.saved: dict[str, list[str]] = {}

    def waiting(self, ring: TraceRing) -> None:
        """A ring had no unsaved trace and now has one (``Runner.keep`` counts them)."""
        self._waiting.append(ring)
        self._arm()

    def rearm(self) -> None:
        """The timer heap was cleared (the engine stopped, and runs again): arm anew if needed."""
        self._is_armed = False
        self._arm()

    def _arm(self) -> None:
        # One timer, armed only while traces wait: a day of an idle hub's manual-clock time was
        # 172,800 ticks when it ticked for nothing.
        if self._waiting and not self._is_armed and self._timers is not None:
            self._is_armed = True
            self._timers.call_in(self._flush_s, self._tick)

    def _tick(self) -> None:
        self._is_armed = False
        self.flush(self._batch)
        self._arm()

    def flush(self, limit: int | None = None) -> int:
        """Save waiting traces, at most ``limit``, oldest first, round robin over rules; returns
        how many. Bounded so that a tick never blocks the loop for long (serialising is the
        costly part); a busy rule's traces pushed out of its ring before this are not saved."""
        saved = 0
        waiting = self._waiting
        while waiting and (limit is None or saved < limit):
            ring = waiting.popleft()
            unsaved = min(ring.unsaved, len(ring))
            if not unsaved:
                ring.unsaved = 0
                continue
            record = ring[-unsaved]
            ring.unsaved = unsaved - 1
            if ring.unsaved:
                waiting.append(ring)  # to the back of the line
            self._persist.save_trace(ring.rule_id, record.start_ts, record.to_json())
            saved += 1
        return saved

    def adopt(self, slot: Slot) -> None:
        """Give a rule the traces saved before the restart, older than any it has now."""
        older = []
        for body in self.saved.pop(slot.rule.id, []):
            try:
                older.append(Trace.from_json(body))
            except ValueError:
                log.warning("event=rule_trace_unreadable rule=%s", slot.rule.id)
        if older:  # the ring's unsaved traces stay its newest
            ring = slot.traces
            newer = list(ring)
            ring.clear()
            ring.extend([*older, *newer])
