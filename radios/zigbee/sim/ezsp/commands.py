"""The EZSP frames the simulated NCP knows, declared as data (UG100, EmberZNet 7.4: EZSP v13;
``commands_of(12)`` gives the EmberZNet 7.3 table).

Each row: frame id, name (UG100's), parameter layout (host to NCP) and response layout (NCP to
host); callbacks have only a response layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from radios.zigbee.sim.ezsp.layouts import Layout


@dataclass(frozen=True, slots=True)
class Command:
    """One EZSP frame: id, name, what the host sends, what the NCP answers."""

    frame_id: int
    name: str
    params: Layout
    response: Layout
    is_callback: bool = False


def row(frame_id: int, name: str, params: str, response: str, *,
        is_callback: bool = False) -> Command:
    """One row of a frame table, each layout written as its field types, space-separated."""
    return Command(frame_id, name, tuple(params.split()), tuple(response.split()), is_callback)


def _cb(frame_id: int, name: str, response: str) -> Command:
    return row(frame_id, name, "", response, is_callback=True)


_c = row  # short, so that the tables below read as columns


COMMANDS: tuple[Command, ...] = (
    # --- configuration (UG100 3.1) ---
    _c(0x0000, "version", "u8", "u8 u8 u16"),
    _c(0x0052, "getConfigurationValue", "u8", "u8 u16"),
    _c(0x0053, "setConfigurationValue", "u8 u16", "u8"),
    _c(0x0002, "addEndpoint", "u8 u16 u16 u8 u8 u8 rest", "u8"),
    _c(0x0055, "setPolicy", "u8 u8", "u8"),
    _c(0x0056, "getPolicy", "u8", "u8 u8"),
    _c(0x00AA, "getValue", "u8", "u8 lv"),
    _c(0x00AB, "setValue", "u8 lv", "u8"),
    _c(0x0003, "getExtendedValue", "u8 u32", "u8 lv"),
    # --- utilities (3.2) ---
    _c(0x0005, "nop", "", ""),
    _c(0x0047, "customFrame", "lv", "u8 lv"),
    _c(0x000B, "getMfgToken", "u8", "lv"),
    _c(0x000C, "setMfgToken", "u8 lv", "u8"),
    _c(0x0026, "getEui64", "", "eui64"),
    _c(0x0027, "getNodeId", "", "u16"),
    _c(0x0015, "setManufacturerCode", "u16", ""),
    _c(0x0099, "setRadioPower", "i8", "u8"),
    _c(0x00F1, "readCounters", "", "u16s"),
    _c(0x0065, "readAndClearCounters", "", "u16s"),
    _c(0x0091, "getStandaloneBootloaderVersionPlatMicroPhy", "", "u16 u8 u8 u8"),
    _c(0x0101, "getTokenInfo", "u8", "u8 u32 bool bool u8 u8"),
    _c(0x0102, "getTokenData", "u32 u32", "u8 lv32"),
    _c(0x0103, "setTokenData", "u32 u32 lv32", "u8"),
    _c(0x0077, "tokenFactoryReset", "bool bool", ""),
    _cb(0x0058, "invalidCommand", "u8"),
    # --- networking (3.3) ---
    _c(0x0017, "networkInit", "u16", "u8"),
    _c(0x0018, "networkState", "", "u8"),
    _cb(0x0019, "stackStatusHandler", "u8"),
    _c(0x001A, "startScan", "u8 u32 u8", "u8"),
    _cb(0x0048, "energyScanResultHandler", "u8 i8"),
    _cb(0x001C, "scanCompleteHandler", "u8 u8"),
    _c(0x001E, "formNetwork", "NetworkParameters", "u8"),
    _c(0x0020, "leaveNetwork", "", "u8"),
    _c(0x0022, "permitJoining", "u8", "u8"),
    _cb(0x0023, "childJoinHandler", "u8 bool u16 eui64 u8"),
    _c(0x0028, "getNetworkParameters", "", "u8 u8 NetworkParameters"),
    _c(0x00FD, "getRadioParameters", "u8", "u8 RadioParameters"),
    _c(0x004A, "getChildData", "u8", "u8 ChildData"),
    _c(0x00AC, "setChildData", "u8 ChildData", "u8"),
    _c(0x0079, "getNeighbor", "u8", "u8 u16 u8 u8 u8 u8 eui64"),
    _c(0x007A, "neighborCount", "", "u8"),
    _c(0x0010, "setConcentrator", "bool u16 u16 u16 u8 u8 u8", "u8"),
    _c(0x005A, "setSourceRouteDiscoveryMode", "u8", "u32"),
    _c(0x00A8, "removeDevice", "u16 eui64 eui64", "u8"),
    _c(0x0060, "lookupNodeIdByEui64", "eui64", "u16"),
    _c(0x0061, "lookupEui64ByNodeId", "u16", "u8 eui64"),
    _c(0x0064, "setMulticastTableEntry", "u8 MulticastTableEntry", "u8"),
    _c(0x0063, "getMulticastTableEntry", "u8", "u8 MulticastTableEntry"),
    _cb(0x007C, "idConflictHandler", "u16"),
    # --- messaging (3.5) ---
    _c(0x0034, "sendUnicast", "u8 u16 ApsFrame u8 lv", "u8 u8"),
    _c(0x0036, "sendBroadcast", "u16 ApsFrame u8 u8 lv", "u8 u8"),
    _c(0x0038, "sendMulticast", "ApsFrame u8 u8 u8 lv", "u8 u8"),
    _c(0x0039, "sendReply", "u16 ApsFrame lv", "u8"),
    _cb(0x003F, "messageSentHandler", "u8 u16 ApsFrame u8 u8 lv"),
    _cb(0x0045, "incomingMessageHandler", "u8 ApsFrame u8 i8 u16 u8 u8 lv"),
    _c(0x00AE, "setSourceRoute", "u16 relays", "u8"),
    _cb(0x0059, "incomingRouteRecordHandler", "u16 eui64 u8 i8 relays"),
    _cb(0x0062, "incomingSenderEui64Handler", "eui64"),
    _c(0x007E, "setExtendedTimeout", "eui64 bool", ""),
    _c(0x007F, "getExtendedTimeout", "eui64", "bool"),
    _c(0x0082, "replaceAddressTableEntry", "u8 eui64 u16 bool", "u8 eui64 u16 bool"),
    _c(0x005F, "getAddressTableRemoteNodeId", "u8", "u16"),
    # --- security (3.6, and the security manager of EmberZNet 7.4+) ---
    _c(0x0068, "setInitialSecurityState", "InitialSecurityState", "u8"),
    _c(0x0069, "getCurrentSecurityState", "", "u8 CurrentSecurityState"),
    _cb(0x0024, "trustCenterJoinHandler", "u16 eui64 u8 u8 u16"),
    _c(0x00B1, "clearKeyTable", "", "u8"),
    _c(0x0075, "findKeyTableEntry", "eui64 bool", "u8"),
    _c(0x0076, "eraseKeyTableEntry", "u8", "u8"),
    _c(0x006B, "clearTransientLinkKeys", "", ""),
    _c(0x0114, "exportKey", "SecurityContext", "key u32"),
    _c(0x0115, "importKey", "SecurityContext key", "u32"),
    _c(0x0116, "getNetworkKeyInfo", "", "u32 NetworkKeyInfo"),
    _c(0x010F, "exportLinkKeyByIndex", "u8", "eui64 key ApsKeyMetadata u32"),
    _c(0x010E, "importLinkKey", "u8 eui64 key", "u32"),
    _c(0x0111, "importTransientKey", "eui64 key u8", "u32"),
    _c(0x0113, "exportTransientKeyByEui", "eui64", "SecurityContext key ApsKeyMetadata u32"),
    _c(0x0073, "broadcastNextNetworkKey", "key", "u8"),
    _c(0x0074, "broadcastNetworkKeySwitch", "", "u8"),
    # --- green power (3.11): bellows clears the sink table at start ---
    _c(0x00E2, "gpSinkTableClearAll", "", ""),
)

BY_ID: dict[int, Command] = {c.frame_id: c for c in COMMANDS}
BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}

# EZSP v12 (EmberZNet 7.3): the security manager's context had an 8-bit derived key type,
# network key info and tokenFactoryReset did not exist yet, and keys went through getKey and
# the key table commands of older versions.
V12_CHANGES: tuple[Command, ...] = (
    _c(0x0114, "exportKey", "SecurityContextV12", "key u32"),
    _c(0x0115, "importKey", "SecurityContextV12 key", "u32"),
    _c(0x0113, "exportTransientKeyByEui", "eui64", "SecurityContextV12 key ApsKeyMetadata u32"),
    _c(0x006A, "getKey", "u8", "u8 KeyStruct"),
    _c(0x0071, "getKeyTableEntry", "u8", "u8 KeyStruct"),
    _c(0x0066, "addOrUpdateKeyTableEntry", "eui64 bool key", "u8"),
    _c(0x00AF, "addTransientLinkKey", "eui64 key", "u8"),
)
V12_REMOVED = frozenset({"getNetworkKeyInfo", "tokenFactoryReset"})


def commands_of(version: int) -> dict[str, Command]:
    """The frames an NCP speaking this EZSP version knows, by name."""
    table = dict(BY_NAME)
    if version <= 12:
        for name in V12_REMOVED:
            del table[name]
        table.update({c.name: c for c in V12_CHANGES})
    return table


class EmberStatus(IntEnum):
    """EmberStatus values the simulator answers (UG100 appendix, ember-types.h)."""

    SUCCESS = 0x00
    ERR_FATAL = 0x01
    BAD_ARGUMENT = 0x02
    NOT_FOUND = 0x03
    NO_BUFFERS = 0x18
    MAC_NO_ACK_RECEIVED = 0x40
    DELIVERY_FAILED = 0x66
    INVALID_CALL = 0x70
    NETWORK_UP = 0x90
    NETWORK_DOWN = 0x91
    NOT_JOINED = 0x93
    NETWORK_BUSY = 0xA1
    INDEX_OUT_OF_RANGE = 0xB1
    TABLE_FULL = 0xB4


class SlStatus(IntEnum):
    """sl_status_t values of the security manager API (and EZSP v14+ statuses)."""

    OK = 0x0000
    FAIL = 0x0001
    INVALID_STATE = 0x0002
    BUSY = 0x0004
    NOT_AVAILABLE = 0x000E
    NETWORK_UP = 0x0015
    NETWORK_DOWN = 0x0016
    NOT_JOINED = 0x0017
    ALLOCATION_FAILED = 0x0019
    FULL = 0x001C
    INVALID_PARAMETER = 0x0021
    INVALID_INDEX = 0x0027
    INVALID_RANGE = 0x0028
    NOT_FOUND = 0x002D
    MAC_NO_ACK_RECEIVED = 0x0040
    ZIGBEE_DELIVERY_FAILED = 0x0C02
    ZIGBEE_EZSP_ERROR = 0x0C1E


class EzspStatus(IntEnum):
    """EzspStatus: the frame-level answers (UG100 2.3.3)."""

    SUCCESS = 0x00
    ERROR_VERSION_NOT_SET = 0x30
    ERROR_INVALID_FRAME_ID = 0x31
    ERROR_WRONG_DIRECTION = 0x32
    ERROR_TRUNCATED = 0x33
    ERROR_INVALID_VALUE = 0x36
    ERROR_INVALID_ID = 0x37
    ERROR_INVALID_CALL = 0x38


class NetworkStatus(IntEnum):
    """EmberNetworkStatus (networkState)."""

    NO_NETWORK = 0x00
    JOINING_NETWORK = 0x01
    JOINED_NETWORK = 0x02
    LEAVING_NETWORK = 0x04


__all__ = [
    "BY_ID",
    "BY_NAME",
    "COMMANDS",
    "V12_CHANGES",
    "Command",
    "EmberStatus",
    "EzspStatus",
    "NetworkStatus",
    "SlStatus",
    "commands_of",
    "row",
]
