"""The driver's reading of server events and set_value answers (frames in, hub events out)."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from hubd.core.clock import ManualClock
from hubd.core.events import (
    AvailabilityChanged,
    DeviceJoined,
    DeviceLeft,
    DriverEvent,
    RadioHealth,
    RadioStatus,
    Report,
)
from hubd.core.model import CommandStatus
from radios.zwave.commands import set_value_outcome
from radios.zwave.driver import ZwaveDriver
from radios.zwave.session import ServerEvent, parse_message
from radios.zwave.settings import ZwaveSettings

DUMP = Path(__file__).with_name("state_dump.json")


class Sink:
    """Keeps what the driver reports."""

    def __init__(self) -> None:
        self.events: list[DriverEvent] = []

    def report(self, event: DriverEvent) -> None:
        self.events.append(event)


def event(source: str, name: str, **body: object) -> ServerEvent:
    message = parse_message(json.dumps({"type": "event", "event": {
        "source": source, "event": name, **body}}))
    assert isinstance(message, ServerEvent)
    return message


@pytest.fixture
def synced() -> tuple[ZwaveDriver, Sink]:
    driver = ZwaveDriver(ZwaveSettings(), ManualClock())
    sink = Sink()
    driver._sink = sink
    driver._resync(json.loads(DUMP.read_text()))
    return driver, sink


def test_the_state_dump_announces_each_node_with_its_values(
        synced: tuple[ZwaveDriver, Sink]) -> None:
    _, sink = synced
    joined = [e.device.id for e in sink.events if isinstance(e, DeviceJoined)]
    assert joined == [f"zwave:{n}" for n in range(2, 10)]
    reports = {(e.device_id, e.attribute): e.value for e in sink.events if isinstance(e, Report)}
    assert reports[("zwave:7", "temperature.celsius")] == 21.5
    health = [e for e in sink.events if isinstance(e, RadioHealth)]
    assert health[-1].status is RadioStatus.OK and "8 nodes" in health[-1].detail


@pytest.mark.parametrize(("status", "expected", "words"), [
    (2, RadioStatus.FAILED, "jammed"), (1, RadioStatus.FAILED, "unresponsive"),
    (0, RadioStatus.OK, "ready")])
def test_controller_status_is_the_radio_health(synced: tuple[ZwaveDriver, Sink], status: int,
                                               expected: RadioStatus, words: str) -> None:
    driver, sink = synced
    driver._on_event(event("controller", "status changed", status=status))
    health = sink.events[-1]
    assert isinstance(health, RadioHealth)
    assert health.status is expected and words in health.detail


def test_dead_alive_and_removed_nodes(synced: tuple[ZwaveDriver, Sink]) -> None:
    driver, sink = synced
    driver._on_event(event("node", "dead", nodeId=3))
    driver._on_event(event("node", "dead", nodeId=3))  # said once
    driver._on_event(event("node", "alive", nodeId=3))
    availability = [(e.device_id, e.is_available) for e in sink.events
                    if isinstance(e, AvailabilityChanged)]
    assert availability == [("zwave:3", False), ("zwave:3", True)]
    driver._on_event(event("controller", "node removed", node={"nodeId": 3}, reason=0))
    assert isinstance(sink.events[-1], DeviceLeft) and sink.events[-1].device_id == "zwave:3"
    assert 3 not in driver.nodes


def test_a_resync_without_a_node_makes_it_leave(synced: tuple[ZwaveDriver, Sink]) -> None:
    driver, sink = synced
    dump = json.loads(DUMP.read_text())
    dump["state"]["nodes"] = [n for n in dump["state"]["nodes"] if n["nodeId"] != 9]
    driver._resync(dump)
    assert [e.device_id for e in sink.events if isinstance(e, DeviceLeft)] == ["zwave:9"]


@pytest.mark.parametrize(("answer", "expected"), [
    ({"result": {"status": 255}}, (CommandStatus.CONFIRMED, None)),
    ({"result": {"status": 1, "remainingDuration": "2s"}}, (CommandStatus.CONFIRMED, None)),
    ({"result": {"status": 254}}, (CommandStatus.SENT, None)),
    ({"result": {"status": 2}}, (CommandStatus.FAILED, "fail")),
    ({"result": {"status": 5, "message": "out of range"}}, (CommandStatus.FAILED,
                                                              "out of range")),
    ({}, (CommandStatus.SENT, None)),
])
def test_set_value_answers(answer: dict[str, object],
                           expected: tuple[CommandStatus, str | None]) -> None:
    assert set_value_outcome(answer) == expected


class TellingSink(Sink):
    """A Sink that says when the first event came."""

    def __init__(self) -> None:
        super().__init__()
        self.told = asyncio.Event()

    def report(self, event: DriverEvent) -> None:
        super().report(event)
        self.told.set()


@pytest.mark.parametrize("serial_path", ["", "tcp://127.0.0.1:5555"])
async def test_a_server_hubd_started_is_waited_for_not_blamed(serial_path: str) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    driver = ZwaveDriver(ZwaveSettings(url=f"ws://127.0.0.1:{port}", serial_path=serial_path),
                         ManualClock())
    sink = TellingSink()
    task = asyncio.get_running_loop().create_task(driver.run(sink))
    try:
        async with asyncio.timeout(5):
            await sink.told.wait()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    health = sink.events[0]
    assert isinstance(health, RadioHealth) and health.status is RadioStatus.RECONNECTING
    assert ("started by hubd, is not listening yet" in health.detail) == bool(serial_path)
