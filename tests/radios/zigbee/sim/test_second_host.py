"""zigbee-herdsman, a second host written elsewhere, runs a whole network on the ZNP simulator.

Its zstack adapter starts the stick, forms a network, permits join, interviews the simulated
devices with ZDO requests sent as MT commands (not as AF frames, as zigpy-znp does), switches
a light and reads its report, hears a contact sensor, and backs the network up. The simulator
must answer every request as Z-Stack does: no RPC error, no request it does not know.
Selected alone with ``pytest -m secondhost``.
"""

from __future__ import annotations

from pathlib import Path

from radios.zigbee.sim import Simulator, ZStackConfig
from tests.radios.zigbee.sim.secondhost import (
    CONTACT,
    LIGHT,
    NEEDS_HERDSMAN,
    assert_first_run,
    assert_restored,
    assert_resumed,
    three_runs,
)

pytestmark = NEEDS_HERDSMAN


async def test_herdsman_forms_joins_interviews_controls_and_backs_up(tmp_path: Path) -> None:
    sim = Simulator(ZStackConfig(seed=13))
    blank = Simulator(ZStackConfig(ieee=0x00124B00000000FE, seed=14))
    runs = await three_runs(sim, blank, tmp_path / "herdsman", "zstack")
    run, again, restored = runs.run, runs.again, runs.restored

    assert_first_run(run)
    started = run.of("started")[0].fields
    assert started["version"]["type"] == "ZStack3x0"
    assert started["network"]["panID"] == 0x1A62
    assert started["network"]["channel"] == 15
    assert started["network"]["extendedPanID"] == started["coordinator"]  # SYS.GetExtAddr
    backup = {d["ieee"]: d for d in run.of("backup")[0].fields["devices"]}
    assert set(backup) == {LIGHT.replace(":", ""), CONTACT.replace(":", "")}
    assert all(d["link_key"] for d in backup.values())  # the TCLK entries of the joins

    assert_resumed(again)
    assert {d["ieee"] for d in again.of("backup")[0].fields["devices"]} == set(backup)
    assert sim.unknown_requests == []
    assert sim.engine.malformed_requests == []

    assert_restored(restored)
    assert restored.of("started")[0].fields["coordinator"] == started["coordinator"]
    after = {d["ieee"]: d for d in restored.of("backup")[0].fields["devices"]}
    assert after == backup  # backup -> restore -> backup keeps every device and its key
    assert blank.unknown_requests == []
    # what herdsman asked that zigpy-znp never does
    assert {
        "SYS.GetExtAddr", "SYS.StackTune", "ZDO.ExtNwkInfo", "ZDO.ExtFindGroup",
        "ZDO.ExtAddGroup", "ZDO.NodeDescReq", "ZDO.ActiveEpReq", "ZDO.SimpleDescReq",
        "ZDO.BindReq",
    } <= set(sim.requests_seen)
