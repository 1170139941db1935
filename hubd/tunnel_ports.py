"""The daemon's side of the tunnel's ports: the store's outbox, and building the TunnelClient.

hubd.tunnel may not import the store or the hub; this module (part of the composition root)
adapts the Store's outbox, reached through the WriteBehind's thread, to the tunnel's ``Outbox``
port, and hands the Hub in as the ``Executor``.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from pathlib import Path

from hubd.core.clock import Clock
from hubd.hub import Hub
from hubd.store import OutboxRow, WriteBehind
from hubd.store.outbox import Message, OutboxLimits
from hubd.supervise import backoff_s
from hubd.tunnel.client import TunnelClient, identity_dir
from hubd.tunnel.identity import Identity
from hubd.tunnel.ports import UpdateOffers
from hubd.tunnel.settings import TunnelSettings
from hubd.tunnel.uplink import StateMirror, UpMessage


class StoreOutbox:
    """The tunnel's Outbox port on the Store, every call in the store's own thread."""

    def __init__(self, writer: WriteBehind, limits: OutboxLimits) -> None:
        self.writer = writer
        self.limits = limits

    async def append(self, messages: Sequence[UpMessage]) -> None:
        """Queue messages in one transaction."""
        batch = [Message(m.kind, m.body, m.coalesce_key) for m in messages]
        await self.writer.call(lambda store: store.outbox_append_many(batch, self.limits))

    async def after(self, seq: int, limit: int) -> Sequence[OutboxRow]:
        """Messages after seq."""
        return await self.writer.call(lambda store: store.outbox_after(seq, limit))

    async def ack(self, seq: int) -> None:
        """Forget what the cloud holds."""
        await self.writer.call(lambda store: store.outbox_ack(seq))

    async def acked_floor(self) -> int:
        """The highest seq known delivered."""
        return await self.writer.call(lambda store: store.outbox_acked_floor())

    async def depth(self) -> int:
        """How many messages wait."""
        count, _ = await self.writer.call(lambda store: store.outbox_depth())
        return count


def outbox_limits(settings: TunnelSettings) -> OutboxLimits:
    """The outbox caps from the tunnel settings."""
    return OutboxLimits(settings.outbox_max_rows, settings.outbox_max_bytes,
                        settings.outbox_max_age_s)


def build_tunnel(settings: TunnelSettings, state_dir: Path, hub: Hub, writer: WriteBehind,
                 clock: Clock, rng: random.Random | None = None,
                 updates: UpdateOffers | None = None) -> TunnelClient:
    """The tunnel client of a hub, with the project's one backoff policy."""
    rng = rng or random.Random()
    backoff = functools.partial(backoff_s, minimum_s=settings.backoff_min_s,
                                maximum_s=settings.backoff_max_s, rng=rng)
    return TunnelClient(settings, Identity(identity_dir(state_dir)), hub.bus,
                        StoreOutbox(writer, outbox_limits(settings)), hub,
                        StateMirror(hub.state), clock, backoff, rng, updates)
