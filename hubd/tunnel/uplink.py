"""What goes up the tunnel: bus events as outbox messages, and the state mirror for resync.

``to_message`` turns one bus event into an outbox message (its kind, a CBOR body and, for state,
the key it coalesces on): pure, and cheap enough for the bus's tunnel subscriber. ``StateMirror``
numbers every state change with a version, so that after a reconnect the hub sends the cloud a
delta since the version it holds or, when it cannot (another boot, another epoch), a snapshot.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, assert_never

import cbor2

from hubd.core.events import (
    AvailabilityChanged,
    ButtonEvent,
    CommandResult,
    DeviceJoined,
    DeviceLeft,
    Notice,
    RuleRan,
    StateChanged,
    UpdateProgress,
)
from hubd.core.model import Context, Device
from hubd.core.state import StateStore

UPLINK_TYPES = (StateChanged, ButtonEvent, DeviceJoined, DeviceLeft, AvailabilityChanged,
                CommandResult, Notice, RuleRan, UpdateProgress)
Uplinked = (StateChanged | ButtonEvent | DeviceJoined | DeviceLeft | AvailabilityChanged
            | CommandResult | Notice | RuleRan | UpdateProgress)

# The outbox's kinds (hubd.store.rows.OutboxKind, by value: the tunnel does not import the store).
STATE, EVENT, TELEMETRY = "state", "event", "telemetry"


@dataclass(frozen=True, slots=True)
class UpMessage:
    """One message for the outbox: kind, CBOR body, and the key state coalesces on."""

    kind: str
    body: bytes
    coalesce_key: str | None = None


def _context(context: Context) -> dict[str, Any]:
    return {"id": context.id, "origin": context.origin, "parent": context.parent_id}


def device_body(device: Device) -> dict[str, Any]:
    """A device as the cloud sees it."""
    return {"id": device.id, "radio": device.radio, "name": device.name, "room": device.room,
            "manufacturer": device.manufacturer, "model": device.model,
            "capabilities": sorted(str(c) for c in device.capabilities),
            "available": device.is_available}


def event_body(event: Uplinked) -> tuple[str, dict[str, Any], str | None]:
    """The kind, body and coalesce key of one bus event."""
    match event:
        case StateChanged():
            return STATE, {"type": "state", "device": event.device_id, "attribute":
                           event.attribute, "old": event.old, "new": event.new, "ts": event.ts,
                           "ctx": _context(event.context)}, f"{event.device_id}/{event.attribute}"
        case ButtonEvent():
            return EVENT, {"type": "button", "device": event.device_id, "button": event.button,
                           "action": str(event.action), "count": event.count, "ts": event.ts,
                           "ctx": _context(event.context)}, None
        case DeviceJoined():
            return EVENT, {"type": "device_joined", "device": device_body(event.device),
                           "ts": event.ts, "ctx": _context(event.context)}, None
        case DeviceLeft():
            return EVENT, {"type": "device_left", "device": event.device_id, "ts": event.ts,
                           "ctx": _context(event.context)}, None
        case AvailabilityChanged():
            return STATE, {"type": "availability", "device": event.device_id,
                           "available": event.is_available, "ts": event.ts,
                           "ctx": _context(event.context)}, f"{event.device_id}/available"
        case CommandResult():
            return EVENT, {"type": "command_result", "device": event.device_id,
                           "command": event.command.qualified_name, "status": str(event.status),
                           "latency_ms": round(event.latency_s * 1e3, 3), "error": event.error,
                           "ctx": _context(event.context)}, None
        case Notice():
            return EVENT, {"type": "notice", "source": event.source, "message": event.message,
                           "level": event.level, "ts": event.ts,
                           "ctx": _context(event.context)}, None
        case RuleRan():
            # A summary only: the trace stays on the hub.
            return TELEMETRY, {"type": "rule_ran", "rule": event.rule_id, "outcome":
                               event.outcome, "trigger": event.trigger, "duration_ms":
                               round((event.end_ts - event.trigger_ts) * 1e3, 3), "commands":
                               event.commands, "ts": event.end_ts, "note": event.note,
                               "ctx": _context(event.context)}, None
        case UpdateProgress():
            # State, coalesced on one key: after an outage the cloud needs the latest phase,
            # not every percent of it.
            return STATE, {"type": "update", "phase": str(event.phase), "version":
                           event.version, "done_bytes": event.done_bytes, "total_bytes":
                           event.total_bytes, "reason": event.reason, "ts": event.ts,
                           "ctx": _context(event.context)}, "hub/update"
        case _:
            assert_never(event)


def to_message(event: Uplinked) -> UpMessage:
    """One bus event as an outbox message."""
    kind, body, key = event_body(event)
    return UpMessage(kind, cbor2.dumps(body), key)


class StateMirror:
    """Versions of every state key since this boot (epoch), to compute a delta for the cloud."""

    def __init__(self, state: StateStore, epoch: str | None = None) -> None:
        self.state = state
        self.epoch = epoch or os.urandom(8).hex()
        self.version = 0
        self._changed: dict[tuple[str, str], int] = {}  # (device, attribute) -> version
        self._devices: dict[str, int] = {}  # device id -> version it last joined or left

    def observe(self, event: Uplinked) -> None:
        """Note a change (called for every uplinked event, before it is queued)."""
        match event:
            case StateChanged():
                self.version += 1
                self._changed[(event.device_id, event.attribute)] = self.version
            case DeviceJoined():
                self.version += 1
                self._devices[event.device.id] = self.version
            case DeviceLeft() | AvailabilityChanged():
                self.version += 1
                self._devices[event.device_id] = self.version
            case ButtonEvent() | CommandResult() | Notice() | RuleRan() | UpdateProgress():
                pass  # not device state: nothing a resync sends (an update's phase is coalesced)
            case _:
                assert_never(event)

    def body(self, epoch: str | None, since: int | None) -> dict[str, Any]:
        """A delta since the cloud's version if it holds this epoch's, else a snapshot."""
        is_delta = epoch == self.epoch and since is not None and since <= self.version
        floor = since if is_delta and since is not None else -1
        devices, removed = [], []
        for did, version in self._devices.items() if is_delta else ():
            if version > floor:
                device = self.state.get_device(did)
                if device is None:
                    removed.append(did)
                else:
                    devices.append(device_body(device))
        if not is_delta:
            devices = [device_body(d) for d in self.state.devices()]
        return {"epoch": self.epoch, "version": self.version, "full": not is_delta,
                "since": since if is_delta else None, "devices": devices, "removed": removed,
                "values": list(self._values(floor, is_delta))}

    def _values(self, floor: int, is_delta: bool) -> Iterator[list[Any]]:
        if not is_delta:
            for entry in self.state.entries():
                yield [entry.device_id, entry.attribute, entry.value]
            return
        for (did, attribute), version in self._changed.items():
            if version > floor and self.state.get_device(did) is not None:
                yield [did, attribute, self.state.value(did, attribute)]
