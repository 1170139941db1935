"""A corrupt zigpy database is moved aside and rebuilt from the network backup beside it.

zigpy keeps its devices, their interviews and its own network backups in ``zigbee.db``. If that
file is damaged (a flash card's bad block, a half-written page) zigpy cannot start and the
radio would stay down, retrying forever. The network itself lives in the coordinator and in
``zigbee.backup.json`` (our copy of zigpy's backup, written after each backup): from it a fresh
database gets the backup (so zigpy checks the coordinator against it rather than accepting
whatever it finds) and the device list, and each device is interviewed again.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import aiosqlite
import zigpy.application
import zigpy.backups
import zigpy.device

log = logging.getLogger(__name__)


def quarantine(database_path: Path) -> Path:
    """Move the damaged database (and its -wal, -shm) aside, kept for recovery by hand."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = database_path.with_name(f"{database_path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{database_path}{suffix}")
        if source.exists():
            os.replace(source, Path(f"{aside}{suffix}"))
    return aside


def read_backup(path: Path) -> zigpy.backups.NetworkBackup | None:
    """Our copy of zigpy's latest network backup, or None if it is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
        return zigpy.backups.NetworkBackup.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("event=zigbee_backup_unreadable path=%s error=%r", path, exc)
        return None


async def new_app(app_cls: type[zigpy.application.ControllerApplication],
                  config: dict[str, Any], database_path: Path, backup_path: Path
                  ) -> tuple[zigpy.application.ControllerApplication, str]:
    """zigpy's application on its database; if the database is damaged, on a fresh one seeded
    from the backup. The second value says what was done, for people ("" if nothing)."""
    try:
        return await app_cls.new(config, auto_form=True, start_radio=False), ""
    except aiosqlite.DatabaseError as exc:  # zigpy's database is SQLite through aiosqlite
        aside = quarantine(database_path)
        log.error("event=zigbee_database_corrupt path=%s moved_to=%s error=%r", database_path,
                  aside, exc)
    app = await app_cls.new(config, auto_form=True, start_radio=False)
    backup = read_backup(backup_path)
    if backup is None:
        return app, (f"zigbee.db was damaged (kept as {aside.name}) and no backup was readable: "
                     f"devices come back as they talk")
    app.backups.add_backup(backup, suppress_event=True)
    return app, (f"zigbee.db was damaged (kept as {aside.name}); rebuilt from "
                 f"{backup_path.name}: {len(_addresses(backup))} devices to interview again")


def readd_devices(app: zigpy.application.ControllerApplication) -> int:
    """After a rebuild: add the backup's devices to zigpy and interview each again."""
    backup = app.backups.most_recent_backup()
    if backup is None:
        return 0
    added = 0
    coordinator = app.state.node_info.ieee
    for ieee, nwk in _addresses(backup).items():
        if ieee == coordinator or ieee in app.devices:
            continue
        device: zigpy.device.Device = app.add_device(ieee, nwk)
        device.schedule_initialize()
        added += 1
    return added


def _addresses(backup: zigpy.backups.NetworkBackup) -> dict[Any, Any]:
    return dict(backup.network_info.nwk_addresses)
