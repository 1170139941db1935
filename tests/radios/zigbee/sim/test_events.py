"""The network speaks in coordinator-neutral events (events.py), not in MT frames. Synchronous."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from radios.zigbee.sim import DeviceKind, DeviceSpec
from radios.zigbee.sim.commands import AddrMode, Status
from radios.zigbee.sim.events import (
    ApsIncoming,
    DeviceAnnounced,
    DeviceJoined,
    NetworkEvent,
    PermitJoinChanged,
    SendConfirmed,
)
from radios.zigbee.sim.mt import MtFrame
from radios.zigbee.sim.network import DataRequest, Identity, Network
from radios.zigbee.sim.nvram import factory_nv
from radios.zigbee.sim.zdo import SimpleDescriptor

CONTACT = 0x000D6F0000000001
LIGHT = 0x000D6F0000000002


@dataclass
class Clock:
    """A coordinator shell with a hand-driven clock; it must never be asked for MT frames."""

    t: float = 0.0
    timers: list[tuple[float, Callable[[], None]]] = field(default_factory=list)

    def emit(self, frame: MtFrame, delay_s: float = 0.0) -> None:
        raise AssertionError(f"the network emitted an MT frame itself: {frame}")

    def call_later(self, delay_s: float, action: Callable[[], None]) -> None:
        self.timers.append((self.t + delay_s, action))

    def now(self) -> float:
        return self.t

    def run_until(self, t: float) -> None:
        self.t = t
        due = [a for when, a in self.timers if when <= t]
        self.timers = [(w, a) for w, a in self.timers if w > t]
        for action in due:
            action()


@dataclass
class Recorder:
    events: list[NetworkEvent] = field(default_factory=list)

    def report(self, event: NetworkEvent, delay_s: float = 0.0) -> None:
        self.events.append(event)


def make() -> tuple[Network, Clock, Recorder]:
    clock, recorder = Clock(), Recorder()
    nv = factory_nv(0x00124B0000000001, addr_table_size=8)
    network = Network(clock, nv, rng=random.Random(1), sink=recorder)
    network.identity = Identity(0x1A2B, 0xDDDDDDDDDDDDDDDD, 15)
    network.endpoints[1] = SimpleDescriptor(1, 0x0104, 0x0005, (), ())
    return network, clock, recorder


def test_a_join_is_a_trust_centre_join_then_an_announce_then_its_zdo_frame() -> None:
    network, clock, recorder = make()
    device = network.add(DeviceSpec(CONTACT, DeviceKind.CONTACT_SENSOR), is_joined=False)
    network.permit_join(60)
    clock.run_until(1.0)
    opened, joined, announced, zdo = recorder.events
    assert opened == PermitJoinChanged(60)
    assert joined == DeviceJoined(device.nwk, CONTACT, 0x0000, is_router=False)
    assert announced == DeviceAnnounced(device.nwk, CONTACT, 0x80)
    assert isinstance(zdo, ApsIncoming)
    assert (zdo.profile_id, zdo.cluster_id, zdo.src_endpoint) == (0, 0x0013, 0)
    assert zdo.is_broadcast
    assert zdo.payload[1:3] == device.nwk.to_bytes(2, "little")


def test_a_device_frame_is_an_aps_message_with_the_endpoint_profile() -> None:
    network, _, recorder = make()
    device = network.add(DeviceSpec(LIGHT, DeviceKind.ON_OFF_LIGHT), is_joined=True)
    device.switch(True)
    (incoming,) = recorder.events
    assert isinstance(incoming, ApsIncoming)
    assert (incoming.src_nwk, incoming.src_ieee) == (device.nwk, LIGHT)
    assert (incoming.profile_id, incoming.cluster_id, incoming.dst_endpoint) == (0x0104, 0x0006, 1)


def test_a_unicast_is_confirmed_with_its_request_and_a_lost_one_with_no_route() -> None:
    network, _, recorder = make()
    light = network.add(DeviceSpec(LIGHT, DeviceKind.ON_OFF_LIGHT), is_joined=True)
    on = DataRequest(AddrMode.NWK, light.nwk, 1, 1, 0x0006, 7, bytes((0x01, 0x07, 0x01)), tag=9)
    lost = DataRequest(AddrMode.NWK, 0x7777, 1, 1, 0x0006, 8, bytes((0x01, 0x08, 0x01)))
    network.send(on)
    network.send(lost)
    confirms = [e for e in recorder.events if isinstance(e, SendConfirmed)]
    assert confirms == [
        SendConfirmed(on, Status.SUCCESS),
        SendConfirmed(lost, Status.NWK_NO_ROUTE),
    ]
