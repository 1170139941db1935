"""The demo radio across a restart: devices keep what they keep in their own flash (IAS
enrolment, bindings, reporting, groups), so the door sensor still reaches the hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubd.core.events import DeviceJoined, Report
from hubd.core.model import Capability
from radios.zigbee.sim.clusters import ClusterId
from radios.zigbee.sim.demo import HOUSE_MIX, demo_coordinator, demo_ieee
from radios.zigbee.sim.kinds import DeviceKind
from radios.zigbee.sim.memory import DeviceMemory, capture, restore
from tests.radios.zigbee.conftest import joined_with_capabilities, start_driver
from tests.radios.zigbee.sim.conftest import wait_for
from tests.radios.zigbee.sim.test_devices import make

DOOR = demo_ieee(HOUSE_MIX.index(DeviceKind.CONTACT_SENSOR) + 1)
LAMP = demo_ieee(HOUSE_MIX.index(DeviceKind.CT_LIGHT) + 1)


async def test_door_sensor_still_notifies_after_a_restart(tmp_path: Path) -> None:
    state, hub_dir = tmp_path / "stick.json", tmp_path / "hub"
    hub_dir.mkdir()
    async with demo_coordinator(2, state_path=state) as demo:
        z = await start_driver(demo.sim, hub_dir)
        try:
            await z.driver.permit_join(60)
            for ieee in (DOOR, LAMP):
                await z.sink.wait_for(DeviceJoined, joined_with_capabilities(ieee))
            door, lamp = demo.sim.device(DOOR), demo.sim.device(LAMP)
            zone = door.endpoint.cluster(ClusterId.IAS_ZONE)
            assert zone is not None
            ias_zone = zone  # a name mypy keeps narrowed inside the lambda
            await wait_for(lambda: ias_zone.get(0x0000) == 1 and bool(lamp.reporting)
                           and bool(lamp.node.bindings))
            await z.driver.add_to_group(f"zigbee:{LAMP}", 7)
            before = capture(lamp)
        finally:
            await z.stop()

    async with demo_coordinator(2, state_path=state) as demo:
        door, lamp = demo.sim.device(DOOR), demo.sim.device(LAMP)
        zone = door.endpoint.cluster(ClusterId.IAS_ZONE)
        assert zone is not None and zone.get(0x0000) == 1  # still enrolled
        assert capture(lamp) == before  # bindings, reporting, groups, values
        z = await start_driver(demo.sim, hub_dir)
        try:
            await z.sink.wait_for(DeviceJoined, lambda e: e.device.address == DOOR
                                  and Capability.CONTACT in e.device.capabilities)
            mark = len(z.sink.events)
            assert demo.door(is_open=True)
            report = await z.sink.wait_for(
                Report, lambda r: (r.device_id, r.attribute) == (f"zigbee:{DOOR}",
                                                                 "contact.is_open"), after=mark)
            assert report.value is True
            assert demo.sim.unknown_requests == []
        finally:
            await z.stop()


def test_memory_round_trips_through_json_and_restores_silently() -> None:
    light, _ = make(DeviceKind.CT_LIGHT)
    light.handle_zcl(1, 1, 0x0004, bytes((0x01, 0x01, 0x00, 0x05, 0x00, 2)) + b"up",
                     is_unicast=True)  # Add Group 5 "up"
    light.handle_zcl(1, 1, 0x0005, bytes((0x01, 0x02, 0x04, 0x05, 0x00, 0x03)),
                     is_unicast=True)  # Store Scene 3 in group 5
    light.switch(True)
    memory = capture(light)
    assert DeviceMemory.from_json(memory.to_json()) == memory

    fresh, fresh_air = make(DeviceKind.CT_LIGHT)
    restore(fresh, DeviceMemory.from_json(memory.to_json()))
    assert fresh.endpoint.groups == {5: "up"}
    assert (5, 3) in fresh.endpoint.scenes
    on_off = fresh.endpoint.cluster(ClusterId.ON_OFF)
    assert on_off is not None and on_off.get(0x0000) == 1
    assert capture(fresh) == memory
    assert fresh_air.sent == []  # a device coming back sends no reports


def test_malformed_memory_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="malformed device memory"):
        DeviceMemory.from_json({"values": [[6, 0]]})
    with pytest.raises(ValueError, match="must be a list"):
        DeviceMemory.from_json({"groups": 5})
