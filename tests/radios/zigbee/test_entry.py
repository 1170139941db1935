"""Frames taken at zigpy's packet entry: hubd hears them first, once, and zigpy still
handles them (Default Response, attribute cache, last seen) in turn."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import pytest
import zigpy.types as zt
import zigpy_znp.commands as c
from zigpy.zcl import Cluster
from zigpy.zcl.clusters.general import Scenes
from zigpy.zcl.clusters.security import IasZone

from hubd.core.events import Report
from hubd.core.model import CommandStatus
from radios.zigbee.adapter.entry import REPLAY_DELAY_S, _int_layout, _payload
from radios.zigbee.adapter.glue import plain
from radios.zigbee.sim import DeviceKind
from radios.zigbee.sim.clusters import ClusterId as SimCluster
from tests.radios.zigbee.conftest import Running
from tests.radios.zigbee.test_driver import CONTACT, LIGHT, cmd, dev, join, report


def _reports(z: Running, ieee: str, attribute: str, after: int) -> list[Report]:
    return [e for e in z.sink.of(Report)[after:]
            if (e.device_id, e.attribute) == (dev(ieee), attribute)]


def _zigpy_device(z: Running, ieee: str) -> object:
    adapter = z.driver.adapter
    assert adapter is not None and adapter.app is not None
    return next(d for d in adapter.app.devices.values() if str(d.ieee) == ieee)


async def _settled(z: Running) -> None:
    """Until zigpy has handled every frame taken at the entry."""
    adapter = z.driver.adapter
    assert adapter is not None
    async with asyncio.timeout(5):
        await adapter.entry_handled()


async def test_a_report_is_heard_once_and_zigpy_still_caches_it(zigbee: Running) -> None:
    await join(zigbee, DeviceKind.ON_OFF_LIGHT, LIGHT)
    adapter = zigbee.driver.adapter
    assert adapter is not None
    mark, taken = len(zigbee.sink.of(Report)), adapter.frames_taken_at_entry
    zigbee.sim.device(LIGHT).switch(True)
    await report(zigbee, LIGHT, "switch.on", True)
    await _settled(zigbee)
    assert adapter.frames_taken_at_entry > taken
    assert len(_reports(zigbee, LIGHT, "switch.on", mark)) == 1
    device = _zigpy_device(zigbee, LIGHT)
    on_off = device.endpoints[1].in_clusters[SimCluster.ON_OFF]  # type: ignore[attr-defined]
    assert bool(on_off.get(0x0000)) is True  # zigpy's attribute cache, after the replay


async def test_a_repeated_frame_is_heard_once(zigbee: Running) -> None:
    await join(zigbee, DeviceKind.CONTACT_SENSOR, CONTACT)
    door = zigbee.sim.device(CONTACT)
    mark = len(zigbee.sink.of(Report))
    # A Zone Status Change Notification (ZCL 8.2.2.4.1) relayed twice, as routers may do.
    frame = bytes([0x09, door.next_tsn(), 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00])
    for _ in range(2):
        zigbee.sim.engine.network.device_sent(door, 1, 1, SimCluster.IAS_ZONE, frame)
    await report(zigbee, CONTACT, "contact.is_open", True, after=0)
    await _settled(zigbee)
    # Then a fresh frame, so that a late duplicate would show before the check.
    door.close()
    await report(zigbee, CONTACT, "contact.is_open", False, after=mark)
    assert len(_reports(zigbee, CONTACT, "contact.is_open", mark)) == 2


async def test_a_door_is_heard_in_the_turn_its_frame_is_read(zigbee: Running) -> None:
    # zigpy-znp wraps its coroutine handler of AF.IncomingMsg in a task per frame: one loop
    # turn between the line and hubd. The adapter's application runs it at once.
    await join(zigbee, DeviceKind.CONTACT_SENSOR, CONTACT)
    adapter = zigbee.driver.adapter
    assert adapter is not None and adapter.app is not None
    znp = adapter.app._znp  # type: ignore[attr-defined]
    received = znp.frame_received
    heard_within: list[bool] = []

    def watched(frame: object) -> object:
        before = len(_reports(zigbee, CONTACT, "contact.is_open", 0))
        result = received(frame)
        if frame.header == c.AF.IncomingMsg.Callback.header:  # type: ignore[attr-defined]
            heard_within.append(len(_reports(zigbee, CONTACT, "contact.is_open", 0)) > before)
        return result

    znp.frame_received = watched
    try:
        mark = len(zigbee.sink.of(Report))
        zigbee.sim.device(CONTACT).open()
        await report(zigbee, CONTACT, "contact.is_open", True, after=mark)
    finally:
        znp.frame_received = received
    assert heard_within and heard_within[-1]
    await _settled(zigbee)


async def test_a_door_is_heard_before_zigpy_znp_parses_its_frame(
        zigbee: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    # On Z-Stack the frame is taken at the MT API's frame_received (adapter/znp_entry.py):
    # zigpy-znp's parse of the AF.IncomingMsg, and all that follows it, comes turns later.
    await join(zigbee, DeviceKind.CONTACT_SENSOR, CONTACT)
    await _settled(zigbee)
    device = _zigpy_device(zigbee, CONTACT)
    parsed: list[object] = []
    incoming = c.AF.IncomingMsg.Callback
    from_frame = incoming.from_frame

    def counted(frame: object, *args: object, **kwargs: object) -> object:
        parsed.append(frame)
        return from_frame(frame, *args, **kwargs)

    monkeypatch.setattr(incoming, "from_frame", counted)
    heard_unparsed: list[bool] = []
    sink_report = zigbee.sink.report

    def heard(event: object) -> None:
        if isinstance(event, Report) and event.device_id == dev(CONTACT):
            heard_unparsed.append(not parsed)
        sink_report(event)  # type: ignore[arg-type]

    monkeypatch.setattr(zigbee.sink, "report", heard)
    seen_before = device.last_seen  # type: ignore[attr-defined]
    mark = len(zigbee.sink.of(Report))
    zigbee.sim.device(CONTACT).open()
    await report(zigbee, CONTACT, "contact.is_open", True, after=mark)
    await _settled(zigbee)
    assert heard_unparsed and all(heard_unparsed)
    # zigpy-znp parsed the very frame afterwards and zigpy handled it (last seen).
    assert len(parsed) == 1
    assert device.last_seen != seen_before  # type: ignore[attr-defined]


def _int_commands() -> list[tuple[type, Any]]:
    return [(cls, command) for cls in Cluster._registry.values()
            for command in (*cls.server_commands.values(), *cls.client_commands.values())
            if _int_layout(command.schema) is not None]


def test_integer_commands_read_as_zigpy_reads_them() -> None:
    # Every command zigpy defines with integer-only fields: the struct layout and zigpy's
    # own parser give the same plain values, on the same bytes.
    commands = _int_commands()
    assert len(commands) > 50
    rng = random.Random(8)
    for _cls, command in commands:
        layout = _int_layout(command.schema)
        assert layout is not None
        payload = bytes(rng.randrange(256) for _ in range(layout.size + 1))
        fields, _rest = command.schema.deserialize(payload)
        assert layout.unpack_from(payload) == tuple(plain(v) for v in fields.as_tuple()), \
            command.name


def test_other_commands_keep_zigpys_parser() -> None:
    ias = IasZone(None)  # type: ignore[arg-type]
    notification = bytes([0x09, 0x05, 0x00, 0x21, 0x00, 0x00, 0x07, 0x00, 0x00])
    assert _payload(ias, notification) == (0x21, 0x00, 0x07, 0x0000)
    # IAS Zone Enroll Request: an enum16 zone type and a uint16 manufacturer code.
    assert _payload(ias, bytes([0x09, 0x06, 0x01, 0x15, 0x00, 0x34, 0x12])) == (0x15, 0x1234)
    scenes = Scenes(None)  # type: ignore[arg-type]
    # Add Scene (ZCL 3.7.2.4.2) holds a string: zigpy's own parser reads it.
    add = bytes([0x01, 0x05, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00])
    assert hasattr(_payload(scenes, add), "as_tuple")  # zigpy's struct, as parsed by zigpy
    assert _int_layout(Scenes.server_commands[0x00].schema) is None


async def test_zigpy_handles_a_taken_frame_after_the_delay(
        zigbee: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    # zigpy's handling of the door's frame leaves the processor alone for REPLAY_DELAY_S
    # after hubd heard it (the rule's command is written in that time).
    await join(zigbee, DeviceKind.CONTACT_SENSOR, CONTACT)
    await _settled(zigbee)
    heard_at: list[float] = []
    parsed_at: list[float] = []
    incoming = c.AF.IncomingMsg.Callback
    from_frame = incoming.from_frame

    def stamped(frame: object, *args: object, **kwargs: object) -> object:
        parsed_at.append(time.monotonic())
        return from_frame(frame, *args, **kwargs)

    monkeypatch.setattr(incoming, "from_frame", stamped)
    sink_report = zigbee.sink.report

    def heard(event: object) -> None:
        if isinstance(event, Report) and event.device_id == dev(CONTACT) and not heard_at:
            heard_at.append(time.monotonic())
        sink_report(event)  # type: ignore[arg-type]

    monkeypatch.setattr(zigbee.sink, "report", heard)
    zigbee.sim.device(CONTACT).open()
    await report(zigbee, CONTACT, "contact.is_open", True)
    await _settled(zigbee)
    assert len(heard_at) == 1 and len(parsed_at) == 1
    # Milliseconds, not turns of the loop (whose clock counts whole milliseconds: its timer
    # may fire up to one early).
    assert REPLAY_DELAY_S >= 0.005
    assert parsed_at[0] - heard_at[0] >= REPLAY_DELAY_S - 0.0015


async def test_the_commands_answer_goes_ahead_of_a_waiting_frame(
        zigbee: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    # The SRSP to the command a door's frame causes is read while zigpy has yet to handle
    # the door's frame: the SREQ line is free for the rule's next command at once.
    await join(zigbee, DeviceKind.CONTACT_SENSOR, CONTACT)
    await join(zigbee, DeviceKind.ON_OFF_LIGHT, LIGHT)
    await _settled(zigbee)
    order: list[str] = []
    for name, kind in (("door", c.AF.IncomingMsg.Callback), ("srsp", c.AF.DataRequestExt.Rsp)):
        original = kind.from_frame

        def noted(frame: object, *args: object, _name: str = name, _original: Any = original,
                  **kwargs: object) -> object:
            order.append(_name)
            return _original(frame, *args, **kwargs)

        monkeypatch.setattr(kind, "from_frame", noted)
    sending: list[asyncio.Future[object]] = []
    sink_report = zigbee.sink.report

    def react(event: object) -> None:
        sink_report(event)  # type: ignore[arg-type]
        if isinstance(event, Report) and event.device_id == dev(CONTACT) and not sending:
            sending.append(asyncio.ensure_future(zigbee.driver.send(cmd(LIGHT, "switch.on"))))

    monkeypatch.setattr(zigbee.sink, "report", react)
    zigbee.sim.device(CONTACT).open()
    await report(zigbee, CONTACT, "contact.is_open", True)
    result = await asyncio.wait_for(sending[0], 5)
    await _settled(zigbee)
    assert result.status is CommandStatus.CONFIRMED  # type: ignore[attr-defined]
    assert order.index("srsp") < order.index("door"), order


async def test_a_door_is_heard_without_its_address_formatted(
        zigbee: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    # zigpy's EUI64 is a list of bytes: made text (and hashed, as its text) per use. The entry
    # hands hubd the address as text it made when the device was attached.
    await join(zigbee, DeviceKind.CONTACT_SENSOR, CONTACT)
    await _settled(zigbee)
    formatted: list[object] = []
    as_text = zt.EUI64.__repr__

    def counted(self: zt.EUI64) -> str:
        formatted.append(self)
        return as_text(self)

    monkeypatch.setattr(zt.EUI64, "__repr__", counted)
    adapter = zigbee.driver.adapter
    assert adapter is not None and adapter.app is not None
    znp = adapter.app._znp  # type: ignore[attr-defined]
    received = znp.frame_received
    at_frame = [0]

    def watched(frame: object) -> object:
        # Counted from the frame's arrival: zigpy's own work meanwhile formats addresses too.
        at_frame[0] = len(formatted)
        return received(frame)

    monkeypatch.setattr(znp, "frame_received", watched)
    formatted_while_heard: list[int] = []
    sink_report = zigbee.sink.report

    def heard(event: object) -> None:
        if isinstance(event, Report) and event.device_id == dev(CONTACT):
            formatted_while_heard.append(len(formatted) - at_frame[0])
        sink_report(event)  # type: ignore[arg-type]

    monkeypatch.setattr(zigbee.sink, "report", heard)
    mark = len(zigbee.sink.of(Report))
    zigbee.sim.device(CONTACT).open()
    await report(zigbee, CONTACT, "contact.is_open", True, after=mark)
    await _settled(zigbee)
    assert formatted_while_heard and formatted_while_heard[0] == 0
