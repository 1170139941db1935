"""Little-endian payload reading and writing shared by the MT, ZDO and ZCL encoders of the sim."""

from __future__ import annotations

import struct


class PayloadError(ValueError):
    """A payload was shorter than its fields, or malformed."""


class Reader:
    """Reads fields off the front of a payload; raises PayloadError when it runs out."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def _take(self, size: int) -> bytes:
        if self._pos + size > len(self._data):
            raise PayloadError(f"need {size} bytes at offset {self._pos}, have {len(self._data)}")
        chunk = self._data[self._pos : self._pos + size]
        self._pos += size
        return chunk

    def u8(self) -> int:
        """One unsigned byte."""
        return self._take(1)[0]

    def s8(self) -> int:
        """One signed byte."""
        return int(struct.unpack("<b", self._take(1))[0])

    def u16(self) -> int:
        """An unsigned little-endian 16-bit integer."""
        return int(struct.unpack("<H", self._take(2))[0])

    def s16(self) -> int:
        """A signed little-endian 16-bit integer."""
        return int(struct.unpack("<h", self._take(2))[0])

    def u32(self) -> int:
        """An unsigned little-endian 32-bit integer."""
        return int(struct.unpack("<I", self._take(4))[0])

    def uint(self, size: int) -> int:
        """An unsigned little-endian integer of ``size`` bytes."""
        return int.from_bytes(self._take(size), "little")

    def sint(self, size: int) -> int:
        """A signed little-endian integer of ``size`` bytes."""
        return int.from_bytes(self._take(size), "little", signed=True)

    def raw(self, size: int) -> bytes:
        """``size`` bytes as they are."""
        return self._take(size)

    def short_bytes(self) -> bytes:
        """Bytes prefixed by a one-byte length."""
        return self._take(self.u8())

    def long_bytes(self) -> bytes:
        """Bytes prefixed by a two-byte length."""
        return self._take(self.u16())

    def rest(self) -> bytes:
        """Everything not read yet."""
        chunk = self._data[self._pos :]
        self._pos = len(self._data)
        return chunk

    @property
    def remaining(self) -> int:
        """How many bytes are left."""
        return len(self._data) - self._pos


def u8(value: int) -> bytes:
    """One unsigned byte."""
    return struct.pack("<B", value)


def s8(value: int) -> bytes:
    """One signed byte."""
    return struct.pack("<b", value)


def u16(value: int) -> bytes:
    """An unsigned little-endian 16-bit integer."""
    return struct.pack("<H", value)


def s16(value: int) -> bytes:
    """A signed little-endian 16-bit integer."""
    return struct.pack("<h", value)


def u32(value: int) -> bytes:
    """An unsigned little-endian 32-bit integer."""
    return struct.pack("<I", value)


def uint(value: int, size: int) -> bytes:
    """An unsigned little-endian integer of ``size`` bytes."""
    return value.to_bytes(size, "little")


def sint(value: int, size: int) -> bytes:
    """A signed little-endian integer of ``size`` bytes."""
    return value.to_bytes(size, "little", signed=True)


def short_bytes(value: bytes) -> bytes:
    """Bytes prefixed by their one-byte length."""
    return u8(len(value)) + value


def parse_ieee(text: str) -> int:
    """An IEEE address written ``00:0d:6f:...`` (most significant byte first) as an integer."""
    parts = text.split(":")
    if len(parts) != 8 or any(len(p) != 2 for p in parts):
        raise ValueError(f"not an IEEE address: {text!r}")
    return int("".join(parts), 16)


def format_ieee(value: int) -> str:
    """An IEEE address as ``00:0d:6f:...``, the way zigpy prints it."""
    return ":".join(f"{b:02x}" for b in value.to_bytes(8, "big"))


def ieee_bytes(value: int) -> bytes:
    """An IEEE address in wire order (least significant byte first)."""
    return value.to_bytes(8, "little")
