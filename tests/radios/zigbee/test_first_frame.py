"""Local control's first frame: the command a device's frame causes goes out before zigpy's
Default Response to that frame (Z-Stack takes one request at a time).

The order comes from the turns of the event loop, not from a timer: hubd hears the frame at
zigpy's packet entry and zigpy answers it turns later, so the test holds on a loaded machine
too, with the Default Response not held at all (and, as configured by default, held)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hubd.core.events import Report
from hubd.core.model import Capability, Command, CommandStatus
from radios.zigbee.settings import ZigbeeSettings
from radios.zigbee.sim import DeviceKind, Simulator
from radios.zigbee.sim.devices import SimDevice
from tests.radios.zigbee.conftest import Running, start_driver
from tests.radios.zigbee.test_driver import CONTACT, LIGHT, dev, join


def is_default_response(data: bytes) -> bool:
    """A profile-wide frame (ZCL 2.4.1.1) with command 0x0B (ZCL 2.5.12)."""
    if not data or data[0] & 0x03 != 0:
        return False
    command_at = 4 if data[0] & 0x04 else 2  # after the manufacturer code, if any
    return len(data) > command_at and data[command_at] == 0x0B


def _record(device: SimDevice, frames: list[tuple[int, int, bytes]], arrived: asyncio.Event
            ) -> None:
    """Note every ZCL frame the coordinator sends this device, in order."""
    original = device.handle_zcl

    def recorded(src_ep: int, dst_ep: int, cluster_id: int, data: bytes, *,
                 is_unicast: bool) -> None:
        frames.append((device.ieee, cluster_id, data))
        arrived.set()
        original(src_ep, dst_ep, cluster_id, data, is_unicast=is_unicast)

    device.handle_zcl = recorded  # type: ignore[method-assign]


def test_default_responses_are_recognised() -> None:
    assert is_default_response(bytes([0x18, 0x05, 0x0B, 0x00, 0x00]))
    assert is_default_response(bytes([0x1C, 0x34, 0x12, 0x05, 0x0B, 0x00, 0x00]))  # mfr code
    assert not is_default_response(bytes([0x01, 0x05, 0x0B]))  # cluster-specific 0x0B
    assert not is_default_response(bytes([0x18, 0x05, 0x0A]))  # a report
    assert not is_default_response(b"")


@pytest.mark.parametrize("hold_s", [0.0, ZigbeeSettings().default_response_hold_s])
async def test_the_rules_command_is_the_first_frame_on_the_wire(sim: Simulator,
                                                                tmp_path: Path,
                                                                hold_s: float) -> None:
    zigbee = await start_driver(sim, tmp_path, default_response_hold_s=hold_s)
    try:
        command_at, answer_at = await _first_frame(zigbee)
    finally:
        await zigbee.stop()
    assert command_at < answer_at  # the rule's command went out before the Default Response


async def _first_frame(zigbee: Running) -> tuple[int, int]:
    """Where, among the frames the devices received after the door opened, the light's On
    and the door's Default Response to its notification stand."""
    await join(zigbee, DeviceKind.ON_OFF_LIGHT, LIGHT)
    await join(zigbee, DeviceKind.CONTACT_SENSOR, CONTACT)
    door, light = zigbee.sim.device(CONTACT), zigbee.sim.device(LIGHT)
    frames: list[tuple[int, int, bytes]] = []
    arrived = asyncio.Event()
    _record(door, frames, arrived)
    _record(light, frames, arrived)
    done = asyncio.Event()
    original = zigbee.sink.report

    def react(event: object) -> None:
        # As the rules engine does: the reaction runs in a task of its own, a loop turn later.
        original(event)  # type: ignore[arg-type]
        if isinstance(event, Report) and event.device_id == dev(CONTACT) and event.value is True:
            command = Command(dev(LIGHT), Capability.SWITCH, "on",
                              context=event.context.child("rule:hall"))

            async def run() -> None:
                await asyncio.sleep(0)
                result = await zigbee.driver.send(command)
                assert result.status is CommandStatus.CONFIRMED
                done.set()

            asyncio.get_running_loop().create_task(run())

    zigbee.sink.report = react  # type: ignore[method-assign]
    await zigbee.driver.onboarded()  # onboarding chatter (binds, reads) is over
    frames.clear()
    door.open()
    await asyncio.wait_for(done.wait(), 10)
    async with asyncio.timeout(10):  # the Default Response to the door follows
        while not any(ieee == door.ieee and is_default_response(data) and data[-2] == 0x00
                      for ieee, _, data in frames):
            arrived.clear()
            await arrived.wait()
    # Onboarding's late reads or binds may interleave; the order of these two is the point.
    command_at = next(i for i, (ieee, cluster_id, data) in enumerate(frames)
                      if (ieee, cluster_id) == (light.ieee, 0x0006) and data[0] & 0x03 == 0x01)
    # The Default Response to the notification (it names the command it answers, 0x00, ZCL
    # 2.5.12.2), not one to the door's Zone Enroll Request (0x01), which onboarding's hold
    # may release just now.
    answer_at = next(i for i, (ieee, _, data) in enumerate(frames)
                     if ieee == door.ieee and is_default_response(data) and data[-2] == 0x00)
    return command_at, answer_at

