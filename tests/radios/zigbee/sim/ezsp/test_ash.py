"""ASH (UG101) framing and the NCP's link session: byte-exact and synchronous."""

from __future__ import annotations

import pytest

from radios.zigbee.sim.ezsp.framing import (
    Ack,
    BadFrame,
    Data,
    Deframer,
    Error,
    Nak,
    ResetCode,
    Rst,
    RstAck,
    crc_ccitt,
    encode,
    randomize,
)
from radios.zigbee.sim.ezsp.session import (
    AshSession,
    FrameReceived,
    LinkState,
    ResetRequested,
)

H = bytes.fromhex
VERSION = H("00000004")  # EZSP v4 header + version(desired 4): seq 0, fc 0, id 0, 4


# --- framing: the examples of UG101 section 4 ------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "wire"),
    [
        (Rst(), "c038bc7e"),
        (RstAck(ResetCode.POWER_ON), "c102029b7b7e"),
        (Ack(1), "8160597e"),
        (Nak(6), "a634dc7e"),
        (Data(2, 5, H("00000002")), "254221a856a6097e"),
        (Error(ResetCode.EXCEEDED_MAXIMUM_ACK_TIMEOUT_COUNT), "c20251a8bd7e"),
    ],
)
def test_frames_encode_as_ug101_shows_and_decode_back(frame: object, wire: str) -> None:
    assert encode(frame).hex() == wire  # type: ignore[arg-type]
    deframer = Deframer()
    deframer.receive_data(H(wire))
    assert deframer.frames_received() == [frame]


def test_crc_ccitt_check_value() -> None:
    assert crc_ccitt(b"123456789") == 0x29B1


def test_randomization_is_its_own_inverse_and_starts_with_the_seed() -> None:
    assert randomize(bytes(4)) == H("42 21 a8 54".replace(" ", ""))
    assert randomize(randomize(b"hello")) == b"hello"


def test_reserved_bytes_are_escaped_and_come_back() -> None:
    payload = bytes((0x7E ^ 0x42, 0x11 ^ 0x21))  # randomises to FLAG, XON
    wire = encode(Data(0, 0, payload))
    assert wire[1:5] == H("7d5e7d31")
    deframer = Deframer()
    deframer.receive_data(wire)
    assert deframer.frames_received() == [Data(0, 0, payload)]


def test_garbage_cancel_and_substitute_resync_on_the_next_flag() -> None:
    deframer = Deframer()
    deframer.receive_data(b"\x01\x02\x03\x1a" + encode(Ack(3)))  # CANCEL drops the garbage
    deframer.receive_data(b"\x55\x18\x66" + encode(Ack(4)))  # SUBSTITUTE drops to the flag
    deframer.receive_data(encode(Ack(5)))
    assert deframer.frames_received() == [Ack(3), Ack(5)]


def test_a_damaged_data_frame_is_reported_as_bad_data() -> None:
    wire = bytearray(encode(Data(1, 0, b"\x01\x02\x03")))
    wire[2] ^= 0x01
    deframer = Deframer()
    deframer.receive_data(bytes(wire))
    (bad,) = deframer.frames_received()
    assert isinstance(bad, BadFrame) and bad.is_data and bad.reason == "bad CRC"


# --- session ------------------------------------------------------------------------------


def connected(window: int = 1) -> AshSession:
    session = AshSession(window=window)
    session.receive_data(H("1a1a1a") + encode(Rst()), 0.0)
    assert session.events_received() == [ResetRequested()]
    session.reset_done(ResetCode.SOFTWARE)
    assert session.data_to_send() == encode(RstAck(ResetCode.SOFTWARE))
    assert session.state is LinkState.CONNECTED
    return session


def test_in_sequence_data_is_delivered_and_acked() -> None:
    session = connected()
    session.receive_data(encode(Data(0, 0, VERSION)), 0.0)
    assert session.events_received() == [FrameReceived(VERSION)]
    assert session.data_to_send() == encode(Ack(1))


def test_a_retransmitted_copy_is_acked_again_but_not_delivered() -> None:
    session = connected()
    session.receive_data(encode(Data(0, 0, VERSION)), 0.0)
    session.events_received(), session.data_to_send()
    session.receive_data(encode(Data(0, 0, VERSION, is_retransmission=True)), 0.1)
    assert session.events_received() == []
    assert session.data_to_send() == encode(Ack(1))
    assert session.counters.duplicates == 1


def test_out_of_sequence_data_gets_one_nak_until_a_good_frame() -> None:
    session = connected()
    session.receive_data(encode(Data(1, 0, VERSION)) + encode(Data(2, 0, VERSION)), 0.0)
    assert session.data_to_send() == encode(Nak(0))  # one NAK: the Reject condition
    session.receive_data(encode(Data(0, 0, VERSION, is_retransmission=True)), 0.1)
    assert session.events_received() == [FrameReceived(VERSION)]
    assert session.data_to_send() == encode(Ack(1))


def test_ncp_data_waits_for_the_window_and_an_ack_retires_it() -> None:
    session = connected(window=1)
    session.send(b"\x01\x80\x00", 0.0)
    session.send(b"\x02\x80\x00", 0.0)
    assert session.data_to_send() == encode(Data(0, 0, b"\x01\x80\x00"))
    assert session.next_deadline() == pytest.approx(1.6)
    session.receive_data(encode(Ack(1)), 0.2)
    assert session.data_to_send() == encode(Data(1, 0, b"\x02\x80\x00"))
    session.receive_data(encode(Ack(2)), 0.3)
    assert session.next_deadline() is None


def test_a_dropped_frame_is_resent_on_timeout_with_retx_set() -> None:
    session = connected()
    session.drop_next_frames = 1
    session.send(b"\x05\x90\x00", 0.0)
    assert session.data_to_send() == b""
    deadline = session.next_deadline()
    assert deadline is not None
    session.handle_timeout(deadline)
    assert session.data_to_send() == encode(Data(0, 0, b"\x05\x90\x00", is_retransmission=True))
    assert session.t_rx_ack_s == pytest.approx(3.2)
    session.receive_data(encode(Ack(1)), deadline + 0.1)
    assert session.next_deadline() is None and session.counters.retransmissions == 1


def test_a_nak_resends_every_outstanding_frame_from_its_number() -> None:
    session = connected(window=2)
    session.send(b"\x01", 0.0)
    session.send(b"\x02", 0.0)
    session.data_to_send()
    session.receive_data(encode(Nak(0)), 0.1)
    assert session.data_to_send() == encode(Data(0, 0, b"\x01", True)) + encode(
        Data(1, 0, b"\x02", True)
    )


def test_too_many_timeouts_send_error_and_only_rst_recovers() -> None:
    session = connected()
    session.send(b"\x01", 0.0)
    now = 0.0
    for _ in range(4):
        deadline = session.next_deadline()
        assert deadline is not None
        now = deadline
        session.handle_timeout(now)
    assert session.state is LinkState.FAILED
    assert session.data_to_send().endswith(encode(Error(0x51)))
    session.receive_data(encode(Data(0, 0, VERSION)), now)
    assert session.events_received() == [] and session.data_to_send() == b""
    session.receive_data(encode(Rst()), now)
    assert session.events_received() == [ResetRequested()]


def test_an_injected_nak_refuses_a_good_frame_until_it_is_resent() -> None:
    session = connected()
    session.nak_next_frames = 1
    session.receive_data(encode(Data(0, 0, VERSION)), 0.0)
    assert session.events_received() == [] and session.data_to_send() == encode(Nak(0))
    session.receive_data(encode(Data(0, 0, VERSION, is_retransmission=True)), 0.1)
    assert session.events_received() == [FrameReceived(VERSION)]
    assert session.data_to_send() == encode(Ack(1))
