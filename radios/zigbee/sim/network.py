"""The simulated radio world behind the coordinator: joined devices, AF delivery, ZDO, joins.

The Network carries frames between the simulated coordinator and its SimDevices. It is driven
by the engine (zstack.ZStack, or ezsp's NCP), which owns framing, timing and NV; the Network
reports what the host must see as coordinator-neutral events (events.py) to an EventSink, which
turns them into the family's frames. By default that is ZnpEvents: AF.DataConfirm,
AF.IncomingMsg, ZDO.MsgCbIncoming and the join/leave indications (MT API 3.2 AF, 3.12 ZDO).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from radios.zigbee.sim.commands import AddrMode, Status
from radios.zigbee.sim.devices import SimDevice
from radios.zigbee.sim.events import (
    ZDO_PROFILE,
    ApsIncoming,
    DeviceAnnounced,
    DeviceJoined,
    DeviceLeft,
    EventSink,
    PermitJoinChanged,
    SendConfirmed,
)
from radios.zigbee.sim.kinds import DeviceSpec
from radios.zigbee.sim.mt import MtFrame
from radios.zigbee.sim.nvram import SYS_ZSTACK, ExNv, NibField, NvStore, OsalNv, nib_get, osal
from radios.zigbee.sim.security import forget_link_key, remember_link_key
from radios.zigbee.sim.wire import format_ieee, ieee_bytes, u8, u16
from radios.zigbee.sim.zdo import LogicalType, NodeInfo, SimpleDescriptor, ZdoCluster, answer

ZDO_ENDPOINT = 0
BROADCAST_ADDRESSES = frozenset({0xFFFF, 0xFFFD, 0xFFFC, 0xFFFB})
_ADDR_ASSOC, _ADDR_SECURITY = 0x01, 0x02


class Radio(Protocol):
    """What the network needs from the simulated Z-Stack that carries it."""

    def emit(self, frame: MtFrame, delay_s: float = 0.0) -> None:
        """Send a frame to the host, now or after a delay."""
        ...

    def call_later(self, delay_s: float, action: Callable[[], None]) -> None:
        """Run an action after a delay (simulated time)."""
        ...

    def now(self) -> float:
        """The current time."""
        ...


@dataclass(frozen=True, slots=True)
class Identity:
    """The network the coordinator runs: PAN id, extended PAN id, channel."""

    pan_id: int
    extended_pan_id: int
    channel: int


@dataclass(frozen=True, slots=True)
class DataRequest:
    """One AF data request from the host, whichever MT command carried it."""

    addr_mode: int
    address: int  # NWK, group id, or IEEE as an integer
    dst_endpoint: int
    src_endpoint: int
    cluster_id: int
    tsn: int
    data: bytes
    profile_id: int = 0x0104
    tag: int = 0  # the host's own handle for the confirm (EZSP messageTag)


class Network:
    """Devices, their joins and leaves, and the frames between them and the coordinator."""

    def __init__(
        self, radio: Radio, nv: NvStore, *, rng: random.Random, sink: EventSink | None = None
    ) -> None:
        from radios.zigbee.sim.znp_events import ZnpEvents

        self.radio = radio
        self.sink: EventSink = sink if sink is not None else ZnpEvents(radio, self)
        self.nv = nv
        self.rng = rng
        self.devices: dict[int, SimDevice] = {}
        self.identity: Identity | None = None
        self.coordinator = NodeInfo(0, 0x0000, LogicalType.COORDINATOR, 0x0000)
        self.endpoints: dict[int, SimpleDescriptor] = {}
        self.zdo_callbacks: set[int] = set()
        self.permit_until = 0.0
        self.join_interval_s = 0.005
        self.device_latency_s = 0.0
        self.confirm_delay_s = 0.0
        self.is_dropping_confirms = False
        self.dropped_incoming = 0
        self.multicasts: list[DataRequest] = []  # group-addressed requests, in order
        self._join_queue: deque[int] = deque()
        self._is_join_scheduled = False

    # --- devices ----------------------------------------------------------------------------

    def add(self, spec: DeviceSpec, *, is_joined: bool, nwk: int | None = None) -> SimDevice:
        """Put a device in radio range: already joined (to the network in NV), or waiting for
        a permit-join window."""
        if spec.ieee in self.devices:
            raise ValueError(f"device {format_ieee(spec.ieee)} exists already")
        device = SimDevice(spec, nwk if nwk is not None else self._free_nwk())
        device.link = self
        if is_joined:
            ext_pan = self._formed_ext_pan()
            if ext_pan is None:
                raise ValueError("devices can be pre-joined only to a formed network")
            device.joined_ext_pan = ext_pan
            self._remember(device)
        else:
            self._join_queue.append(spec.ieee)
        self.devices[spec.ieee] = device
        return device

    def _formed_ext_pan(self) -> int | None:
        if self.identity is not None:
            return self.identity.extended_pan_id
        if self.nv.get(osal(OsalNv.BDBNODEISONANETWORK)) != b"\x01":
            return None
        return nib_get(self.nv.get(osal(OsalNv.NIB)), NibField.EXTENDED_PAN_ID, 8)

    def is_reachable(self, device: SimDevice) -> bool:
        """Whether the device is on the network the coordinator runs now."""
        return self.identity is not None and device.joined_ext_pan == self.identity.extended_pan_id

    def by_nwk(self, nwk: int) -> SimDevice | None:
        """The joined device with this network address."""
        for device in self.devices.values():
            if device.nwk == nwk and self.is_reachable(device):
                return device
        return None

    def _free_nwk(self) -> int:
        used = {d.nwk for d in self.devices.values()}
        while True:
            nwk = self.rng.randint(0x0001, 0xFFF7)
            if nwk not in used:
                return nwk

    # --- permit join and joins ----------------------------------------------------------------

    def permit_join(self, duration_s: int) -> None:
        """Open (or with 0, close) the coordinator for joins; announce it (ZDO.PermitJoinInd)."""
        now = self.radio.now()
        self.sink.report(PermitJoinChanged(duration_s))
        if duration_s == 0:
            self.permit_until = 0.0
            return
        self.permit_until = now + duration_s
        self.radio.call_later(duration_s, self._close_if_expired)
        self._schedule_join()

    def _close_if_expired(self) -> None:
        if self.permit_until and self.radio.now() >= self.permit_until:
            self.permit_until = 0.0
            self.sink.report(PermitJoinChanged(0))

    def is_permitting(self) -> bool:
        """Whether a permit-join window is open."""
        return self.identity is not None and self.radio.now() < self.permit_until

    def _schedule_join(self) -> None:
        if self._join_queue and not self._is_join_scheduled:
            self._is_join_scheduled = True
            self.radio.call_later(self.join_interval_s, self._join_next)

    def _join_next(self) -> None:
        self._is_join_scheduled = False
        if not self.is_permitting() or not self._join_queue:
            return
        waiting = self.devices.get(self._join_queue.popleft())
        if waiting is not None and waiting.joined_ext_pan is None:
            self._join(waiting)
        self._schedule_join()

    def _join(self, device: SimDevice) -> None:
        assert self.identity is not None
        device.node.nwk = self._free_nwk()
        device.joined_ext_pan = self.identity.extended_pan_id
        self._remember(device)
        # Z-Stack 3: the trust center reports the join, then the device announces itself
        self.sink.report(DeviceJoined(device.nwk, device.ieee, 0x0000, device.is_router))
        self._announce(device)

    def _announce(self, device: SimDevice) -> None:
        capabilities = 0x8E if device.is_router else 0x80
        body = u16(device.nwk) + ieee_bytes(device.ieee) + u8(capabilities)
        self.sink.report(DeviceAnnounced(device.nwk, device.ieee, capabilities))
        self._zdo_callback(device.nwk, ZdoCluster.DEVICE_ANNCE, device.next_tsn(), body, True)

    def _remember(self, device: SimDevice) -> None:
        """Record the device in the address manager table (NV), as Z-Stack does on join, and
        the link key of its trust-centre key exchange (security.py)."""
        remember_link_key(self.nv, device.ieee, self.rng)
        entry_type = _ADDR_SECURITY if device.is_router else _ADDR_ASSOC | _ADDR_SECURITY
        entry = u8(entry_type) + b"\x00" + u16(device.nwk) + ieee_bytes(device.ieee)
        free = None
        for sub_id, value in enumerate(self.nv.table(ExNv.ADDRMGR)):
            if value[4:12] == ieee_bytes(device.ieee):
                free = sub_id
                break
            if free is None and value[4:12] in (b"\xff" * 8, bytes(8)):
                free = sub_id
        if free is not None:
            self.nv.put((SYS_ZSTACK, ExNv.ADDRMGR, free), entry)

    def _forget(self, device: SimDevice) -> None:
        forget_link_key(self.nv, device.ieee)
        for sub_id, value in enumerate(self.nv.table(ExNv.ADDRMGR)):
            if value[4:12] == ieee_bytes(device.ieee):
                self.nv.put((SYS_ZSTACK, ExNv.ADDRMGR, sub_id), b"\xff" * 12)

    # --- DeviceLink ---------------------------------------------------------------------------

    def device_sent(
        self, device: SimDevice, src_ep: int, dst_ep: int, cluster_id: int, data: bytes
    ) -> None:
        """A device transmitted to the coordinator: AF.IncomingMsg, if an endpoint takes it."""
        if not self.is_reachable(device):
            return
        if dst_ep not in self.endpoints:
            # afIncomingData drops frames for endpoints the host has not registered
            self.dropped_incoming += 1
            return
        profile_id = self.endpoints[dst_ep].profile
        self.sink.report(
            ApsIncoming(device.nwk, device.ieee, profile_id, cluster_id, src_ep, dst_ep, data)
        )

    def device_left(self, device: SimDevice) -> None:
        """A device left by itself: ZDO.LeaveInd, and out of the address table."""
        if not self.is_reachable(device):
            return
        self.sink.report(DeviceLeft(device.nwk, device.ieee))
        self._forget(device)

    def device_rejoined(self, device: SimDevice) -> None:
        """A device announced itself again after a power cycle."""
        if self.is_reachable(device):
            self._announce(device)

    # --- host to devices ----------------------------------------------------------------------

    def send(self, request: DataRequest) -> None:
        """Deliver a data request already accepted by the SRSP; confirm it (AF.DataConfirm)."""
        if request.addr_mode == AddrMode.GROUP:
            self._multicast(request)
            return
        if request.dst_endpoint == ZDO_ENDPOINT:
            self._send_zdo(request)
            return
        if request.addr_mode == AddrMode.BROADCAST:
            self._confirm(request, Status.SUCCESS)
            for device in list(self.devices.values()):
                if self.is_reachable(device):
                    self._deliver(device, request, is_unicast=False)
            return
        target = self._unicast_target(request)
        if target is None:
            self._confirm(request, Status.NWK_NO_ROUTE)
            return
        if target.delivery_failures:
            self._confirm(request, Status(target.delivery_failures.popleft()))
            return
        self._confirm(request, Status.SUCCESS)
        self._deliver(target, request, is_unicast=True)

    def _multicast(self, request: DataRequest) -> None:
        """A group-addressed frame goes to every endpoint that is a member of the group.

        Zigbee spec 2.2.4.1.1: DstEndpoint is ignored with group addressing (zigpy-znp sends
        0); 2.2.8.3.2: the APS of each receiver hands the frame to each member endpoint.
        """
        self.multicasts.append(request)
        self._confirm(request, Status.SUCCESS)
        for device in list(self.devices.values()):
            if not self.is_reachable(device):
                continue
            for endpoint in device.group_endpoints(request.address):
                self._deliver(device, replace(request, dst_endpoint=endpoint), is_unicast=False)

    def _unicast_target(self, request: DataRequest) -> SimDevice | None:
        if request.addr_mode == AddrMode.IEEE:
            device = self.devices.get(request.address)
            return device if device is not None and self.is_reachable(device) else None
        return self.by_nwk(request.address)

    def _confirm(self, request: DataRequest, status: Status) -> None:
        if self.is_dropping_confirms:
            return
        self.sink.report(SendConfirmed(request, status), self.confirm_delay_s)

    def _deliver(self, device: SimDevice, request: DataRequest, *, is_unicast: bool) -> None:
        def deliver() -> None:
            device.handle_zcl(
                request.src_endpoint,
                request.dst_endpoint,
                request.cluster_id,
                request.data,
                is_unicast=is_unicast,
            )

        if self.device_latency_s > 0:
            self.radio.call_later(self.device_latency_s, deliver)
        else:
            deliver()

    def _send_zdo(self, request: DataRequest) -> None:
        if not request.data:
            return
        tsn, payload = request.data[0], request.data[1:]
        is_broadcast = request.addr_mode == AddrMode.BROADCAST
        is_to_coordinator = is_broadcast or (
            request.addr_mode == AddrMode.NWK and request.address == 0x0000
        )
        if is_to_coordinator:
            self._answer_as_coordinator(request.cluster_id, tsn, payload, is_broadcast)
        targets = (
            [d for d in self.devices.values() if self.is_reachable(d)]
            if is_broadcast
            else [t for t in (self._unicast_target(request),) if t is not None]
        )
        for device in targets:
            self._zdo_to_device(device, request.cluster_id, tsn, payload, is_broadcast)

    def _answer_as_coordinator(
        self, cluster_id: int, tsn: int, payload: bytes, is_broadcast: bool
    ) -> None:
        if is_broadcast and cluster_id not in (ZdoCluster.NWK_ADDR_REQ, ZdoCluster.IEEE_ADDR_REQ):
            return
        self.coordinator.endpoints = list(self.endpoints.values())
        neighbours = [d.node for d in self.devices.values() if self.is_reachable(d)]
        ext_pan = self.identity.extended_pan_id if self.identity else 0
        result = answer(
            self.coordinator, cluster_id, payload, neighbours=neighbours, ext_pan=ext_pan,
            rng=self.rng,
        )
        if result is not None and not (is_broadcast and result[1][:1] != b"\x00"):
            self._zdo_callback(0x0000, result[0], tsn, result[1], False)

    def _zdo_to_device(
        self, device: SimDevice, cluster_id: int, tsn: int, payload: bytes, is_broadcast: bool
    ) -> None:
        if is_broadcast and cluster_id not in (ZdoCluster.NWK_ADDR_REQ, ZdoCluster.IEEE_ADDR_REQ):
            return  # 2.4.3: other broadcast requests are not answered
        result = device.handle_zdo(cluster_id, payload)
        if result is None or (is_broadcast and result[1][:1] != b"\x00"):
            return

        def respond() -> None:
            self._zdo_callback(device.nwk, result[0], tsn, result[1], False)
            if cluster_id == ZdoCluster.MGMT_LEAVE_REQ:
                self.device_left(device)
                device.joined_ext_pan = None

        if self.device_latency_s > 0:
            self.radio.call_later(self.device_latency_s, respond)
        else:
            respond()

    def _zdo_callback(
        self, src: int, cluster_id: int, tsn: int, data: bytes, is_broadcast: bool
    ) -> None:
        ieee = self.coordinator.ieee if src == 0x0000 else None
        device = self.by_nwk(src)
        if device is not None:
            ieee = device.ieee
        self.sink.report(
            ApsIncoming(
                src, ieee, ZDO_PROFILE, cluster_id, ZDO_ENDPOINT, ZDO_ENDPOINT,
                u8(tsn) + data, is_broadcast=is_broadcast,
            )
        )  # fmt: skip
