"""ZDO over MT: the ZDO_*_REQ commands a host sends and the ZDO callbacks Z-Stack answers with.

A host can send a ZDO request two ways: as an AF data request to endpoint 0 (zigpy-znp) or as
the MT command of that cluster (zigbee-herdsman, TI's own tools): MT API 3.12.1.x, e.g.
ZDO_NODE_DESC_REQ = DstAddr, NWKAddrOfInterest. Either way the response comes back over the
air to ZDO, which hands it to the host (Z-Stack ZDProfile.c ZDP_IncomingData):

- as ZDO_MSG_CB_INCOMING (MT API 3.12.2.x, 0x45FF) when the host registered the cluster with
  ZDO_MSG_CB_REGISTER (0xFFFF registers every cluster), and
- as the per-cluster callback (ZDO_NODE_DESC_RSP & co., MT_ZDO.c MT_ZdoDirectCB) when the NV
  item ZCD_NV_ZDO_DIRECT_CB is set. These carry SrcAddr then the response as it came over the
  air, except NWK_addr_rsp and IEEE_addr_rsp, which carry no SrcAddr and put StartIndex before
  NumAssocDev (MT API 3.12.2.1: Status, IEEEAddr, NwkAddr, StartIndex, NumAssocDev, List).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from radios.zigbee.sim.commands import CommandDef, Rsp
from radios.zigbee.sim.mt import MtFrame
from radios.zigbee.sim.wire import Reader, u8, u16
from radios.zigbee.sim.zdo import ZdoCluster

ALL_CLUSTERS = 0xFFFF  # ZDO_MSG_CB_REGISTER with this id registers every cluster


@dataclass(frozen=True, slots=True)
class ZdoRequest:
    """One ZDO request from an MT command: where it goes and its over-the-air payload."""

    dst: int  # NWK address, or a broadcast address
    cluster_id: int
    payload: bytes  # the ZDP payload without the transaction sequence number


# Response cluster -> the per-cluster callback (MT API 3.12.2.x).
DIRECT_CALLBACKS: dict[int, CommandDef] = {
    ZdoCluster.NWK_ADDR_REQ | 0x8000: Rsp.NWK_ADDR_RSP,
    ZdoCluster.IEEE_ADDR_REQ | 0x8000: Rsp.IEEE_ADDR_RSP,
    ZdoCluster.NODE_DESC_REQ | 0x8000: Rsp.NODE_DESC_RSP,
    ZdoCluster.POWER_DESC_REQ | 0x8000: Rsp.POWER_DESC_RSP,
    ZdoCluster.SIMPLE_DESC_REQ | 0x8000: Rsp.SIMPLE_DESC_RSP,
    ZdoCluster.ACTIVE_EP_REQ | 0x8000: Rsp.ACTIVE_EP_RSP,
    ZdoCluster.BIND_REQ | 0x8000: Rsp.BIND_RSP,
    ZdoCluster.UNBIND_REQ | 0x8000: Rsp.UNBIND_RSP,
    ZdoCluster.MGMT_LQI_REQ | 0x8000: Rsp.MGMT_LQI_RSP,
    ZdoCluster.MGMT_RTG_REQ | 0x8000: Rsp.MGMT_RTG_RSP,
    ZdoCluster.MGMT_BIND_REQ | 0x8000: Rsp.MGMT_BIND_RSP,
    ZdoCluster.MGMT_LEAVE_REQ | 0x8000: Rsp.MGMT_LEAVE_RSP,
    ZdoCluster.MGMT_PERMIT_JOINING_REQ | 0x8000: Rsp.MGMT_PERMIT_JOIN_RSP,
    ZdoCluster.MGMT_NWK_UPDATE_REQ | 0x8000: Rsp.MGMT_NWK_UPDATE_NOTIFY,
}


def callback_frames(
    src: int,
    cluster_id: int,
    tsn: int,
    data: bytes,
    *,
    is_broadcast: bool,
    registered: Collection[int],
    is_direct: bool,
) -> list[MtFrame]:
    """The frames the host gets for one ZDO message ZDO received (request or response)."""
    frames = []
    if ALL_CLUSTERS in registered or cluster_id in registered:
        # 3.12.2.x ZDO_MSG_CB_INCOMING: SrcAddr, WasBroadcast, ClusterId, SecurityUse, SeqNum,
        # MacDstAddr, Data
        head = u16(src) + u8(int(is_broadcast)) + u16(cluster_id) + u8(0) + u8(tsn)
        frames.append(Rsp.MSG_CB_INCOMING.frame(head + u16(0x0000) + data))
    direct = DIRECT_CALLBACKS.get(cluster_id)
    if is_direct and direct is not None:
        frames.append(direct.frame(_direct_payload(src, cluster_id, data)))
    return frames


def _direct_payload(src: int, cluster_id: int, data: bytes) -> bytes:
    if cluster_id in (ZdoCluster.NWK_ADDR_REQ | 0x8000, ZdoCluster.IEEE_ADDR_REQ | 0x8000):
        # Air: Status, IEEE, NWK, [NumAssocDev, StartIndex, list]; MT swaps the two counts
        # and always carries them (zero when the request was not extended).
        head, counts, rest = data[:11], data[11:13], data[13:]
        counts = counts[::-1] if len(counts) == 2 else b"\x00\x00"
        return head + counts + rest
    return u16(src) + data


def parse_request(name: str, args: Reader) -> ZdoRequest:
    """The destination and ZDP payload of one ZDO_*_REQ command (MT API 3.12.1.x)."""
    match name:
        case "ZDO.NwkAddrReq":
            # IEEEAddress, ReqType, StartIndex: broadcast to every device (2.4.3.1.1)
            return ZdoRequest(0xFFFD, ZdoCluster.NWK_ADDR_REQ, args.rest())
        case "ZDO.IEEEAddrReq":
            # ShortAddr, ReqType, StartIndex: unicast to the device asked about
            body = args.rest()
            return ZdoRequest(int.from_bytes(body[:2], "little"), ZdoCluster.IEEE_ADDR_REQ, body)
        case "ZDO.BindReq" | "ZDO.UnbindReq":
            dst = args.u16()
            # SrcAddress, SrcEndpoint, ClusterID, DstAddrMode, DstAddress(8), DstEndpoint:
            # MT sends the address block at full size; over the air a group address is 2 bytes
            src, mode = args.raw(11), args.raw(1)
            address, endpoint = args.raw(8), args.raw(1)
            dst_block = mode + (address + endpoint if mode == b"\x03" else address[:2])
            cluster = ZdoCluster.BIND_REQ if name == "ZDO.BindReq" else ZdoCluster.UNBIND_REQ
            return ZdoRequest(dst, cluster, src + dst_block)
        case "ZDO.MgmtNwkUpdateReq":
            # DstAddr, DstAddrMode, ChannelMask, ScanDuration, ScanCount, NwkManagerAddr
            dst, _mode = args.u16(), args.u8()
            channels, duration = args.raw(4), args.u8()
            count, manager = args.u8(), args.raw(2)
            body = channels + u8(duration)
            if duration <= 5:
                body += u8(count)
            elif duration == 0xFF:
                body += u8(0) + manager
            else:
                body += u8(0)  # nwkUpdateId of a channel change
            return ZdoRequest(dst, ZdoCluster.MGMT_NWK_UPDATE_REQ, body)
    dst = args.u16()
    return ZdoRequest(dst, _UNICAST_CLUSTERS[name], args.rest())


_UNICAST_CLUSTERS: dict[str, int] = {
    "ZDO.NodeDescReq": ZdoCluster.NODE_DESC_REQ,  # DstAddr, NWKAddrOfInterest
    "ZDO.PowerDescReq": ZdoCluster.POWER_DESC_REQ,
    "ZDO.SimpleDescReq": ZdoCluster.SIMPLE_DESC_REQ,  # DstAddr, NWKAddrOfInterest, Endpoint
    "ZDO.ActiveEpReq": ZdoCluster.ACTIVE_EP_REQ,
    "ZDO.MgmtLqiReq": ZdoCluster.MGMT_LQI_REQ,  # DstAddr, StartIndex
    "ZDO.MgmtRtgReq": ZdoCluster.MGMT_RTG_REQ,
    "ZDO.MgmtBindReq": ZdoCluster.MGMT_BIND_REQ,
    "ZDO.MgmtLeaveReq": ZdoCluster.MGMT_LEAVE_REQ,  # DstAddr, DeviceAddress, Flags
}

ZDO_REQUEST_NAMES: tuple[str, ...] = (
    "ZDO.NwkAddrReq", "ZDO.IEEEAddrReq", "ZDO.BindReq", "ZDO.UnbindReq",
    "ZDO.MgmtNwkUpdateReq", *_UNICAST_CLUSTERS,
)  # fmt: skip
