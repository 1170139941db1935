"""Typed events: what drivers report, what the state store decides, what the bus carries.

Drivers report ``Report`` (an observed attribute value), ``ButtonEvent``, ``DeviceJoined``,
``DeviceLeft``, ``AvailabilityChanged`` and ``RadioHealth``. ``StateStore.apply`` turns a Report
into a ``StateChanged`` only when the value really changed. The bus dispatches on the type.

The records made for every event on the hot path (``Report``, ``StateChanged``,
``CommandResult``, ``RuleRan``; ``Context`` and ``StateEntry`` likewise) are typed NamedTuples:
as immutable as a frozen dataclass, matched the same way, but built in one tuple allocation,
where a frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (three to
four times the cost, and a third of the hub's own work per event). The rarer events stay frozen,
slotted dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, Never, NoReturn

from hubd.core.errors import InvalidValueError
from hubd.core.model import ButtonAction, Command, CommandStatus, Context, Device, Value


class Report(NamedTuple):
    """A radio observed an attribute's value (it may be the same as before)."""

    device_id: str
    attribute: str
    value: Value
    ts: float
    context: Context


class StateChanged(NamedTuple):
    """An attribute of a device took a new value."""

    device_id: str
    attribute: str
    old: Value
    new: Value
    ts: float
    context: Context


@dataclass(frozen=True, slots=True)
class ButtonEvent:
    """A button was pressed, released, held or tapped several times (count)."""

    device_id: str
    button: str
    action: ButtonAction
    ts: float
    context: Context
    count: int = 1


@dataclass(frozen=True, slots=True)
class DeviceJoined:
    """A device appeared (paired, or known again at start) or its description changed."""

    device: Device
    ts: float
    context: Context


@dataclass(frozen=True, slots=True)
class DeviceLeft:
    """A device left the network or was removed."""

    device_id: str
    ts: float
    context: Context


@dataclass(frozen=True, slots=True)
class AvailabilityChanged:
    """A device became reachable or unreachable."""

    device_id: str
    is_available: bool
    ts: float
    context: Context


class CommandResult(NamedTuple):
    """How a command ended, and how long it took from hand-off to the radio's answer."""

    command: Command
    status: CommandStatus
    latency_s: float
    error: str | None = None

    @property
    def device_id(self) -> str:
        """The device the command was for."""
        return self.command.device_id

    @property
    def context(self) -> Context:
        """The context of the command."""
        return self.command.context


class RadioStatus(StrEnum):
    """The health of a radio link."""

    OK = "ok"
    RECONNECTING = "reconnecting"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RadioHealth:
    """A radio's link changed health; detail says why, for people."""

    radio: str
    status: RadioStatus
    detail: str
    ts: float


@dataclass(frozen=True, slots=True)
class Notice:
    """Something to tell the people of the house or the developers (a rule disabled, a notify)."""

    source: str
    message: str
    ts: float
    context: Context
    level: str = "info"


class RuleRan(NamedTuple):
    """A rule run ended (or was refused: loop depth, run mode, storm); its trace has the detail."""

    rule_id: str
    run_id: str
    outcome: str
    trigger: str
    trigger_ts: float
    end_ts: float
    commands: int
    context: Context
    note: str = ""


class TunnelStatus(StrEnum):
    """The health of the cloud tunnel."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    WAITING_FOR_CLOCK = "waiting_for_clock"
    NOT_PROVISIONED = "not_provisioned"


@dataclass(frozen=True, slots=True)
class TunnelHealth:
    """The tunnel's state: when it tries next, how much waits in the outbox, the last ack."""

    status: TunnelStatus
    detail: str
    ts: float
    next_attempt_ts: float | None = None
    outbox_depth: int = 0
    last_ack_ts: float | None = None


class UpdatePhase(StrEnum):
    """Where an update install stands (the LAN API and the tunnel report it as is)."""

    IDLE = "idle"  # nothing under way since this boot
    RECEIVING = "receiving"  # the bundle is arriving (upload or download) into the spool file
    VERIFYING = "verifying"  # signature, board, version, then the payload's signed hash
    WRITING = "writing"  # streaming into the inactive slot
    HASHING = "hashing"  # reading the slot back: its hash must be the signed one
    COMMITTED = "committed"  # the boot order names the new slot: a reboot runs it
    REBOOTING = "rebooting"  # a reboot was asked for
    FAILED = "failed"  # refused or failed; reason says why; the booted slot is unchanged


@dataclass(frozen=True, slots=True)
class UpdateProgress:
    """An update install moved on: its phase, bytes done of total in that phase, and why it
    failed (when it did). Published on the bus; the API and the tunnel forward it."""

    phase: UpdatePhase
    version: str  # the bundle's version ("" until its manifest is read)
    done_bytes: int
    total_bytes: int
    reason: str
    ts: float
    context: Context


DriverEvent = (Report | ButtonEvent | DeviceJoined | DeviceLeft | AvailabilityChanged | RadioHealth
               | Notice)
Event = (Report | StateChanged | ButtonEvent | DeviceJoined | DeviceLeft | AvailabilityChanged
         | CommandResult | RadioHealth | Notice | RuleRan | TunnelHealth)


def unexpected_event(event: Never) -> NoReturn:
    """``typing.assert_never`` for a ``match`` on event types: mypy proves the call unreachable,
    so a new event type that a dispatch forgot is a type error; at run time (an object from
    outside the types) it is an InvalidValueError the caller can count and skip."""
    raise InvalidValueError(f"unexpected event type {type(event).__name__}")
