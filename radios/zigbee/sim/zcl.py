"""A small ZCL encoder/decoder for the simulated devices (Zigbee Cluster Library, chapter 2).

Only what the simulated devices speak: the frame header (2.4.1), the foundation commands
(2.5) and the attribute data types they use (2.6.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from radios.zigbee.sim.wire import PayloadError, Reader, ieee_bytes, sint, u8, u16, uint


class DataType(IntEnum):
    """Attribute data type ids (ZCL 2.6.2, table 2-10)."""

    BOOL = 0x10
    MAP8 = 0x18
    MAP16 = 0x19
    UINT8 = 0x20
    UINT16 = 0x21
    UINT24 = 0x22
    UINT32 = 0x23
    UINT48 = 0x25
    INT8 = 0x28
    INT16 = 0x29
    INT24 = 0x2A
    INT32 = 0x2B
    ENUM8 = 0x30
    ENUM16 = 0x31
    CHAR_STR = 0x42
    IEEE = 0xF0


_UNSIGNED_SIZES = {
    DataType.BOOL: 1, DataType.MAP8: 1, DataType.MAP16: 2, DataType.UINT8: 1,
    DataType.UINT16: 2, DataType.UINT24: 3, DataType.UINT32: 4, DataType.UINT48: 6,
    DataType.ENUM8: 1, DataType.ENUM16: 2, DataType.IEEE: 8,
}  # fmt: skip
_SIGNED_SIZES = {DataType.INT8: 1, DataType.INT16: 2, DataType.INT24: 3, DataType.INT32: 4}

AttrValue = int | str


def encode_value(data_type: DataType, value: AttrValue) -> bytes:
    """An attribute value in its wire form."""
    if data_type is DataType.CHAR_STR:
        raw = str(value).encode()
        return u8(len(raw)) + raw
    if data_type is DataType.IEEE:
        return ieee_bytes(int(value))
    if data_type in _SIGNED_SIZES:
        return sint(int(value), _SIGNED_SIZES[data_type])
    return uint(int(value), _UNSIGNED_SIZES[data_type])


def decode_value(data_type: int, reader: Reader) -> AttrValue:
    """An attribute value read from the wire; PayloadError for types the sim does not know."""
    try:
        kind = DataType(data_type)
    except ValueError as exc:
        raise PayloadError(f"unsupported ZCL data type 0x{data_type:02X}") from exc
    if kind is DataType.CHAR_STR:
        return reader.short_bytes().decode(errors="replace")
    if kind in _SIGNED_SIZES:
        return reader.sint(_SIGNED_SIZES[kind])
    return reader.uint(_UNSIGNED_SIZES[kind])


class Foundation(IntEnum):
    """Profile-wide command ids (ZCL 2.5, table 2-3)."""

    READ_ATTRIBUTES = 0x00
    READ_ATTRIBUTES_RSP = 0x01
    WRITE_ATTRIBUTES = 0x02
    WRITE_ATTRIBUTES_UNDIVIDED = 0x03
    WRITE_ATTRIBUTES_RSP = 0x04
    WRITE_ATTRIBUTES_NO_RSP = 0x05
    CONFIGURE_REPORTING = 0x06
    CONFIGURE_REPORTING_RSP = 0x07
    READ_REPORTING_CONFIG = 0x08
    READ_REPORTING_CONFIG_RSP = 0x09
    REPORT_ATTRIBUTES = 0x0A
    DEFAULT_RSP = 0x0B
    DISCOVER_ATTRIBUTES = 0x0C
    DISCOVER_ATTRIBUTES_RSP = 0x0D


class ZclStatus(IntEnum):
    """ZCL status codes (ZCL 2.6.3, table 2-12)."""

    SUCCESS = 0x00
    FAILURE = 0x01
    MALFORMED_COMMAND = 0x80
    UNSUP_CLUSTER_COMMAND = 0x81
    UNSUP_GENERAL_COMMAND = 0x82
    UNSUP_MANUF_CLUSTER_COMMAND = 0x83
    UNSUP_MANUF_GENERAL_COMMAND = 0x84
    INVALID_FIELD = 0x85
    UNSUPPORTED_ATTRIBUTE = 0x86
    INVALID_VALUE = 0x87
    READ_ONLY = 0x88
    INSUFFICIENT_SPACE = 0x89
    DUPLICATE_EXISTS = 0x8A
    NOT_FOUND = 0x8B
    UNREPORTABLE_ATTRIBUTE = 0x8C
    INVALID_DATA_TYPE = 0x8D
    UNSUPPORTED_CLUSTER = 0xC3


# Frame control bits (ZCL 2.4.1.1)
_FC_CLUSTER_SPECIFIC = 0x01
_FC_MANUFACTURER = 0x04
_FC_SERVER_TO_CLIENT = 0x08
_FC_DISABLE_DEFAULT_RSP = 0x10


@dataclass(frozen=True, slots=True)
class ZclHeader:
    """The ZCL frame header: frame control flags, manufacturer code, sequence number, command."""

    command_id: int
    tsn: int
    is_cluster_specific: bool = False
    is_server_to_client: bool = False
    is_default_response_disabled: bool = False
    manufacturer: int | None = None

    def encode(self) -> bytes:
        """The header's bytes."""
        control = (
            (_FC_CLUSTER_SPECIFIC if self.is_cluster_specific else 0)
            | (_FC_MANUFACTURER if self.manufacturer is not None else 0)
            | (_FC_SERVER_TO_CLIENT if self.is_server_to_client else 0)
            | (_FC_DISABLE_DEFAULT_RSP if self.is_default_response_disabled else 0)
        )
        mfr = u16(self.manufacturer) if self.manufacturer is not None else b""
        return u8(control) + mfr + u8(self.tsn) + u8(self.command_id)

    def response(self, command_id: int, *, is_cluster_specific: bool | None = None) -> ZclHeader:
        """The header of an answer to this frame: opposite direction, same tsn and manufacturer,
        default response disabled (answers are never answered)."""
        return ZclHeader(
            command_id=command_id,
            tsn=self.tsn,
            is_cluster_specific=(
                self.is_cluster_specific if is_cluster_specific is None else is_cluster_specific
            ),
            is_server_to_client=not self.is_server_to_client,
            is_default_response_disabled=True,
            manufacturer=self.manufacturer,
        )


def decode_header(data: bytes) -> tuple[ZclHeader, bytes]:
    """A ZCL frame split into its header and payload; PayloadError if too short."""
    reader = Reader(data)
    control = reader.u8()
    manufacturer = reader.u16() if control & _FC_MANUFACTURER else None
    tsn = reader.u8()
    command_id = reader.u8()
    header = ZclHeader(
        command_id=command_id,
        tsn=tsn,
        is_cluster_specific=bool(control & _FC_CLUSTER_SPECIFIC),
        is_server_to_client=bool(control & _FC_SERVER_TO_CLIENT),
        is_default_response_disabled=bool(control & _FC_DISABLE_DEFAULT_RSP),
        manufacturer=manufacturer,
    )
    return header, reader.rest()


def default_response(request: ZclHeader, status: ZclStatus) -> bytes:
    """A Default Response frame answering ``request`` (ZCL 2.5.12)."""
    header = request.response(Foundation.DEFAULT_RSP, is_cluster_specific=False)
    return header.encode() + u8(request.command_id) + u8(status)


def is_default_response_due(request: ZclHeader, status: ZclStatus, *, has_answer: bool) -> bool:
    """Whether a Default Response must be sent (ZCL 2.5.12.2): never to a Default Response;
    always on error; on success only if the sender did not disable it and no other answer
    goes back."""
    if not request.is_cluster_specific and request.command_id == Foundation.DEFAULT_RSP:
        return False
    if status is not ZclStatus.SUCCESS:
        return True
    return not request.is_default_response_disabled and not has_answer
