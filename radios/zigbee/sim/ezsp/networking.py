"""What the simulated NCP does for the networking frames (UG100 section 3.3): network init,
form, leave, permit joining, parameters, the child table, routes, scans."""

from __future__ import annotations

from typing import TYPE_CHECKING

from radios.zigbee.sim.ezsp.commands import EmberStatus, NetworkStatus
from radios.zigbee.sim.ezsp.handlers import CONFIG_DEFAULTS
from radios.zigbee.sim.ezsp.layouts import Value, as_int, as_tuple
from radios.zigbee.sim.ezsp.registry import Args, handles
from radios.zigbee.sim.ezsp.state import StoredNetwork

if TYPE_CHECKING:
    from radios.zigbee.sim.ezsp.ncp import Ncp


NETWORK_UP, NETWORK_DOWN = 0x90, 0x91  # stackStatusHandler
COORDINATOR = 0x01
HAVE_NETWORK_KEY = 0x0200  # EmberInitialSecurityBitmask


def _zero_network() -> tuple[Value, ...]:
    return (0, 0, 0, 0, 0, 0, 0, 0)


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
    ncp.tokens.child_flags.clear()
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
    # EmberZNet leaves the restored entry's NVM3 flags clear; hosts set them through the
    # child table token (getTokenData / setTokenData NV3_CHILD_TABLE)
    ncp.tokens.child_flags[ieee] = 0x00
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


__all__ = []  # the handlers register themselves
