"""What the simulated NCP does for each EZSP command (UG100 section 3), by command name: the
configuration, utility, networking and messaging frames (security frames: security.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from radios.zigbee.sim.commands import AddrMode, Status
from radios.zigbee.sim.events import SendConfirmed
from radios.zigbee.sim.ezsp.commands import EmberStatus, EzspStatus, NetworkStatus
from radios.zigbee.sim.ezsp.layouts import Value, as_bytes, as_int, as_tuple
from radios.zigbee.sim.ezsp.registry import HANDLERS, Args, handles
from radios.zigbee.sim.ezsp.state import BLANK_EUI64, StoredNetwork
from radios.zigbee.sim.network import ZDO_ENDPOINT, DataRequest
from radios.zigbee.sim.zdo import SimpleDescriptor

if TYPE_CHECKING:
    from radios.zigbee.sim.ezsp.ncp import Ncp


NETWORK_UP, NETWORK_DOWN = 0x90, 0x91  # stackStatusHandler
COORDINATOR = 0x01
HAVE_NETWORK_KEY = 0x0200  # EmberInitialSecurityBitmask
MFG_STRING, MFG_BOARD_NAME, MFG_MANUF_ID, MFG_CUSTOM_EUI_64 = 0x01, 0x02, 0x03, 0x0C
VALUE_FREE_BUFFERS, VALUE_VERSION_INFO = 0x03, 0x11
NV3_RESTORED_EUI64 = 0xE12A  # NVM3 key CREATOR_STACK_RESTORED_EUI64
VALUE_NWK_FRAME_COUNTER, VALUE_APS_FRAME_COUNTER = 0x23, 0x24
CONFIG_DEFAULTS = {
    0x01: 75, 0x02: 16, 0x03: 10, 0x04: 2, 0x05: 8, 0x06: 8, 0x07: 16, 0x0C: 2, 0x0D: 5,
    0x10: 30, 0x11: 6, 0x12: 7680, 0x13: 8, 0x19: 2, 0x1A: 16, 0x1B: 8, 0x1E: 4, 0x22: 2,
    0x2A: 0, 0x2D: 1, 0x36: 300, 0x38: 90,
}  # fmt: skip
COUNTER_COUNT = 41  # EMBER_COUNTER_TYPE_COUNT in EmberZNet 7.4


def _zero_network() -> tuple[Value, ...]:
    return (0, 0, 0, 0, 0, 0, 0, 0)


# --- configuration -------------------------------------------------------------------------


@handles("version")
def _version(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    major, minor, patch, special = ncp.config.stack_version
    return (ncp.config.protocol_version, 2, major << 12 | minor << 8 | patch << 4 | special)


@handles("getConfigurationValue")
def _get_config(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    config_id = as_int(args[0])
    if config_id in ncp.ram.config:
        return (EzspStatus.SUCCESS, ncp.ram.config[config_id])
    if config_id in CONFIG_DEFAULTS:
        return (EzspStatus.SUCCESS, CONFIG_DEFAULTS[config_id])
    return (EzspStatus.ERROR_INVALID_ID, 0)


@handles("setConfigurationValue")
def _set_config(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    # UG100 3.1: configuration is fixed once the stack runs (networkInit or formNetwork)
    if ncp.ram.is_network_up:
        return (EzspStatus.ERROR_INVALID_CALL,)
    config_id = as_int(args[0])
    if config_id not in CONFIG_DEFAULTS:
        return (EzspStatus.ERROR_INVALID_ID,)
    ncp.ram.config[config_id] = as_int(args[1])
    return (EzspStatus.SUCCESS,)


@handles("addEndpoint")
def _add_endpoint(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    endpoint, profile, device_id, version, n_in, n_out = (as_int(a) for a in args[:6])
    lists = as_bytes(args[6])
    if len(lists) != 2 * (n_in + n_out):
        return (EzspStatus.ERROR_INVALID_VALUE,)
    clusters = [int.from_bytes(lists[i : i + 2], "little") for i in range(0, len(lists), 2)]
    if endpoint in ncp.network.endpoints:
        return (EzspStatus.ERROR_INVALID_CALL,)
    ncp.network.endpoints[endpoint] = SimpleDescriptor(
        endpoint, profile, device_id, tuple(clusters[:n_in]), tuple(clusters[n_in:]), version
    )
    return (EzspStatus.SUCCESS,)


@handles("setPolicy")
def _set_policy(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    ncp.ram.policies[as_int(args[0])] = as_int(args[1])
    return (EzspStatus.SUCCESS,)


@handles("getPolicy")
def _get_policy(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (EzspStatus.SUCCESS, ncp.ram.policies.get(as_int(args[0]), 0))


@handles("getValue")
def _get_value(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    value_id = as_int(args[0])
    if value_id == VALUE_VERSION_INFO:
        major, minor, patch, special = ncp.config.stack_version
        body = ncp.config.build.to_bytes(2, "little") + bytes((major, minor, patch, special, 170))
        return (EzspStatus.SUCCESS, body)
    if value_id == VALUE_FREE_BUFFERS:
        return (EzspStatus.SUCCESS, bytes((200,)))
    if value_id == VALUE_NWK_FRAME_COUNTER:
        return (EzspStatus.SUCCESS, ncp.tokens.nwk_frame_counter.to_bytes(4, "little"))
    if value_id == VALUE_APS_FRAME_COUNTER:
        return (EzspStatus.SUCCESS, ncp.tokens.aps_frame_counter.to_bytes(4, "little"))
    if value_id in ncp.ram.values:
        return (EzspStatus.SUCCESS, ncp.ram.values[value_id])
    return (EzspStatus.ERROR_INVALID_ID, b"")


@handles("setValue")
def _set_value(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    value_id, data = as_int(args[0]), as_bytes(args[1])
    if value_id == VALUE_NWK_FRAME_COUNTER and len(data) == 4:
        ncp.tokens.nwk_frame_counter = int.from_bytes(data, "little")
    elif value_id == VALUE_APS_FRAME_COUNTER and len(data) == 4:
        ncp.tokens.aps_frame_counter = int.from_bytes(data, "little")
    elif value_id == VALUE_VERSION_INFO:
        return (EzspStatus.ERROR_INVALID_CALL,)
    else:
        ncp.ram.values[value_id] = data
    return (EzspStatus.SUCCESS,)


# --- utilities -----------------------------------------------------------------------------


@handles("nop")
def _nop(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return ()


@handles("customFrame")
def _custom_frame(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    # Stock NCP firmware has no custom-frame (XNCP) handler
    return (EmberStatus.INVALID_CALL, b"")


@handles("getMfgToken")
def _get_mfg_token(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    token = as_int(args[0])
    if token == MFG_CUSTOM_EUI_64:
        return (ncp.tokens.custom_eui64,)
    if token == MFG_BOARD_NAME:
        return (ncp.config.board_name.encode()[:16].ljust(16, b"\xff"),)
    if token == MFG_STRING:
        return (b"hubd".ljust(16, b"\xff"),)
    if token == MFG_MANUF_ID:
        return ((0x1002).to_bytes(2, "little"),)
    return (b"\xff" * 2,)


@handles("setMfgToken")
def _set_mfg_token(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    token, data = as_int(args[0]), as_bytes(args[1])
    # Manufacturing tokens are write-once: only a blank custom EUI64 can be burnt
    if token != MFG_CUSTOM_EUI_64 or len(data) != 8 or ncp.tokens.custom_eui64 != BLANK_EUI64:
        return (EmberStatus.INVALID_CALL,)
    ncp.tokens.custom_eui64 = data
    return (EmberStatus.SUCCESS,)


@handles("getEui64")
def _get_eui64(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (ncp.eui64,)


@handles("getNodeId")
def _get_node_id(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    stored = ncp.tokens.network
    return (stored.node_id if stored is not None and ncp.ram.is_network_up else 0xFFFE,)


@handles("setManufacturerCode")
def _set_manufacturer_code(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    ncp.ram.manufacturer_code = as_int(args[0])
    return ()


@handles("setRadioPower")
def _set_radio_power(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    ncp.ram.radio_power_dbm = as_int(args[0])
    if ncp.tokens.network is not None:
        ncp.tokens.network.tx_power = ncp.ram.radio_power_dbm
    return (EmberStatus.SUCCESS,)


@handles("readCounters")
@handles("readAndClearCounters")
def _counters(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return ((0,) * COUNTER_COUNT,)


@handles("getTokenInfo")
def _get_token_info(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (EmberStatus.INDEX_OUT_OF_RANGE, 0, 0, 0, 0, 0)


@handles("getTokenData")
def _get_token_data(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    # Of the NV3 tokens, the host reads only the restored EUI64 (a rewritable custom EUI64)
    if (as_int(args[0]), as_int(args[1])) == (NV3_RESTORED_EUI64, 0):
        return (EmberStatus.SUCCESS, ncp.tokens.restored_eui64)
    return (EmberStatus.NOT_FOUND, b"")


@handles("setTokenData")
def _set_token_data(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    data = as_bytes(args[2])
    if (as_int(args[0]), as_int(args[1])) == (NV3_RESTORED_EUI64, 0) and len(data) == 8:
        ncp.tokens.restored_eui64 = data  # used from the next boot on
        return (EmberStatus.SUCCESS,)
    return (EmberStatus.NOT_FOUND,)


@handles("tokenFactoryReset")
def _token_factory_reset(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    ncp.tokens.factory_reset()
    return ()


@handles("gpSinkTableClearAll")
def _gp_sink_table_clear_all(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return ()


# --- networking ----------------------------------------------------------------------------


@handles("networkInit")
def _network_init(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    if ncp.tokens.network is None:
        return (EmberStatus.NOT_JOINED,)
    if ncp.ram.is_network_up:
        return (EmberStatus.INVALID_CALL,)
    ncp.start_network()
    ncp.callback("stackStatusHandler", (NETWORK_UP,))
    return (EmberStatus.SUCCESS,)


@handles("networkState")
def _network_state(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    is_up = ncp.ram.is_network_up
    return (NetworkStatus.JOINED_NETWORK if is_up else NetworkStatus.NO_NETWORK,)


@handles("formNetwork")
def _form_network(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    if ncp.ram.is_network_up:
        return (EmberStatus.INVALID_CALL,)
    ext_pan, pan, power, channel, _, manager, update_id, channels = (
        as_int(v) for v in as_tuple(args[0])
    )
    if not 11 <= channel <= 26:
        return (EmberStatus.BAD_ARGUMENT,)
    security = ncp.ram.initial_security
    if security is not None and security[0] & HAVE_NETWORK_KEY:
        key, seq = security[2], security[3]
    else:
        key, seq = bytes(ncp.rng.getrandbits(8) for _ in range(16)), 0
    ncp.tokens.network_key, ncp.tokens.network_key_seq = key, seq
    if security is not None:
        ncp.tokens.security_bitmask = security[0]
    ncp.tokens.network = StoredNetwork(
        pan, ext_pan or ncp.eui64, channel, power, channels or (1 << channel), manager, update_id
    )
    ncp.start_network()
    ncp.callback("stackStatusHandler", (NETWORK_UP,))
    return (EmberStatus.SUCCESS,)


@handles("leaveNetwork")
def _leave_network(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    if not ncp.ram.is_network_up:
        return (EmberStatus.INVALID_CALL,)
    ncp.ram.is_network_up = False
    ncp.network.identity = None
    ncp.tokens.network = None
    ncp.tokens.children.clear()
    ncp.callback("stackStatusHandler", (NETWORK_DOWN,))
    return (EmberStatus.SUCCESS,)


@handles("permitJoining")
def _permit_joining(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    if not ncp.ram.is_network_up:
        return (EmberStatus.NETWORK_DOWN,)
    ncp.network.permit_join(as_int(args[0]))
    return (EmberStatus.SUCCESS,)


@handles("getNetworkParameters")
def _get_network_parameters(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    stored = ncp.tokens.network
    if stored is None or not ncp.ram.is_network_up:
        return (EmberStatus.NOT_JOINED, 0, _zero_network())
    params = (
        stored.extended_pan_id, stored.pan_id, stored.tx_power, stored.channel, 0,
        stored.nwk_manager_id, stored.nwk_update_id, stored.channels,
    )  # fmt: skip
    return (EmberStatus.SUCCESS, COORDINATOR, params)


@handles("getRadioParameters")
def _get_radio_parameters(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    stored = ncp.tokens.network
    if as_int(args[0]) != 0:
        return (EmberStatus.INDEX_OUT_OF_RANGE, (0, 0, 0))
    channel = stored.channel if stored is not None else 11
    return (EmberStatus.SUCCESS, (ncp.ram.radio_power_dbm, 0, channel))


@handles("getChildData")
def _get_child_data(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    index = as_int(args[0])
    children = list(ncp.tokens.children.items())
    if index >= len(children):
        return (EmberStatus.NOT_JOINED, (0, 0, 0, 0, 0, 0, 0))
    ieee, (nwk, node_type) = children[index]
    return (EmberStatus.SUCCESS, (ieee, node_type, nwk, 0, 0, 3, 0))


@handles("setChildData")
def _set_child_data(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    ieee, node_type, nwk = (as_int(v) for v in as_tuple(args[1])[:3])
    ncp.tokens.children[ieee] = (nwk, node_type)
    return (EmberStatus.SUCCESS,)


@handles("neighborCount")
def _neighbor_count(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (0,)


@handles("setConcentrator")
def _set_concentrator(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    ncp.ram.is_concentrator = bool(as_int(args[0]))
    return (EmberStatus.SUCCESS,)


@handles("setSourceRouteDiscoveryMode")
def _set_source_route_discovery_mode(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (0,)


@handles("setSourceRoute")
def _set_source_route(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    relays = tuple(as_int(r) for r in as_tuple(args[1]))
    ncp.ram.source_routes[as_int(args[0])] = relays
    return (EmberStatus.SUCCESS,)


@handles("removeDevice")
def _remove_device(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    ncp.tokens.children.pop(as_int(args[2]), None)
    return (EmberStatus.SUCCESS,)


@handles("lookupNodeIdByEui64")
def _lookup_node_id(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    device = ncp.network.devices.get(as_int(args[0]))
    return (device.nwk if device is not None and ncp.network.is_reachable(device) else 0xFFFF,)


@handles("lookupEui64ByNodeId")
def _lookup_eui64(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    device = ncp.network.by_nwk(as_int(args[0]))
    return (EmberStatus.SUCCESS, device.ieee) if device else (EmberStatus.ERR_FATAL, 0)


@handles("setMulticastTableEntry")
def _set_multicast(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    index = as_int(args[0])
    if index >= ncp.ram.config.get(0x06, CONFIG_DEFAULTS[0x06]):
        return (EmberStatus.INDEX_OUT_OF_RANGE,)
    group, endpoint, network_index = (as_int(v) for v in as_tuple(args[1]))
    ncp.ram.multicast_table[index] = (group, endpoint, network_index)
    return (EmberStatus.SUCCESS,)


@handles("getMulticastTableEntry")
def _get_multicast(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    index = as_int(args[0])
    if index >= ncp.ram.config.get(0x06, CONFIG_DEFAULTS[0x06]):
        return (EmberStatus.INDEX_OUT_OF_RANGE, (0, 0, 0))
    return (EmberStatus.SUCCESS, ncp.ram.multicast_table.get(index, (0, 0, 0)))


# --- messaging -----------------------------------------------------------------------------


def _send(ncp: Ncp, mode: int, address: int, aps: tuple[Value, ...], tag: int,
          message: bytes) -> tuple[Value, ...]:  # fmt: skip
    if not ncp.ram.is_network_up:
        return (EmberStatus.NETWORK_DOWN, 0)
    profile, cluster, src_ep, dst_ep, _, _, _ = (as_int(v) for v in aps)
    sequence = ncp.next_aps_sequence()
    network = ncp.network
    network.confirm_delay_s = ncp.faults.confirm_delay_s
    network.is_dropping_confirms = ncp.faults.is_dropping_confirms
    # The NCP keeps ZDO's own transaction number: the payload starts with it (2.4.2.8)
    request = DataRequest(mode, address, dst_ep, src_ep, cluster, sequence, message, profile, tag)
    network.send(request)
    if dst_ep == ZDO_ENDPOINT and mode != AddrMode.GROUP:
        # The shared network confirms only AF frames (Z-Stack sends ZDO by its own MT
        # requests); EmberZNet confirms every APS frame with messageSentHandler.
        is_delivered = (
            mode == AddrMode.BROADCAST
            or address == 0x0000
            or network.by_nwk(address) is not None
        )
        status = Status.SUCCESS if is_delivered else Status.NWK_NO_ROUTE
        if not ncp.faults.is_dropping_confirms:
            ncp.report(SendConfirmed(request, status), ncp.faults.confirm_delay_s)
    return (EmberStatus.SUCCESS, sequence)


@handles("sendUnicast")
def _send_unicast(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    aps = as_tuple(args[2])
    return _send(ncp, AddrMode.NWK, as_int(args[1]), aps, as_int(args[3]), as_bytes(args[4]))


@handles("sendBroadcast")
def _send_broadcast(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    aps = as_tuple(args[1])
    tag = as_int(args[3])
    return _send(ncp, AddrMode.BROADCAST, as_int(args[0]), aps, tag, as_bytes(args[4]))


@handles("sendMulticast")
def _send_multicast(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    aps = as_tuple(args[0])
    group = as_int(aps[5])
    return _send(ncp, AddrMode.GROUP, group, aps, as_int(args[3]), as_bytes(args[4]))


@handles("setExtendedTimeout")
def _set_extended_timeout(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    eui64 = as_int(args[0])
    if as_int(args[1]):
        ncp.ram.extended_timeouts.add(eui64)
    else:
        ncp.ram.extended_timeouts.discard(eui64)
    return ()


@handles("getExtendedTimeout")
def _get_extended_timeout(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (int(as_int(args[0]) in ncp.ram.extended_timeouts),)


@handles("getAddressTableRemoteNodeId")
def _get_address_table_node(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (0xFFFF,)


@handles("replaceAddressTableEntry")
def _replace_address_table_entry(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (EmberStatus.SUCCESS, int.from_bytes(BLANK_EUI64, "little"), 0xFFFF, 0)


@handles("getStandaloneBootloaderVersionPlatMicroPhy")
def _bootloader_version(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (0xFFFF, 4, 3, 0)  # no standalone bootloader (a Gecko bootloader), EFR32


@handles("startScan")
def _start_scan(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    scan_type, channels = as_int(args[0]), as_int(args[1])
    if scan_type not in (0, 1):
        return (EmberStatus.BAD_ARGUMENT,)
    if scan_type == 0:  # EZSP_ENERGY_SCAN: one reading per channel, noisy like real air
        for channel in range(11, 27):
            if channels & (1 << channel):
                rssi = -90 + int(ncp.rng.expovariate(1 / 6))
                ncp.callback("energyScanResultHandler", (channel, min(rssi, -20)))
    ncp.callback("scanCompleteHandler", (0, EmberStatus.SUCCESS))
    return (EmberStatus.SUCCESS,)


@handles("getNeighbor")
def _get_neighbor(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (EmberStatus.ERR_FATAL, 0xFFFF, 0, 0, 0, 0, 0)


@handles("sendReply")
def _send_reply(ncp: Ncp, args: Args) -> tuple[Value, ...]:
    return (EmberStatus.INVALID_CALL,)


__all__ = ["CONFIG_DEFAULTS", "HANDLERS"]
