"""What the updater remembers on the data partition, and the data snapshot that rollback restores.

The state file (``update.json`` in the update directory) outlives both root slots, so it is read
by the version that wrote it, by newer ones and, after a rollback, by older ones. Its schema rules:

- ``schema`` is 1 and stays 1: fields are only ever *added*, with a default that means what the
  old behaviour meant; no field is renamed, retyped or given a new meaning;
- a reader ignores fields it does not know and keeps them when it rewrites the file, so an older
  version after a rollback neither fails on nor erases what a newer one wrote;
- a missing or unreadable file is the empty state (a factory-fresh hub).

Fields (schema 1): ``slots`` {slot: {"version", "status": installed|good|bad}}, ``pending``
{"slot", "version", "min_version", "booted"} or null, ``floor`` (the lowest version this hub still
accepts), ``last_event`` {"kind", "slot", "version"}.

hubd's own database refuses a schema newer than its code (hubd.store), so an older version could
not open what a newer one migrated. Hence the snapshot: on the first boot of an updated slot, before
hubd starts, the data directory is copied aside; if that update rolls back, the copy is put back and
the older version finds the database exactly as it left it (changes made during the failed trial are
lost, by design). Marking the update good deletes the snapshot.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = 1


@dataclass(slots=True)
class UpdateState:
    """The decoded state file; ``extra`` holds fields a newer version wrote, kept as they are."""

    slots: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: dict[str, Any] | None = None
    floor: str = "0"
    last_event: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> UpdateState:
        """The state at path; a missing or corrupt file is the empty state."""
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        known = {"schema", "slots", "pending", "floor", "last_event"}
        return cls(slots=dict(data.get("slots") or {}), pending=data.get("pending"),
                   floor=str(data.get("floor") or "0"), last_event=data.get("last_event"),
                   extra={k: v for k, v in data.items() if k not in known})

    def save(self, path: Path) -> None:
        """Write atomically (temporary file, fsync, rename)."""
        data = self.extra | {"schema": SCHEMA, "slots": self.slots, "pending": self.pending,
                             "floor": self.floor, "last_event": self.last_event}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w") as out:
            json.dump(data, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)


def _copy_contents(source: Path, target: Path) -> None:
    """Copy every entry of source into target, keeping modes and owners (hubd's files stay its)."""
    for entry in source.iterdir():
        dest = target / entry.name
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, dest, symlinks=True)
        else:
            shutil.copy2(entry, dest, follow_symlinks=False)
    for root, dirs, files in os.walk(source):
        for name in [*dirs, *files]:
            original = Path(root, name)
            info = original.lstat()
            copied = target / original.relative_to(source)
            if os.geteuid() == 0:
                os.lchown(copied, info.st_uid, info.st_gid)


def _clear(directory: Path) -> None:
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def take_snapshot(data_dir: Path, snapshot_dir: Path) -> None:
    """Copy data_dir's contents to snapshot_dir, replacing an old snapshot (before hubd runs)."""
    partial = snapshot_dir.with_name(snapshot_dir.name + ".partial")
    for stale in (partial, snapshot_dir):
        if stale.exists():
            shutil.rmtree(stale)
    partial.mkdir(parents=True, mode=0o700)
    if data_dir.exists():
        _copy_contents(data_dir, partial)
    # The rename makes a snapshot either complete or absent, never half there.
    os.replace(partial, snapshot_dir)


def restore_snapshot(snapshot_dir: Path, data_dir: Path) -> bool:
    """Replace data_dir's contents with the snapshot's; False if there is no snapshot."""
    if not snapshot_dir.is_dir():
        return False
    data_dir.mkdir(parents=True, exist_ok=True)
    # data_dir may be a mount point (the data partition's bind mount): empty it, never rename it.
    _clear(data_dir)
    _copy_contents(snapshot_dir, data_dir)
    shutil.rmtree(snapshot_dir)
    return True


def drop_snapshot(snapshot_dir: Path) -> None:
    """Forget the snapshot (the update it guarded is good)."""
    if snapshot_dir.exists():
        shutil.rmtree(snapshot_dir)
