"""Core values as JSON objects for the API (the only place their JSON shape is decided)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, assert_never

from hubd.api.ports import RuleInfo, TokenInfo
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
from hubd.core.model import Capability, Context, Device, Value

ApiEvent = (StateChanged | ButtonEvent | DeviceJoined | DeviceLeft | AvailabilityChanged
            | CommandResult | Notice | RuleRan | UpdateProgress)
API_EVENTS = (StateChanged, ButtonEvent, DeviceJoined, DeviceLeft, AvailabilityChanged,
              CommandResult, Notice, RuleRan, UpdateProgress)


def context_json(context: Context) -> dict[str, Any]:
    """A Context."""
    return {"id": context.id, "origin": context.origin, "parent_id": context.parent_id,
            "depth": context.depth}


_CAPABILITIES: dict[frozenset[Capability], list[str]] = {}  # few distinct sets: sort each once


def _capabilities(caps: frozenset[Capability]) -> list[str]:
    names = _CAPABILITIES.get(caps)
    if names is None:
        names = _CAPABILITIES[caps] = sorted(str(c) for c in caps)
    return list(names)


def device_json(device: Device, state: Mapping[str, Value] | None = None) -> dict[str, Any]:
    """A device, with its state when given."""
    body: dict[str, Any] = {
        "id": device.id, "radio": device.radio, "address": device.address,
        "name": device.name, "room": device.room, "manufacturer": device.manufacturer,
        "model": device.model, "capabilities": _capabilities(device.capabilities),
        "is_available": device.is_available}
    if state is not None:
        body["state"] = dict(state)
    return body


def result_json(result: CommandResult) -> dict[str, Any]:
    """A CommandResult."""
    command = result.command
    return {"command_id": command.id, "device_id": command.device_id,
            "command": command.qualified_name, "args": dict(command.args),
            "status": str(result.status), "latency_s": result.latency_s, "error": result.error,
            "context": context_json(command.context)}


def rule_json(rule: RuleInfo) -> dict[str, Any]:
    """A rule's status."""
    return {"id": rule.id, "name": rule.name, "is_enabled": rule.is_enabled,
            "reason": rule.reason, "runs_started": rule.runs_started,
            "runs_skipped": rule.runs_skipped, "runs_dropped": rule.runs_dropped,
            "is_running": rule.is_running, "origin": rule.origin}


def token_json(token: TokenInfo) -> dict[str, Any]:
    """A token's record (never its secret)."""
    return {"id": token.id, "scope": token.scope, "client": token.client,
            "created": token.created, "last_used": token.last_used}


def event_json(event: ApiEvent) -> dict[str, Any]:
    """An event as the WebSocket sends it (without its seq)."""
    match event:
        case StateChanged():
            return {"event": "state_changed", "device_id": event.device_id,
                    "attribute": event.attribute, "old": event.old, "new": event.new,
                    "ts": event.ts, "context": context_json(event.context)}
        case ButtonEvent():
            return {"event": "button", "device_id": event.device_id, "button": event.button,
                    "action": str(event.action), "count": event.count, "ts": event.ts,
                    "context": context_json(event.context)}
        case DeviceJoined():
            return {"event": "device_joined", "device": device_json(event.device),
                    "ts": event.ts, "context": context_json(event.context)}
        case DeviceLeft():
            return {"event": "device_left", "device_id": event.device_id, "ts": event.ts,
                    "context": context_json(event.context)}
        case AvailabilityChanged():
            return {"event": "availability_changed", "device_id": event.device_id,
                    "is_available": event.is_available, "ts": event.ts,
                    "context": context_json(event.context)}
        case CommandResult():
            return {"event": "command_result", **result_json(event)}
        case Notice():
            return {"event": "notice", "source": event.source, "message": event.message,
                    "level": event.level, "ts": event.ts, "context": context_json(event.context)}
        case RuleRan():
            return {"event": "rule_ran", "rule_id": event.rule_id, "run_id": event.run_id,
                    "outcome": event.outcome, "trigger": event.trigger,
                    "trigger_ts": event.trigger_ts, "end_ts": event.end_ts,
                    "commands": event.commands, "note": event.note,
                    "context": context_json(event.context)}
        case UpdateProgress():
            return {"event": "update_progress", "phase": str(event.phase),
                    "version": event.version, "done_bytes": event.done_bytes,
                    "total_bytes": event.total_bytes, "reason": event.reason, "ts": event.ts,
                    "context": context_json(event.context)}
        case _:
            assert_never(event)
