"""The hub's sans-I/O session against the relay's, and against hand-made bytes: no sockets."""

from __future__ import annotations

import cbor2
import pytest

from hubd.tunnel.protocol import CloseCode, Envelope, MessageType, decode, encode
from hubd.tunnel.session import (
    Acked,
    ByeReceived,
    CommandLedger,
    CommandReceived,
    HubSession,
    Phase,
    ProtocolViolation,
    Welcomed,
)
from tools.relay.session import EventReceived, HelloReceived, RelaySession, ResultReceived

NOW = 1000.0  # monotonic
WALL = 1_800_000_000.0


def pump(hub: HubSession, relay: RelaySession) -> None:
    """Carry every queued message both ways until both sides are quiet."""
    while True:
        up, down = hub.data_to_send(), relay.data_to_send()
        if not up and not down:
            return
        for message in up:
            relay.receive(message)
        for message in down:
            hub.receive(message, NOW, WALL)


def open_pair(acked: int = 0) -> tuple[HubSession, RelaySession]:
    hub, relay = HubSession(CommandLedger(4), window=3), RelaySession()
    hub.start(NOW, WALL, acked, "epoch-1", 7, "hubd/test")
    pump(hub, relay)
    [hello] = relay.events_received()
    assert hello == HelloReceived(acked, "epoch-1", 7, "hubd/test")
    relay.welcome(acked, None, None, WALL)
    pump(hub, relay)
    assert hub.events_received() == [Welcomed(acked, None, None)] and hub.phase is Phase.OPEN
    return hub, relay


def test_hello_is_these_bytes() -> None:
    hub = HubSession(CommandLedger())
    hub.start(NOW, 2.0, 41, "e", 3, "hubd/x")
    [hello] = hub.data_to_send()
    assert hello == encode(Envelope(MessageType.HELLO, 2.0, body={
        "acked": 41, "epoch": "e", "version": 3, "software": "hubd/x"}))
    assert hello.startswith(bytes.fromhex("a4 6176 01 6174 6568656c6c6f 627473 fb4000000000000000"
                                          .replace(" ", "")))


def test_events_flow_in_a_window_and_acks_are_cumulative() -> None:
    hub, relay = open_pair(acked=10)
    for seq in (11, 13, 14):
        hub.send_event(seq, {"type": "button"}, WALL)
    assert not hub.can_send_event()  # window of 3
    up = hub.data_to_send()
    for message in up:
        relay.receive(message)
    assert [e.seq for e in relay.events_received() if isinstance(e, EventReceived)] == [11, 13, 14]
    relay.ack(13, WALL)
    pump(hub, relay)
    assert hub.events_received() == [Acked(13)] and hub.in_flight == 1 and hub.can_send_event()
    with pytest.raises(ValueError, match="seqs must grow"):
        hub.send_event(12, {}, WALL)


def test_an_ack_of_a_seq_never_sent_is_a_protocol_error() -> None:
    hub, _ = open_pair()
    hub.receive(encode(Envelope(MessageType.ACK, WALL, ack=5)), NOW, WALL)
    assert hub.events_received() == [ProtocolViolation(CloseCode.PROTOCOL_ERROR,
                                                       "ack 5 of a seq never sent")]
    assert hub.phase is Phase.CLOSED and hub.close_code is CloseCode.PROTOCOL_ERROR


def _command(command_id: str, ttl_ms: float) -> bytes:
    return encode(Envelope(MessageType.COMMAND, WALL, id=command_id, body={
        "device": "virtual:1", "capability": "switch", "name": "on", "ttl_ms": ttl_ms}))


def test_a_command_runs_once_and_a_repeat_gets_the_same_result() -> None:
    ledger = CommandLedger(4)
    hub = HubSession(ledger)
    hub.start(NOW, WALL, 0, "e", 0)
    hub.receive(encode(Envelope(MessageType.WELCOME, WALL, body={"acked": 0})), NOW, WALL)
    hub.events_received()
    hub.data_to_send()
    hub.receive(_command("c1", 500), NOW, WALL)
    assert hub.events_received() == [CommandReceived("c1", "virtual:1", "switch", "on", {},
                                                     NOW + 0.5)]
    hub.receive(_command("c1", 500), NOW, WALL)  # a repeat while it runs: nothing
    assert hub.events_received() == [] and hub.data_to_send() == []
    hub.send_result("c1", {"status": "confirmed", "latency_ms": 1.0, "error": None}, WALL)
    first = hub.data_to_send()
    # After a reconnect, a new session with the same ledger answers the repeat from it.
    again = HubSession(ledger)
    again.start(NOW, WALL, 0, "e", 0)
    again.receive(encode(Envelope(MessageType.WELCOME, WALL, body={})), NOW, WALL)
    again.data_to_send()
    again.events_received()
    again.receive(_command("c1", 500), NOW, WALL)
    assert again.events_received() == [] and again.data_to_send() == first


def test_a_command_past_its_deadline_is_answered_expired_and_never_run() -> None:
    hub, relay = open_pair()
    hub.receive(_command("late", 0), NOW, WALL)
    assert hub.events_received() == []
    pump(hub, relay)
    [result] = relay.events_received()
    assert isinstance(result, ResultReceived) and result.body["status"] == "expired"


def test_ledger_forgets_the_oldest() -> None:
    ledger = CommandLedger(2)
    for name in "abc":
        assert ledger.claim(name) == (True, None)
    assert ledger.claim("a") == (True, None) and len(ledger) == 2


def test_bye_says_when_to_come_back() -> None:
    hub, relay = open_pair()
    relay.bye("maintenance", 30.0, WALL)
    pump(hub, relay)
    assert hub.events_received() == [ByeReceived("maintenance", 30.0)]
    assert hub.phase is Phase.CLOSED


def test_a_message_out_of_turn_closes_and_nothing_after_it_is_read() -> None:
    hub = HubSession(CommandLedger())
    hub.start(NOW, WALL, 0, "e", 0)
    hub.receive(encode(Envelope(MessageType.ACK, WALL, ack=0)), NOW, WALL)
    [violation] = hub.events_received()
    assert isinstance(violation, ProtocolViolation) and "not allowed" in violation.reason
    hub.receive(encode(Envelope(MessageType.WELCOME, WALL)), NOW, WALL)
    assert hub.events_received() == [] and hub.phase is Phase.CLOSED


def test_no_welcome_in_time_closes() -> None:
    hub = HubSession(CommandLedger(), welcome_timeout_s=2.0)
    hub.start(NOW, WALL, 0, "e", 0)
    assert hub.next_deadline() == NOW + 2.0
    hub.on_timer(NOW + 1.0)
    assert hub.phase is Phase.AWAITING_WELCOME
    hub.on_timer(NOW + 2.0)
    phase: Phase = hub.phase  # read afresh: mypy would keep the assert's narrowing
    assert phase is Phase.CLOSED and hub.next_deadline() is None


def test_relay_refuses_a_replayed_seq_on_one_connection() -> None:
    _hub, relay = open_pair(acked=5)
    relay.receive(encode(Envelope(MessageType.EVENT, WALL, seq=5, body={})))
    [violation] = relay.events_received()
    assert "seq 5 after 5" in violation.reason  # type: ignore[union-attr]


def test_a_malformed_command_closes_with_protocol_error() -> None:
    hub, _ = open_pair()
    hub.receive(cbor2.dumps({"v": 1, "t": "command", "id": "x", "ts": 0, "body": {
        "device": "virtual:1"}}), NOW, WALL)
    [violation] = hub.events_received()
    assert isinstance(violation, ProtocolViolation) and violation.code is CloseCode.PROTOCOL_ERROR
    assert decode(encode(Envelope(MessageType.ACK, 0.0, ack=1))).ack == 1
