"""ZDO requests answered by simulated nodes (coordinator and devices): Zigbee spec 2.4.3/2.4.4.

A node is described by a ZdoNode; ``answer`` turns one request (cluster id + payload, without
the leading transaction sequence number) into the response cluster and payload.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

from radios.zigbee.sim.wire import PayloadError, Reader, ieee_bytes, u8, u16, u32


class ZdoCluster(IntEnum):
    """ZDO request cluster ids (Zigbee spec 2.4.3); responses are the id | 0x8000."""

    NWK_ADDR_REQ = 0x0000
    IEEE_ADDR_REQ = 0x0001
    NODE_DESC_REQ = 0x0002
    POWER_DESC_REQ = 0x0003
    SIMPLE_DESC_REQ = 0x0004
    ACTIVE_EP_REQ = 0x0005
    MATCH_DESC_REQ = 0x0006
    DEVICE_ANNCE = 0x0013
    BIND_REQ = 0x0021
    UNBIND_REQ = 0x0022
    MGMT_LQI_REQ = 0x0031
    MGMT_RTG_REQ = 0x0032
    MGMT_BIND_REQ = 0x0033
    MGMT_LEAVE_REQ = 0x0034
    MGMT_PERMIT_JOINING_REQ = 0x0036
    MGMT_NWK_UPDATE_REQ = 0x0038


class ZdoStatus(IntEnum):
    """ZDO status codes (Zigbee spec 2.4.5)."""

    SUCCESS = 0x00
    INV_REQUESTTYPE = 0x80
    DEVICE_NOT_FOUND = 0x81
    INVALID_EP = 0x82
    NOT_ACTIVE = 0x83
    NOT_SUPPORTED = 0x84
    NO_ENTRY = 0x88


class LogicalType(IntEnum):
    """The logical type in a node descriptor."""

    COORDINATOR = 0
    ROUTER = 1
    END_DEVICE = 2


@dataclass(frozen=True, slots=True)
class SimpleDescriptor:
    """One endpoint as ZDO describes it."""

    endpoint: int
    profile: int
    device_type: int
    input_clusters: tuple[int, ...]
    output_clusters: tuple[int, ...]
    device_version: int = 0

    def encode(self) -> bytes:
        """The descriptor's wire form (2.3.2.5)."""
        return (
            u8(self.endpoint) + u16(self.profile) + u16(self.device_type)
            + u8(self.device_version)
            + u8(len(self.input_clusters)) + b"".join(u16(c) for c in self.input_clusters)
            + u8(len(self.output_clusters)) + b"".join(u16(c) for c in self.output_clusters)
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Binding:
    """One binding table entry: source endpoint and cluster to a destination."""

    src_endpoint: int
    cluster_id: int
    dst: bytes  # the destination address block as it came (mode + address [+ endpoint])


@dataclass
class NodeInfo:
    """What ZDO says about a node: addresses, type, descriptors, bindings, neighbours."""

    ieee: int
    nwk: int
    logical_type: LogicalType
    manufacturer_code: int
    endpoints: Sequence[SimpleDescriptor] = ()
    bindings: list[Binding] = field(default_factory=list)


class NeighborSource(Protocol):
    """Who answers Mgmt_Lqi_req with a neighbour table (only the coordinator has one here)."""

    def neighbors(self) -> list[NodeInfo]:
        """The nodes one hop away."""
        ...


def node_descriptor(node: NodeInfo) -> bytes:
    """The node descriptor (2.3.2.3): type, 2.4 GHz band, MAC capabilities, sizes."""
    is_mains = node.logical_type is not LogicalType.END_DEVICE
    # MAC capabilities: device is FFD (0x02), mains powered (0x04), rx on idle (0x08),
    # allocate address (0x80); coordinators also set alternate PAN coordinator (0x01).
    mac_flags = 0x8E if is_mains else 0x80
    if node.logical_type is LogicalType.COORDINATOR:
        mac_flags |= 0x01
    server_mask = 0x2C41 if node.logical_type is LogicalType.COORDINATOR else 0x2C00
    return (
        u8(node.logical_type) + u8(0x40) + u8(mac_flags) + u16(node.manufacturer_code)
        + u8(82) + u16(82) + u16(server_mask) + u16(82) + u8(0)
    )  # fmt: skip


def _node_desc(node: NodeInfo, args: Reader) -> bytes:
    nwk = args.u16()
    return u8(ZdoStatus.SUCCESS) + u16(nwk) + node_descriptor(node)


def _active_ep(node: NodeInfo, args: Reader) -> bytes:
    nwk = args.u16()
    eps = [d.endpoint for d in node.endpoints]
    return u8(ZdoStatus.SUCCESS) + u16(nwk) + u8(len(eps)) + bytes(eps)


def _simple_desc(node: NodeInfo, args: Reader) -> bytes:
    nwk, endpoint = args.u16(), args.u8()
    for descriptor in node.endpoints:
        if descriptor.endpoint == endpoint:
            body = descriptor.encode()
            return u8(ZdoStatus.SUCCESS) + u16(nwk) + u8(len(body)) + body
    status = ZdoStatus.INVALID_EP if endpoint in (0, 0xFF) else ZdoStatus.NOT_ACTIVE
    return u8(status) + u16(nwk) + u8(0)


def _bind(node: NodeInfo, args: Reader, *, is_bind: bool) -> bytes:
    args.raw(8)  # source IEEE: ours
    src_ep, cluster = args.u8(), args.u16()
    mode = args.u8()
    dst = u8(mode) + (args.raw(9) if mode == 0x03 else args.raw(2))
    entry = Binding(src_ep, cluster, dst)
    if is_bind:
        if entry not in node.bindings:
            node.bindings.append(entry)
        return u8(ZdoStatus.SUCCESS)
    if entry not in node.bindings:
        return u8(ZdoStatus.NO_ENTRY)
    node.bindings.remove(entry)
    return u8(ZdoStatus.SUCCESS)


def _addr(node: NodeInfo, args: Reader, *, by_ieee: bool) -> bytes:
    if by_ieee:
        asked_ieee = int.from_bytes(args.raw(8), "little")
        if asked_ieee != node.ieee:
            return u8(ZdoStatus.DEVICE_NOT_FOUND) + ieee_bytes(asked_ieee) + u16(0xFFFF)
    else:
        args.u16()
    request_type = args.u8()
    base = u8(ZdoStatus.SUCCESS) + ieee_bytes(node.ieee) + u16(node.nwk)
    # 2.4.4.2.1: an extended request (type 1) lists associated devices; we report none
    return base + (u8(0) + u8(0) if request_type == 1 else b"")


def _lqi(node: NodeInfo, args: Reader, neighbours: list[NodeInfo], ext_pan: int) -> bytes:
    start = args.u8()
    page = neighbours[start : start + 2]
    entries = b""
    for n in page:
        kind = int(n.logical_type) | (0x04 if n.logical_type is not LogicalType.END_DEVICE else 0)
        relation = 0x10 if n.logical_type is LogicalType.END_DEVICE else 0x00  # child / parent
        entries += (
            ieee_bytes(ext_pan) + ieee_bytes(n.ieee) + u16(n.nwk)
            + u8(kind | relation) + u8(0x02) + u8(1) + u8(200)
        )  # fmt: skip
    return u8(ZdoStatus.SUCCESS) + u8(len(neighbours)) + u8(start) + u8(len(page)) + entries


def _nwk_update(node: NodeInfo, args: Reader, rng: random.Random) -> bytes | None:
    channels, duration = args.u32(), args.u8()
    if duration > 5:
        return None  # 0xFE channel change / 0xFF manager update: no response (2.4.3.3.9)
    scanned = [c for c in range(11, 27) if channels & (1 << c)]
    energies = bytes(energy_scan(scanned, rng))
    return u8(ZdoStatus.SUCCESS) + u32(channels) + u16(0) + u16(0) + u8(len(energies)) + energies


# 2.4 GHz Wi-Fi channels 1, 6 and 11 (22 MHz wide) sit on these Zigbee channels (IEEE 802.15.4
# channel k is at 2405 + 5 (k - 11) MHz): the energy a scan sees there depends on Wi-Fi traffic.
_WIFI_OVERLAP = {1: range(11, 15), 6: range(16, 20), 11: range(21, 25)}


def energy_scan(channels: Sequence[int], rng: random.Random) -> list[int]:
    """Energy detect values (0-255) for one scan: a noise floor, Wi-Fi where it overlaps, and
    traffic that changes from scan to scan, drawn from the stick's (seeded) generator."""
    load = {wifi: rng.random() ** 2 for wifi in _WIFI_OVERLAP}  # busy now and then, mostly idle
    values = []
    for channel in channels:
        level = rng.gauss(24.0, 6.0)  # noise floor
        for wifi, overlapped in _WIFI_OVERLAP.items():
            if channel in overlapped:
                level += load[wifi] * rng.uniform(80.0, 180.0)
        values.append(max(0, min(255, round(level))))
    return values


def _mgmt_bind(node: NodeInfo, args: Reader) -> bytes:
    start = args.u8()
    page = node.bindings[start : start + 3]
    entries = b"".join(
        ieee_bytes(node.ieee) + u8(b.src_endpoint) + u16(b.cluster_id) + b.dst for b in page
    )
    return u8(ZdoStatus.SUCCESS) + u8(len(node.bindings)) + u8(start) + u8(len(page)) + entries


def answer(
    node: NodeInfo,
    cluster_id: int,
    payload: bytes,
    *,
    neighbours: list[NodeInfo] | None = None,
    ext_pan: int = 0,
    rng: random.Random | None = None,
) -> tuple[int, bytes] | None:
    """The response (cluster, payload) a node gives to a ZDO request, None for no answer."""
    args = Reader(payload)
    try:
        body = _dispatch(node, cluster_id, args, neighbours or [], ext_pan, rng or _RNG)
    except PayloadError:
        body = u8(ZdoStatus.INV_REQUESTTYPE)
    if body is None:
        return None
    return (cluster_id | 0x8000, body)


_RNG = random.Random()  # for nodes that were not given their own generator


def _dispatch(
    node: NodeInfo,
    cluster_id: int,
    args: Reader,
    neighbours: list[NodeInfo],
    ext_pan: int,
    rng: random.Random,
) -> bytes | None:
    if cluster_id & 0x8000 or cluster_id == ZdoCluster.DEVICE_ANNCE:
        return None  # responses and announcements are not answered
    match cluster_id:
        case ZdoCluster.NODE_DESC_REQ:
            return _node_desc(node, args)
        case ZdoCluster.ACTIVE_EP_REQ:
            return _active_ep(node, args)
        case ZdoCluster.SIMPLE_DESC_REQ:
            return _simple_desc(node, args)
        case ZdoCluster.BIND_REQ | ZdoCluster.UNBIND_REQ:
            return _bind(node, args, is_bind=cluster_id == ZdoCluster.BIND_REQ)
        case ZdoCluster.NWK_ADDR_REQ | ZdoCluster.IEEE_ADDR_REQ:
            return _addr(node, args, by_ieee=cluster_id == ZdoCluster.NWK_ADDR_REQ)
        case ZdoCluster.MGMT_LQI_REQ:
            return _lqi(node, args, neighbours, ext_pan)
        case ZdoCluster.MGMT_RTG_REQ:
            start = args.u8()
            return u8(ZdoStatus.SUCCESS) + u8(0) + u8(start) + u8(0)
        case ZdoCluster.MGMT_BIND_REQ:
            return _mgmt_bind(node, args)
        case ZdoCluster.MGMT_NWK_UPDATE_REQ:
            return _nwk_update(node, args, rng)
        case ZdoCluster.MGMT_LEAVE_REQ | ZdoCluster.MGMT_PERMIT_JOINING_REQ:
            return u8(ZdoStatus.SUCCESS)
    return u8(ZdoStatus.NOT_SUPPORTED)
