"""Groups on the simulated devices: the Groups cluster's table (ZCL 3.6) byte-exact, and
group-addressed AF frames (DstEndpoint 0) delivered to member endpoints only. Synchronous."""

from __future__ import annotations

import random
from collections.abc import Callable

from radios.zigbee.sim import DeviceKind
from radios.zigbee.sim.commands import AddrMode, Status
from radios.zigbee.sim.kinds import DeviceSpec
from radios.zigbee.sim.mt import MtFrame
from radios.zigbee.sim.network import DataRequest, Identity, Network
from radios.zigbee.sim.nvram import NvStore
from tests.radios.zigbee.sim.test_devices import Air, make

GROUPS = 0x0004


def take(air: Air) -> bytes:
    """The one frame the device sent since the last call (its cluster-specific response)."""
    (answer,) = air.sent
    air.sent.clear()
    return answer[3]


def test_add_view_membership_and_remove_byte_exact() -> None:
    device, air = make(DeviceKind.CT_LIGHT)
    # Add Group 0x0010 "hall" (fc 0x01 cluster-specific client->server, tsn 7, cmd 0x00)
    device.handle_zcl(1, 1, GROUPS, bytes((0x01, 0x07, 0x00, 0x10, 0x00, 4)) + b"hall",
                      is_unicast=True)
    # Add Group Response: fc 0x19, tsn 7, cmd 0x00, status SUCCESS, group 0x0010
    assert take(air) == bytes((0x19, 0x07, 0x00, 0x00, 0x10, 0x00))
    device.handle_zcl(1, 1, GROUPS, bytes((0x01, 0x08, 0x00, 0x10, 0x00, 0)), is_unicast=True)
    assert take(air) == bytes((0x19, 0x08, 0x00, 0x8A, 0x10, 0x00))  # dup
    # View Group: status, group, name
    device.handle_zcl(1, 1, GROUPS, bytes((0x01, 0x09, 0x01, 0x10, 0x00)), is_unicast=True)
    assert take(air) == bytes((0x19, 0x09, 0x01, 0x00, 0x10, 0x00, 4)) + b"hall"
    # Get Group Membership, all groups: capacity left 15, one group
    device.handle_zcl(1, 1, GROUPS, bytes((0x01, 0x0A, 0x02, 0x00)), is_unicast=True)
    assert take(air) == bytes((0x19, 0x0A, 0x02, 15, 1, 0x10, 0x00))
    # Remove Group, then again: NOT_FOUND; View: NOT_FOUND with an empty name
    device.handle_zcl(1, 1, GROUPS, bytes((0x01, 0x0B, 0x03, 0x10, 0x00)), is_unicast=True)
    assert take(air) == bytes((0x19, 0x0B, 0x03, 0x00, 0x10, 0x00))
    device.handle_zcl(1, 1, GROUPS, bytes((0x01, 0x0C, 0x03, 0x10, 0x00)), is_unicast=True)
    assert take(air) == bytes((0x19, 0x0C, 0x03, 0x8B, 0x10, 0x00))
    device.handle_zcl(1, 1, GROUPS, bytes((0x01, 0x0D, 0x01, 0x10, 0x00)), is_unicast=True)
    assert take(air) == bytes((0x19, 0x0D, 0x01, 0x8B, 0x10, 0x00, 0))
    assert device.endpoint.groups == {}


def test_reserved_group_ids_are_invalid() -> None:
    device, air = make(DeviceKind.ON_OFF_LIGHT)
    device.handle_zcl(1, 1, GROUPS, bytes((0x01, 0x07, 0x00, 0xF8, 0xFF, 0)), is_unicast=True)
    assert take(air) == bytes((0x19, 0x07, 0x00, 0x87, 0xF8, 0xFF))
    assert device.endpoint.groups == {}


class FakeRadio:
    """The engine side of the Network: frames emitted, timers run at once."""

    def __init__(self) -> None:
        self.frames: list[MtFrame] = []

    def emit(self, frame: MtFrame, delay_s: float = 0.0) -> None:
        self.frames.append(frame)

    def call_later(self, delay_s: float, action: Callable[[], None]) -> None:
        action()

    def now(self) -> float:
        return 0.0


def test_a_group_frame_with_endpoint_0_reaches_member_endpoints_only() -> None:
    network = Network(FakeRadio(), NvStore(), rng=random.Random(1))
    network.identity = Identity(0x1A62, 0xDDDD, 15)
    member = network.add(DeviceSpec(0x01, DeviceKind.ON_OFF_LIGHT), is_joined=False)
    other = network.add(DeviceSpec(0x02, DeviceKind.ON_OFF_LIGHT), is_joined=False)
    for device in (member, other):
        device.joined_ext_pan = 0xDDDD
    member.endpoint.groups[0x0010] = ""
    # On, default response disabled (as zigpy sends to groups), DstEndpoint 0 as zigpy-znp does
    on = bytes((0x11, 0x05, 0x01))
    network.send(DataRequest(AddrMode.GROUP, 0x0010, 0, 1, 0x0006, 0x05, on))
    assert (member.frames_received, other.frames_received) == (1, 0)
    assert member.endpoint.clusters[0x0006].get(0x0000) == 1
    assert other.endpoint.clusters[0x0006].get(0x0000) == 0
    assert [r.address for r in network.multicasts] == [0x0010]
    confirm = network.radio.frames[0]  # type: ignore[attr-defined]
    assert confirm.payload[0] == Status.SUCCESS
