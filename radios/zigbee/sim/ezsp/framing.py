"""ASH frames as UG101 (EZSP-UART Host Interfacing Guide) draws them, sans-I/O.

A frame on the wire is ``stuff(control + data + CRC) + FLAG``:

- control (UG101 2.2.1): DATA ``0 frmNum(3) reTx ackNum(3)``, ACK ``100 res nRdy ackNum(3)``,
  NAK ``101 res nRdy ackNum(3)``, RST ``0xC0``, RSTACK ``0xC1``, ERROR ``0xC2``;
- data: a DATA frame's EZSP frame, XORed with the pseudo-random sequence of 4.3 (LFSR seeded
  0x42, taps 0xB8) so that long runs of reserved bytes are unlikely; RSTACK and ERROR carry the
  ASH version (2) and a reset or error code;
- CRC (2.2.3): CRC-CCITT, polynomial 0x1021, initial 0xFFFF, over control and data, high
  byte first;
- byte stuffing (4.2): the reserved bytes FLAG 0x7E, ESCAPE 0x7D, XON 0x11, XOFF 0x13,
  SUBSTITUTE 0x18 and CANCEL 0x1A are sent as ESCAPE then the byte XOR 0x20.

The Deframer resyncs by itself: CANCEL drops what came since the last flag, SUBSTITUTE drops
the frame it interrupts, XON/XOFF are dropped, and a frame with a bad CRC or no valid control
byte is returned as a ``BadFrame`` so the session can NAK it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

FLAG, ESCAPE, XON, XOFF, SUBSTITUTE, CANCEL = 0x7E, 0x7D, 0x11, 0x13, 0x18, 0x1A
RESERVED = frozenset({FLAG, ESCAPE, XON, XOFF, SUBSTITUTE, CANCEL})
ASH_VERSION = 2
MAX_FRAME_BYTES = 256  # control + the longest EZSP frame + CRC, before stuffing


class ResetCode(IntEnum):
    """Why the NCP reset or failed (UG101 table 4, the RSTACK and ERROR code byte)."""

    UNKNOWN = 0x00
    EXTERNAL = 0x01
    POWER_ON = 0x02
    WATCHDOG = 0x03
    ASSERT = 0x06
    BOOTLOADER = 0x09
    SOFTWARE = 0x0B
    EXCEEDED_MAXIMUM_ACK_TIMEOUT_COUNT = 0x51


def _sequence(length: int) -> bytes:
    out, value = bytearray(), 0x42
    for _ in range(length):
        out.append(value)
        value = (value >> 1) ^ 0xB8 if value & 1 else value >> 1
    return bytes(out)


PSEUDO_RANDOM = _sequence(MAX_FRAME_BYTES)


def randomize(data: bytes) -> bytes:
    """XOR with the pseudo-random sequence (4.3); its own inverse."""
    return bytes(a ^ b for a, b in zip(data, PSEUDO_RANDOM, strict=False))


def crc_ccitt(data: bytes) -> int:
    """CRC-CCITT (0x1021, initial 0xFFFF), as UG101 2.2.3 computes the frame check."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        crc &= 0xFFFF
    return crc


def stuff(data: bytes) -> bytes:
    """Escape every reserved byte (4.2)."""
    out = bytearray()
    for byte in data:
        if byte in RESERVED:
            out += bytes((ESCAPE, byte ^ 0x20))
        else:
            out.append(byte)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class Data:
    """A DATA frame: one EZSP frame, numbered, carrying a piggybacked acknowledgement."""

    frm_num: int
    ack_num: int
    payload: bytes
    is_retransmission: bool = False


@dataclass(frozen=True, slots=True)
class Ack:
    """ACK: every DATA frame before ``ack_num`` arrived."""

    ack_num: int
    is_not_ready: bool = False


@dataclass(frozen=True, slots=True)
class Nak:
    """NAK: a frame was lost or damaged; resend from ``ack_num``."""

    ack_num: int
    is_not_ready: bool = False


@dataclass(frozen=True, slots=True)
class Rst:
    """RST: the host asks the NCP to reset."""


@dataclass(frozen=True, slots=True)
class RstAck:
    """RSTACK: the NCP reset, and why."""

    code: int
    version: int = ASH_VERSION


@dataclass(frozen=True, slots=True)
class Error:
    """ERROR: the NCP gave up (too many timeouts, an assert); only RST brings it back."""

    code: int
    version: int = ASH_VERSION


@dataclass(frozen=True, slots=True)
class BadFrame:
    """Bytes between flags that are no valid frame (bad CRC, unknown control, too short)."""

    raw: bytes
    reason: str
    is_data: bool


Frame = Data | Ack | Nak | Rst | RstAck | Error


def encode(frame: Frame) -> bytes:
    """The frame's bytes on the wire, stuffed and flag-terminated."""
    match frame:
        case Data():
            control = (frame.frm_num & 7) << 4 | int(frame.is_retransmission) << 3
            body = bytes((control | (frame.ack_num & 7),)) + randomize(frame.payload)
        case Ack():
            body = bytes((0x80 | int(frame.is_not_ready) << 3 | (frame.ack_num & 7),))
        case Nak():
            body = bytes((0xA0 | int(frame.is_not_ready) << 3 | (frame.ack_num & 7),))
        case Rst():
            body = b"\xc0"
        case RstAck():
            body = bytes((0xC1, frame.version, frame.code))
        case Error():
            body = bytes((0xC2, frame.version, frame.code))
    return stuff(body + crc_ccitt(body).to_bytes(2, "big")) + bytes((FLAG,))


def decode(raw: bytes) -> Frame | BadFrame:
    """One unstuffed frame (control, data, CRC) as a Frame, or why it is none."""
    is_data = bool(raw) and raw[0] & 0x80 == 0
    if len(raw) < 3:
        return BadFrame(raw, "too short", is_data)
    if crc_ccitt(raw[:-2]) != int.from_bytes(raw[-2:], "big"):
        return BadFrame(raw, "bad CRC", is_data)
    control, data = raw[0], raw[1:-2]
    if is_data:
        if not data:
            return BadFrame(raw, "DATA without an EZSP frame", True)
        retx = bool(control & 0x08)
        return Data((control >> 4) & 7, control & 7, randomize(data), retx)
    if control & 0xE0 in (0x80, 0xA0) and not data:
        kind = Ack if control & 0xE0 == 0x80 else Nak
        return kind(control & 7, bool(control & 0x08))
    if control == 0xC0 and not data:
        return Rst()
    if control in (0xC1, 0xC2) and len(data) == 2:
        return (RstAck if control == 0xC1 else Error)(data[1], data[0])
    return BadFrame(raw, f"no frame has control byte {control:#04x} and {len(data)} bytes", False)


class Deframer:
    """Bytes in, unstuffed frames out; resyncs on FLAG after garbage (UG101 4.2)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._is_escaped = False
        self._is_discarding = False
        self._frames: list[Frame | BadFrame] = []

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the line."""
        for byte in data:
            self._receive_byte(byte)

    def _receive_byte(self, byte: int) -> None:
        if byte == FLAG:
            if self._buffer and not self._is_discarding:
                self._frames.append(
                    decode(bytes(self._buffer))
                    if not self._is_escaped
                    else BadFrame(bytes(self._buffer), "ends in ESCAPE", False)
                )
            self._buffer.clear()
            self._is_escaped = self._is_discarding = False
        elif byte == CANCEL:
            self._buffer.clear()
            self._is_escaped = self._is_discarding = False
        elif byte == SUBSTITUTE:
            self._is_discarding = True
        elif byte in (XON, XOFF):
            pass
        elif byte == ESCAPE:
            self._is_escaped = True
        elif len(self._buffer) > 2 * MAX_FRAME_BYTES:
            self._is_discarding = True
        elif self._is_escaped:
            self._buffer.append(byte ^ 0x20)
            self._is_escaped = False
        else:
            self._buffer.append(byte)

    def frames_received(self) -> list[Frame | BadFrame]:
        """The frames completed since the last call, in order."""
        frames, self._frames = self._frames, []
        return frames


__all__ = [
    "ASH_VERSION",
    "Ack",
    "BadFrame",
    "Data",
    "Deframer",
    "Error",
    "Frame",
    "Nak",
    "ResetCode",
    "Rst",
    "RstAck",
    "crc_ccitt",
    "decode",
    "encode",
    "randomize",
    "stuff",
]
