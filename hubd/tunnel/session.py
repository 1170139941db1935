"""The hub's side of one tunnel connection, sans-I/O: envelopes in, session events and bytes out.

Theory of operation. The I/O layer opens a WebSocket, makes a ``HubSession`` and calls
``start`` (which queues ``hello``); it feeds every received message to ``receive``, sends what
``data_to_send`` returns, acts on ``events_received`` and calls ``on_timer`` at
``next_deadline``. Time comes in as arguments; the session never sleeps and never does I/O.

    phase             message in        what the session does                    phase after
    ───────────────   ───────────────   ──────────────────────────────────────   ───────────
    AWAITING_WELCOME  welcome           Welcomed(acked seq, state epoch+version) OPEN
    AWAITING_WELCOME  (timer)           close 4000 "no welcome"                  CLOSED
    OPEN              ack               Acked(seq) if it moves forward           OPEN
    OPEN              command           run it once (CommandLedger decides)      OPEN
    OPEN              renewed           Renewed(id, certificate)                 OPEN
    any but CLOSED    bye               ByeReceived(reason, retry after)         CLOSED
    any but CLOSED    anything else,    close with the error's code, logged      CLOSED
                      or bad bytes      by the I/O layer; nothing is lost: the
                                        outbox resends what was not acked

Commands outlive a connection: the ``CommandLedger`` (one per hub, not per connection) keeps the
ids that ran with their results, so a command repeated after a reconnect is answered from the
ledger and never runs twice. A command past its deadline is answered ``expired`` at once.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hubd.core.errors import InvalidValueError
from hubd.core.model import Value
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
    """Where a session stands."""

    AWAITING_WELCOME = "awaiting_welcome"
    OPEN = "open"
    CLOSED = "closed"


# What each phase accepts from the cloud; anything else is a protocol error (bye: any phase).
ACCEPTS: Mapping[Phase, frozenset[MessageType]] = {
    Phase.AWAITING_WELCOME: frozenset({MessageType.WELCOME, MessageType.BYE}),
    Phase.OPEN: frozenset({MessageType.ACK, MessageType.COMMAND, MessageType.RENEWED,
                           MessageType.BYE}),
    Phase.CLOSED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Welcomed:
    """The cloud took the hello: it holds events up to acked_seq and state at epoch/version."""

    acked_seq: int
    state_epoch: str | None
    state_version: int | None


@dataclass(frozen=True, slots=True)
class Acked:
    """The cloud stored every event up to seq."""

    seq: int


@dataclass(frozen=True, slots=True)
class CommandReceived:
    """A command to run now, through Hub.execute, before deadline_s (monotonic)."""

    id: str
    device_id: str
    capability: str
    name: str
    args: Mapping[str, Value]
    deadline_s: float


@dataclass(frozen=True, slots=True)
class Renewed:
    """The cloud signed a new client certificate (PEM)."""

    id: str
    certificate_pem: str


@dataclass(frozen=True, slots=True)
class ByeReceived:
    """The cloud is closing: come back after retry_after_s (None: the usual backoff)."""

    reason: str
    retry_after_s: float | None


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """The cloud broke the protocol; the connection closes with code."""

    code: CloseCode
    reason: str


SessionEvent = Welcomed | Acked | CommandReceived | Renewed | ByeReceived | ProtocolViolation


class CommandLedger:
    """The commands this hub has seen, by id: at most once, even across reconnects (an LRU)."""

    def __init__(self, size: int = 1024) -> None:
        if size < 1:
            raise InvalidValueError(f"size must be at least 1, not {size}")
        self._size = size
        self._results: OrderedDict[str, Body | None] = OrderedDict()  # None: still running

    def claim(self, command_id: str) -> tuple[bool, Body | None]:
        """Whether the command may run now; if not, its result when it has one."""
        if command_id in self._results:
            self._results.move_to_end(command_id)
            return False, self._results[command_id]
        self._results[command_id] = None
        while len(self._results) > self._size:
            self._results.popitem(last=False)
        return True, None

    def finish(self, command_id: str, result: Body) -> None:
        """Keep how a command ended, for a repeat of it."""
        self._results[command_id] = result
        self._results.move_to_end(command_id)
        while len(self._results) > self._size:
            self._results.popitem(last=False)

    def __len__(self) -> int:
        return len(self._results)


def _command(envelope: Envelope, now_s: float, now_wall: float) -> CommandReceived:
    """A command with its deadline on our monotonic clock: the sooner of its time to live and
    its absolute deadline (the cloud's wall clock; both ends keep NTP time), so time spent in
    transit counts."""
    body = envelope.body
    if envelope.id is None:
        raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "command without id")
    fields = (body.get("device"), body.get("capability"), body.get("name"))
    ttl_ms = body.get("ttl_ms")
    args = body.get("args", {})
    if not all(isinstance(f, str) for f in fields) or not isinstance(args, dict) or (
            isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int | float)):
        raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "command needs device, capability, name, "
                                                      "ttl_ms (args optional)")
    if not all(isinstance(v, bool | int | float | str) or v is None for v in args.values()):
        raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "command args must be plain values")
    remaining_s = float(ttl_ms) / 1000.0
    deadline = body.get("deadline")
    if isinstance(deadline, int | float) and not isinstance(deadline, bool):
        remaining_s = min(remaining_s, float(deadline) - now_wall)
    device, capability, name = (str(f) for f in fields)
    return CommandReceived(envelope.id, device, capability, name, args, now_s + remaining_s)


def _optional(body: Body, key: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise EnvelopeError(CloseCode.PROTOCOL_ERROR, f"{key!r} has the wrong type")
    return value


class HubSession:
    """One connection's protocol state, hub side (see the module docstring for the table)."""

    def __init__(self, ledger: CommandLedger, *, window: int = 64,
                 welcome_timeout_s: float = 10.0) -> None:
        self.phase = Phase.AWAITING_WELCOME
        self.ledger = ledger
        self.window = window
        self.welcome_timeout_s = welcome_timeout_s
        self.acked_seq = 0
        self.sent_seq = 0  # the highest seq sent on this connection
        self._unacked: deque[int] = deque()  # seqs sent and not acked, oldest first
        self.close_code: CloseCode | None = None
        self.close_reason = ""
        self._welcome_deadline_s: float | None = None
        self._out: list[bytes] = []
        self._events: list[SessionEvent] = []

    # -- the I/O layer's side ----------------------------------------------------------------

    def start(self, now_s: float, now_wall: float, acked_seq: int, state_epoch: str,
              state_version: int, software: str = "") -> None:
        """Queue the hello: what the hub knows was acked, and its state version."""
        self.acked_seq = self.sent_seq = acked_seq
        self._welcome_deadline_s = now_s + self.welcome_timeout_s
        self._send(Envelope(MessageType.HELLO, now_wall, body={
            "acked": acked_seq, "epoch": state_epoch, "version": state_version,
            "software": software}))

    def receive(self, message: bytes | str, now_s: float, now_wall: float) -> None:
        """Feed one WebSocket message."""
        if self.phase is Phase.CLOSED:
            return
        try:
            envelope = decode(message)
            if envelope.t not in ACCEPTS[self.phase]:
                raise EnvelopeError(CloseCode.PROTOCOL_ERROR,
                                    f"{envelope.t} not allowed while {self.phase}")
            self._handle(envelope, now_s, now_wall)
        except EnvelopeError as exc:
            self._close(exc.code, exc.reason)
            self._events.append(ProtocolViolation(exc.code, exc.reason))

    def on_timer(self, now_s: float) -> None:
        """Let time pass: a welcome that never came closes the connection."""
        deadline = self.next_deadline()
        if deadline is not None and now_s >= deadline:
            self._close(CloseCode.PROTOCOL_ERROR, "no welcome in time")
            self._events.append(ProtocolViolation(CloseCode.PROTOCOL_ERROR, "no welcome in time"))

    def next_deadline(self) -> float | None:
        """When on_timer must be called next (monotonic seconds), if ever."""
        return self._welcome_deadline_s if self.phase is Phase.AWAITING_WELCOME else None

    def data_to_send(self) -> list[bytes]:
        """The messages to send, in order (each one WebSocket binary message)."""
        out, self._out = self._out, []
        return out

    def events_received(self) -> list[SessionEvent]:
        """What happened since the last call."""
        events, self._events = self._events, []
        return events

    # -- what the hub sends ------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """How many events were sent and not acked yet."""
        return len(self._unacked)

    def can_send_event(self) -> bool:
        """Whether the window has room for one more unacked event."""
        return self.phase is Phase.OPEN and self.in_flight < self.window

    def send_event(self, seq: int, body: Body, ts: float) -> None:
        """Send one outbox message; seqs must grow."""
        if not self.can_send_event():
            raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "no room to send an event now")
        if seq <= self.sent_seq:
            raise InvalidValueError(f"seq {seq} after {self.sent_seq}: seqs must grow")
        self.sent_seq = seq
        self._unacked.append(seq)
        self._send(Envelope(MessageType.EVENT, ts, seq=seq, body=body))

    def send_state(self, body: Body, now_wall: float) -> None:
        """Send a state snapshot or delta (body says which)."""
        self._send_open(Envelope(MessageType.STATE, now_wall, body=body))

    def send_result(self, command_id: str, result: Body, now_wall: float) -> None:
        """Answer a command, and remember the answer for a repeat of it."""
        self.ledger.finish(command_id, result)
        if self.phase is Phase.OPEN:
            self._send(Envelope(MessageType.RESULT, now_wall, id=command_id, body=result))

    def send_renew(self, request_id: str, csr_pem: str, now_wall: float) -> None:
        """Ask the cloud to sign a new certificate for this hub."""
        self._send_open(Envelope(MessageType.RENEW, now_wall, id=request_id,
                                 body={"csr": csr_pem}))

    def send_bye(self, reason: str, now_wall: float) -> None:
        """Say goodbye before closing (the daemon is stopping)."""
        if self.phase is not Phase.CLOSED:
            self._send(Envelope(MessageType.BYE, now_wall, body={"reason": reason}))
            self._close(CloseCode.GOING_AWAY, reason)

    # -- inside ------------------------------------------------------------------------------

    def _send(self, envelope: Envelope) -> None:
        self._out.append(encode(envelope))

    def _send_open(self, envelope: Envelope) -> None:
        if self.phase is Phase.OPEN:
            self._send(envelope)

    def _close(self, code: CloseCode, reason: str) -> None:
        self.phase = Phase.CLOSED
        self.close_code, self.close_reason = code, reason

    def _handle(self, envelope: Envelope, now_s: float, now_wall: float) -> None:
        body = envelope.body
        match envelope.t:
            case MessageType.WELCOME:
                acked = _optional(body, "acked", int) or 0
                if acked > self.acked_seq:
                    self.acked_seq = self.sent_seq = acked
                self.phase = Phase.OPEN
                self._events.append(Welcomed(acked, _optional(body, "epoch", str),
                                             _optional(body, "version", int)))
            case MessageType.ACK:
                self._on_ack(envelope)
            case MessageType.COMMAND:
                self._on_command(_command(envelope, now_s, now_wall), now_s, now_wall)
            case MessageType.RENEWED:
                pem = _optional(body, "certificate", str)
                if envelope.id is None or pem is None:
                    raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "renewed needs id, certificate")
                self._events.append(Renewed(envelope.id, pem))
            case MessageType.BYE:
                retry = _optional(body, "retry_after_s", (int, float))
                reason = _optional(body, "reason", str) or ""
                self._close(CloseCode.NORMAL, reason)
                self._events.append(ByeReceived(reason, None if retry is None else float(retry)))
            case _:  # ACCEPTS lets no other type through
                raise EnvelopeError(CloseCode.PROTOCOL_ERROR, f"unexpected {envelope.t}")

    def _on_ack(self, envelope: Envelope) -> None:
        seq = envelope.ack
        if seq is None:
            raise EnvelopeError(CloseCode.PROTOCOL_ERROR, "ack without ack")
        if seq > self.sent_seq:
            raise EnvelopeError(CloseCode.PROTOCOL_ERROR, f"ack {seq} of a seq never sent")
        if seq > self.acked_seq:
            self.acked_seq = seq
            unacked = self._unacked
            while unacked and unacked[0] <= seq:
                unacked.popleft()
            self._events.append(Acked(seq))

    def _on_command(self, command: CommandReceived, now_s: float, now_wall: float) -> None:
        may_run, result = self.ledger.claim(command.id)
        if not may_run:
            if result is not None:  # a repeat of a finished command: the same answer
                self._send(Envelope(MessageType.RESULT, now_wall, id=command.id, body=result))
            return  # still running: its result will come
        if now_s >= command.deadline_s:
            self.send_result(command.id, {"status": "expired", "latency_ms": 0.0,
                                          "error": "deadline passed before the hub got it"},
                             now_wall)
            return
        self._events.append(command)
