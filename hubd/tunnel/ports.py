"""The seams of the tunnel: what the daemon hands it (the outbox, the hub), as Protocols.

hubd.tunnel imports hubd.core and hubd.bus only; the daemon implements these with the Store
and the Hub, and tests with whatever they like.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hubd.core.events import CommandResult
from hubd.core.model import Command
from hubd.core.update import UpdateStatus
from hubd.tunnel.uplink import UpMessage


class OutboxItem(Protocol):
    """One queued message as the outbox returns it."""

    @property
    def seq(self) -> int:
        """Its sequence number (monotonic, never reused)."""
        ...

    @property
    def kind(self) -> str:
        """state, event, telemetry or dropped."""
        ...

    @property
    def body(self) -> bytes:
        """CBOR (a dropped marker: JSON)."""
        ...

    @property
    def ts(self) -> float:
        """When it was queued."""
        ...


class Outbox(Protocol):
    """The durable queue of hub-to-cloud messages (the store's outbox, off the event loop)."""

    async def append(self, messages: Sequence[UpMessage]) -> None:
        """Queue messages in one transaction."""
        ...

    async def after(self, seq: int, limit: int) -> Sequence[OutboxItem]:
        """Messages after seq, oldest first."""
        ...

    async def ack(self, seq: int) -> None:
        """Forget every message up to seq."""
        ...

    async def acked_floor(self) -> int:
        """The highest seq known to be delivered (everything at or below it is gone)."""
        ...

    async def depth(self) -> int:
        """How many messages wait."""
        ...


class UpdateOffers(Protocol):
    """Updates the cloud offers (the daemon's update service; hubd.ota)."""

    def status(self) -> UpdateStatus:
        """What runs, and the last install's progress."""
        ...

    def offer(self, url: str, size_bytes: int | None, origin: str) -> UpdateStatus:
        """Fetch the bundle at url and install it, in the background; progress goes up as
        events. UpdateBusyError at once if an install runs; UpdateError if url is refused."""
        ...

    async def reboot(self, origin: str) -> None:
        """Reboot into the committed update (UpdateError if none is committed)."""
        ...


class Executor(Protocol):
    """Who runs a command from the cloud (Hub.execute)."""

    async def execute(self, command: Command) -> CommandResult:
        """Run a command; never raises for device faults."""
        ...
