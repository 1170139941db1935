"""Backup -> restore onto a blank EZSP stick -> backup keeps every device, routers included.

With bellows' default policy (the hashed trust-centre key, SEND_CURRENT_KEY) an EmberZNet NCP
stores no per-device link keys; the unique keys a backup carries (from a Z-Stack stick, whose
routers keep a TCLK entry after the key exchange, or from an NCP that generated them) go back
through importLinkKey into the key table, and the next backup reads them with
exportLinkKeyByIndex. End devices come back through setChildData and the child table. A
stick that dropped either lost those devices on the way back. The walk here is the migration
a user makes: a Z-Stack stick's network onto a blank EmberZNet one, then onto another.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from radios.zigbee.sim import DeviceKind, Simulator
from radios.zigbee.sim.ezsp.ncp import NcpConfig
from radios.zigbee.sim.ezsp.simulator import EzspSimulator
from tests.radios.zigbee.conftest import Running, assert_understood, start_driver
from tests.radios.zigbee.test_backup_round_trip import PLUG, backup_of
from tests.radios.zigbee.test_driver import CONTACT, LIGHT, join
from tests.radios.zigbee.test_ezsp import SLOW_WATCHDOG_S, start_ezsp


def devices(backup: Any) -> tuple[dict[str, bytes], dict[str, int]]:
    """What a backup keeps of the devices: link keys by IEEE, children's NWK by IEEE."""
    info = backup.network_info
    keys = {str(k.partner_ieee): bytes(k.key) for k in info.key_table}
    children = {str(c): int(info.nwk_addresses[c]) for c in info.children}
    return keys, children


async def restored_backup(blank: EzspSimulator, tmp_path: Path) -> Any:
    """Start on a blank stick (the driver restores the latest backup), take a backup."""
    running: Running = await start_ezsp(blank, tmp_path, watchdog_period_s=SLOW_WATCHDOG_S)
    try:
        # zigpy's first periodic backup runs now; bellows builds a backup's key table in the
        # shared app state, so two at once would append into one list (every key twice)
        app = running.driver.adapter.app  # type: ignore[union-attr]
        assert app is not None
        app.backups.stop_periodic_backups()
        return await backup_of(running)
    finally:
        await running.stop()


async def test_backup_restore_backup_keeps_every_device(sim: Simulator, tmp_path: Path) -> None:
    first = await start_driver(sim, tmp_path, watchdog_period_s=SLOW_WATCHDOG_S)
    try:
        for kind, ieee in ((DeviceKind.ON_OFF_LIGHT, LIGHT), (DeviceKind.SMART_PLUG, PLUG),
                           (DeviceKind.CONTACT_SENSOR, CONTACT)):
            await join(first, kind, ieee)
        keys, children = devices(await backup_of(first))
    finally:
        await first.stop()
    assert set(keys) == {LIGHT, PLUG, CONTACT} and set(children) == {CONTACT}

    async with EzspSimulator(NcpConfig(ieee=0x8C6FB9FFFE0000F1)) as blank:
        again = devices(await restored_backup(blank, tmp_path))
        assert {f"{e.eui64:016x}" for e in blank.tokens.key_table} == {
            ieee.replace(":", "") for ieee in (LIGHT, PLUG, CONTACT)}
        assert_understood(blank)
    assert again == (keys, children)

    async with EzspSimulator(NcpConfig(ieee=0x8C6FB9FFFE0000F2)) as other:
        assert devices(await restored_backup(other, tmp_path)) == (keys, children)
        assert other.unknown_requests == []


