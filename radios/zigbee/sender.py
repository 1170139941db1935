"""Zigbee commands out: a hub Command as a ZCL request to a device or group, and its result."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Protocol

from hubd.core.clock import Clock
from hubd.core.errors import DeviceError, HubError
from hubd.core.events import CommandResult
from hubd.core.model import Command, CommandStatus, Origin
from radios.zigbee.commands import ZclRequest, to_zcl
from radios.zigbee.echoes import EchoBook
from radios.zigbee.groups import RADIO, GroupKeeper
from radios.zigbee.ratelimit import RateGate
from radios.zigbee.settings import ZigbeeSettings


class CommandAdapter(Protocol):
    """What the sender needs of the coordinator's adapter."""

    async def send(self, ieee: str, request: ZclRequest) -> None:
        """Send a request and wait for the device's answer."""
        ...

    async def send_group(self, group_id: int, request: ZclRequest) -> None:
        """Send a cluster command to a group as one multicast."""
        ...


class CommandSender:
    """Carries out the hub's commands: unicast confirmed by the device, multicast rate-gated."""

    def __init__(self, settings: ZigbeeSettings, clock: Clock, echoes: EchoBook,
                 groups: GroupKeeper, adapter: Callable[[], CommandAdapter]) -> None:
        self._settings = settings
        self._clock = clock
        self._echoes = echoes
        self._groups = groups
        self._adapter = adapter  # the current session's; TransientError while the link is down
        self._group_gate = RateGate(settings.group_commands_per_s)

    async def send(self, command: Command) -> CommandResult:
        """Carry out a command; the answer, never an exception, says how it went."""
        started = self._clock.monotonic()

        def result(status: CommandStatus, error: str | None = None) -> CommandResult:
            return CommandResult(command, status, self._clock.monotonic() - started, error)

        if command.deadline is not None and started > command.deadline:
            return result(CommandStatus.EXPIRED, "the deadline passed before sending")
        prefix = f"{RADIO}:"
        if not command.device_id.startswith(prefix):
            return result(CommandStatus.FAILED, f"{command.device_id} is not a zigbee device")
        try:
            request = to_zcl(command)
        except ValueError as exc:
            return result(CommandStatus.FAILED, str(exc))
        address = command.device_id[len(prefix):]
        self._expect_echo(command, address, started)
        if address.startswith("group:"):
            return await self._send_group(command, address, request, result)
        timeout_s = self._settings.command_timeout_s
        if command.deadline is not None:
            timeout_s = min(timeout_s, command.deadline - started)
        try:
            adapter = self._adapter()
            async with asyncio.timeout(timeout_s):
                await adapter.send(address, request)
        except TimeoutError:
            return result(CommandStatus.FAILED, f"timeout: no answer within {timeout_s:.1f} s")
        except HubError as exc:
            return result(CommandStatus.FAILED, _words(exc))
        return result(CommandStatus.CONFIRMED)

    def _expect_echo(self, command: Command, address: str, now: float) -> None:
        """The reports this command should cause are its echo (a group's come from members)."""
        context = command.context.child(Origin.DIGITAL)
        until = now + self._settings.echo_window_s
        ieees: Iterable[str] = (address,)
        if address.startswith("group:"):
            ieees = next((g.member_ieees for g in self._groups.groups
                          if g.device_id == command.device_id), ())
        for ieee in ieees:
            self._echoes.expect(ieee, command, context, until, now)

    async def _send_group(self, command: Command, address: str, request: ZclRequest,
                          result: _ResultFn) -> CommandResult:
        try:
            group_id = int(address.removeprefix("group:"), 0)
        except ValueError:
            return result(CommandStatus.FAILED, f"{address!r} is not a group number")
        if not await self._group_gate.acquire(command.deadline):
            return result(CommandStatus.EXPIRED, "the deadline passed waiting for a broadcast slot")
        try:
            await self._adapter().send_group(group_id, request)
        except HubError as exc:
            return result(CommandStatus.FAILED, _words(exc))
        # A multicast has no acknowledgement: the coordinator sent it, nobody confirmed it.
        return result(CommandStatus.SENT)


class _ResultFn(Protocol):
    """The ``result`` helper inside ``send``."""

    def __call__(self, status: CommandStatus, error: str | None = None) -> CommandResult:
        """Build the CommandResult."""
        ...


def _words(exc: HubError) -> str:
    return exc.message if isinstance(exc, DeviceError) else str(exc)
