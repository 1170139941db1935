"""The short send path of cluster commands (radios.zigbee.adapter.unicast), on both families'
real stacks: the frame is byte-exact, and only the device's own answer to it (same TSN)
settles the command, as confirmed or as the failure the device said."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest
import zigpy.device
import zigpy.types as zt
from zigpy.endpoint import Endpoint
from zigpy.zcl import Cluster
from zigpy.zcl.clusters.general import LevelControl, OnOff

from hubd.core.model import Capability, Command, CommandStatus
from radios.zigbee.adapter import unicast
from radios.zigbee.settings import RadioType
from radios.zigbee.sim import DeviceKind, Simulator
from radios.zigbee.sim.ezsp.simulator import EzspSimulator
from radios.zigbee.sim.zcl import ZclStatus
from tests.radios.zigbee.conftest import Running, start_driver
from tests.radios.zigbee.test_driver import LIGHT, cmd, dev, join
from tests.radios.zigbee.test_faults import LIGHT_2, assert_works, is_on

LIGHT_3 = "00:0d:6f:00:00:00:02:02"


async def join_lights(z: Running, *ieees: str) -> None:
    """Join lights and let their onboarding (binds, reporting, reads) finish."""
    for ieee in ieees:
        await join(z, DeviceKind.ON_OFF_LIGHT, ieee)
    await z.driver.onboarded()


def _detached(cls: type[Cluster]) -> Cluster:
    """A cluster of no device: ``frame`` reads only its command table."""
    return cls(cast(Endpoint, None))


def test_frames_are_those_zigpy_builds() -> None:
    # ZCL 2.4.1: cluster-specific, client to server, Default Response wanted; TSN; command.
    assert unicast.frame(_detached(OnOff), 0x2A, 0x01, ()) == bytes((0x01, 0x2A, 0x01))
    # ZCL 3.10.2.4.5 Move to Level (with On/Off): level, then transition time (little endian).
    assert unicast.frame(_detached(LevelControl), 0xFF, 0x04, (128, 0x0102)) == bytes(
        (0x01, 0xFF, 0x04, 0x80, 0x02, 0x01))
    with pytest.raises(ValueError, match="0x0006 has no command 0x7f"):
        unicast.frame(_detached(OnOff), 1, 0x7F, ())
    # The payload is encoded once per command and arguments; the TSN still changes.
    hits = unicast._payload.cache_info().hits
    assert unicast.frame(_detached(LevelControl), 0x01, 0x04, (128, 0x0102)) == bytes(
        (0x01, 0x01, 0x04, 0x80, 0x02, 0x01))
    assert unicast._payload.cache_info().hits == hits + 1


@pytest.fixture(params=[RadioType.ZNP, RadioType.EZSP])
async def radio(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Running]:
    """The driver on the Z-Stack simulator (zigpy-znp) and on the EmberZNet one (bellows)."""
    radio_type = cast(RadioType, request.param)
    sim = EzspSimulator() if radio_type is RadioType.EZSP else Simulator()
    await sim.start_pty()
    try:
        running = await start_driver(cast(Simulator, sim), tmp_path, radio_type=radio_type)
        try:
            yield running
        finally:
            await running.stop()
    finally:
        await sim.close()
    assert sim.unknown_requests == []


def _pending(z: Running, ieee: str) -> int:
    """Requests zigpy still waits an answer for from this device."""
    adapter = z.driver.adapter
    assert adapter is not None and adapter.app is not None
    device = adapter.app.devices[zt.EUI64.convert(ieee)]
    assert isinstance(device, zigpy.device.Device)
    return len(device._requests)


async def test_the_frame_on_the_air(radio: Running) -> None:
    await join_lights(radio, LIGHT)
    light = radio.sim.device(LIGHT)
    seen: list[tuple[int, int, int, bytes]] = []
    handle = light.handle_zcl

    def record(src_ep: int, dst_ep: int, cluster_id: int, data: bytes, *,
               is_unicast: bool) -> None:
        seen.append((src_ep, dst_ep, cluster_id, data))
        handle(src_ep, dst_ep, cluster_id, data, is_unicast=is_unicast)

    light.handle_zcl = record  # type: ignore[method-assign]
    for _ in range(2):
        result = await radio.driver.send(cmd(LIGHT, "switch.on"))
        assert (result.status, result.error) == (CommandStatus.CONFIRMED, None)
    (_, dst_ep, cluster_id, first), (_, _, _, second) = seen[-2:]
    assert (dst_ep, cluster_id) == (1, 0x0006)
    assert first[0] == 0x01 and first[2:] == b"\x01" and second[2:] == b"\x01"
    assert second[1] == (first[1] + 1) & 0xFF  # the device's counter, one per request
    assert _pending(radio, LIGHT) == 0


async def test_answers_settle_their_own_commands(radio: Running) -> None:
    await join_lights(radio, LIGHT, LIGHT_2, LIGHT_3)
    commands = [cmd(ieee, "switch.on") for ieee in (LIGHT, LIGHT_2, LIGHT_3) for _ in range(2)]
    results = await asyncio.gather(*(radio.driver.send(c) for c in commands))
    assert [(r.command, r.status, r.error) for r in results] == [
        (c, CommandStatus.CONFIRMED, None) for c in commands]
    assert all(is_on(radio.sim, ieee) for ieee in (LIGHT, LIGHT_2, LIGHT_3))


async def test_an_answer_with_another_tsn_settles_nothing(radio: Running) -> None:
    await join_lights(radio, LIGHT)
    light = radio.sim.device(LIGHT)
    light.answer_tsn_skew = 1
    command = Command(dev(LIGHT), Capability.SWITCH, "on", deadline=time.monotonic() + 0.5)
    result = await radio.driver.send(command)
    assert result.status is CommandStatus.FAILED and "timeout" in (result.error or "")
    assert is_on(radio.sim, LIGHT)  # the light did it: only its answer was not ours
    assert _pending(radio, LIGHT) == 0
    light.answer_tsn_skew = 0
    await assert_works(radio)


async def test_a_device_that_never_answers_times_out(radio: Running) -> None:
    await join_lights(radio, LIGHT)
    radio.sim.device(LIGHT).is_silent = True
    command = Command(dev(LIGHT), Capability.SWITCH, "on", deadline=time.monotonic() + 0.5)
    result = await radio.driver.send(command)
    assert result.status is CommandStatus.FAILED
    assert "timeout" in (result.error or "") and 0.4 < result.latency_s < 1.5
    assert _pending(radio, LIGHT) == 0
    radio.sim.device(LIGHT).is_silent = False
    await assert_works(radio)


async def test_a_refusal_is_the_failure_the_device_said(radio: Running) -> None:
    await join_lights(radio, LIGHT)
    light = radio.sim.device(LIGHT)
    light.refuse_commands_with = ZclStatus.UNSUP_CLUSTER_COMMAND
    result = await radio.driver.send(cmd(LIGHT, "switch.on"))
    assert (result.status, result.error) == (
        CommandStatus.FAILED, "the device refused: UNSUP_CLUSTER_COMMAND")
    assert not is_on(radio.sim, LIGHT) and _pending(radio, LIGHT) == 0
    light.refuse_commands_with = None
    await assert_works(radio)


async def test_an_interviewed_device_is_found_without_parsing_its_address(
        radio: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    await join_lights(radio, LIGHT)
    parsed: list[object] = []
    convert = zt.EUI64.convert

    def counting_convert(value: str) -> zt.EUI64:
        parsed.append(value)
        return convert(value)

    monkeypatch.setattr(zt.EUI64, "convert", counting_convert)
    result = await radio.driver.send(cmd(LIGHT, "switch.on"))
    assert (result.status, result.error) == (CommandStatus.CONFIRMED, None)
    assert LIGHT not in parsed  # its clusters were listed when it was attached
    # A device the adapter does not listen to is looked up in zigpy's table, as before.
    adapter = radio.driver.adapter
    assert adapter is not None
    adapter._events.detach(LIGHT)
    result = await radio.driver.send(cmd(LIGHT, "switch.off"))
    assert (result.status, result.error) == (CommandStatus.CONFIRMED, None)
    assert LIGHT in parsed and not is_on(radio.sim, LIGHT)
