"""EZSP v14 (EmberZNet 8.0, Simplicity SDK) and the later versions built on it: what changed on
the wire since v13, as data and small adapters around the v13 handlers.

What v14 changed (UG100 for EmberZNet 8.x): every EmberStatus and EzspStatus became an
sl_status_t (4 bytes, other values: ``SL_STATUS``); statuses moved to the front of the
responses that had them elsewhere (messageSentHandler, the security manager's exports, token
data); the message tag grew to 16 bits; incomingMessageHandler carries the sender's NWK and
EUI64 and a timestamp in new places; sendBroadcast and sendMulticast take an alias and NWK
sequence; leaveNetwork takes options; lookupNodeIdByEui64, getExtendedTimeout,
setExtendedTimeout and setManufacturerCode answer a status; the address table is read with
getAddressTableInfo. v16 changed only the radio scheduler priorities (not simulated) and v17
added gpClearProxyTable, which hosts call after clearing the sink table.

The handlers keep their v13 shapes; ``adapt_params``, ``adapt_response`` and
``adapt_callback`` translate at the edge, so each handler is written once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from radios.zigbee.sim.ezsp.commands import Command, EmberStatus, EzspStatus, SlStatus, row
from radios.zigbee.sim.ezsp.layouts import Value, as_bytes, as_int, as_tuple

if TYPE_CHECKING:
    from radios.zigbee.sim.ezsp.ncp import Ncp

KEY_APP_LINK = 0x04  # sl_zb_sec_man_key_type_t of a device's unique link key
TAG16 = "u16"

# Commands whose first response field (the status) only widened from 1 to 4 bytes.
WIDENED = frozenset({
    "getConfigurationValue", "setConfigurationValue", "addEndpoint", "setPolicy", "getPolicy",
    "getValue", "setValue", "getExtendedValue", "customFrame", "setMfgToken", "setRadioPower",
    "getTokenInfo", "setTokenData", "invalidCommand", "networkInit", "stackStatusHandler",
    "startScan", "formNetwork", "leaveNetwork", "permitJoining", "getNetworkParameters",
    "getRadioParameters", "getChildData", "setChildData", "getNeighbor", "setConcentrator",
    "removeDevice", "lookupEui64ByNodeId", "setMulticastTableEntry", "getMulticastTableEntry",
    "sendUnicast", "sendBroadcast", "sendMulticast", "sendReply", "setSourceRoute",
    "replaceAddressTableEntry", "setInitialSecurityState", "getCurrentSecurityState",
    "clearKeyTable", "eraseKeyTableEntry", "broadcastNextNetworkKey",
    "broadcastNetworkKeySwitch",
})  # fmt: skip


CHANGED: tuple[Command, ...] = (
    row(0x0020, "leaveNetwork", "u8", "u32"),
    row(0x0015, "setManufacturerCode", "u16", "u32"),
    row(0x001C, "scanCompleteHandler", "", "u8 u32", is_callback=True),
    row(0x0060, "lookupNodeIdByEui64", "eui64", "u32 u16"),
    row(0x007E, "setExtendedTimeout", "eui64 bool", "u32"),
    row(0x007F, "getExtendedTimeout", "eui64", "u32"),
    row(0x005E, "getAddressTableInfo", "u8", "u32 u16 eui64"),
    row(0x0102, "getTokenData", "u32 u32", "u32 rest"),
    row(0x0034, "sendUnicast", "u8 u16 ApsFrame u16 lv", "u32 u8"),
    row(0x0036, "sendBroadcast", "u16 u16 u8 ApsFrame u8 u16 lv", "u32 u8"),
    row(0x0038, "sendMulticast", "ApsFrame u8 u16 u16 u8 u16 lv", "u32 u8"),
    row(0x003F, "messageSentHandler", "", "u32 u8 u16 ApsFrame u16 lv", is_callback=True),
    row(0x0045, "incomingMessageHandler", "", "u8 ApsFrame u16 eui64 u8 u8 u8 i8 u32 lv",
        is_callback=True),
    row(0x0114, "exportKey", "SecurityContext", "u32 key SecurityContext"),
    row(0x0115, "importKey", "SecurityContext key", "u32 SecurityContext"),
    row(0x010F, "exportLinkKeyByIndex", "u8", "u32 SecurityContext key ApsKeyMetadata"),
    row(0x0113, "exportTransientKeyByEui", "eui64", "u32 SecurityContext key ApsKeyMetadata"),
)
REMOVED = frozenset({"getAddressTableRemoteNodeId", "incomingSenderEui64Handler"})
V17_ADDED = (row(0x005F, "gpClearProxyTable", "", ""),)


def commands_of(table: dict[str, Command], version: int) -> dict[str, Command]:
    """The v13 table (by name) as an NCP speaking v14 or later knows it."""
    out = {name: c for name, c in table.items() if name not in REMOVED}
    for name in WIDENED:
        command = out[name]
        assert command.response[0] == "u8", name
        out[name] = Command(command.frame_id, name, command.params,
                            ("u32", *command.response[1:]), command.is_callback)
    out.update({c.name: c for c in CHANGED})
    if version >= 17:
        out.update({c.name: c for c in V17_ADDED})
    return out


_EZSP_TO_SL = {
    EzspStatus.SUCCESS: SlStatus.OK,
    EzspStatus.ERROR_INVALID_ID: SlStatus.INVALID_PARAMETER,
    EzspStatus.ERROR_INVALID_VALUE: SlStatus.INVALID_PARAMETER,
    EzspStatus.ERROR_INVALID_CALL: SlStatus.INVALID_PARAMETER,
}
_EMBER_TO_SL = {
    EmberStatus.SUCCESS: SlStatus.OK,
    EmberStatus.ERR_FATAL: SlStatus.FAIL,
    EmberStatus.BAD_ARGUMENT: SlStatus.INVALID_PARAMETER,
    EmberStatus.NOT_FOUND: SlStatus.NOT_FOUND,
    EmberStatus.NO_BUFFERS: SlStatus.ALLOCATION_FAILED,
    EmberStatus.MAC_NO_ACK_RECEIVED: SlStatus.MAC_NO_ACK_RECEIVED,
    EmberStatus.DELIVERY_FAILED: SlStatus.ZIGBEE_DELIVERY_FAILED,
    EmberStatus.INVALID_CALL: SlStatus.INVALID_STATE,
    EmberStatus.NETWORK_UP: SlStatus.NETWORK_UP,
    EmberStatus.NETWORK_DOWN: SlStatus.NETWORK_DOWN,
    EmberStatus.NOT_JOINED: SlStatus.NOT_JOINED,
    EmberStatus.NETWORK_BUSY: SlStatus.BUSY,
    EmberStatus.INDEX_OUT_OF_RANGE: SlStatus.INVALID_INDEX,
    EmberStatus.TABLE_FULL: SlStatus.FULL,
}


def to_sl(status: Value) -> int:
    """The sl_status_t for an EmberStatus or EzspStatus (a plain integer is an EmberStatus)."""
    if isinstance(status, SlStatus):
        return status
    if isinstance(status, EzspStatus):
        return _EZSP_TO_SL.get(status, SlStatus.ZIGBEE_EZSP_ERROR)
    return _EMBER_TO_SL.get(EmberStatus(as_int(status)), SlStatus.FAIL)


def invalid_command(status: EzspStatus) -> int:
    """What v14 invalidCommand carries for a frame-level EzspStatus."""
    return _EZSP_TO_SL.get(status, SlStatus.ZIGBEE_EZSP_ERROR)


# --- host to NCP: v14 parameters in the v13 handlers' order -------------------------------


def _broadcast(args: list[Value]) -> list[Value]:
    _alias, destination, _seq, aps, radius, tag, message = args
    return [destination, aps, radius, tag, message]


def _multicast(args: list[Value]) -> list[Value]:
    aps, hops, _broadcast_addr, _alias, _seq, tag, message = args
    return [aps, hops, 0, tag, message]


_PARAMS: dict[str, Callable[[list[Value]], list[Value]]] = {
    "sendBroadcast": _broadcast,
    "sendMulticast": _multicast,
    "leaveNetwork": lambda args: [],
}


def adapt_params(name: str, args: list[Value]) -> list[Value]:
    """v14 parameters as the (v13-shaped) handler takes them."""
    adapt = _PARAMS.get(name)
    return adapt(args) if adapt is not None else args


# --- NCP to host: the handlers' v13 answers in v14 shapes ---------------------------------

Response = tuple[Value, ...]


def _token_data(ncp: Ncp, args: list[Value], r: Response) -> Response:
    status, data = to_sl(r[0]), as_bytes(r[1])
    # the value follows only a successful read
    return (status, len(data).to_bytes(4, "little") + data if status == SlStatus.OK else b"")


def _link_key(ncp: Ncp, args: list[Value], r: Response) -> Response:
    eui64, key, metadata, status = r
    context = (KEY_APP_LINK, as_int(args[0]), 0, eui64, 0, 0, 0)
    return (status, context, key, metadata)


_RESPONSES: dict[str, Callable[[Ncp, list[Value], Response], Response]] = {
    "lookupNodeIdByEui64": lambda n, a, r: (
        SlStatus.OK if r[0] != 0xFFFF else SlStatus.NOT_FOUND, r[0]),
    "getExtendedTimeout": lambda n, a, r: (SlStatus.OK if r[0] else SlStatus.FAIL,),
    "setExtendedTimeout": lambda n, a, r: (SlStatus.OK,),
    "setManufacturerCode": lambda n, a, r: (SlStatus.OK,),
    "getTokenData": _token_data,
    "exportKey": lambda n, a, r: (r[1], r[0], as_tuple(a[0])),
    "importKey": lambda n, a, r: (r[0], as_tuple(a[0])),
    "exportLinkKeyByIndex": _link_key,
    "exportTransientKeyByEui": lambda n, a, r: (r[3], r[0], r[1], r[2]),
}


def adapt_response(ncp: Ncp, name: str, args: list[Value], response: Response) -> Response:
    """A handler's v13-shaped answer as a v14 NCP sends it."""
    adapt = _RESPONSES.get(name)
    if adapt is not None:
        return adapt(ncp, args, response)
    if name in WIDENED:
        return (to_sl(response[0]), *response[1:])
    return response


def adapt_callback(ncp: Ncp, name: str, values: Response) -> Response:
    """A callback's v13-shaped values as a v14 NCP sends them."""
    if name in WIDENED:
        return (to_sl(values[0]), *values[1:])
    if name == "scanCompleteHandler":
        return (values[0], to_sl(values[1]))
    if name == "messageSentHandler":
        kind, destination, aps, tag, status, message = values
        return (to_sl(status), kind, destination, aps, tag, message)
    if name == "incomingMessageHandler":
        kind, aps, lqi, rssi, nwk, binding, address, message = values
        device = ncp.network.by_nwk(as_int(nwk))
        eui64 = device.ieee if device is not None else 0
        timestamp = int(ncp.now() * 1000) & 0xFFFFFFFF
        return (kind, aps, nwk, eui64, binding, address, lqi, rssi, timestamp, message)
    return values


__all__ = [
    "CHANGED",
    "WIDENED",
    "adapt_callback",
    "adapt_params",
    "adapt_response",
    "commands_of",
    "invalid_command",
    "to_sl",
]
