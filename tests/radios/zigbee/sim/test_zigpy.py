"""The simulator against unmodified zigpy-znp through a pty (and TCP)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import zigpy.device
import zigpy.types as zt
from zigpy.zcl import foundation
from zigpy.zcl.clusters.general import OnOff
from zigpy_znp.zigbee.application import ControllerApplication

from radios.zigbee.sim import DeviceKind, ResetReason, Simulator
from radios.zigbee.sim.clusters import ClusterId
from tests.radios.zigbee.sim.conftest import AppFactory, wait_for

LIGHT = "00:0d:6f:00:00:00:00:01"
CONTACT = "00:0d:6f:00:00:00:00:02"


class _Commands:
    """A zigpy cluster listener that keeps the ids of the cluster commands it received."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def cluster_command(self, tsn: int, command_id: int, args: Any) -> None:
        self.ids.append(command_id)


class _Initialized:
    """A zigpy application listener that keeps the devices zigpy finished interviewing."""

    def __init__(self) -> None:
        self.ieees: set[zt.EUI64] = set()

    def device_initialized(self, device: zigpy.device.Device) -> None:
        self.ieees.add(device.ieee)


async def join(app: ControllerApplication, sim: Simulator, ieee: str) -> zigpy.device.Device:
    """Open the network and wait until zigpy has interviewed the device (Basic read too)."""
    listener = _Initialized()
    app.add_listener(listener)
    await app.permit(10)
    eui = zt.EUI64.convert(ieee)
    await wait_for(lambda: eui in listener.ieees)
    device: zigpy.device.Device = app.devices[eui]
    return device


async def test_forms_a_network_then_restores_it(sim: Simulator, make_app: AppFactory) -> None:
    app = await make_app(sim)
    info = app.state.network_info
    assert info.channel in range(11, 27)
    assert info.network_key.key != zt.KeyData(bytes(16))
    assert app.state.node_info.nwk == 0x0000
    await app.shutdown()

    again = await make_app(sim)
    assert again.state.network_info.pan_id == info.pan_id
    assert again.state.network_info.extended_pan_id == info.extended_pan_id
    assert again.state.network_info.network_key.key == info.network_key.key


async def test_device_joins_and_is_interviewed(sim: Simulator, make_app: AppFactory) -> None:
    app = await make_app(sim)
    sim.add_device(DeviceKind.CT_LIGHT, LIGHT, manufacturer="Acme", model="CT-1")
    device = await join(app, sim, LIGHT)
    assert device.manufacturer == "Acme"
    assert device.model == "CT-1"
    assert device.node_desc is not None and device.node_desc.is_router
    endpoint = device.endpoints[1]
    assert set(endpoint.in_clusters) >= {0x0000, 0x0006, 0x0008, 0x0300}
    assert device.nwk == sim.device(LIGHT).nwk


async def test_on_off_command_gets_its_default_response(
    sim: Simulator, make_app: AppFactory
) -> None:
    app = await make_app(sim)
    sim.add_device(DeviceKind.ON_OFF_LIGHT, LIGHT)
    device = await join(app, sim, LIGHT)
    on_off = device.endpoints[1].in_clusters[OnOff.cluster_id]
    rsp = await on_off.on()
    assert rsp.command_id == OnOff.ServerCommandDefs.on.id
    assert rsp.status == foundation.Status.SUCCESS
    assert sim.device(LIGHT).endpoint.clusters[ClusterId.ON_OFF].get(0x0000) == 1
    attrs, _ = await on_off.read_attributes(["on_off"])
    assert attrs["on_off"] == 1


async def test_report_reaches_the_zigpy_cluster(sim: Simulator, make_app: AppFactory) -> None:
    app = await make_app(sim)
    sim.add_device(DeviceKind.ON_OFF_LIGHT, LIGHT)
    device = await join(app, sim, LIGHT)
    on_off = device.endpoints[1].in_clusters[OnOff.cluster_id]
    seen: list[Any] = []
    on_off.on_event("attribute_report", seen.append)
    sim.device(LIGHT).switch(True)
    await wait_for(lambda: bool(seen))
    assert on_off.get("on_off") == 1


async def test_contact_sensor_enrolls_and_notifies(sim: Simulator, make_app: AppFactory) -> None:
    app = await make_app(sim)
    sim.add_device(DeviceKind.CONTACT_SENSOR, CONTACT)
    device = await join(app, sim, CONTACT)
    zone = device.endpoints[1].in_clusters[0x0500]
    requests = _Commands()
    zone.add_listener(requests)
    await zone.write_attributes({"cie_addr": app.state.node_info.ieee})
    await wait_for(lambda: requests.ids == [0x01])  # the Zone Enroll Request
    await zone.enroll_response(0, 7)
    await wait_for(lambda: sim.device(CONTACT).endpoint.clusters[0x0500].get(0x0000) == 1)
    sim.device(CONTACT).open()
    await wait_for(lambda: requests.ids == [0x01, 0x00])  # Zone Status Change Notification
    assert sim.device(CONTACT).endpoint.clusters[0x0500].get(0x0011) == 7


async def test_survives_garbage_and_bad_checksums(sim: Simulator, make_app: AppFactory) -> None:
    app = await make_app(sim)
    sim.inject_garbage(b"\x00\x13\xfe\xff garbage \xfe\x01")
    sim.faults.corrupt_next_frames = 1
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await app._znp.request(_ping())  # its answer arrives with a bad FCS
    rsp = await app._znp.request(_ping())
    assert rsp.Capabilities


async def test_unplug_is_a_lost_connection_and_replug_heals(
    sim: Simulator, make_app: AppFactory
) -> None:
    app = await make_app(sim)
    lost = asyncio.Event()
    app.connection_lost = lambda exc: lost.set()
    sim.unplug()
    async with asyncio.timeout(5):
        await lost.wait()
    await app.shutdown()
    await sim.replug()
    again = await make_app(sim)
    assert again.state.network_info.pan_id == app.state.network_info.pan_id


async def test_spontaneous_reset_is_announced(sim: Simulator, make_app: AppFactory) -> None:
    app = await make_app(sim)
    from zigpy_znp import commands as c

    reset = app._znp.wait_for_response(c.SYS.ResetInd.Callback(partial=True))
    sim.reset(ResetReason.WATCHDOG)
    async with asyncio.timeout(5):
        indication = await reset
    assert indication.Reason == 2
    assert sim.engine.network.endpoints == {}  # the host must register them again


async def test_runs_over_tcp(make_app: AppFactory) -> None:
    sim = Simulator()
    url = await sim.start_tcp()
    try:
        assert url.startswith("socket://127.0.0.1:")
        app = await make_app(sim)
        assert app.state.node_info.nwk == 0x0000
        assert sim.unknown_requests == []
    finally:
        await sim.close()


def _ping() -> Any:
    from zigpy_znp import commands as c

    return c.SYS.Ping.Req()


async def test_bind_reporting_and_leave(sim: Simulator, make_app: AppFactory) -> None:
    app = await make_app(sim)
    sim.add_device(DeviceKind.SMART_PLUG, LIGHT)
    device = await join(app, sim, LIGHT)
    metering = device.endpoints[1].in_clusters[0x0702]
    rsp = await metering.bind()
    assert rsp[0] == 0  # ZDO SUCCESS
    assert sim.device(LIGHT).node.bindings[0].cluster_id == 0x0702
    await metering.configure_reporting("instantaneous_demand", 1, 300, 5)
    config = sim.device(LIGHT).reporting[0x0702][0x0400]
    assert (config.min_interval_s, config.max_interval_s, config.reportable_change) == (1, 300, 5)
    left = asyncio.Event()

    class Listener:
        def device_left(self, dev: zigpy.device.Device) -> None:
            left.set()

    app.add_listener(Listener())
    sim.device(LIGHT).leave()
    async with asyncio.timeout(5):
        await left.wait()


async def test_line_emulation_at_115200_baud(make_app: AppFactory) -> None:
    sim = Simulator(baud_rate=115200)
    await sim.start_pty()
    try:
        app = await make_app(sim)
        assert app.state.node_info.nwk == 0x0000
        assert sim.line_byte_time_s == 10 / 115200
        assert sim.unknown_requests == []
    finally:
        await sim.close()


async def test_line_emulation_switched_at_runtime(sim: Simulator, make_app: AppFactory) -> None:
    app = await make_app(sim)
    assert (sim.baud_rate, sim.line_byte_time_s) == (None, 0.0)
    sim.baud_rate = 115200
    assert sim.line_byte_time_s == 10 / 115200
    await app.permit(0)  # still answered, now paced
    sim.baud_rate = None
    assert sim.line_byte_time_s == 0.0
    with pytest.raises(ValueError, match="positive"):
        sim.baud_rate = 0
