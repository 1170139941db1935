"""Configured groups through the real hub: Hub + Bus + StateStore, the ZigbeeDriver and the
real zigpy-znp on a pty against the simulated coordinator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from hubd.bus import Bus
from hubd.core.clock import SystemClock
from hubd.core.model import Capability, Command, CommandStatus
from hubd.core.state import StateStore
from hubd.hub import Hub
from radios.zigbee.driver import ZigbeeDriver
from radios.zigbee.settings import ZigbeeGroup
from radios.zigbee.sim import DeviceKind, Simulator
from radios.zigbee.sim.clusters import ClusterId as SimCluster
from tests.radios.zigbee.conftest import FAST
from tests.radios.zigbee.sim.conftest import wait_for

LIGHT = "00:0d:6f:00:00:00:02:01"
CT_LIGHT = "00:0d:6f:00:00:00:02:02"
GROUP = "zigbee:group:1"


@asynccontextmanager
async def running_hub(sim: Simulator, state_dir: Path, *groups: ZigbeeGroup
                      ) -> AsyncIterator[tuple[Hub, ZigbeeDriver]]:
    """The hub kernel with the zigbee driver on the simulator, radio up."""
    hub = Hub(SystemClock(), Bus(), StateStore())
    driver = ZigbeeDriver(replace(FAST, path=sim.path, groups=groups), state_dir)
    hub.add_driver(driver)
    task = asyncio.create_task(driver.run(hub))
    try:
        assert await hub.wait_radios(15) == []
        yield hub, driver
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await hub.bus.close()


def capabilities(hub: Hub, device_id: str) -> set[Capability] | None:
    device = hub.state.get_device(device_id)
    return None if device is None else set(device.capabilities)


def is_on(sim: Simulator, ieee: str) -> bool:
    on_off = sim.device(ieee).endpoint.cluster(SimCluster.ON_OFF)
    return on_off is not None and bool(on_off.get(0x0000))


async def test_a_group_is_a_device_that_takes_one_multicast(sim: Simulator, tmp_path: Path
                                                              ) -> None:
    living = ZigbeeGroup(1, "Living room lights", (f"zigbee:{LIGHT}", CT_LIGHT), room="Living")
    async with running_hub(sim, tmp_path, living) as (hub, driver):
        group = hub.state.get_device(GROUP)
        assert group is not None
        assert (group.name, group.room, group.capabilities) == (
            "Living room lights", "Living", frozenset())  # no member known yet
        refused = await hub.execute(Command(GROUP, Capability.SWITCH, "on"))
        assert refused.status is CommandStatus.FAILED

        sim.add_device(DeviceKind.ON_OFF_LIGHT, LIGHT)
        sim.add_device(DeviceKind.CT_LIGHT, CT_LIGHT)
        await driver.permit_join(60)
        # switch is what an on/off light and a colour-temperature light share
        await wait_for(lambda: capabilities(hub, GROUP) == {Capability.SWITCH}
                       and all(1 in sim.device(i).endpoint.groups for i in (LIGHT, CT_LIGHT)))

        result = await hub.execute(Command(GROUP, Capability.SWITCH, "on"))
        assert (result.status, result.error) == (CommandStatus.SENT, None)
        assert [r.address for r in sim.multicasts] == [1]
        assert is_on(sim, LIGHT) and is_on(sim, CT_LIGHT)
        # The members report their own state; the group has none.
        await wait_for(lambda: all(hub.state.entry(f"zigbee:{i}", "switch.on") is not None
                                   and hub.state.value(f"zigbee:{i}", "switch.on") is True
                                   for i in (LIGHT, CT_LIGHT)))
        assert hub.state.entries(GROUP) == []
        dim = await hub.execute(Command(GROUP, Capability.LEVEL, "set", {"level_pct": 50}))
        assert dim.status is CommandStatus.FAILED and "no level" in (dim.error or "")
        assert len(sim.multicasts) == 1


async def test_membership_follows_the_configuration_across_starts(
        sim: Simulator, tmp_path: Path) -> None:
    both = ZigbeeGroup(1, "Hall", (LIGHT, CT_LIGHT))
    async with running_hub(sim, tmp_path, both) as (hub, driver):
        sim.add_device(DeviceKind.ON_OFF_LIGHT, LIGHT)
        sim.add_device(DeviceKind.CT_LIGHT, CT_LIGHT)
        await driver.permit_join(60)
        await wait_for(lambda: all(1 in sim.device(i).endpoint.groups for i in (LIGHT, CT_LIGHT)))

    only_ct = ZigbeeGroup(1, "Hall", (CT_LIGHT,))
    async with running_hub(sim, tmp_path, only_ct) as (hub, _):
        # Known members at start: the group is announced with their shared capabilities.
        assert capabilities(hub, GROUP) == {Capability.SWITCH, Capability.LEVEL,
                                            Capability.COLOR}
        await wait_for(lambda: 1 not in sim.device(LIGHT).endpoint.groups)
        assert 1 in sim.device(CT_LIGHT).endpoint.groups
        result = await hub.execute(Command(GROUP, Capability.LEVEL, "set", {"level_pct": 50}))
        assert result.status is CommandStatus.SENT
        await wait_for(lambda: sim.device(CT_LIGHT).endpoint.clusters[0x0008].get(0) == 127)
        assert not is_on(sim, LIGHT)


async def test_capabilities_follow_members_joining_and_leaving(sim: Simulator, tmp_path: Path
                                                               ) -> None:
    group = ZigbeeGroup(1, "Hall", (LIGHT, CT_LIGHT))
    async with running_hub(sim, tmp_path, group) as (hub, driver):
        sim.add_device(DeviceKind.CT_LIGHT, CT_LIGHT)
        await driver.permit_join(60)
        await wait_for(lambda: capabilities(hub, GROUP) == {Capability.SWITCH,
                                                            Capability.LEVEL, Capability.COLOR})
        sim.add_device(DeviceKind.ON_OFF_LIGHT, LIGHT)
        await driver.permit_join(60)
        await wait_for(lambda: capabilities(hub, GROUP) == {Capability.SWITCH})
        sim.device(LIGHT).leave()
        await wait_for(lambda: capabilities(hub, GROUP) == {Capability.SWITCH,
                                                            Capability.LEVEL, Capability.COLOR})


@pytest.mark.parametrize("member", ["zigbee:group:2", "00:0d:6f", "lutron:12", "zigbee:zz:00:00"
                                    ":00:00:00:00:00"])
def test_bad_members_and_ids_are_refused(member: str) -> None:
    with pytest.raises(ValueError, match="not a zigbee device id or IEEE"):
        ZigbeeGroup(1, "x", (member,))


def test_group_ids_out_of_range_are_refused() -> None:
    for bad in (0, 0xFFF8, 70000):
        with pytest.raises(ValueError, match="group id"):
            ZigbeeGroup(bad, "x")
