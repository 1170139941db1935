"""Keeping traces: write-behind persistence, bounded per tick, and adopting saved ones at boot."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from rules.persistence import RulePersistence
from rules.slot import Slot, TraceRing
from rules.trace import Trace

log = logging.getLogger(__name__)


class TraceKeeper:
    """The rings with traces waiting to be saved, and the saved traces waiting for their rule."""

    def __init__(self, persistence: RulePersistence) -> None:
        self._persist = persistence
        self._waiting: deque[TraceRing] = deque()  # each ring once, while it has unsaved traces
        self.saved: dict[str, list[str]] = {}
        # Called when a trace starts waiting and none did: the engine arms one flush then, so an
        # idle hub has no flush timer ticking (a day of manual-clock time was 172,800 ticks).
        self.on_pending: Callable[[], None] | None = None

    @property
    def has_pending(self) -> bool:
        """Whether traces wait to be saved."""
        return bool(self._waiting)

    def waiting(self, ring: TraceRing) -> None:
        """A ring had no unsaved trace and now has one (``Runner.keep`` counts them)."""
        was_idle = not self._waiting
        self._waiting.append(ring)
        if was_idle and self.on_pending is not None:
            self.on_pending()

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
