"""The demo radio: a house of devices joins when zigpy opens the network, and stays joined
across a restart when the stick's state is kept."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import zigpy.types as zt
from zigpy_znp.zigbee.application import ControllerApplication

from radios.zigbee.sim import DeviceKind
from radios.zigbee.sim.demo import HOUSE_MIX, demo_coordinator, demo_ieee, drift_step_centi
from tests.radios.zigbee.sim.conftest import wait_for, zigpy_config


class _Initialized:
    def __init__(self) -> None:
        self.ieees: set[zt.EUI64] = set()

    def device_initialized(self, device: Any) -> None:
        self.ieees.add(device.ieee)


async def _start(path: str, db: Path) -> ControllerApplication:
    async with asyncio.timeout(20):
        return await ControllerApplication.new(
            zigpy_config(path, db), auto_form=True, start_radio=True
        )


async def test_devices_join_then_come_back_joined(tmp_path: Path) -> None:
    state = tmp_path / "stick.json"
    n = len(HOUSE_MIX)
    async with demo_coordinator(n, state_path=state) as demo:
        app = await _start(demo.path, tmp_path / "zigbee.db")
        listener = _Initialized()
        app.add_listener(listener)
        await app.permit(30)
        await wait_for(lambda: len(listener.ieees) == n, timeout_s=30)
        assert {d.kind for d in demo.sim.devices} == set(DeviceKind)
        assert demo.sim.unknown_requests == []
        await app.shutdown()
    assert state.exists()
    assert state.stat().st_mode & 0o777 == 0o600  # the stick's NV holds the network key

    async with demo_coordinator(n, state_path=state) as demo:
        app = await _start(demo.path, tmp_path / "zigbee.db")
        try:
            climate = zt.EUI64.convert(
                demo_ieee(HOUSE_MIX.index(DeviceKind.TEMP_HUMIDITY_SENSOR) + 1)
            )
            cluster = app.get_device(ieee=climate).endpoints[1].in_clusters[0x0402]
            seen: list[Any] = []
            cluster.on_event("attribute_report", seen.append)
            assert demo.temperature_drift()  # already joined: no permit join needed
            await wait_for(lambda: bool(seen))
            assert demo.sim.unknown_requests == []
        finally:
            await app.shutdown()



def test_every_temperature_drift_is_a_change_the_sensor_reports() -> None:
    # A sensor reports a change only. The drift was uniform(-0.3, 0.3) rounded to 0.01 °C:
    # about one drift in sixty changed nothing, sent nothing, and the restart test above
    # waited for that report in vain.
    rng = random.Random(0)
    steps = [drift_step_centi(rng) for _ in range(10_000)]
    assert all(1 <= abs(step) <= 30 for step in steps)
    assert min(steps) < 0 < max(steps)
