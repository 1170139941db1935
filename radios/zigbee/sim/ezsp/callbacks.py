"""Network events as EmberZNet reports them to its host: EZSP callbacks (UG100 3.3, 3.5, 3.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never

from radios.zigbee.sim.commands import AddrMode, Status
from radios.zigbee.sim.events import (
    ApsIncoming,
    DeviceAnnounced,
    DeviceJoined,
    DeviceLeft,
    NetworkEvent,
    PermitJoinChanged,
    SendConfirmed,
)
from radios.zigbee.sim.ezsp import security
from radios.zigbee.sim.ezsp.commands import EmberStatus
from radios.zigbee.sim.ezsp.layouts import Value

if TYPE_CHECKING:
    from radios.zigbee.sim.ezsp.ncp import Ncp


class IncomingType:
    """EmberIncomingMessageType."""

    UNICAST = 0x00
    MULTICAST = 0x02
    BROADCAST = 0x04


class OutgoingType:
    """EmberOutgoingMessageType."""

    DIRECT = 0x00
    MULTICAST = 0x03
    BROADCAST = 0x06


class NodeType:
    """EmberNodeType."""

    COORDINATOR = 0x01
    ROUTER = 0x02
    END_DEVICE = 0x03


UNSECURED_JOIN, DEVICE_LEFT = 0x01, 0x02  # EmberDeviceUpdate
USE_PRECONFIGURED_KEY, NO_ACTION = 0x00, 0x03  # EmberJoinDecision
APS_OPTION_RETRY, APS_OPTION_ENABLE_ROUTE_DISCOVERY = 0x0040, 0x0100
TC_KEY_REQUEST_POLICY, GENERATE_NEW_KEY = 0x05, 0x52  # EzspPolicyId, EzspDecisionId

Callback = tuple[str, tuple[Value, ...]]


def for_event(ncp: Ncp, event: NetworkEvent) -> list[Callback]:
    """The callbacks EmberZNet sends its host for one over-the-air event."""
    match event:
        case ApsIncoming():
            return _incoming(ncp, event)
        case DeviceJoined():
            node_type = NodeType.ROUTER if event.is_router else NodeType.END_DEVICE
            out: list[Callback] = []
            if not event.is_router:
                index = _remember_child(ncp, event.ieee, event.nwk, node_type)
                out.append(("childJoinHandler", (index, 1, event.nwk, event.ieee, node_type)))
            if ncp.ram.policies.get(TC_KEY_REQUEST_POLICY) == GENERATE_NEW_KEY:
                # The device's Zigbee 3.0 key request after joining gets a fresh random key,
                # kept in the key table; with SEND_CURRENT_KEY (bellows' default) and the
                # hashed trust-centre key it is derived instead and nothing is stored
                key = bytes(ncp.rng.getrandbits(8) for _ in range(16))
                security.store_link_key(ncp, event.ieee, key)
            decision = USE_PRECONFIGURED_KEY
            join = (event.nwk, event.ieee, UNSECURED_JOIN, decision, event.parent_nwk)
            out.append(("trustCenterJoinHandler", join))
            return out
        case DeviceLeft():
            ncp.tokens.children.pop(event.ieee, None)
            left = (event.nwk, event.ieee, DEVICE_LEFT, NO_ACTION, 0xFFFF)
            return [("trustCenterJoinHandler", left)]
        case DeviceAnnounced() | PermitJoinChanged():
            return []  # the announce reaches the host as a ZDO frame; permit has no callback
        case SendConfirmed():
            return _sent(ncp, event)
        case _:
            assert_never(event)


def _remember_child(ncp: Ncp, ieee: int, nwk: int, node_type: int) -> int:
    ncp.tokens.children[ieee] = (nwk, node_type)
    ncp.tokens.child_flags.pop(ieee, None)  # joined over the air: a whole entry
    return list(ncp.tokens.children).index(ieee)


def _incoming(ncp: Ncp, event: ApsIncoming) -> list[Callback]:
    if event.group_id is not None:
        kind = IncomingType.MULTICAST
    elif event.is_broadcast:
        kind = IncomingType.BROADCAST
    else:
        kind = IncomingType.UNICAST
    aps = (
        event.profile_id, event.cluster_id, event.src_endpoint, event.dst_endpoint,
        APS_OPTION_ENABLE_ROUTE_DISCOVERY, event.group_id or 0, ncp.next_aps_sequence(),
    )  # fmt: skip
    out: list[Callback] = []
    if ncp.ram.is_concentrator and event.src_nwk not in ncp.ram.source_routes:
        # A concentrator learns each device's path from its route record (no relays: one hop)
        ncp.ram.source_routes[event.src_nwk] = ()
        if event.src_ieee is not None and event.src_nwk != 0x0000:
            record = (event.src_nwk, event.src_ieee, event.lqi, event.rssi_dbm, ())
            out.append(("incomingRouteRecordHandler", record))
    message = (kind, aps, event.lqi, event.rssi_dbm, event.src_nwk, 0xFF, 0xFF, event.payload)
    out.append(("incomingMessageHandler", message))
    return out


def _sent(ncp: Ncp, event: SendConfirmed) -> list[Callback]:
    request = event.request
    if request.addr_mode == AddrMode.GROUP:
        kind, destination = OutgoingType.MULTICAST, request.address
    elif request.addr_mode == AddrMode.BROADCAST:
        kind, destination = OutgoingType.BROADCAST, request.address
    else:
        kind, destination = OutgoingType.DIRECT, request.address
    status = EmberStatus.SUCCESS if event.status == Status.SUCCESS else EmberStatus.DELIVERY_FAILED
    aps = (
        request.profile_id, request.cluster_id, request.src_endpoint, request.dst_endpoint,
        APS_OPTION_RETRY | APS_OPTION_ENABLE_ROUTE_DISCOVERY, 0, request.tsn,
    )  # fmt: skip
    if request.addr_mode == AddrMode.GROUP:
        aps = (*aps[:5], request.address, aps[6])
    return [("messageSentHandler", (kind, destination & 0xFFFF, aps, request.tag, status, b""))]


__all__ = ["for_event"]
