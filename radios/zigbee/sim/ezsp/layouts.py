"""EZSP parameter layouts (UG100 section 2.x data types) as data, and their little-endian codec.

A layout is a tuple of type names. Primitive types: ``u8 u16 u32 i8 bool`` (integers),
``eui64`` (an integer sent as 8 bytes, least significant first), ``key`` (16 bytes), ``lv``
(uint8 length + bytes), ``lv32`` (uint32 length + bytes), ``u16s`` (uint16 values to the end
of the frame), ``relays`` (uint8 count + uint16 node ids), ``rest`` (the bytes to the end).
A struct name expands to its fields (STRUCTS) and decodes as a tuple.
"""

from __future__ import annotations

from hubd.core.errors import RemoteProtocolError

Value = int | bytes | tuple["Value", ...]
Layout = tuple[str, ...]

_WIDTHS = {"u8": 1, "bool": 1, "i8": 1, "u16": 2, "u32": 4, "eui64": 8}

STRUCTS: dict[str, Layout] = {
    # EmberNetworkParameters: extendedPanId, panId, radioTxPower, radioChannel, joinMethod,
    # nwkManagerId, nwkUpdateId, channels
    "NetworkParameters": ("eui64", "u16", "i8", "u8", "u8", "u16", "u8", "u32"),
    # EmberApsFrame: profileId, clusterId, sourceEndpoint, destinationEndpoint, options,
    # groupId, sequence
    "ApsFrame": ("u16", "u16", "u8", "u8", "u16", "u16", "u8"),
    # EmberInitialSecurityState: bitmask, preconfiguredKey, networkKey, sequence, TC EUI64
    "InitialSecurityState": ("u16", "key", "key", "u8", "eui64"),
    # EmberCurrentSecurityState: bitmask, trustCenterLongAddress
    "CurrentSecurityState": ("u16", "eui64"),
    # sl_zb_sec_man_context_t (EmberZNet 7.4+): core key type, key index, derived type,
    # EUI64, multi-network index, flags, PSA key algorithm permission
    "SecurityContext": ("u8", "u8", "u16", "eui64", "u8", "u8", "u32"),
    # the same in EZSP v12, whose derived key type was 8 bits wide
    "SecurityContextV12": ("u8", "u8", "u8", "eui64", "u8", "u8", "u32"),
    # EmberKeyStruct (getKey, getKeyTableEntry): bitmask, type, key, outgoing and incoming
    # frame counters, sequence number, partner EUI64
    "KeyStruct": ("u16", "u8", "key", "u32", "u32", "u8", "eui64"),
    # sl_zb_sec_man_network_key_info_t: key set, alt key set, seq, alt seq, frame counter
    "NetworkKeyInfo": ("bool", "bool", "u8", "u8", "u32"),
    # sl_zb_sec_man_aps_key_metadata_t: bitmask, outgoing and incoming counters, ttl
    "ApsKeyMetadata": ("u16", "u32", "u32", "u16"),
    # EmberMultiPhyRadioParameters: power, page, channel
    "RadioParameters": ("i8", "u8", "u8"),
    # EmberMulticastTableEntry: multicastId, endpoint, networkIndex
    "MulticastTableEntry": ("u16", "u8", "u8"),
    # EmberChildData (v10+): eui64, type, id, phy, power, timeout, timeout remaining
    "ChildData": ("eui64", "u8", "u16", "u8", "u8", "u8", "u32"),
}


class Reader:
    """Consumes a frame's parameters, raising RemoteProtocolError when they run short."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, count: int) -> bytes:
        """The next ``count`` bytes."""
        end = self.offset + count
        if end > len(self.data):
            raise RemoteProtocolError(f"EZSP parameters end at {len(self.data)}, need {end}")
        chunk, self.offset = self.data[self.offset : end], end
        return chunk

    def rest(self) -> bytes:
        """Everything not read yet."""
        chunk, self.offset = self.data[self.offset :], len(self.data)
        return chunk


def decode_one(kind: str, reader: Reader) -> Value:
    """One value of a type from the reader."""
    if kind in STRUCTS:
        return tuple(decode_one(field, reader) for field in STRUCTS[kind])
    if kind in _WIDTHS:
        return int.from_bytes(reader.take(_WIDTHS[kind]), "little", signed=kind == "i8")
    if kind == "key":
        return reader.take(16)
    if kind == "lv":
        return reader.take(reader.take(1)[0])
    if kind == "lv32":
        return reader.take(int.from_bytes(reader.take(4), "little"))
    if kind == "relays":
        count = reader.take(1)[0]
        return tuple(int.from_bytes(reader.take(2), "little") for _ in range(count))
    if kind == "u16s":
        rest = reader.rest()
        return tuple(int.from_bytes(rest[i : i + 2], "little") for i in range(0, len(rest), 2))
    if kind == "rest":
        return reader.rest()
    raise KeyError(f"no EZSP type {kind!r}")


def decode(layout: Layout, data: bytes) -> list[Value]:
    """A frame's parameters by layout; trailing bytes are a protocol error."""
    reader = Reader(data)
    values = [decode_one(kind, reader) for kind in layout]
    if reader.offset != len(data):
        raise RemoteProtocolError(f"{len(data) - reader.offset} bytes after the parameters")
    return values


def encode_one(kind: str, value: Value) -> bytes:
    """One value of a type on the wire."""
    if kind in STRUCTS:
        fields = STRUCTS[kind]
        if not isinstance(value, tuple) or len(value) != len(fields):
            raise TypeError(f"{kind} needs {len(fields)} fields, got {value!r}")
        return b"".join(encode_one(f, v) for f, v in zip(fields, value, strict=True))
    if kind in _WIDTHS:
        return as_int(value).to_bytes(_WIDTHS[kind], "little", signed=kind == "i8")
    if kind == "key":
        data = as_bytes(value)
        if len(data) != 16:
            raise TypeError(f"a key is 16 bytes, not {len(data)}")
        return data
    if kind == "lv":
        return bytes((len(as_bytes(value)),)) + as_bytes(value)
    if kind == "lv32":
        return len(as_bytes(value)).to_bytes(4, "little") + as_bytes(value)
    if kind in ("relays", "u16s"):
        items = as_tuple(value)
        head = bytes((len(items),)) if kind == "relays" else b""
        return head + b"".join(as_int(i).to_bytes(2, "little") for i in items)
    if kind == "rest":
        return as_bytes(value)
    raise KeyError(f"no EZSP type {kind!r}")


def encode(layout: Layout, values: tuple[Value, ...]) -> bytes:
    """Parameters on the wire, by layout."""
    if len(values) != len(layout):
        raise TypeError(f"layout {layout} needs {len(layout)} values, got {len(values)}")
    return b"".join(encode_one(kind, value) for kind, value in zip(layout, values, strict=True))


def as_int(value: Value) -> int:
    """A decoded integer (a type error otherwise)."""
    if not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def as_bytes(value: Value) -> bytes:
    """Decoded bytes (a type error otherwise)."""
    if not isinstance(value, bytes):
        raise TypeError(f"expected bytes, got {value!r}")
    return value


def as_tuple(value: Value) -> tuple[Value, ...]:
    """A decoded struct or list (a type error otherwise)."""
    if not isinstance(value, tuple):
        raise TypeError(f"expected a struct, got {value!r}")
    return value


__all__ = [
    "STRUCTS",
    "Layout",
    "Reader",
    "Value",
    "as_bytes",
    "as_int",
    "as_tuple",
    "decode",
    "encode",
]
