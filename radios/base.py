"""The seam between the hub and its radios: the RadioDriver protocol and what drivers report into.

A driver owns its adapter (serial port, socket, sidecar) and its reconnects. It reports what it
observes into a ``RadioSink`` synchronously (no await on the hot path), and executes Commands for
the devices it owns, answering with a CommandResult whose status says what the radio knows:
``confirmed`` when the device or radio acknowledged, ``sent`` when it cannot tell, ``failed``
with an error, ``expired`` when the deadline passed before sending.
"""

from __future__ import annotations

from typing import Protocol

from hubd.core.events import CommandResult, DriverEvent
from hubd.core.model import Command


class RadioSink(Protocol):
    """Where a driver reports events; implemented by the daemon."""

    def report(self, event: DriverEvent) -> None:
        """Take one event from the radio; returns at once."""
        ...


class RadioDriver(Protocol):
    """What every radio family implements."""

    @property
    def name(self) -> str:
        """The radio's name, the prefix of its device ids (``zigbee``, ``lutron``...)."""
        ...

    async def run(self, sink: RadioSink) -> None:
        """Connect, announce known devices (DeviceJoined), report events, heal the link; runs
        until cancelled. Reports RadioHealth on every change of link health."""
        ...

    async def send(self, command: Command) -> CommandResult:
        """Execute a command for one of this radio's devices; never raises for device faults."""
        ...

    async def permit_join(self, duration_s: float) -> None:
        """Let new devices pair for this long (0 closes the window)."""
        ...
