"""The end-to-end bodies of the ZNP and EZSP tests again on the newer EZSP protocol versions:
v14 (EmberZNet 8.0: sl_status_t everywhere, reordered responses, 16-bit message tags, the
sender's EUI64 in incomingMessageHandler) and v17 (gpClearProxyTable). bellows negotiates each
from the NCP's answer to ``version``; every test ends with no unknown or malformed frame."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hubd.core.events import DeviceJoined, RadioHealth, RadioStatus
from radios.zigbee.sim import DeviceKind
from radios.zigbee.sim.ezsp.ncp import NcpConfig
from radios.zigbee.sim.ezsp.simulator import EzspSimulator
from tests.radios.zigbee.conftest import Running, assert_understood, strict_on_pty
from tests.radios.zigbee.test_backup_round_trip import PLUG, backup_of
from tests.radios.zigbee.test_driver import CONTACT, LIGHT, join
from tests.radios.zigbee.test_ezsp import SLOW_WATCHDOG_S, start_ezsp

# test_ezsp's driver fixture and end-to-end tests, collected again here: pytest resolves their
# `ncp` to this module's, so each runs on v14 and v17.
from tests.radios.zigbee.test_ezsp import ezsp as ezsp
from tests.radios.zigbee.test_ezsp import (
    test_form_keeps_the_key_private as test_form_keeps_the_key_private,
)
from tests.radios.zigbee.test_ezsp import test_znp_body_on_ezsp as test_znp_body_on_ezsp
from tests.radios.zigbee.test_ezsp_backup import devices

STACKS = {14: (8, 0, 2, 0), 17: (8, 2, 0, 0)}  # EmberZNet releases speaking each version


def config(version: int, ieee: int = 0x8C6FB9FFFE000001) -> NcpConfig:
    """An NCP of the EmberZNet release that speaks this EZSP version."""
    return NcpConfig(ieee=ieee, protocol_version=version, stack_version=STACKS[version])


@pytest.fixture(params=sorted(STACKS), ids=lambda v: f"v{v}")
async def ncp(request: pytest.FixtureRequest) -> AsyncIterator[EzspSimulator]:
    """A factory-fresh NCP speaking a newer EZSP version; strict about unknown frames."""
    async with strict_on_pty(EzspSimulator(config(request.param))) as simulator:
        yield simulator


async def test_bellows_speaks_the_ncps_version(ezsp: Running, ncp: EzspSimulator) -> None:
    app = ezsp.driver.adapter.app  # type: ignore[union-attr]
    assert app is not None
    assert app._ezsp.ezsp_version == ncp.config.protocol_version  # type: ignore[union-attr]
    assert "getNetworkKeyInfo" in ncp.requests_seen


async def test_backup_restore_onto_a_blank_stick_keeps_every_device(
        ncp: EzspSimulator, tmp_path: Path) -> None:
    first = await start_ezsp(ncp, tmp_path, watchdog_period_s=SLOW_WATCHDOG_S)
    try:
        for kind, ieee in ((DeviceKind.ON_OFF_LIGHT, LIGHT), (DeviceKind.SMART_PLUG, PLUG),
                           (DeviceKind.CONTACT_SENSOR, CONTACT)):
            await join(first, kind, ieee)
        before = await backup_of(first)
    finally:
        await first.stop()
    assert set(devices(before)[1]) == {CONTACT}

    version = ncp.config.protocol_version
    async with EzspSimulator(config(version, ieee=0x8C6FB9FFFE0000FF)) as blank:
        second = await start_ezsp(blank, tmp_path, watchdog_period_s=SLOW_WATCHDOG_S)
        try:
            assert [h.status for h in second.sink.of(RadioHealth)] == [RadioStatus.OK]
            assert {LIGHT, PLUG, CONTACT} <= {e.device.address
                                              for e in second.sink.of(DeviceJoined)}
            app = second.driver.adapter.app  # type: ignore[union-attr]
            assert app is not None
            app.backups.stop_periodic_backups()  # see test_ezsp_backup.restored_backup
            after = await backup_of(second)
        finally:
            await second.stop()
        assert_understood(blank)
    assert after.node_info.ieee == before.node_info.ieee
    assert devices(after) == devices(before)
    assert after.network_info.network_key.key == before.network_info.network_key.key
