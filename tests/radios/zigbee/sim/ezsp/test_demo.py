"""The demo's EZSP radio (HUBD_DEMO_ZIGBEE=ezsp): the house joins through bellows when the
driver opens the network, and stays joined across a restart when the NCP's tokens are kept."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from hubd.core.events import DeviceJoined, Report
from radios.zigbee.settings import RadioType
from radios.zigbee.sim import DeviceKind, Simulator
from radios.zigbee.sim.demo import HOUSE_MIX, demo_ieee
from radios.zigbee.sim.ezsp.demo import demo_ncp
from radios.zigbee.sim.ezsp.simulator import EzspSimulator
from tests.radios.zigbee.conftest import Running, start_driver


async def _start(sim: EzspSimulator, state_dir: Path) -> Running:
    return await start_driver(cast(Simulator, sim), state_dir, radio_type=RadioType.EZSP)


async def _every_one_joins(z: Running, house: set[str]) -> None:
    while not house <= (joined := {e.device.address for e in z.sink.events
                                   if isinstance(e, DeviceJoined)}):
        await z.sink.wait_for(
            DeviceJoined, lambda e: e.device.address in house - joined, timeout_s=60)


async def test_the_house_joins_then_comes_back_joined(tmp_path: Path) -> None:
    state, hub_dir = tmp_path / "ncp.json", tmp_path / "hub"
    n = len(HOUSE_MIX)
    async with demo_ncp(n, state_path=state) as demo:
        z = await _start(demo.sim, hub_dir)
        try:
            await z.driver.permit_join(60)
            await _every_one_joins(z, {demo_ieee(index) for index in range(1, n + 1)})
            assert demo.sim.unknown_requests == []
        finally:
            await z.stop()
    assert state.stat().st_mode & 0o777 == 0o600  # the tokens hold the network key

    async with demo_ncp(n, state_path=state) as demo:
        z = await _start(demo.sim, hub_dir)
        try:
            climate = demo_ieee(HOUSE_MIX.index(DeviceKind.TEMP_HUMIDITY_SENSOR) + 1)
            assert demo.temperature_drift()  # already joined: no permit join needed
            await z.sink.wait_for(
                Report, lambda r: (r.device_id, r.attribute)
                == (f"zigbee:{climate}", "temperature.celsius"), timeout_s=20)
            assert demo.sim.unknown_requests == []
        finally:
            await z.stop()
