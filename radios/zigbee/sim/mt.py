"""TI Monitor and Test (MT) framing: the simulator's own sans-I/O codec for the UART transport.

A frame on the wire (TI Z-Stack Monitor and Test API, section 2.1 "General Frame Format"):

    SOF(0xFE)  LEN  CMD0  CMD1  DATA[LEN]  FCS

CMD0 holds the command type in its top three bits and the subsystem in the low five; FCS is the
XOR of LEN, CMD0, CMD1 and DATA. The decoder resynchronises after garbage: bytes before a SOF
are dropped and counted, and a frame whose FCS does not match is dropped and counted, after
which the search for the next SOF restarts one byte past the bad frame's SOF.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

SOF = 0xFE
MAX_PAYLOAD_LEN = 250  # MT API 2.1: LEN is one byte, and Z-Stack caps it at 250


class CommandType(IntEnum):
    """The top three bits of CMD0 (MT API 2.1.2)."""

    POLL = 0
    SREQ = 1
    AREQ = 2
    SRSP = 3


class Subsystem(IntEnum):
    """The low five bits of CMD0 (MT API 2.1.2)."""

    RPC_ERROR = 0x00
    SYS = 0x01
    MAC = 0x02
    NWK = 0x03
    AF = 0x04
    ZDO = 0x05
    SAPI = 0x06
    UTIL = 0x07
    DEBUG = 0x08
    APP = 0x09
    APP_CNF = 0x0F
    ZGP = 0x15


@dataclass(frozen=True, slots=True)
class MtFrame:
    """One MT command: its type, subsystem, command id and payload."""

    type: CommandType
    subsystem: int
    command_id: int
    payload: bytes = b""

    @property
    def cmd0(self) -> int:
        """The first command byte: type and subsystem."""
        return (int(self.type) << 5) | (self.subsystem & 0x1F)

    def encode(self) -> bytes:
        """The frame as bytes on the wire, SOF to FCS."""
        if len(self.payload) > MAX_PAYLOAD_LEN:
            raise ValueError(f"MT payload of {len(self.payload)} bytes exceeds {MAX_PAYLOAD_LEN}")
        body = bytes((len(self.payload), self.cmd0, self.command_id)) + self.payload
        return bytes((SOF,)) + body + bytes((fcs(body),))


def fcs(body: bytes) -> int:
    """The XOR checksum of LEN, CMD0, CMD1 and DATA (MT API 2.1.1)."""
    value = 0
    for byte in body:
        value ^= byte
    return value


def _command_type(cmd0: int) -> CommandType | None:
    try:
        return CommandType(cmd0 >> 5)
    except ValueError:
        return None


class MtDecoder:
    """Bytes in, frames out; survives garbage and bad checksums by resynchronising on SOF."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._frames: list[MtFrame] = []
        self.garbage_bytes = 0
        self.bad_fcs_frames = 0

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the line; complete frames become available at once."""
        self._buffer += data
        while self._extract_one():
            pass

    def frames_received(self) -> list[MtFrame]:
        """The frames decoded since the last call, oldest first."""
        frames, self._frames = self._frames, []
        return frames

    def _extract_one(self) -> bool:
        start = self._buffer.find(SOF)
        if start < 0:
            self.garbage_bytes += len(self._buffer)
            self._buffer.clear()
            return False
        if start:
            self.garbage_bytes += start
            del self._buffer[:start]
        if len(self._buffer) < 2:
            return False
        length = self._buffer[1]
        if length > MAX_PAYLOAD_LEN:
            self._skip_bad_start()
            return True
        if len(self._buffer) < length + 5:
            return False
        body = bytes(self._buffer[1 : length + 4])
        frame_type = _command_type(body[1])
        if fcs(body) != self._buffer[length + 4] or frame_type is None:
            self.bad_fcs_frames += 1
            self._skip_bad_start()
            return True
        del self._buffer[: length + 5]
        self._frames.append(MtFrame(frame_type, body[1] & 0x1F, body[2], body[3:]))
        return True

    def _skip_bad_start(self) -> None:
        # The SOF we locked onto was not a frame start; look for the next one after it.
        del self._buffer[:1]
        self.garbage_bytes += 1
