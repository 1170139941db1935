"""The simulator's MT codec, byte-exact and synchronous."""

from __future__ import annotations

from radios.zigbee.sim.mt import CommandType, MtDecoder, MtFrame, Subsystem

PING = bytes.fromhex("fe00210120")  # SYS.Ping SREQ (MT API 3.8.1.2)
PING_RSP = bytes.fromhex("fe0261015906 3d".replace(" ", ""))


def test_encodes_a_request_and_a_response() -> None:
    assert MtFrame(CommandType.SREQ, Subsystem.SYS, 0x01).encode() == PING
    assert MtFrame(CommandType.SRSP, Subsystem.SYS, 0x01, b"\x59\x06").encode() == PING_RSP


def test_decodes_frames_split_anywhere() -> None:
    decoder = MtDecoder()
    stream = PING + PING_RSP
    for i in range(len(stream)):
        decoder.receive_data(stream[i : i + 1])
    frames = decoder.frames_received()
    assert frames == [
        MtFrame(CommandType.SREQ, Subsystem.SYS, 0x01),
        MtFrame(CommandType.SRSP, Subsystem.SYS, 0x01, b"\x59\x06"),
    ]
    assert decoder.garbage_bytes == 0


def test_resyncs_after_garbage_and_bad_checksums() -> None:
    decoder = MtDecoder()
    bad_fcs = PING[:-1] + b"\x21"
    decoder.receive_data(b"\x00\x13garbage" + bad_fcs + b"\xfe\xff" + PING)
    assert decoder.frames_received() == [MtFrame(CommandType.SREQ, Subsystem.SYS, 0x01)]
    assert decoder.bad_fcs_frames == 1
    assert decoder.garbage_bytes == len(b"\x00\x13garbage") + len(bad_fcs) + 2


def test_waits_for_the_rest_of_a_frame() -> None:
    decoder = MtDecoder()
    decoder.receive_data(PING_RSP[:4])
    assert decoder.frames_received() == []
    decoder.receive_data(PING_RSP[4:])
    assert len(decoder.frames_received()) == 1
