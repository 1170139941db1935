"""What the second-host tests of both families share: herdsman's three runs and their checks."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import pytest

from radios.zigbee.sim import DeviceKind, Simulator
from radios.zigbee.sim.clusters import ClusterId
from radios.zigbee.sim.ezsp.simulator import EzspSimulator
from tools.secondhost.harness import ROOT, HostEvent, HostRun, run_host

S = TypeVar("S", Simulator, EzspSimulator)

NEEDS_HERDSMAN = [
    pytest.mark.secondhost,
    pytest.mark.timeout(150),
    pytest.mark.skipif(
        shutil.which("node") is None or not (ROOT / "node_modules" / "zigbee-herdsman").is_dir(),
        reason="zigbee-herdsman is installed by `make npm`",
    ),
]

LIGHT = "00:0d:6f:00:00:00:10:01"
CONTACT = "00:0d:6f:00:00:00:10:02"
HOST_IEEES = {"0x" + LIGHT.replace(":", ""), "0x" + CONTACT.replace(":", "")}


def failure(run: HostRun) -> str:
    """What a failed run printed, for an assertion message."""
    log = run.log_path.read_text(errors="replace")
    return f"{run.names()}\n{run.events[-1] if run.events else None}\n{log[-3000:]}"


@dataclass(frozen=True, slots=True)
class ThreeRuns(Generic[S]):
    """herdsman on a fresh stick, on the same stick again, and on a blank one from its backup."""

    sim: S
    blank: S
    run: HostRun
    again: HostRun
    restored: HostRun


async def three_runs(sim: S, blank: S, state_dir: Path, adapter: str) -> ThreeRuns[S]:
    """Form, join a light and a contact sensor, control them; resume; restore onto ``blank``."""
    path = await sim.start_tcp()
    try:
        sim.add_device(DeviceKind.ON_OFF_LIGHT, LIGHT)
        sim.add_device(DeviceKind.CONTACT_SENSOR, CONTACT)
        run = await run_host(
            path, state_dir, adapter=adapter, expect_devices=2, timeout_s=120,
            on_trigger=lambda ieee: sim.device(ieee).open(),
        )  # fmt: skip
        # herdsman again on the same stick and database: it resumes the network it stored
        sim.device(LIGHT).switch(False)
        again = await run_host(
            path, state_dir, adapter=adapter, expect_devices=2, timeout_s=60,
            on_trigger=lambda ieee: sim.device(ieee).close(),
        )  # fmt: skip
    finally:
        await sim.close()

    # ... and on a blank stick: herdsman puts its backup onto it; the devices are there
    blank_path = await blank.start_tcp()
    nwks = {int(str(e.fields["ieee"]), 16): int(e.fields["nwk"]) for e in run.of("joined")}

    def devices_on_the_restored_network(started: HostEvent) -> None:
        for ieee, kind in ((LIGHT, DeviceKind.ON_OFF_LIGHT), (CONTACT, DeviceKind.CONTACT_SENSOR)):
            nwk = nwks[int(ieee.replace(":", ""), 16)]
            blank.add_device(kind, ieee, is_joined=True, nwk=nwk)
        # The sensor itself was not reset: it is still enrolled with its CIE (ZCL 8.2.2.3.1)
        zone = blank.device(CONTACT).endpoint.cluster(ClusterId.IAS_ZONE)
        assert zone is not None
        zone.values[0x0000] = 1

    try:
        restored = await run_host(
            blank_path, state_dir, adapter=adapter, expect_devices=2, timeout_s=60,
            on_trigger=lambda ieee: blank.device(ieee).open(),
            on_started=devices_on_the_restored_network,
        )  # fmt: skip
    finally:
        await blank.close()
    return ThreeRuns(sim, blank, run, again, restored)


def assert_first_run(run: HostRun) -> None:
    """A fresh stick: a new network, both devices joined and interviewed, the light and the
    sensor heard, no error logged, the run done."""
    assert run.returncode == 0, failure(run)
    log = run.log_path.read_text(errors="replace")
    assert [line for line in log.splitlines() if line.startswith("error")] == []
    assert run.of("started")[0].fields["result"] == "reset"  # a factory-fresh stick
    assert {e.fields["ieee"] for e in run.of("joined")} == HOST_IEEES
    interviews = {e.fields["ieee"]: e.fields for e in run.of("interview")}
    assert {i["status"] for i in interviews.values()} == {"successful"}
    light = interviews["0x" + LIGHT.replace(":", "")]
    assert (light["type"], light["model"]) == ("Router", "SIM-LIGHT")
    assert light["manufacturer"] == "hubd-sim"
    assert light["endpoints"][0]["in"] == [0x0000, 0x0003, 0x0004, 0x0005, 0x0006]
    contact = interviews["0x" + CONTACT.replace(":", "")]
    assert (contact["type"], contact["model"]) == ("EndDevice", "SIM-CONTACT")
    command = run.of("command")[0].fields
    assert (command["reported_on_off"], command["read_on_off"]) == (1, 1)
    sensor = run.of("sensor")[0].fields
    assert (sensor["cluster"], sensor["type"]) == ("ssIasZone", "commandStatusChangeNotification")
    assert run.names()[-1] == "done"


def assert_resumed(again: HostRun) -> None:
    """The same stick again: the stored network resumed, nothing joined anew, both heard."""
    assert again.returncode == 0, failure(again)
    assert again.of("started")[0].fields["result"] == "resumed"
    assert {e.fields["ieee"] for e in again.of("known")} == HOST_IEEES
    assert again.of("joined") == [] and again.of("interview") == []
    assert again.of("command")[0].fields["reported_on_off"] == 1
    assert len(again.of("sensor")) == 1


def assert_restored(restored: HostRun) -> None:
    """The blank stick: the backup restored, the light and the sensor heard on it."""
    assert restored.returncode == 0, failure(restored)
    assert restored.of("started")[0].fields["result"] == "restored"
    assert restored.of("command")[0].fields["reported_on_off"] == 1
    assert len(restored.of("sensor")) == 1
