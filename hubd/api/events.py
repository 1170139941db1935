"""The event log behind the WebSocket: a seq per event, a ring buffer to resume from, fan-out.

Events come from the bus inline (a queued subscription added a queue put and a pump turn per
event: ~7 % of the rules' throughput with the log on), get the next ``seq``, are kept in a ring
of ``ring_size`` (the events themselves: an event's seq is its place in the ring) and offered to
every subscribed client's bounded queue. The hot path never waits for JSON: each live event is
encoded once, by the first client's writer that sends it; with nobody subscribed, a command
costs the hub no JSON and no wrapper object at all (a ``KeptEvent`` per event, kept in the ring
until 2,000 events later, cost the rules bench's fired path 4-10 % with the log on). A client
whose queue is full is a slow client: it is told why and disconnected, rather than letting its
backlog grow.

Seqs start at the boot's wall-clock milliseconds, so a seq remembered from an earlier boot is
below this ring and asks for a resync instead of matching unrelated events.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from hubd.api.serialize import API_EVENTS, ApiEvent, event_json
from hubd.bus import Bus, Subscription
from hubd.core.clock import Clock

log = logging.getLogger(__name__)


@dataclass(slots=True)
class KeptEvent:
    """One event in the ring, encoded on first use."""

    seq: int
    event: ApiEvent
    text: str | None = None

    def encoded(self) -> str:
        """The event's WebSocket message (made once, by whoever needs it first)."""
        if self.text is None:
            self.text = json.dumps({"type": "event", "seq": self.seq,
                                    "event": event_json(self.event)},
                                   separators=(",", ":"), default=str)
        return self.text


@dataclass(slots=True)
class Listener:
    """One subscribed client: where its events go and what to do when it cannot keep up."""

    offer: Callable[[KeptEvent], bool]  # False: the client's queue is full
    on_overflow: Callable[[], None]
    is_dropped: bool = field(default=False)


class EventLog:
    """Numbers, encodes, keeps and fans out the API's events."""

    def __init__(self, bus: Bus, clock: Clock, ring_size: int) -> None:
        self._bus = bus
        self.seq = int(clock.time() * 1000)
        self._ring: deque[ApiEvent] = deque(maxlen=ring_size)  # the last is number ``seq``
        self._listeners: list[Listener] = []
        self._sub: Subscription | None = None
        self.slow_disconnects = 0

    def start(self) -> None:
        """Subscribe to the bus (needs the running loop)."""
        if self._sub is None:
            self._sub = self._bus.subscribe(API_EVENTS, self.add, name="api-events",
                                            inline=True)

    def stop(self) -> None:
        """Unsubscribe."""
        if self._sub is not None:
            self._bus.unsubscribe(self._sub)
            self._sub = None

    def add(self, event: ApiEvent) -> None:
        """Number, keep and offer one event (its JSON is left to the clients' writers)."""
        self.seq += 1
        self._ring.append(event)
        if not self._listeners:
            return
        kept = KeptEvent(self.seq, event)
        for listener in self._listeners:
            if not listener.is_dropped and not listener.offer(kept):
                listener.is_dropped = True
                self.slow_disconnects += 1
                listener.on_overflow()

    def since(self, seq: int) -> Iterator[KeptEvent] | None:
        """The kept events after seq, or None if some are gone (or seq is from elsewhere)."""
        if seq > self.seq:
            return None
        if seq == self.seq:
            return iter(())
        first = self.seq - len(self._ring) + 1
        if not self._ring or first > seq + 1:
            return None
        later = list(self._ring)[seq + 1 - first:]
        return (KeptEvent(n, event) for n, event in enumerate(later, seq + 1))

    def listen(self, listener: Listener) -> None:
        """Start offering events to a client."""
        self._listeners.append(listener)

    def forget(self, listener: Listener) -> None:
        """Stop offering events to a client."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    @property
    def listeners(self) -> int:
        """How many clients are subscribed."""
        return len(self._listeners)
