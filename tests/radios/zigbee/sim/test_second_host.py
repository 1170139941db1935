"""zigbee-herdsman, a second host written elsewhere, runs a whole network on the ZNP simulator.

Its zstack adapter starts the stick, forms a network, permits join, interviews the simulated
devices with ZDO requests sent as MT commands (not as AF frames, as zigpy-znp does), switches
a light and reads its report, hears a contact sensor, and backs the network up. The simulator
must answer every request as Z-Stack does: no RPC error, no request it does not know.
Selected alone with ``pytest -m secondhost``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from radios.zigbee.sim import DeviceKind, Simulator, ZStackConfig
from radios.zigbee.sim.clusters import ClusterId
from tools.secondhost.harness import ROOT, HostEvent, run_host

pytestmark = [
    pytest.mark.secondhost,
    pytest.mark.timeout(150),
    pytest.mark.skipif(
        shutil.which("node") is None or not (ROOT / "node_modules" / "zigbee-herdsman").is_dir(),
        reason="zigbee-herdsman is installed by `make npm`",
    ),
]

LIGHT = "00:0d:6f:00:00:00:10:01"
CONTACT = "00:0d:6f:00:00:00:10:02"


async def test_herdsman_forms_joins_interviews_controls_and_backs_up(tmp_path: Path) -> None:
    sim = Simulator(ZStackConfig(seed=13))
    path = await sim.start_tcp()
    try:
        sim.add_device(DeviceKind.ON_OFF_LIGHT, LIGHT)
        sim.add_device(DeviceKind.CONTACT_SENSOR, CONTACT)
        run = await run_host(
            path, tmp_path / "herdsman", expect_devices=2, timeout_s=120,
            on_trigger=lambda ieee: sim.device(ieee).open(),
        )  # fmt: skip
        # herdsman again on the same stick and database: it resumes the network from NV
        sim.device(LIGHT).switch(False)
        again = await run_host(
            path, tmp_path / "herdsman", expect_devices=2, timeout_s=60,
            on_trigger=lambda ieee: sim.device(ieee).close(),
        )  # fmt: skip
    finally:
        await sim.close()

    # ... and on a blank stick: herdsman restores its backup onto it; the devices are there
    blank = Simulator(ZStackConfig(ieee=0x00124B00000000FE, seed=14))
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
            blank_path, tmp_path / "herdsman", expect_devices=2, timeout_s=60,
            on_trigger=lambda ieee: blank.device(ieee).open(),
            on_started=devices_on_the_restored_network,
        )  # fmt: skip
    finally:
        await blank.close()
    log = run.log_path.read_text(errors="replace")
    assert run.returncode == 0, f"{run.names()}\n{run.events[-1]}\n{log[-3000:]}"
    assert [line for line in log.splitlines() if line.startswith("error")] == []
    started = run.of("started")[0].fields
    assert started["result"] == "reset"  # a factory-fresh stick: a new network
    assert started["version"]["type"] == "ZStack3x0"
    assert started["network"]["panID"] == 0x1A62
    assert started["network"]["channel"] == 15
    assert started["network"]["extendedPanID"] == started["coordinator"]  # SYS.GetExtAddr
    joined = {e.fields["ieee"] for e in run.of("joined")}
    assert joined == {"0x" + LIGHT.replace(":", ""), "0x" + CONTACT.replace(":", "")}
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
    backup = {d["ieee"]: d for d in run.of("backup")[0].fields["devices"]}
    assert set(backup) == {LIGHT.replace(":", ""), CONTACT.replace(":", "")}
    assert all(d["link_key"] for d in backup.values())  # the TCLK entries of the joins
    assert run.names()[-1] == "done"

    assert again.returncode == 0, f"{again.names()}\n{again.events[-1]}"
    assert again.of("started")[0].fields["result"] == "resumed"
    assert {e.fields["ieee"] for e in again.of("known")} == joined
    assert again.of("joined") == [] and again.of("interview") == []
    assert again.of("command")[0].fields["reported_on_off"] == 1
    assert len(again.of("sensor")) == 1
    assert {d["ieee"] for d in again.of("backup")[0].fields["devices"]} == set(backup)
    assert sim.unknown_requests == []
    assert sim.engine.malformed_requests == []

    assert restored.returncode == 0, f"{restored.names()}\n{restored.events[-1]}"
    assert restored.of("started")[0].fields["result"] == "restored"
    assert restored.of("started")[0].fields["coordinator"] == started["coordinator"]
    assert restored.of("command")[0].fields["reported_on_off"] == 1
    assert len(restored.of("sensor")) == 1
    after = {d["ieee"]: d for d in restored.of("backup")[0].fields["devices"]}
    assert after == backup  # backup -> restore -> backup keeps every device and its key
    assert blank.unknown_requests == []
    # what herdsman asked that zigpy-znp never does
    assert {
        "SYS.GetExtAddr", "SYS.StackTune", "ZDO.ExtNwkInfo", "ZDO.ExtFindGroup",
        "ZDO.ExtAddGroup", "ZDO.NodeDescReq", "ZDO.ActiveEpReq", "ZDO.SimpleDescReq",
        "ZDO.BindReq",
    } <= set(sim.requests_seen)
