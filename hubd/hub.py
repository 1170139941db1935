"""The running hub's kernel: device state, the bus and the radios, joined on the hot path.

Every driver reports into ``Hub.report`` (the RadioSink): a Report goes through
``StateStore.apply`` and, when the value changed, a StateChanged is published; everything else is
published as it is. ``Hub.execute`` checks a Command against the device and the vocabulary and
hands it to the radio that owns the device. Neither waits on a disk or a network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace

from hubd.bus import Bus
from hubd.core.clock import Clock
from hubd.core.errors import HubError
from hubd.core.events import (
    AvailabilityChanged,
    ButtonEvent,
    CommandResult,
    DeviceJoined,
    DeviceLeft,
    DriverEvent,
    Notice,
    RadioHealth,
    RadioStatus,
    Report,
    unexpected_event,
)
from hubd.core.model import Command, CommandStatus, validate_args
from hubd.core.state import StateStore
from radios.base import RadioDriver

log = logging.getLogger(__name__)

# Looked up once: reading an Enum's member costs Python 3.11 ten times a plain attribute.
_UNSUCCESSFUL = frozenset({CommandStatus.FAILED, CommandStatus.EXPIRED})


class Hub:
    """State, bus and radios; the sink of every driver and the router of every command."""

    def __init__(self, clock: Clock, bus: Bus, state: StateStore,
                 names: Mapping[str, tuple[str, str]] | None = None) -> None:
        self.clock = clock
        self._names = dict(names or {})  # device id -> (name, room) people chose in the config
        self.bus = bus
        self.state = state
        self.drivers: dict[str, RadioDriver] = {}
        self.health: dict[str, RadioHealth] = {}
        self.rejected = 0
        self._radio_seen: dict[str, asyncio.Event] = {}

    def add_driver(self, driver: RadioDriver) -> None:
        """Own a radio: its devices' commands go to it."""
        self.drivers[driver.name] = driver
        self.expect_radio(driver.name)

    def expect_radio(self, name: str) -> None:
        """A radio whose driver comes later (its modules still loading): wait_radios waits for
        it from now on."""
        self._radio_seen.setdefault(name, asyncio.Event())

    # -- the sink ----------------------------------------------------------------------------

    def report(self, event: DriverEvent) -> None:
        """Take an event from a radio; a bad one is counted and logged, never raised."""
        try:
            match event:
                case Report():
                    changed = self.state.apply_report(event)
                    if changed is not None:
                        self.bus.publish(changed)
                    return
                case RadioHealth():
                    self._on_health(event)
                case DeviceJoined():
                    if not event.device.name:
                        event = self._named(event)
                    self.state.apply(event)
                case DeviceLeft() | AvailabilityChanged():
                    self.state.apply(event)
                case ButtonEvent() | Notice():
                    pass
                case _:
                    unexpected_event(event)
            self.bus.publish(event)
        except (HubError, ValueError, TypeError) as exc:
            self.rejected += 1
            log.warning("event=report_rejected type=%s error=%r", type(event).__name__, str(exc))

    def _named(self, event: DeviceJoined) -> DeviceJoined:
        """A radio that knows no name for a device gets the one from the config, if any."""
        named = self._names.get(event.device.id)
        if named is None:
            return event
        name, room = named
        device = replace(event.device, name=name, room=event.device.room or room)
        return replace(event, device=device)

    def _on_health(self, event: RadioHealth) -> None:
        previous = self.health.get(event.radio)
        self.health[event.radio] = event
        if previous is None or previous.status != event.status:
            level = logging.INFO if event.status is RadioStatus.OK else logging.WARNING
            log.log(level, "event=radio_health radio=%s status=%s detail=%r", event.radio,
                    event.status, event.detail)
        seen = self._radio_seen.get(event.radio)
        if seen is not None:
            seen.set()

    async def wait_radios(self, timeout_s: float, names: Iterable[str] | None = None) -> list[str]:
        """Wait until each radio has said how it is (ok or not); return those that did not."""
        waiting = {n: e for n, e in self._radio_seen.items() if names is None or n in names}
        try:
            async with asyncio.timeout(timeout_s):
                for event in waiting.values():
                    await event.wait()
        except TimeoutError:
            pass
        return sorted(n for n, e in waiting.items() if not e.is_set())

    # -- commands ----------------------------------------------------------------------------

    async def execute(self, command: Command) -> CommandResult:
        """Hand a command to the radio that owns the device; never raises for device faults."""
        started = self.clock.monotonic()
        checked = self._check(command, started)
        if not isinstance(checked, str):
            status, message = checked
            result = CommandResult(command, status, 0.0, message)
        else:
            driver = self.drivers[checked]
            try:
                result = await driver.send(command)
            except Exception as exc:
                log.exception("event=driver_send_failed radio=%s command=%s", driver.name,
                              command.qualified_name)
                result = CommandResult(command, CommandStatus.FAILED,
                                       self.clock.monotonic() - started, f"radio error: {exc}")
        if result.status in _UNSUCCESSFUL:
            log.warning("event=command_failed device=%s command=%s status=%s error=%r",
                        command.device_id, command.qualified_name, result.status, result.error)
        self.bus.publish(result)
        return result

    def _check(self, command: Command, now: float) -> tuple[CommandStatus, str] | str:
        """The radio to send a command to, or the status and reason why it cannot go."""
        device = self.state.get_device(command.device_id)
        if device is None:
            return CommandStatus.FAILED, f"unknown device {command.device_id}"
        if command.capability not in device.capabilities:
            return CommandStatus.FAILED, f"{device.name or device.id} has no {command.capability}"
        try:
            validate_args(command.capability, command.name, command.args)
        except ValueError as exc:
            return CommandStatus.FAILED, str(exc)
        if device.radio not in self.drivers:
            return CommandStatus.FAILED, f"radio {device.radio} is not running"
        if command.deadline is not None and now > command.deadline:
            return CommandStatus.EXPIRED, "deadline passed before the command was sent"
        return device.radio
