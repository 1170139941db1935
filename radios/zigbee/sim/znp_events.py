"""Network events as Z-Stack reports them to a ZNP host: MT AREQ callbacks (MT API 3.2, 3.12)."""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never

from radios.zigbee.sim.commands import Rsp
from radios.zigbee.sim.events import (
    ZDO_PROFILE,
    ApsIncoming,
    DeviceAnnounced,
    DeviceJoined,
    DeviceLeft,
    NetworkEvent,
    PermitJoinChanged,
    SendConfirmed,
)
from radios.zigbee.sim.mt import MtFrame
from radios.zigbee.sim.nvram import OsalNv, osal
from radios.zigbee.sim.wire import ieee_bytes, short_bytes, u8, u16, u32
from radios.zigbee.sim.zdo_mt import callback_frames

if TYPE_CHECKING:
    from radios.zigbee.sim.network import Network, Radio


class ZnpEvents:
    """The ZNP family's EventSink: each event becomes the AREQ Z-Stack 3.30 sends."""

    def __init__(self, radio: Radio, network: Network) -> None:
        self.radio = radio
        self.network = network

    def report(self, event: NetworkEvent, delay_s: float = 0.0) -> None:
        """Queue the MT frames for this event, if Z-Stack sends any."""
        for frame in self.frames(event):
            self.radio.emit(frame, delay_s)

    def frames(self, event: NetworkEvent) -> list[MtFrame]:
        """Every MT frame Z-Stack sends for an event: a ZDO message can be both a
        ZDO.MsgCbIncoming and its per-cluster callback (zdo_mt.py)."""
        match event:
            case ApsIncoming(profile_id=profile) if profile == ZDO_PROFILE:
                is_direct = self.network.nv.get(osal(OsalNv.ZDO_DIRECT_CB)) == b"\x01"
                tsn, data = event.payload[0], event.payload[1:]
                return callback_frames(
                    event.src_nwk, event.cluster_id, tsn, data,
                    is_broadcast=event.is_broadcast, registered=self.network.zdo_callbacks,
                    is_direct=is_direct,
                )  # fmt: skip
        frame = self.frame(event)
        return [] if frame is None else [frame]

    def frame(self, event: NetworkEvent) -> MtFrame | None:
        """The MT frame Z-Stack sends for an event (None: it sends nothing)."""
        match event:
            case ApsIncoming(profile_id=profile) if profile == ZDO_PROFILE:
                return self._zdo_callback(event)
            case ApsIncoming():
                timestamp = int(self.radio.now() * 1000) & 0xFFFFFFFF
                payload = (
                    u16(event.group_id or 0) + u16(event.cluster_id) + u16(event.src_nwk)
                    + u8(event.src_endpoint) + u8(event.dst_endpoint)
                    + u8(int(event.is_broadcast)) + u8(event.lqi) + u8(0) + u32(timestamp)
                    + u8(0) + short_bytes(event.payload) + u16(event.src_nwk) + u8(0)
                )  # fmt: skip
                return Rsp.INCOMING_MSG.frame(payload)
            case DeviceJoined():
                body = u16(event.nwk) + ieee_bytes(event.ieee) + u16(event.parent_nwk)
                return Rsp.TC_DEV_IND.frame(body)
            case DeviceAnnounced():
                body = u16(event.nwk) + ieee_bytes(event.ieee) + u8(event.capabilities)
                return Rsp.END_DEVICE_ANNCE_IND.frame(u16(event.nwk) + body)
            case DeviceLeft():
                leave = u16(event.nwk) + ieee_bytes(event.ieee) + u8(0) + u8(0) + u8(0)
                return Rsp.LEAVE_IND.frame(leave)
            case PermitJoinChanged():
                return Rsp.PERMIT_JOIN_IND.frame(u8(event.duration_s))
            case SendConfirmed():
                request = event.request
                body = u8(event.status) + u8(request.src_endpoint) + u8(request.tsn)
                return Rsp.DATA_CONFIRM.frame(body)
            case _:
                assert_never(event)

    def _zdo_callback(self, event: ApsIncoming) -> MtFrame | None:
        # ZDO.MsgCbIncoming only for clusters the host registered (ZDO.MsgCallbackRegister)
        callbacks = self.network.zdo_callbacks
        if 0xFFFF not in callbacks and event.cluster_id not in callbacks:
            return None
        tsn, data = event.payload[0], event.payload[1:]
        payload = (
            u16(event.src_nwk) + u8(int(event.is_broadcast)) + u16(event.cluster_id) + u8(0)
            + u8(tsn) + u16(0x0000) + data
        )  # fmt: skip
        return Rsp.MSG_CB_INCOMING.frame(payload)


__all__ = ["ZnpEvents"]
