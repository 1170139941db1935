"""What the simulated NCP does for the security frames (UG100 3.6, and the security manager
API of EmberZNet 7.4+ with its v12 predecessor): initial and current security state, key
export and import, the key table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from radios.zigbee.sim.ezsp.commands import EmberStatus, SlStatus
from radios.zigbee.sim.ezsp.handlers import CONFIG_DEFAULTS
from radios.zigbee.sim.ezsp.layouts import Value, as_bytes, as_int, as_tuple
from radios.zigbee.sim.ezsp.registry import Args, handles
from radios.zigbee.sim.ezsp.state import LinkKey

if TYPE_CHECKING:
    from radios.zigbee.sim.ezsp.ncp import Ncp

TRUST_CENTER_USES_HASHED_LINK_KEY = 0x0084  # EmberCurrentSecurityBitmask (incl. 0x04 global)
HAVE_TRUST_CENTER_LINK_KEY = 0x0010
KEY_NETWORK, KEY_TC_LINK = 0x01, 0x02  # sl_zb_sec_man_key_type_t
EMBER_TRUST_CENTER_LINK_KEY, EMBER_CURRENT_NETWORK_KEY = 0x01, 0x03  # EmberKeyType (v12-)
KEY_HAS_SEQUENCE_NUMBER, KEY_HAS_OUTGOING_FRAME_COUNTER, KEY_HAS_PARTNER_EUI64 = 0x01, 0x02, 0x08
CONFIG_KEY_TABLE_SIZE = 0x1E


@handles("setInitialSecurityState")
def _set_initial_security_state(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    bitmask, tc_key, nwk_key, seq, tc_eui = as_tuple(args[0])
    ncp.ram.initial_security = (
        as_int(bitmask), as_bytes(tc_key), as_bytes(nwk_key), as_int(seq), as_int(tc_eui),
    )  # fmt: skip
    return (EmberStatus.SUCCESS,)


@handles("getCurrentSecurityState")
def _get_current_security_state(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    if not ncp.ram.is_network_up:
        return (EmberStatus.NOT_JOINED, (0, 0))
    bitmask = TRUST_CENTER_USES_HASHED_LINK_KEY | HAVE_TRUST_CENTER_LINK_KEY
    return (EmberStatus.SUCCESS, (bitmask, ncp.eui64))


@handles("clearKeyTable")
def _clear_key_table(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    ncp.tokens.key_table.clear()
    return (EmberStatus.SUCCESS,)


@handles("findKeyTableEntry")
def _find_key_table_entry(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    eui64 = as_int(args[0])
    for index, entry in enumerate(ncp.tokens.key_table):
        if entry.eui64 == eui64:
            return (index,)
    return (0xFF,)


@handles("eraseKeyTableEntry")
def _erase_key_table_entry(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    index = as_int(args[0])
    if index >= len(ncp.tokens.key_table):
        return (EmberStatus.INDEX_OUT_OF_RANGE,)
    del ncp.tokens.key_table[index]
    return (EmberStatus.SUCCESS,)


@handles("clearTransientLinkKeys")
def _clear_transient_link_keys(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return ()


@handles("exportKey")
def _export_key(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    key_type = as_int(as_tuple(args[0])[0])
    if key_type == KEY_NETWORK:
        return (ncp.tokens.network_key, SlStatus.OK)
    if key_type == KEY_TC_LINK:
        return (ncp.tokens.tc_link_key, SlStatus.OK)
    return (bytes(16), SlStatus.NOT_FOUND)


@handles("importKey")
def _import_key(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    context, key = as_tuple(args[0]), as_bytes(args[1])
    key_type, index, eui64 = as_int(context[0]), as_int(context[1]), as_int(context[3])
    if key_type == KEY_NETWORK:
        ncp.tokens.network_key = key
    elif key_type == KEY_TC_LINK:
        ncp.tokens.tc_link_key = key
    elif key_type == 0x04:  # APP_LINK: a device's unique link key, in the key table
        if not store_link_key(ncp, eui64, key, index):
            return (SlStatus.FULL,)
    else:
        return (SlStatus.INVALID_PARAMETER,)
    return (SlStatus.OK,)


@handles("importLinkKey")
def _import_link_key(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    # A restore writes each device's unique link key back into the key table (flash)
    index, eui64, key = as_int(args[0]), as_int(args[1]), as_bytes(args[2])
    return (SlStatus.OK,) if store_link_key(ncp, eui64, key, index) else (SlStatus.FULL,)


def store_link_key(ncp: Ncp, eui64: int, key: bytes, index: int | None = None) -> bool:
    """Put a device's link key in the key table (at ``index``, or its own or a free entry)."""
    table = ncp.tokens.key_table
    size = ncp.ram.config.get(CONFIG_KEY_TABLE_SIZE, CONFIG_DEFAULTS[CONFIG_KEY_TABLE_SIZE])
    if index is None:
        index = next((i for i, e in enumerate(table) if e.eui64 == eui64), len(table))
    if index < len(table):
        table[index] = LinkKey(eui64, key)
        return True
    if index >= size or len(table) >= size:
        return False
    table.append(LinkKey(eui64, key))
    return True


@handles("getKey")
def _get_key(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    tokens, key_type = ncp.tokens, as_int(args[0])
    if key_type == EMBER_CURRENT_NETWORK_KEY and tokens.network is not None:
        bitmask = KEY_HAS_SEQUENCE_NUMBER | KEY_HAS_OUTGOING_FRAME_COUNTER
        key = tokens.network_key
        return (EmberStatus.SUCCESS, (bitmask, 3, key, tokens.nwk_frame_counter, 0,
                                      tokens.network_key_seq, 0))  # fmt: skip
    if key_type == EMBER_TRUST_CENTER_LINK_KEY:
        bitmask = KEY_HAS_OUTGOING_FRAME_COUNTER | KEY_HAS_PARTNER_EUI64
        return (EmberStatus.SUCCESS, (bitmask, 1, tokens.tc_link_key,
                                      tokens.aps_frame_counter, 0, 0, ncp.eui64))  # fmt: skip
    return (EmberStatus.NOT_FOUND, (0, 0, bytes(16), 0, 0, 0, 0))


@handles("getKeyTableEntry")
def _get_key_table_entry(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    index = as_int(args[0])
    if index >= ncp.ram.config.get(0x1E, CONFIG_DEFAULTS[0x1E]):
        return (EmberStatus.INDEX_OUT_OF_RANGE, (0, 0, bytes(16), 0, 0, 0, 0))
    if index >= len(ncp.tokens.key_table):
        return (EmberStatus.NOT_FOUND, (0, 0, bytes(16), 0, 0, 0, 0))
    entry = ncp.tokens.key_table[index]
    bitmask = KEY_HAS_OUTGOING_FRAME_COUNTER | KEY_HAS_PARTNER_EUI64
    return (EmberStatus.SUCCESS, (bitmask, 5, entry.key, entry.outgoing_counter,
                                  entry.incoming_counter, 0, entry.eui64))  # fmt: skip


@handles("addOrUpdateKeyTableEntry")
def _add_or_update_key_table_entry(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    eui64, key = as_int(args[0]), as_bytes(args[2])
    table = ncp.tokens.key_table
    for entry in table:
        if entry.eui64 == eui64:
            entry.key = key
            return (EmberStatus.SUCCESS,)
    if len(table) >= ncp.ram.config.get(0x1E, CONFIG_DEFAULTS[0x1E]):
        return (EmberStatus.TABLE_FULL,)
    table.append(LinkKey(eui64, key))
    return (EmberStatus.SUCCESS,)


@handles("addTransientLinkKey")
def _add_transient_link_key(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (EmberStatus.SUCCESS,)


@handles("getNetworkKeyInfo")
def _get_network_key_info(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    is_set = int(ncp.tokens.network is not None)
    info = (is_set, 0, ncp.tokens.network_key_seq, 0, ncp.tokens.nwk_frame_counter)
    return (SlStatus.OK, info)


@handles("exportLinkKeyByIndex")
def _export_link_key_by_index(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    index = as_int(args[0])
    if index >= len(ncp.tokens.key_table):
        return (0, bytes(16), (0, 0, 0, 0), SlStatus.NOT_FOUND)
    entry = ncp.tokens.key_table[index]
    metadata = (0x0112, entry.outgoing_counter, entry.incoming_counter, 0)
    return (entry.eui64, entry.key, metadata, SlStatus.OK)


@handles("importTransientKey")
def _import_transient_key(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (SlStatus.OK,)


@handles("exportTransientKeyByEui")
def _export_transient_key_by_eui(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return ((0, 0, 0, 0, 0, 0, 0), bytes(16), (0, 0, 0, 0), SlStatus.NOT_FOUND)


@handles("broadcastNextNetworkKey")
def _broadcast_next_network_key(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (EmberStatus.SUCCESS,)


@handles("broadcastNetworkKeySwitch")
def _broadcast_network_key_switch(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (EmberStatus.SUCCESS,)


__all__ = ["store_link_key"]  # and the handlers, which register themselves
