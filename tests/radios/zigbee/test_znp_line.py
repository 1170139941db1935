"""MT frames cut and built by byte operations (radios.zigbee.adapter.znp_line): the same frames,
in the same order, as zigpy-znp's own protocol, whatever the line delivers."""

from __future__ import annotations

import logging
import random
from typing import Any

import pytest
import zigpy_znp.commands as c
import zigpy_znp.frames as frames
import zigpy_znp.types as znp_t
from zigpy_znp.uart import ZnpMtProtocol

from radios.zigbee.adapter import znp_line
from radios.zigbee.adapter.znp_line import MtLine, fcs
from tests.radios.zigbee.conftest import Running
from tests.radios.zigbee.test_driver import LIGHT, cmd
from tests.radios.zigbee.test_unicast import join_lights

_HEADERS = (c.AF.IncomingMsg.Callback.header, c.AF.DataConfirm.Callback.header,
            c.AF.DataRequestExt.Rsp.header, c.SYS.Ping.Rsp.header)


class _Api:
    """What zigpy-znp's MT API is handed: each frame, as (command, data)."""

    def __init__(self, fail_on: bytes = b"") -> None:
        self.frames: list[tuple[int, bytes]] = []
        self._fail_on = fail_on

    def frame_received(self, frame: frames.GeneralFrame) -> None:
        assert type(frame.header) is znp_t.CommandHeader and type(frame.data) is znp_t.Bytes
        self.frames.append((int(frame.header), bytes(frame.data)))
        if frame.data == self._fail_on:
            raise ValueError("the API failed on this frame")


def _protocol(cls: type[Any], api: _Api) -> Any:
    protocol = cls(api, url="test")
    protocol._transport = _Transport()
    return protocol


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


def _frame(rng: random.Random) -> bytes:
    payload = frames.GeneralFrame(rng.choice(_HEADERS), rng.randbytes(rng.randrange(0, 60)))
    return bytes(frames.TransportFrame(payload).serialize())


def _line(rng: random.Random) -> bytes:
    """Good frames, and among them garbage, broken checksums, impossible lengths, stray SOFs."""
    parts = []
    for _ in range(200):
        kind = rng.random()
        if kind < 0.7:
            parts.append(_frame(rng))
        elif kind < 0.8:
            broken = bytearray(_frame(rng))
            broken[-1] ^= 0x5A
            parts.append(bytes(broken))
        elif kind < 0.9:
            parts.append(rng.randbytes(rng.randrange(1, 8)))
        else:
            parts.append(bytes((0xFE, 251)) + rng.randbytes(rng.randrange(0, 6)))
    return b"".join(parts)


@pytest.mark.parametrize("seed", range(20))
def test_the_same_frames_as_zigpy_znp_however_the_bytes_are_cut(seed: int) -> None:
    rng = random.Random(seed)
    line = _line(rng)
    theirs, ours = _Api(), _Api()
    zigpy_znp, hubd = _protocol(ZnpMtProtocol, theirs), _protocol(MtLine, ours)
    at = 0
    while at < len(line):  # the same reads for both, of any size
        size = rng.choice((1, 2, 3, 7, 30, 200))
        for protocol in (zigpy_znp, hubd):
            protocol.data_received(line[at:at + size])
        at += size
    assert ours.frames == theirs.frames
    assert len(ours.frames) > 100


def test_a_frame_the_api_fails_on_is_logged_and_the_next_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    api = _Api(fail_on=b"\x01\x02")
    protocol = _protocol(MtLine, api)
    first = frames.TransportFrame(frames.GeneralFrame(_HEADERS[0], b"\x01\x02")).serialize()
    second = frames.TransportFrame(frames.GeneralFrame(_HEADERS[1], b"\x03")).serialize()
    protocol.data_received(first + second)
    assert [data for _, data in api.frames] == [b"\x01\x02", b"\x03"]
    assert "exception while passing frame to API" in caplog.text


def test_frames_written_are_those_zigpy_znp_writes() -> None:
    rng = random.Random(7)
    ours, theirs = _protocol(MtLine, _Api()), _protocol(ZnpMtProtocol, _Api())
    for _ in range(50):
        payload = frames.GeneralFrame(rng.choice(_HEADERS), rng.randbytes(rng.randrange(0, 250)))
        ours.send(payload)
        theirs.send(payload)
    assert ours._transport.written == theirs._transport.written
    assert fcs(bytes((1, 0x44, 0x81, 0xAB))) == 1 ^ 0x44 ^ 0x81 ^ 0xAB


def test_the_trace_log_is_rendered_only_when_on(monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    rendered = []
    plain_repr = znp_t.Bytes.__repr__

    def counting_repr(data: bytes) -> str:
        rendered.append(data)
        return str(plain_repr(data))

    monkeypatch.setattr(znp_t.Bytes, "__repr__", counting_repr)
    protocol = _protocol(MtLine, _Api())
    frame = frames.TransportFrame(frames.GeneralFrame(_HEADERS[0], b"\x10\x20")).serialize()
    caplog.set_level(logging.DEBUG, "zigpy_znp.uart")
    protocol.data_received(frame)
    protocol.send(frames.GeneralFrame(_HEADERS[2], b"\x00"))
    assert rendered == []  # off: the hex dumps are not even built
    # zigpy-znp's TRACE is level 5 where the host names one (else it never logs)
    monkeypatch.setattr(znp_line, "_TRACE", 5)
    caplog.set_level(5, "zigpy_znp.uart")
    protocol.data_received(frame)
    protocol.send(frames.GeneralFrame(_HEADERS[2], b"\x00"))
    assert "Received data: b'\\xFE\\x02" in caplog.text
    assert "Sending data: b'\\xFE\\x01" in caplog.text


async def test_the_application_reads_and_writes_through_it(zigbee: Running) -> None:
    adapter = zigbee.driver.adapter
    assert adapter is not None
    app: Any = adapter.app
    assert type(app._znp._uart) is MtLine
    await join_lights(zigbee, LIGHT)
    result = await zigbee.driver.send(cmd(LIGHT, "switch.on"))
    assert result.error is None, result
