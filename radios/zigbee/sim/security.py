"""Trust-centre link keys of the simulated Z-Stack 3.x: TCLK entries and install codes.

A Zigbee 3.0 device that joins asks the trust centre for a unique link key (the TCLK
exchange, Zigbee spec 4.7.3; Z-Stack bdb.c with bdbTrustCenterRequireKeyExchange). Z-Stack
does not store that key: it keeps a TCLKDevEntry in the NV table ZCD_NV_EX_TCLK_TABLE (the
partner's IEEE, frame counters, a seed shift) and derives the key from the TCLK seed
(ZCD_NV_TCLK_SEED) when needed, and it marks the device's address-manager entry as a security
user. A host's backup finds the device again through that entry even when it is not a direct
child (a router that later moved behind another router), which is why the simulator writes it.

Install codes (Base Device Behavior 10.1, APP_CNF_BDB_ADD_INSTALLCODE): a 6, 8, 12 or 16 byte
code followed by its CRC-16/X-25, hashed with AES-MMO (Zigbee spec B.6) into the provisional
link key; the key goes to ZCD_NV_EX_TCLK_IC_TABLE and a TCLK entry with the
PROVISIONAL_KEY attribute points to it.
"""

from __future__ import annotations

import random
from enum import IntEnum

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from radios.zigbee.sim.commands import Status
from radios.zigbee.sim.nvram import SYS_ZSTACK, TABLE_ENTRY_FILL, ExNv, NvStore
from radios.zigbee.sim.wire import ieee_bytes, u32

INSTALL_CODE_SIZES = frozenset({6, 8, 12, 16})


class KeyAttributes(IntEnum):
    """TCLKDevEntry.keyAttributes (Z-Stack ZGlobals.h ZG_*_KEY)."""

    PROVISIONAL_KEY = 0x00  # an install-code key, not used yet
    VERIFIED_KEY = 0x02  # a unique key the coordinator verified
    DEFAULT_KEY = 0xFF  # an empty entry


class InstallCodeFormat(IntEnum):
    """APP_CNF_BDB_ADD_INSTALLCODE InstallCodeFormat."""

    INSTALL_CODE = 0x01  # the code and its CRC
    DERIVED_KEY = 0x02  # the key already hashed from it


def tclk_entry(ieee: int, attributes: KeyAttributes, shift_or_index: int) -> bytes:
    """One TCLKDevEntry: counters, partner, key attributes, key type NONE, seed shift (or
    install-code index), padded to the CC2652's 4-byte alignment (20 bytes)."""
    return u32(0) + u32(0) + ieee_bytes(ieee) + bytes((attributes, 0, shift_or_index, 0))


def remember_link_key(nv: NvStore, ieee: int, rng: random.Random) -> None:
    """The TCLK exchange of a joining Zigbee 3.0 device: a verified entry with a seed shift
    (kept when the device has one already: its key must not change under a host's backup)."""
    for value in nv.table(ExNv.TCLK_TABLE):
        if value[8:16] == ieee_bytes(ieee) and value[16] == KeyAttributes.VERIFIED_KEY:
            return
    _put_tclk(nv, tclk_entry(ieee, KeyAttributes.VERIFIED_KEY, rng.randrange(16)), ieee)


def forget_link_key(nv: NvStore, ieee: int) -> None:
    """A device left: its TCLK entry goes back to the empty fill."""
    for sub_id, value in enumerate(nv.table(ExNv.TCLK_TABLE)):
        if value[8:16] == ieee_bytes(ieee):
            nv.put((SYS_ZSTACK, ExNv.TCLK_TABLE, sub_id), TABLE_ENTRY_FILL[ExNv.TCLK_TABLE])


def _put_tclk(nv: NvStore, entry: bytes, ieee: int) -> bool:
    free = None
    for sub_id, value in enumerate(nv.table(ExNv.TCLK_TABLE)):
        if value[8:16] == ieee_bytes(ieee):
            free = sub_id
            break
        if free is None and value[16] == KeyAttributes.DEFAULT_KEY:
            free = sub_id
    if free is None:
        return False
    nv.put((SYS_ZSTACK, ExNv.TCLK_TABLE, free), entry)
    return True


def add_install_code(nv: NvStore, code_format: int, ieee: int, data: bytes) -> Status:
    """APP_CNF_BDB_ADD_INSTALLCODE: check the code, store its key and a provisional entry."""
    if code_format == InstallCodeFormat.INSTALL_CODE:
        code, crc = data[:-2], data[-2:]
        if len(code) not in INSTALL_CODE_SIZES or crc16_x25(code).to_bytes(2, "little") != crc:
            return Status.INVALID_PARAMETER
        key = aes_mmo_hash(data)
    elif code_format == InstallCodeFormat.DERIVED_KEY and len(data) == 16:
        key = data
    else:
        return Status.INVALID_PARAMETER
    index = len(nv.table(ExNv.TCLK_IC_TABLE))
    nv.put((SYS_ZSTACK, ExNv.TCLK_IC_TABLE, index), key + bytes(8))  # key, tx and rx counters
    entry = tclk_entry(ieee, KeyAttributes.PROVISIONAL_KEY, index)
    return Status.SUCCESS if _put_tclk(nv, entry, ieee) else Status.NWK_TABLE_FULL


def crc16_x25(data: bytes) -> int:
    """CRC-16/X-25 (reflected CCITT, init and xorout 0xFFFF), as install codes carry it."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def aes_mmo_hash(data: bytes) -> bytes:
    """The Matyas-Meyer-Oseas hash with AES-128 (Zigbee spec B.6): the install-code key."""
    # B.6: pad with a 1 bit, zeros, and the message length in bits as 16 bits, to 16n bytes
    padded = data + b"\x80"
    padded += bytes((14 - len(padded)) % 16) + (len(data) * 8).to_bytes(2, "big")
    digest = bytes(16)
    for start in range(0, len(padded), 16):
        block = padded[start : start + 16]
        encryptor = Cipher(algorithms.AES(digest), modes.ECB()).encryptor()  # one block a key
        cipher = encryptor.update(block) + encryptor.finalize()
        digest = bytes(a ^ b for a, b in zip(cipher, block, strict=True))
    return digest
