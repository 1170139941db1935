"""The simulated CC2652's non-volatile memory: OSAL NV items and the Z-Stack 3.30 NV tables.

Z-Stack 3.30 keeps every item under (system id, item id, sub id). The old OSAL NV API
(SYS.OSALNVRead & co.) addresses the LEGACY item, sub id = OSAL id; the newer NV API
(SYS.NVRead & co.) addresses any item, e.g. the address manager table (ADDRMGR) one entry per
sub id. Items hold raw bytes in the chip's in-memory layout; the simulator interprets only
the few it must (the NIB, keys, the formation flags) and stores the rest as written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

from radios.zigbee.sim.commands import Status
from radios.zigbee.sim.wire import ieee_bytes, u16, u32

SYS_ZSTACK: Final = 0x01


class ExNv(IntEnum):
    """NV item ids of Z-Stack 3.30 (nvocmp / ZComDef.h ZCD_NV_EX_*)."""

    LEGACY = 0x0000
    ADDRMGR = 0x0001
    BINDING_TABLE = 0x0002
    DEVICE_LIST = 0x0003
    TCLK_TABLE = 0x0004
    TCLK_IC_TABLE = 0x0005
    APS_KEY_DATA_TABLE = 0x0006
    NWK_SEC_MATERIAL_TABLE = 0x0007


class OsalNv(IntEnum):
    """The OSAL NV ids the simulator reads or seeds (ZComDef.h ZCD_NV_*)."""

    EXTADDR = 0x0001
    BOOTCOUNTER = 0x0002
    STARTUP_OPTION = 0x0003
    START_DELAY = 0x0004
    NIB = 0x0021
    POLL_RATE_OLD16 = 0x0024
    EXTENDED_PAN_ID = 0x002D
    BCAST_DELIVERY_TIME = 0x0030
    CONCENTRATOR_ENABLE = 0x0032
    CONCENTRATOR_DISCOVERY = 0x0033
    CONCENTRATOR_RC = 0x0036
    SRC_RTG_EXPIRY_TIME = 0x0038
    NWK_ACTIVE_KEY_INFO = 0x003A
    NWK_ALTERN_KEY_INFO = 0x003B
    NWK_CHILD_AGE_ENABLE = 0x003E
    APS_USE_EXT_PANID = 0x0047
    APS_LINK_KEY_TABLE = 0x004C
    BDBNODEISONANETWORK = 0x0055
    HAS_CONFIGURED_ZSTACK3 = 0x0060
    PRECFGKEY = 0x0062
    PRECFGKEYS_ENABLE = 0x0063
    NWKKEY = 0x0082
    PANID = 0x0083
    CHANLIST = 0x0084
    LOGICAL_TYPE = 0x0087
    ZDO_DIRECT_CB = 0x008F
    TCLK_SEED = 0x0101


class StartupOption(IntEnum):
    """Bits of the STARTUP_OPTION item (ZComDef.h ZCD_STARTOPT_*)."""

    CLEAR_CONFIG = 0x01
    CLEAR_STATE = 0x02


NvKey = tuple[int, int, int]


def osal(nv_id: int) -> NvKey:
    """The key of an OSAL NV item (the LEGACY item's sub id)."""
    return (SYS_ZSTACK, ExNv.LEGACY, nv_id)


# Table sizes of the simulated build; zigpy-znp reads tables until a sub id is missing.
TABLE_ENTRY_FILL: Final[dict[ExNv, bytes]] = {
    # AddrMgrEntry{type=0xFF, nwk=0xFFFF, ext=FF..FF}, 12 bytes with CC2652 alignment
    ExNv.ADDRMGR: b"\xff" * 12,
    # TCLKDevEntry{counters=0, ext=0, attrs=DEFAULT_KEY, type=NONE, shift=0} + pad
    ExNv.TCLK_TABLE: bytes(16) + b"\xff\x00\x00" + b"\x00",
    # APSKeyDataTableEntry{key=0, counters=0}
    ExNv.APS_KEY_DATA_TABLE: bytes(24),
    # NwkSecMaterialDesc{counter=0, ext pan=0}
    ExNv.NWK_SEC_MATERIAL_TABLE: bytes(12),
}


@dataclass
class NvStore:
    """All NV items of one simulated stick; survives resets and reconnects, not re-flashing."""

    items: dict[NvKey, bytes] = field(default_factory=dict)

    def length(self, key: NvKey) -> int:
        """The item's length, 0 when it does not exist (as Z-Stack answers)."""
        return len(self.items.get(key, b""))

    def has(self, key: NvKey) -> bool:
        """Whether the item exists."""
        return key in self.items

    def get(self, key: NvKey, default: bytes = b"") -> bytes:
        """The item's bytes."""
        return self.items.get(key, default)

    def put(self, key: NvKey, value: bytes) -> None:
        """Create or replace an item."""
        self.items[key] = bytes(value)

    def read(self, key: NvKey, offset: int, max_len: int) -> tuple[Status, bytes]:
        """Read from ``offset``; INVALID_PARAMETER if the item is missing or offset is past it."""
        value = self.items.get(key)
        if value is None or offset > len(value):
            return Status.INVALID_PARAMETER, b""
        return Status.SUCCESS, value[offset : offset + max_len]

    def write(self, key: NvKey, offset: int, data: bytes) -> Status:
        """Overwrite part of an existing item; never grows it."""
        value = self.items.get(key)
        if value is None or offset + len(data) > len(value):
            return Status.INVALID_PARAMETER
        self.items[key] = value[:offset] + data + value[offset + len(data) :]
        return Status.SUCCESS

    def create(self, key: NvKey, length: int, initial: bytes = b"") -> Status:
        """Create an item (NV_ITEM_UNINIT: created now) or keep an existing one (SUCCESS)."""
        if key in self.items:
            return Status.SUCCESS
        self.items[key] = initial[:length].ljust(length, b"\xff")
        return Status.NV_ITEM_UNINIT

    def delete(self, key: NvKey) -> Status:
        """Remove an item; NV_OPER_FAILED if it is not there."""
        if self.items.pop(key, None) is None:
            return Status.NV_OPER_FAILED
        return Status.SUCCESS

    def table(self, item: ExNv) -> list[bytes]:
        """The entries of an NV table in sub id order."""
        entries = []
        sub_id = 0
        while (SYS_ZSTACK, item, sub_id) in self.items:
            entries.append(self.items[(SYS_ZSTACK, item, sub_id)])
            sub_id += 1
        return entries

    def to_json(self) -> str:
        """The store as JSON, for keeping a stick's memory across simulator runs."""
        return json.dumps(
            {f"{s:02x}:{i:04x}:{n:04x}": v.hex() for (s, i, n), v in self.items.items()}
        )

    @classmethod
    def from_json(cls, text: str) -> NvStore:
        """A store from ``to_json`` output."""
        raw = json.loads(text)
        items: dict[NvKey, bytes] = {}
        for key, value in raw.items():
            s, i, n = (int(part, 16) for part in key.split(":"))
            items[(s, i, n)] = bytes.fromhex(value)
        return cls(items)


def factory_nv(ieee: int, *, addr_table_size: int, key_table_size: int = 16) -> NvStore:
    """A freshly flashed coordinator's NV: no network, defaults for the settings zigpy reads."""
    store = NvStore()
    for nv_id, value in _FACTORY_SETTINGS.items():
        store.put(osal(nv_id), value)
    store.put(osal(OsalNv.EXTADDR), ieee_bytes(ieee))
    store.put(osal(OsalNv.NIB), default_nib())
    store.put(osal(OsalNv.TCLK_SEED), os.urandom(16))
    table_sizes = {
        ExNv.ADDRMGR: addr_table_size,
        ExNv.TCLK_TABLE: key_table_size,
        ExNv.APS_KEY_DATA_TABLE: key_table_size,
        ExNv.NWK_SEC_MATERIAL_TABLE: 4,
    }
    for item, size in table_sizes.items():
        for sub_id in range(size):
            store.put((SYS_ZSTACK, item, sub_id), TABLE_ENTRY_FILL[item])
    return store


_EMPTY_KEY_DESC = bytes(17)  # NwkKeyDesc{seq=0, key=0}

_FACTORY_SETTINGS: Final[dict[int, bytes]] = {
    OsalNv.STARTUP_OPTION: b"\x00",
    OsalNv.START_DELAY: b"\x0a",
    OsalNv.BOOTCOUNTER: u16(0),
    OsalNv.POLL_RATE_OLD16: u16(0),
    OsalNv.EXTENDED_PAN_ID: bytes(8),
    OsalNv.BCAST_DELIVERY_TIME: b"\x1e",
    OsalNv.CONCENTRATOR_ENABLE: b"\x00",
    OsalNv.CONCENTRATOR_DISCOVERY: b"\x78",
    OsalNv.CONCENTRATOR_RC: b"\x00",
    OsalNv.SRC_RTG_EXPIRY_TIME: b"\x3c",
    OsalNv.NWK_ACTIVE_KEY_INFO: _EMPTY_KEY_DESC,
    OsalNv.NWK_ALTERN_KEY_INFO: _EMPTY_KEY_DESC,
    OsalNv.NWK_CHILD_AGE_ENABLE: b"\x01",
    OsalNv.APS_USE_EXT_PANID: bytes(8),
    # APSLinkKeyTable: a u16 count then a fixed-capacity array; empty
    OsalNv.APS_LINK_KEY_TABLE: b"\x00\x00" + b"\xff" * 18,
    OsalNv.PRECFGKEY: bytes(range(1, 17)),
    OsalNv.PRECFGKEYS_ENABLE: b"\x00",
    # nwkActiveKeyItems{NwkKeyDesc active, u32 frameCounter}: 24 bytes with the CC2652's
    # alignment (a CC2531 has 21); a host tells the two apart by this item's length
    OsalNv.NWKKEY: bytes(24),
    OsalNv.PANID: u16(0xFFFF),
    OsalNv.CHANLIST: u32(0x00000800),
    OsalNv.LOGICAL_TYPE: b"\x00",
    OsalNv.ZDO_DIRECT_CB: b"\x00",
}


class NibField(IntEnum):
    """Byte offsets of the NIB fields the simulator uses (nwk.h nwkIB_t, 32-bit aligned)."""

    SECURITY_LEVEL = 12
    DEV_ADDRESS = 22
    LOGICAL_CHANNEL = 24
    COORD_ADDRESS = 26
    PAN_ID = 36
    NWK_STATE = 38
    CHANNEL_LIST = 40
    EXTENDED_PAN_ID = 57
    KEY_LOADED = 65
    MANAGER_ADDR = 110
    UPDATE_ID = 114


NIB_SIZE: Final = 116
NWK_STATE_INIT: Final = 0
NWK_STATE_ROUTER: Final = 8


def default_nib() -> bytes:
    """The NIB of a coordinator that has never formed a network."""
    nib = bytearray(NIB_SIZE)
    nib[0:15] = bytes((0, 5, 2, 0, 20, 0, 0, 30, 0, 0, 0, 1, 5, 1, 143))
    nib[16:21] = bytes((7, 0, 2, 5, 30))
    nib[NibField.DEV_ADDRESS : NibField.DEV_ADDRESS + 2] = u16(0xFFFE)
    nib[NibField.COORD_ADDRESS : NibField.COORD_ADDRESS + 2] = u16(0xFFFE)
    nib[NibField.PAN_ID : NibField.PAN_ID + 2] = u16(0xFFFF)
    nib[44:46] = b"\x0f\x0f"
    nib[102:109] = bytes((60, 3, 0, 1, 120, 10, 1))
    return bytes(nib)


def nib_get(nib: bytes, offset: NibField, size: int) -> int:
    """An unsigned little-endian field of the NIB."""
    return int.from_bytes(nib[offset : offset + size], "little")


def nib_set(nib: bytes, offset: NibField, size: int, value: int) -> bytes:
    """The NIB with one field replaced."""
    return nib[:offset] + value.to_bytes(size, "little") + nib[offset + size :]
