"""Backup -> restore onto a blank stick -> backup keeps every device, routers included.

A router that did the trust-centre key exchange is not a direct child in Z-Stack's address
table, only a security user with a TCLK entry; zigpy-znp finds it through that link key. A
stick without the TCLK entry lost such routers on the way back (the restore wrote them with
neither flag, and the next backup skipped them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from radios.zigbee.sim import DeviceKind, Simulator, ZStackConfig
from tests.radios.zigbee.conftest import Running, start_driver
from tests.radios.zigbee.test_driver import CONTACT, LIGHT, join

PLUG = "00:0d:6f:00:00:00:03:01"


async def backup_of(z: Running) -> Any:
    """A zigpy network backup taken now (zigpy.backups.NetworkBackup)."""
    app = z.driver.adapter.app  # type: ignore[union-attr]
    assert app is not None
    backup = await app.backups.create_backup(load_devices=True)
    await z.driver.adapter.backups_written()  # type: ignore[union-attr]
    return backup


def devices(backup: Any) -> dict[str, tuple[int, bool, bytes | None]]:
    """IEEE -> (NWK, is a child, link key) as a backup records them."""
    info = backup.network_info
    keys = {str(k.partner_ieee): bytes(k.key) for k in info.key_table}
    children = {str(c) for c in info.children}
    return {
        str(ieee): (int(nwk), str(ieee) in children, keys.get(str(ieee)))
        for ieee, nwk in info.nwk_addresses.items()
    }


async def test_backup_restore_backup_keeps_every_device(sim: Simulator, tmp_path: Path) -> None:
    first = await start_driver(sim, tmp_path)
    try:
        for kind, ieee in ((DeviceKind.ON_OFF_LIGHT, LIGHT), (DeviceKind.SMART_PLUG, PLUG),
                           (DeviceKind.CONTACT_SENSOR, CONTACT)):
            await join(first, kind, ieee)
        before = devices(await backup_of(first))
    finally:
        await first.stop()
    assert set(before) == {LIGHT, PLUG, CONTACT}
    assert {ieee for ieee, (_, is_child, _) in before.items() if is_child} == {CONTACT}
    assert all(key is not None for _, _, key in before.values())  # every join left a TCLK

    async with Simulator(ZStackConfig(ieee=0x00124B00000000FE)) as blank:
        second = await start_driver(blank, tmp_path)  # restores the backup onto the blank stick
        try:
            after = devices(await backup_of(second))
        finally:
            await second.stop()
        assert blank.unknown_requests == []
    assert after == before
