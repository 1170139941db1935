"""Device frames taken from zigpy-znp's MT frames, before zigpy-znp parses them.

Theory of operation. On a Z-Stack coordinator a device's frame arrives as an AF.IncomingMsg
(MT AF 3.2.1.3). zigpy-znp parses each MT frame into a command object with zigpy's generic
struct types, matches it against its listeners, and its ``on_af_message`` builds a
``ZigbeePacket`` for zigpy's ``packet_received``, where the packet entry
(``entry.PacketEntry``) would take it: on a hub that has idled between two events (cold
caches) that was ~0.2 ms of a ~1 ms path from the bytes read to the rule's command written.

``install_at_frames`` puts the packet entry one step earlier, on the MT API's
``frame_received`` (the seam zigpy-znp's serial protocol calls with each whole frame, and
where the flood gate already sits, ``glue.gate_device_frames``). An AF.IncomingMsg is read
here with its fixed layout (below); a unicast one to a ZHA endpoint of the coordinator goes
to ``PacketEntry.take`` with the same fields zigpy would see, and if hubd takes it, zigpy-znp
gets the very same frame object a few milliseconds later (``entry.REPLAY_DELAY_S``), with
every frame behind it in order but the coordinator's answers to the host's own requests
(SRSPs, AF.DataConfirm), which go on at once (``PacketEntry.wrap``). Its parsing,
listeners, ``on_af_message`` and zigpy's whole handling (Default Response, caches, last
seen, duplicates) are zigpy-znp's and zigpy's own, unchanged. Any frame this does not take,
or cannot read, goes to zigpy-znp as before.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import zigpy.profiles.zha

from radios.zigbee.adapter.entry import PacketEntry

# AF.IncomingMsg's data (MT AF 3.2.1.3, as zigpy-znp's schema reads it): GroupId (2),
# ClusterId (2), SrcAddr (2), SrcEndpoint, DstEndpoint, WasBroadcast, LQI, SecurityUse,
# TimeStamp (4), TSN, the ZCL frame's length (1) and the frame; then MacSrcAddr (2) and
# MsgResultRadius (1). Little-endian throughout.
_HEAD = struct.Struct("<HHHBBBBBIBB")
_TAIL_BYTES = 3
_TYPE_MASK, _SRSP = 0xE0, 0x60


def install_at_frames(entry: PacketEntry, app: Any) -> Callable[[], None] | None:
    """Take device frames at zigpy-znp's ``frame_received``; returns what undoes it (None
    if the application has no zigpy-znp MT API)."""
    znp = getattr(app, "_znp", None)
    coordinator = getattr(app, "_device", None)
    if znp is None or coordinator is None:
        return None
    import zigpy_znp.commands as c  # here: an EZSP hub never loads zigpy-znp

    incoming = c.AF.IncomingMsg.Callback.header
    # zigpy-znp gives a frame the profile of the coordinator's endpoint it arrived on.
    zha_endpoints = frozenset(
        endpoint_id for endpoint_id, endpoint in coordinator.endpoints.items()
        if endpoint_id and getattr(endpoint, "profile_id", None) == zigpy.profiles.zha.PROFILE_ID)

    def take(frame: Any) -> bool:
        if frame.header != incoming:
            return False
        data = frame.data
        if len(data) < _HEAD.size + _TAIL_BYTES:
            return False
        (group_id, cluster_id, nwk, src_ep, dst_ep, was_broadcast, _lqi, security_use,
         _time, _tsn, length) = _HEAD.unpack_from(data)
        if (len(data) != _HEAD.size + length + _TAIL_BYTES or group_id or was_broadcast
                or dst_ep not in zha_endpoints):
            return False
        zcl = data[_HEAD.size:_HEAD.size + length]
        # What tells duplicates apart, as zigpy compares them: all but TSN, LQI and time
        # (the destination is the coordinator for every unicast taken here).
        key = (nwk, src_ep, dst_ep, cluster_id, zcl, security_use, data[-1])
        return entry.take(nwk, src_ep, dst_ep, cluster_id, zcl, key)

    confirm = c.AF.DataConfirm.Callback.header

    def passes(frame: Any) -> bool:
        # An SRSP (MT 2.1.1: cmd0's type bits) or AF.DataConfirm answers the host's own
        # request, never a device's news: it goes on at once, even behind a taken frame,
        # so the SREQ line is free for the rule's next command.
        return bool(frame.header.cmd0 & _TYPE_MASK == _SRSP or frame.header == confirm)

    return entry.wrap(znp, "frame_received", take, passes)
