"""The feeder: bus events into the outbox, in batches, so the disk is never on the hot path.

The hot path pays one ``put_nowait`` into the tunnel's bus queue. This task turns each event into
an outbox message in memory and, every ``flush_interval_s``, hands the batch to the outbox,
which writes it in one transaction in the store's thread. A failed write keeps the batch for the
next try; past ``max_pending`` messages in memory the oldest go first, counted and logged. What
was flushed survives SIGKILL; a stop flushes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from hubd.bus import Bus, Subscription
from hubd.core.errors import HubError
from hubd.tunnel.ports import Outbox
from hubd.tunnel.uplink import UPLINK_TYPES, StateMirror, Uplinked, UpMessage, to_message

log = logging.getLogger(__name__)


class Feeder:
    """Batches uplinked bus events into the outbox."""

    def __init__(self, bus: Bus, outbox: Outbox, mirror: StateMirror, *,
                 flush_interval_s: float = 0.02, max_pending: int = 20_000) -> None:
        self.bus = bus
        self.outbox = outbox
        self.mirror = mirror
        self.flush_interval_s = flush_interval_s
        self.max_pending = max_pending
        self.pending: deque[UpMessage] = deque()
        self.appended = 0
        self.dropped = 0
        self.failures = 0
        self.flushed = asyncio.Event()  # set after each successful write: new rows to send
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._subscription: Subscription | None = None

    def on_event(self, event: Uplinked) -> None:
        """Queue one event (called by the bus, in the tunnel's own task)."""
        self.mirror.observe(event)
        self.pending.append(to_message(event))
        if len(self.pending) > self.max_pending:
            self.pending.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("event=tunnel_pending_full dropped=%d max_pending=%d", self.dropped,
                            self.max_pending)
        self._wake.set()

    def subscribe(self) -> None:
        """Start hearing the bus (before the radios report, so nothing is missed)."""
        if self._subscription is None:
            self._subscription = self.bus.subscribe(UPLINK_TYPES, self.on_event, name="tunnel")

    async def run(self) -> None:
        """Flush batches until cancelled, then flush what is left."""
        self.subscribe()
        try:
            while True:
                await self._wake.wait()
                await asyncio.sleep(self.flush_interval_s)  # let a burst gather in one batch
                self._wake.clear()
                await self.flush()
        finally:
            if self._subscription is not None:
                self.bus.unsubscribe(self._subscription)
                self._subscription = None
            with contextlib.suppress(HubError):
                await asyncio.shield(self.flush())

    async def flush(self) -> bool:
        """Write what is pending now; whether it all reached the outbox."""
        async with self._lock:
            if not self.pending:
                return True
            batch = list(self.pending)
            self.pending.clear()
            try:
                await self.outbox.append(batch)
            except HubError as exc:
                self.failures += 1
                self.pending.extendleft(reversed(batch))
                while len(self.pending) > self.max_pending:
                    self.pending.popleft()
                    self.dropped += 1
                if self.failures == 1 or self.failures % 100 == 0:  # a full disk fails alike
                    log.error("event=tunnel_outbox_write_failed failures=%d pending=%d error=%s",
                              self.failures, len(self.pending), exc)
                self._wake.set()
                return False
            if self.failures:
                log.warning("event=tunnel_outbox_write_recovered failures=%d", self.failures)
                self.failures = 0
            self.appended += len(batch)
            self.flushed.set()
            return True
