"""The relay's side of one tunnel connection, sans-I/O (the mirror of hubd.tunnel.session).

    phase           message in   what the session does                           phase after
    ─────────────   ──────────   ─────────────────────────────────────────────   ───────────
    AWAITING_HELLO  hello        HelloReceived; the I/O layer answers welcome()   OPEN
    OPEN            event        EventReceived(seq) (the I/O layer dedupes, acks) OPEN
    OPEN            state        StateReceived                                   OPEN
    OPEN            result       ResultReceived(id)                              OPEN
    OPEN            renew        RenewRequested(id, csr)                         OPEN
    any             bye          ByeReceived                                     CLOSED
    any             bad/other    Violation(code); close with it                  CLOSED

Events must come with growing seqs on one connection; acks are cumulative.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from hubd.tunnel.protocol import (
    Body,
    CloseCode,
    Envelope,
    EnvelopeError,
    MessageType,
    decode,
    encode,
)


class Phase(StrEnum):
    """Where a relay session stands."""

    AWAITING_HELLO = "awaiting_hello"
    OPEN = "open"
    CLOSED = "closed"


ACCEPTS: Mapping[Phase, frozenset[MessageType]] = {
    Phase.AWAITING_HELLO: frozenset({MessageType.HELLO, MessageType.BYE}),
    Phase.OPEN: frozenset({MessageType.EVENT, MessageType.STATE, MessageType.RESULT,
                           MessageType.RENEW, MessageType.BYE}),
    Phase.CLOSED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class HelloReceived:
    """The hub says what it knows: the seq it knows acked, its state epoch and version."""

    acked_seq: int
    state_epoch: str | None
    state_version: int | None
    software: str


@dataclass(frozen=True, slots=True)
class EventReceived:
    """One hub event."""

    seq: int
    body: Body
    ts: float


@dataclass(frozen=True, slots=True)
class StateReceived:
    """A snapshot or delta of the hub's state."""

    body: Body


@dataclass(frozen=True, slots=True)
class ResultReceived:
    """The answer to a command."""

    id: str
    body: Body


@dataclass(frozen=True, slots=True)
class RenewRequested:
    """The hub asks for a new certificate."""

    id: str
    csr_pem: str


@dataclass(frozen=True, slots=True)
class ByeReceived:
    """The hub is leaving."""

    reason: str


@dataclass(frozen=True, slots=True)
class Violation:
    """The hub broke the protocol: close with code."""

    code: CloseCode
    reason: str


RelayEvent = (HelloReceived | EventReceived | StateReceived | ResultReceived | RenewRequested
              | ByeReceived | Violation)


class RelaySession:
    """One hub connection's protocol state, relay side."""

    def __init__(self) -> None:
        self.phase = Phase.AWAITING_HELLO
        self.last_seq = 0
        self.close_code: CloseCode | None = None
        self.close_reason = ""
        self._out: list[bytes] = []
        self._events: list[RelayEvent] = []

    def receive(self, message: bytes | str) -> None:
        """Feed one WebSocket message."""
        if self.phase is Phase.CLOSED:
            return
        try:
            envelope = decode(message)
            if envelope.t not in ACCEPTS[self.phase]:
                raise EnvelopeError(CloseCode.PROTOCOL_ERROR,
                                    f"{envelope.t} not allowed while {self.phase}")
            self._events.append(self._handle(envelope))
        except EnvelopeError as exc:
            self._close(exc.code, exc.reason)
            self._events.append(Violation(exc.code, exc.reason))

    def _handle(self, envelope: Envelope) -> RelayEvent:
        body = envelope.body
        match envelope.t:
            case MessageType.HELLO:
                acked = body.get("acked", 0)
                epoch, version = body.get("epoch"), body.get("version")
                if (not isinstance(acked, int) or isinstance(acked, bool) or acked < 0
                        or not isinstance(epoch, str | None)
                        or not isinstance(version, int | None)):
                    raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "bad hello")
                self.phase = Phase.OPEN
                self.last_seq = acked
                return HelloReceived(acked, epoch, version, str(body.get("software", "")))
            case MessageType.EVENT:
                if envelope.seq is None or envelope.seq <= self.last_seq:
                    raise EnvelopeError(CloseCode.PROTOCOL_ERROR,
                                        f"event seq {envelope.seq} after {self.last_seq}")
                self.last_seq = envelope.seq
                return EventReceived(envelope.seq, body, envelope.ts)
            case MessageType.STATE:
                return StateReceived(body)
            case MessageType.RESULT | MessageType.RENEW if envelope.id is None:
                raise EnvelopeError(CloseCode.PROTOCOL_ERROR, f"{envelope.t} without id")
            case MessageType.RESULT:
                assert envelope.id is not None
                return ResultReceived(envelope.id, body)
            case MessageType.RENEW:
                assert envelope.id is not None
                csr = body.get("csr")
                if not isinstance(csr, str):
                    raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "renew without csr")
                return RenewRequested(envelope.id, csr)
            case MessageType.BYE:
                reason = body.get("reason")
                self._close(CloseCode.NORMAL, str(reason or ""))
                return ByeReceived(str(reason or ""))
            case _:
                raise EnvelopeError(CloseCode.PROTOCOL_ERROR, f"unexpected {envelope.t}")

    def _close(self, code: CloseCode, reason: str) -> None:
        self.phase = Phase.CLOSED
        self.close_code, self.close_reason = code, reason

    def _send(self, envelope: Envelope) -> None:
        if self.phase is not Phase.CLOSED:
            self._out.append(encode(envelope))

    def welcome(self, acked_seq: int, state_epoch: str | None, state_version: int | None,
                now_wall: float) -> None:
        """Answer the hello: the relay holds events up to acked_seq and state at that version."""
        self.last_seq = max(self.last_seq, acked_seq)
        body: dict[str, object] = {"acked": acked_seq}
        if state_epoch is not None and state_version is not None:
            body |= {"epoch": state_epoch, "version": state_version}
        self._send(Envelope(MessageType.WELCOME, now_wall, body=body))

    def ack(self, seq: int, now_wall: float) -> None:
        """Every event up to seq is stored."""
        self._send(Envelope(MessageType.ACK, now_wall, ack=seq))

    def command(self, command_id: str, body: Body, now_wall: float) -> None:
        """Send a command (body: device, capability, name, args, ttl_ms)."""
        self._send(Envelope(MessageType.COMMAND, now_wall, id=command_id, body=body))

    def renewed(self, request_id: str, certificate_pem: str, now_wall: float) -> None:
        """Send a renewed certificate."""
        self._send(Envelope(MessageType.RENEWED, now_wall, id=request_id,
                            body={"certificate": certificate_pem}))

    def bye(self, reason: str, retry_after_s: float | None, now_wall: float) -> None:
        """Tell the hub to go and when to come back."""
        body: dict[str, object] = {"reason": reason}
        if retry_after_s is not None:
            body["retry_after_s"] = retry_after_s
        self._send(Envelope(MessageType.BYE, now_wall, body=body))
        self._close(CloseCode.GOING_AWAY, reason)

    def data_to_send(self) -> list[bytes]:
        """Messages to send, in order."""
        out, self._out = self._out, []
        return out

    def events_received(self) -> list[RelayEvent]:
        """What happened since the last call."""
        events, self._events = self._events, []
        return events
