"""Typed asyncio fan-out of core events.

Each subscriber has its own bounded queue and task, so a slow or failing subscriber never stalls
the publisher or the others. ``publish`` never awaits: it is on the hot path. A full queue drops
the event for that subscriber, counts it and logs once per burst, never silently.

The one exception is an ``inline`` subscriber: a synchronous handler that takes microseconds
(the rule engine's index lookup) is called from ``publish`` itself, saving the hot path a trip
through the event loop; its failures are counted and logged like the others'.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[None] | None]


@dataclass(slots=True)
class Subscription:
    """One subscriber: what it wants, its queue and its counters."""

    name: str
    types: tuple[type, ...]
    handler: Handler
    queue: asyncio.Queue[object] | None
    delivered: int = 0
    dropped: int = 0
    failed: int = 0
    is_overflowing: bool = False
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class Bus:
    """Publish events to every subscriber of their type."""

    def __init__(self, default_maxsize: int = 10_000) -> None:
        self._default_maxsize = default_maxsize
        self._subs: list[Subscription] = []
        self._by_type: dict[type, list[Subscription]] = {}
        self.published = 0

    def subscribe(self, types: tuple[type, ...], handler: Handler, *, name: str,
                  maxsize: int | None = None, inline: bool = False) -> Subscription:
        """Deliver events of these types to handler (sync or async), in order, from a task;
        or, ``inline``, call a quick synchronous handler from ``publish`` itself."""
        if inline:
            sub = Subscription(name, types, handler, None)
        else:
            queue: asyncio.Queue[object] = asyncio.Queue(maxsize or self._default_maxsize)
            sub = Subscription(name, types, handler, queue)
            sub.task = asyncio.get_running_loop().create_task(self._pump(sub), name=f"bus:{name}")
        self._subs.append(sub)
        self._by_type.clear()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop delivering to a subscriber."""
        if sub in self._subs:
            self._subs.remove(sub)
            self._by_type.clear()
        if sub.task is not None:
            sub.task.cancel()

    def _subscribers(self, cls: type) -> list[Subscription]:
        subs = self._by_type.get(cls)
        if subs is None:
            subs = self._by_type[cls] = [s for s in self._subs if issubclass(cls, s.types)]
        return subs

    def wants(self, cls: type) -> bool:
        """Whether anyone subscribes to events of this type now: a publisher whose event costs
        something to build (a rule run's summary) builds it only for someone."""
        return bool(self._by_type.get(cls) or self._subscribers(cls))

    def publish(self, event: object) -> None:
        """Queue an event for every subscriber of its type; never blocks."""
        self.published += 1
        subs = self._by_type.get(type(event))  # the hot path: the lookup made once per type
        if subs is None:
            subs = self._subscribers(type(event))
        for sub in subs:
            if sub.queue is None:
                try:
                    sub.handler(event)
                except Exception:
                    sub.failed += 1
                    log.exception("event=subscriber_failed subscriber=%s event_type=%s",
                                  sub.name, type(event).__name__)
                sub.delivered += 1
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.dropped += 1
                if not sub.is_overflowing:
                    sub.is_overflowing = True
                    log.warning("event=bus_overflow subscriber=%s dropped=%d", sub.name,
                                sub.dropped)

    async def _pump(self, sub: Subscription) -> None:
        queue = sub.queue
        assert queue is not None  # only queued subscribers have a pump
        while True:
            event = await queue.get()
            if sub.is_overflowing and queue.qsize() < queue.maxsize // 2:
                sub.is_overflowing = False
                log.warning("event=bus_recovered subscriber=%s dropped=%d", sub.name, sub.dropped)
            try:
                result = sub.handler(event)
                if result is not None:
                    await result
            except Exception:
                sub.failed += 1
                log.exception("event=subscriber_failed subscriber=%s event_type=%s", sub.name,
                              type(event).__name__)
            sub.delivered += 1
            queue.task_done()

    async def drain(self) -> None:
        """Wait until every queue is empty (for tests and benchmarks)."""
        for sub in list(self._subs):
            if sub.queue is not None:
                await sub.queue.join()

    async def close(self) -> None:
        """Stop every subscriber task."""
        tasks = [s.task for s in self._subs if s.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._subs.clear()
        self._by_type.clear()

    def stats(self) -> dict[str, tuple[int, int, int]]:
        """Per subscriber: delivered, dropped, failed."""
        return {s.name: (s.delivered, s.dropped, s.failed) for s in self._subs}
