"""The Z-Wave JS Server API as typed data: parse what the server sends, build what we send.

Theory of operation (zwave-js-server README, "API"): on connect the server sends a ``version``
message with the schema range it speaks; the client picks a schema with ``set_api_schema``, then
``start_listening`` returns the full state (controller and every node with its values) and from
then on the server pushes ``event`` messages. Every request carries a ``messageId`` and gets one
``result`` with ``success`` true (a ``result`` object) or false (an ``errorCode``).

No I/O here: ``parse_message`` turns one text frame into a typed message (RemoteProtocolError on
garbage); ``Requests`` numbers requests and builds their frames. JSON stays at this edge: nodes and
values leave as frozen dataclasses.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import cast

from hubd.core.errors import RemoteProtocolError

# Schemas this client is written and tested for (zwave-js-server 3.10.2 speaks 0-50). 32 is
# the first with "rebuild routes"; set_value answers {result: {status}} since 29.
SCHEMA_MIN = 32
SCHEMA_MAX = 44

Json = Mapping[str, object]
Scalar = bool | int | float | str | None


class NodeStatus(IntEnum):
    """zwave-js NodeStatus."""

    UNKNOWN = 0
    ASLEEP = 1
    AWAKE = 2
    DEAD = 3
    ALIVE = 4


class ControllerStatus(IntEnum):
    """zwave-js ControllerStatus: whether the stick answers."""

    READY = 0
    UNRESPONSIVE = 1
    JAMMED = 2


class SetValueStatus(IntEnum):
    """zwave-js SetValueStatus: how a set_value ended (Supervision status where supported)."""

    NO_DEVICE_SUPPORT = 0
    WORKING = 1
    FAIL = 2
    ENDPOINT_NOT_FOUND = 3
    NOT_IMPLEMENTED = 4
    INVALID_VALUE = 5
    SUCCESS_UNSUPERVISED = 254
    SUCCESS = 255


class InclusionStrategy(IntEnum):
    """zwave-js InclusionStrategy."""

    DEFAULT = 0  # S2 if the device supports it, S0 only where needed, else insecure
    SMART_START = 1
    INSECURE = 2
    SECURITY_S0 = 3
    SECURITY_S2 = 4


@dataclass(frozen=True, slots=True)
class ValueId:
    """Where a value lives on a node: command class, endpoint, property and property key."""

    command_class: int
    endpoint: int
    property: str | int
    property_key: str | int | None = None

    def to_json(self) -> dict[str, object]:
        """The valueId object of the API."""
        out: dict[str, object] = {"commandClass": self.command_class, "endpoint": self.endpoint,
                                  "property": self.property}
        if self.property_key is not None:
            out["propertyKey"] = self.property_key
        return out


@dataclass(frozen=True, slots=True)
class ValueState:
    """A value of a node: its id, current value and what the metadata says about it."""

    id: ValueId
    value: object
    unit: str = ""
    cc_specific: Mapping[str, int] = field(default_factory=dict)
    is_writeable: bool = False


@dataclass(frozen=True, slots=True)
class NodeState:
    """A node as the server describes it (the state dump, ``node added``, ``ready``)."""

    node_id: int
    is_ready: bool
    status: NodeStatus
    manufacturer: str
    label: str
    generic_class: int
    command_classes: frozenset[int]
    values: tuple[ValueState, ...]
    is_controller: bool = False
    is_secure: bool = False
    name: str = ""  # what the node calls itself (Node Naming and Location CC) or was named
    location: str = ""


@dataclass(frozen=True, slots=True)
class ServerVersion:
    """The server's greeting."""

    driver_version: str
    server_version: str
    home_id: int
    min_schema: int
    max_schema: int


@dataclass(frozen=True, slots=True)
class Result:
    """The answer to one request."""

    message_id: str
    success: bool
    result: Json
    error: str = ""


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """An event pushed by the server: its source (driver, controller, node) and name."""

    source: str
    name: str
    node_id: int | None
    body: Json


Message = ServerVersion | Result | ServerEvent


def negotiate_schema(version: ServerVersion) -> int:
    """The highest schema both sides speak; RemoteProtocolError if the ranges do not meet."""
    schema = min(SCHEMA_MAX, version.max_schema)
    if schema < max(SCHEMA_MIN, version.min_schema):
        raise RemoteProtocolError(
            f"zwave-js-server {version.server_version} speaks schemas {version.min_schema}-"
            f"{version.max_schema}; hubd needs one of {SCHEMA_MIN}-{SCHEMA_MAX}")
    return schema


def _obj(value: object, what: str) -> Json:
    if not isinstance(value, dict):
        raise RemoteProtocolError(f"{what} is not an object: {value!r:.80}")
    return cast(Json, value)


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _int(data: Json, key: str, default: int | None = None) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise RemoteProtocolError(f"{key} is not an integer: {value!r:.80}")
    return value


def parse_message(text: str | bytes) -> Message:
    """One frame from the server as a typed message."""
    try:
        data = _obj(json.loads(text), "a message")
    except ValueError as exc:
        raise RemoteProtocolError(f"not JSON: {exc}") from exc
    kind = data.get("type")
    if kind == "version":
        return ServerVersion(str(data.get("driverVersion", "")), str(data.get("serverVersion", "")),
                             _int(data, "homeId", 0), _int(data, "minSchemaVersion", 0),
                             _int(data, "maxSchemaVersion", 0))
    if kind == "result":
        success = data.get("success") is True
        error = "" if success else _error_text(data)
        result = _obj(data.get("result", {}), "result") if success else {}
        return Result(str(data.get("messageId", "")), success, result, error)
    if kind == "event":
        event = _obj(data.get("event"), "event")
        node_id = event.get("nodeId")
        return ServerEvent(str(event.get("source", "")), str(event.get("event", "")),
                           node_id if isinstance(node_id, int) else None, event)
    raise RemoteProtocolError(f"unknown message type {kind!r:.40}")


def _error_text(data: Json) -> str:
    parts = [str(data.get(k)) for k in ("errorCode", "zwaveErrorMessage", "message")
             if data.get(k)]
    return ": ".join(parts) or "failed"


def _value(raw: object) -> ValueState:
    data = _obj(raw, "a value")
    key = data.get("propertyKey")
    prop = data.get("property")
    if not isinstance(prop, str | int):
        raise RemoteProtocolError(f"value without a property: {data!r:.80}")
    metadata = _obj(data.get("metadata", {}), "metadata")
    specific = metadata.get("ccSpecific", {})
    return ValueState(
        ValueId(_int(data, "commandClass"), _int(data, "endpoint", 0), prop,
                key if isinstance(key, str | int) else None),
        data.get("value"), str(metadata.get("unit", "")),
        {k: v for k, v in _obj(specific, "ccSpecific").items() if isinstance(v, int)},
        metadata.get("writeable") is True)


def parse_node(raw: object) -> NodeState:
    """A node object of the state dump or of a node event."""
    data = _obj(raw, "a node")
    classes: set[int] = set()
    generic = 0
    for endpoint in _list(data.get("endpoints")):
        ep = _obj(endpoint, "an endpoint")
        for cc in _list(ep.get("commandClasses")):
            classes.add(_int(_obj(cc, "a command class"), "id"))
    device_class = data.get("deviceClass")
    if isinstance(device_class, dict):
        generic = _int(_obj(device_class.get("generic", {}), "generic"), "key", 0)
    status = _int(data, "status", 0)
    known = status in NodeStatus._value2member_map_
    return NodeState(
        node_id=_int(data, "nodeId"),
        is_ready=data.get("ready") is True,
        status=NodeStatus(status) if known else NodeStatus.UNKNOWN,
        manufacturer=str(data.get("manufacturer") or _hex(data.get("manufacturerId"))),
        label=str(data.get("label") or _class_label(data) or _hex(data.get("productId"))),
        generic_class=generic,
        command_classes=frozenset(classes),
        values=tuple(_value(v) for v in _list(data.get("values"))),
        is_controller=data.get("isControllerNode") is True,
        is_secure=data.get("isSecure") is True,
        name=str(data.get("name") or ""), location=str(data.get("location") or ""))


def _class_label(data: Json) -> str:
    """The specific device class's name ("Binary Switch"), for a node with no device file."""
    device_class = data.get("deviceClass")
    if not isinstance(device_class, dict):
        return ""
    specific = device_class.get("specific")
    return str(specific.get("label", "")) if isinstance(specific, dict) else ""


def _hex(value: object) -> str:
    return f"0x{value:04x}" if isinstance(value, int) else ""


def parse_state(result: Json) -> tuple[ControllerStatus, tuple[NodeState, ...]]:
    """The controller's status and the nodes of ``start_listening``'s state dump."""
    state = _obj(result.get("state"), "state")
    controller = _obj(state.get("controller", {}), "controller")
    nodes = tuple(parse_node(n) for n in _list(state.get("nodes")))
    return controller_status(controller.get("status", 0)), nodes


def controller_status(raw: object) -> ControllerStatus:
    """A controller status number as the enum (READY for one this client does not know)."""
    if isinstance(raw, int) and raw in ControllerStatus._value2member_map_:
        return ControllerStatus(raw)
    return ControllerStatus.READY


def value_args(body: Json) -> tuple[ValueId, object]:
    """The value id and new value of a ``value updated``/``added``/``notification`` event."""
    args = _obj(body.get("args"), "args")
    prop = args.get("property")
    key = args.get("propertyKey")
    if not isinstance(prop, str | int):
        raise RemoteProtocolError(f"value event without a property: {args!r:.80}")
    value_id = ValueId(_int(args, "commandClass"), _int(args, "endpoint", 0), prop,
                       key if isinstance(key, str | int) else None)
    return value_id, args.get("newValue", args.get("value"))


class Requests:
    """Numbers requests and builds their frames."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def build(self, command: str, args: Mapping[str, object] | None = None) -> tuple[str, str]:
        """The message id and the text frame of one request."""
        message_id = str(next(self._ids))
        body: dict[str, object] = {"messageId": message_id, "command": command}
        if args:
            body.update(args)
        return message_id, json.dumps(body, separators=(",", ":"))
