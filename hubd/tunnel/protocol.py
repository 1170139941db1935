"""The "hubd/1" wire format: CBOR envelopes, their types, and the close codes of the tunnel.

Theory of operation. Every WebSocket message (binary, subprotocol ``hubd.v1``) is one CBOR map,
the envelope ``{v, t, id, seq, ack, ts, body}`` (DESIGN.md, "Cloud tunnel"). ``v`` is the
protocol version and ``t`` the message type; ``id`` names a command (or a renewal) and its answer,
``seq`` numbers a hub-to-cloud event, ``ack`` acknowledges every event up to it (cumulative),
``ts`` is the sender's wall clock in seconds, ``body`` a map whose keys depend on ``t``. Keys
whose value is absent are left out, and keys are written in that fixed order, so the same
envelope is always the same bytes (the tests compare bytes).

Decoding trusts nothing: a message larger than MAX_MESSAGE_BYTES, not CBOR, not a map, of
another version or type, or with a field of the wrong type raises ``EnvelopeError`` carrying the
close code to send, and no more is read from that connection. cbor2 does the CBOR (RFC 8949);
semantic tags are refused, so a peer cannot make us build dates, decimals or shared references.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

import cbor2

from hubd.core.errors import RemoteProtocolError

VERSION = 1
SUBPROTOCOL = "hubd.v1"
MAX_MESSAGE_BYTES = 64 * 1024
MAX_TS_S = 1e12  # wall-clock seconds; far beyond any real clock
MAX_DEPTH = 16  # bodies are shallow; a deeper nest is an attack on the decoder's stack


class MessageType(StrEnum):
    """The ``t`` of an envelope; the arrow says who sends it."""

    HELLO = "hello"  # hub → cloud: who I am (by certificate), last acked seq, state version
    WELCOME = "welcome"  # cloud → hub: the seq it has, the state version it holds
    EVENT = "event"  # hub → cloud: one outbox message, with its seq
    ACK = "ack"  # cloud → hub: every event up to ``ack`` is stored
    STATE = "state"  # hub → cloud: a state snapshot or delta, by version
    COMMAND = "command"  # cloud → hub: run a command before its deadline
    RESULT = "result"  # hub → cloud: how a command ended (the same ``id``)
    RENEW = "renew"  # hub → cloud: a CSR to renew the client certificate
    RENEWED = "renewed"  # cloud → hub: the new certificate (the same ``id``)
    BYE = "bye"  # either way: closing; body says why and when to come back


class CloseCode(IntEnum):
    """WebSocket close codes of the tunnel (RFC 6455 7.4; 4000-4999 are ours)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    MESSAGE_TOO_BIG = 1009  # RFC 6455 7.4.1: a message too big to process
    PROTOCOL_ERROR = 4000  # malformed envelope or a message out of turn
    SUPERSEDED = 4001  # a newer connection of the same hub took over: retry slowly
    UNSUPPORTED_VERSION = 4002  # an envelope of a version we do not speak
    UNAUTHORIZED = 4003  # the certificate names no hub we serve


class EnvelopeError(RemoteProtocolError):
    """The peer sent an envelope we must not read; close with ``code``."""

    def __init__(self, code: CloseCode, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"{code.name.lower()}: {reason}")


Body = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message of the tunnel."""

    t: MessageType
    ts: float
    id: str | None = None
    seq: int | None = None
    ack: int | None = None
    body: Body = field(default_factory=dict)
    v: int = VERSION


def encode(envelope: Envelope) -> bytes:
    """The envelope as CBOR bytes: fixed key order, absent keys left out."""
    data: dict[str, Any] = {"v": envelope.v, "t": envelope.t.value}
    if envelope.id is not None:
        data["id"] = envelope.id
    if envelope.seq is not None:
        data["seq"] = envelope.seq
    if envelope.ack is not None:
        data["ack"] = envelope.ack
    data["ts"] = envelope.ts
    if envelope.body:
        data["body"] = dict(envelope.body)
    return cbor2.dumps(data)


def _refuse_tag(decoder: object, tag: object) -> object:
    raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "CBOR tags are not allowed")


_PLAIN = (str, int, float, bool, bytes, type(None))


def _check_depth(value: object, depth: int = 0) -> None:
    """Refuse nests deeper than MAX_DEPTH and anything but plain CBOR data."""
    if isinstance(value, _PLAIN):
        return
    if depth >= MAX_DEPTH:
        raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "body nested too deep")
    if isinstance(value, list):
        for item in value:
            _check_depth(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "map keys must be text")
            _check_depth(item, depth + 1)
    else:
        raise EnvelopeError(CloseCode.PROTOCOL_ERROR, f"{type(value).__name__} is not allowed")


def _field(data: Mapping[str, object], key: str, kind: type | tuple[type, ...],
           *, is_required: bool = False) -> Any:
    value = data.get(key)
    if value is None:
        if is_required:
            raise EnvelopeError(CloseCode.PROTOCOL_ERROR, f"{key!r} is missing")
        return None
    if isinstance(value, bool) and kind in (int, (int, float)):
        raise EnvelopeError(CloseCode.PROTOCOL_ERROR, f"{key!r} must be a number")
    if not isinstance(value, kind):
        raise EnvelopeError(CloseCode.PROTOCOL_ERROR, f"{key!r} has the wrong type")
    return value


_KEYS = frozenset({"v", "t", "id", "seq", "ack", "ts", "body"})


def _loads(message: bytes | str) -> dict[Any, Any]:
    """The CBOR map in a message, checked for size, syntax and version."""
    if isinstance(message, str):
        raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "text message; hubd.v1 is binary")
    if len(message) > MAX_MESSAGE_BYTES:
        raise EnvelopeError(CloseCode.MESSAGE_TOO_BIG, f"{len(message)} bytes")
    try:
        data = cbor2.loads(message, tag_hook=_refuse_tag)
    except EnvelopeError:
        raise
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError,
            MemoryError, IndexError, KeyError) as exc:
        # cbor2's C decoder raises several kinds for garbage; all of them mean "not CBOR".
        raise EnvelopeError(CloseCode.PROTOCOL_ERROR, f"not CBOR: {exc}") from None
    if not isinstance(data, dict):
        raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "not a map")
    version = data.get("v")
    if not isinstance(version, int) or isinstance(version, bool):
        raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "no version")
    if version != VERSION:
        raise EnvelopeError(CloseCode.UNSUPPORTED_VERSION, f"version {version}")
    if not all(isinstance(k, str) and k in _KEYS for k in data):
        raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "unknown envelope key")
    return data


def decode(message: bytes | str) -> Envelope:
    """The envelope in one WebSocket message; EnvelopeError says why it cannot be read."""
    data = _loads(message)
    try:
        kind = MessageType(_field(data, "t", str, is_required=True))
    except ValueError:
        raise EnvelopeError(CloseCode.PROTOCOL_ERROR, f"unknown type {data['t']!r}") from None
    body = _field(data, "body", dict) or {}
    _check_depth(body)
    seq, ack = _field(data, "seq", int), _field(data, "ack", int)
    for name, number in (("seq", seq), ("ack", ack)):
        if number is not None and not 0 <= number < 2**63:
            raise EnvelopeError(CloseCode.PROTOCOL_ERROR, f"{name} out of range")
    ts = _field(data, "ts", (int, float), is_required=True)
    if not -MAX_TS_S < ts < MAX_TS_S:  # NaN fails this too
        raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "ts out of range")
    return Envelope(kind, float(ts), _field(data, "id", str), seq, ack, body, int(data["v"]))
