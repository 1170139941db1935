"""Crash test: SIGKILL a process in the middle of write-behind writes, then check the database.

Every kill lands inside a write transaction by construction (tests.hubd.crash_hook holds the
store's thread there, at a chosen statement, and says so in a marker file), not by timing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hubd.store import Store
from tests.hubd.crash_hook import ENV, spec
from tests.hubd.store_crash_writer import ATTRIBUTE, DEVICES

ROOT = Path(__file__).resolve().parents[2]


def run_and_kill(path: Path, marker: Path, statement: int | str, after_writes: int
                 ) -> tuple[int, str]:
    """Run the writer until the hook holds a write open at that statement, SIGKILL it; return
    the bound no persisted value may exceed, and where the kill landed."""
    marker.unlink(missing_ok=True)
    # Output to files, not pipes: nobody reads a pipe while we wait, and a writer blocked on a
    # full one (64 KiB of "upto" lines) never reaches the write the hook waits for.
    out_path, err_path = path.with_name("writer.out"), path.with_name("writer.err")
    with out_path.open("w") as out_file, err_path.open("w") as err_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.hubd.store_crash_writer", str(path)], cwd=ROOT,
            stdout=out_file, stderr=err_file, text=True,
            env={**os.environ, ENV: spec(marker, statement, after_writes)})
        try:
            deadline = time.monotonic() + 20.0
            while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            landed = marker.read_text() if marker.exists() else ""
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=10)
    out, err = out_path.read_text(), err_path.read_text()
    assert proc.returncode == -signal.SIGKILL, err
    assert landed.startswith("in transaction"), f"the kill did not land in a write: {err}"
    bounds = [int(line.split()[1]) for line in out.splitlines() if line.startswith("upto ")]
    assert bounds, "the writer never got going"
    return bounds[-1], landed


def persisted(path: Path) -> list[float]:
    with Store.open(path) as store:
        assert store.integrity_check()
        assert [d.id for d in store.load_devices()] == [f"virtual:{n}" for n in range(DEVICES)]
        values = {e.device_id: e.value for e in store.load_state() if e.attribute == ATTRIBUTE}
    assert len(values) == DEVICES
    return [float(v) for v in values.values()]  # type: ignore[arg-type]


def test_sigkill_mid_write_leaves_a_sound_database_with_whole_batches(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    marker = tmp_path / "in-write"
    previous = -1.0
    landed = []
    # A batch here is BEGIN, one upsert per device, COMMIT: kill after the first upsert, in
    # the middle, after the last, and as COMMIT begins; after 1 to 6 writes of that process.
    for statement, after_writes in ((1, 1), (3, 2), (DEVICES, 4), ("commit", 1), (2, 6),
                                    ("commit", 3)):
        bound, where = run_and_kill(path, marker, statement, after_writes)
        landed.append(where)
        values = persisted(path)
        # One transaction per batch: every device carries the value of the same round.
        assert len(set(values)) == 1, values
        value = values[0]
        assert value < bound  # never more than was written
        assert value > previous  # monotone: the restart resumed from what was persisted
        previous = value
    # All six kills hit an open write (the marker is written only from inside one).
    assert len(landed) == 6 and sum("COMMIT" in w for w in landed) == 2, landed
