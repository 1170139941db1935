"""zigbee-herdsman's ``ember`` adapter, a second host written elsewhere, on the EZSP simulator.

The same script, harness and runs as for the ZNP simulator (secondhost.py): herdsman starts
the NCP over ASH, negotiates EZSP, forms a network, permits join, interviews a light and a
contact sensor, switches the light and reads its report, hears the sensor, and backs up;
then it resumes on the same stick, and restores its backup onto a blank one. The simulator
must answer every frame as EmberZNet 7.4 does: no frame id it does not know, none malformed.
Selected alone with ``pytest -m secondhost``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from radios.zigbee.sim import DeviceKind
from radios.zigbee.sim.ezsp.ncp import NcpConfig
from radios.zigbee.sim.ezsp.simulator import EzspSimulator
from tests.radios.zigbee.sim.secondhost import (
    CONTACT,
    LIGHT,
    NEEDS_HERDSMAN,
    assert_first_run,
    assert_restored,
    assert_resumed,
    failure,
    three_runs,
)
from tools.secondhost.harness import run_host

pytestmark = NEEDS_HERDSMAN

NETWORK_KEY = (1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13)  # herdsman.mjs's


async def test_herdsman_ember_forms_joins_interviews_controls_and_backs_up(tmp_path: Path) -> None:
    sim = EzspSimulator(NcpConfig(seed=13))
    blank = EzspSimulator(NcpConfig(ieee=0x8C6FB9FFFE0000FE, seed=14))
    runs = await three_runs(sim, blank, tmp_path / "herdsman", "ember")
    run, again, restored = runs.run, runs.again, runs.restored

    assert_first_run(run)
    started = run.of("started")[0].fields
    assert started["coordinator"] == "0x8c6fb9fffe000001"  # the NCP's EUI64
    version = started["version"]
    assert version["type"] == "EmberZNet"
    assert (version["meta"]["ezsp"], version["meta"]["revision"]) == (13, "7.4.4 [GA]")
    assert started["network"]["panID"] == 0x1A62
    assert started["network"]["channel"] == 15
    assert started["network"]["extendedPanID"] == "0xdddddddddddddddd"
    # herdsman's ember backup holds no devices: it exports link keys only when app key
    # requests are allowed, which it never does (bellows derives them from the TC seed)
    assert run.of("backup")[0].fields["devices"] == []
    assert sim.unknown_requests == []
    assert sim.engine.malformed_requests == []
    assert sim.engine.legacy_frames == []
    # what herdsman asked that bellows never does
    assert {"getExtendedValue"} <= set(sim.requests_seen)

    assert_resumed(again)

    assert_restored(restored)
    started_again = restored.of("started")[0].fields
    assert started_again["network"] == started["network"]
    # herdsman's ember adapter writes no EUI64 token on restore (bellows writes the NVM3
    # restored-EUI64 one): the coordinator keeps the blank stick's own address
    assert started_again["coordinator"] == "0x8c6fb9fffe0000fe"
    assert blank.unknown_requests == []
    assert blank.engine.malformed_requests == []
    # herdsman restores by forming with the backup's key (setInitialSecurityState), not importKey
    assert {"formNetwork", "setInitialSecurityState"} <= set(blank.requests_seen)
    assert blank.tokens.network_key == sim.tokens.network_key == bytes(NETWORK_KEY)


async def test_herdsman_refuses_emberznet_7_3_that_bellows_runs(tmp_path: Path) -> None:
    """herdsman's ember adapter needs EZSP v13 (EmberZNet 7.4) or later; bellows still runs
    v12. After the first version answer herdsman stops: nothing else reaches the NCP."""
    sim = EzspSimulator(NcpConfig(seed=13, protocol_version=12))
    path = await sim.start_tcp()
    try:
        run = await run_host(
            path, tmp_path / "herdsman", adapter="ember", expect_devices=2, timeout_s=30,
            on_trigger=lambda ieee: None,
        )  # fmt: skip
    finally:
        await sim.close()
    assert run.returncode == 1
    assert (
        "protocol version (12) is not supported by Host [13-"
        in run.of("error")[0].fields["message"]
    )
    assert sim.requests_seen == ["version"]
    assert sim.unknown_requests == []


async def test_herdsman_heals_dropped_and_nakked_ash_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frame to the host lost on the line and a NAK from the NCP, while the sensor acts:
    herdsman's own ASH (not bellows') retransmits, and the run completes."""
    monkeypatch.setenv("HERDSMAN_LOG", "info")  # herdsman prints its ASH counters at stop
    sim = EzspSimulator(NcpConfig(seed=13))
    path = await sim.start_tcp()

    def faults_then_open(ieee: int) -> None:
        sim.drop_next_frames(1)
        sim.nak_next_host_frames(1)
        sim.device(ieee).open()

    try:
        sim.add_device(DeviceKind.ON_OFF_LIGHT, LIGHT)
        sim.add_device(DeviceKind.CONTACT_SENSOR, CONTACT)
        run = await run_host(
            path, tmp_path / "herdsman", adapter="ember", expect_devices=2, timeout_s=60,
            on_trigger=faults_then_open,
        )  # fmt: skip
    finally:
        await sim.close()
    assert run.returncode == 0, failure(run)
    assert len(run.of("sensor")) == 1 and run.names()[-1] == "done"
    ash_line = re.compile(r"^info zh:ember:uart:ash:\s+([^:]+):\s*(.*)$")
    lines = run.log_path.read_text(errors="replace").splitlines()
    counters = {m[1].strip(): m[2] for m in map(ash_line.match, lines) if m is not None}
    # the NCP resent the frame lost on the line, herdsman the one the NCP NAKed
    assert counters["Retry frames"] == "RX=1, TX=1"
    assert counters["NAK frames"].startswith("RX=1")
    assert sim.unknown_requests == []
