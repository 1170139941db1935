"""A corrupt zigbee.db is moved aside and rebuilt from zigbee.backup.json beside it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hubd.core.events import DeviceJoined, Notice
from radios.zigbee.adapter.app import backup_path
from radios.zigbee.sim import DeviceKind, Simulator
from tests.radios.zigbee.conftest import start_driver
from tests.radios.zigbee.test_driver import LIGHT, join


async def test_a_corrupt_database_is_rebuilt_from_the_backup(sim: Simulator,
                                                             tmp_path: Path) -> None:
    first = await start_driver(sim, tmp_path)
    try:
        await join(first, DeviceKind.ON_OFF_LIGHT, LIGHT)
        app = first.driver.adapter.app  # type: ignore[union-attr]
        assert app is not None
        pan_id = app.state.network_info.pan_id
        await app.backups.create_backup()
        await first.driver.adapter.backups_written()  # type: ignore[union-attr]
    finally:
        await first.stop()
    db = tmp_path / "zigbee.db"
    for extra in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        extra.unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 200)

    second = await start_driver(sim, tmp_path)
    try:
        app = second.driver.adapter.app  # type: ignore[union-attr]
        assert app is not None and app.state.network_info.pan_id == pan_id  # not re-formed
        names = os.listdir(tmp_path)
        assert any(n.startswith("zigbee.db.corrupt-") for n in names), names  # kept
        notice = await second.sink.wait_for(Notice, lambda n: "rebuilt" in n.message)
        assert "1 devices to interview again" in notice.message
        await second.sink.wait_for(DeviceJoined, lambda e: e.device.address == LIGHT)
    finally:
        await second.stop()


async def test_a_backup_taken_is_on_disk_when_written_says_so(sim: Simulator,
                                                              tmp_path: Path) -> None:
    # zigpy hands a backup to the adapter as it is taken; the adapter writes it in a task of
    # its own. Waiting for the writes must wait for that task even before it has started
    # (it once returned at once, and a stop right after could then cancel the write).
    running = await start_driver(sim, tmp_path)
    try:
        await join(running, DeviceKind.ON_OFF_LIGHT, LIGHT)
        adapter = running.driver.adapter
        assert adapter is not None and adapter.app is not None
        taken = await adapter.app.backups.create_backup()
        await adapter.backups_written()
        on_disk = json.loads(backup_path(tmp_path / "zigbee.db").read_text())
        assert on_disk == json.loads(json.dumps(taken.as_open_coordinator_json()))
        assert LIGHT.replace(":", "") in on_disk["devices"][0]["ieee_address"]
    finally:
        await running.stop()
