"""The state directory: proved writable before anything starts, and a damaged database moved
aside (kept for recovery) rather than deleted."""

from __future__ import annotations

import os
import time
from pathlib import Path

from hubd.core.errors import StateDirectoryError


def check_state_dir(path: Path) -> None:
    """Create the state directory if needed and prove it writable; StateDirectoryError if not.

    Found here, it is one line and an exit the unit does not restart; found by SQLite, it was a
    StoreError, exit 1, and a restart every few seconds forever.
    """
    probe = path / f".hubd-write-check-{os.getpid()}"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, b"hubd")
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise StateDirectoryError(f"{path}: the state directory is not writable: "
                                  f"{exc.strerror or exc}") from exc


def move_aside(path: Path) -> Path:
    """Rename a damaged database (and its -wal and -shm files) to ``<name>.corrupt-<UTC time>``,
    kept for recovery; return the new path of the database file."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    kept = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.replace(Path(f"{kept}{suffix}"))
    return kept
