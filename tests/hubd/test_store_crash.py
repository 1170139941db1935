"""Crash test: SIGKILL a process in the middle of write-behind writes, then check the database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hubd.store import Store
from tests.hubd.store_crash_writer import ATTRIBUTE, DEVICES

ROOT = Path(__file__).resolve().parents[2]


def run_and_kill(path: Path, writes_before_kill: int, rounds_after: int) -> int:
    """Run the writer until it reports that many landed writes, then for some more rounds (so
    the kill lands at a different point of a write each time), SIGKILL it; return the bound no
    persisted value may exceed."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.hubd.store_crash_writer", str(path)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 20.0
    seen: list[str] = []
    countdown = None
    try:
        for line in proc.stdout:  # the writer prints a line every round: this never stalls
            seen.append(line)
            if line == f"writes {writes_before_kill}\n":
                countdown = rounds_after
            if countdown is not None:
                countdown -= 1
            if countdown == 0 or time.monotonic() > deadline:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL, err
    assert f"writes {writes_before_kill}\n" in seen, err
    lines = [*seen, *out.splitlines()]
    bounds = [int(line.split()[1]) for line in lines if line.startswith("upto ")]
    assert bounds, "the writer never got going"
    return bounds[-1]


def persisted(path: Path) -> list[float]:
    with Store.open(path) as store:
        assert store.integrity_check()
        assert [d.id for d in store.load_devices()] == [f"virtual:{n}" for n in range(DEVICES)]
        values = {e.device_id: e.value for e in store.load_state() if e.attribute == ATTRIBUTE}
    assert len(values) == DEVICES
    return [float(v) for v in values.values()]  # type: ignore[arg-type]


def test_sigkill_mid_write_leaves_a_sound_database_with_whole_batches(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    previous = -1.0
    for rounds_after in (1, 4, 9, 13, 22, 30):
        bound = run_and_kill(path, writes_before_kill=2, rounds_after=rounds_after)
        values = persisted(path)
        # One transaction per batch: every device carries the value of the same round.
        assert len(set(values)) == 1, values
        value = values[0]
        assert value < bound  # never more than was written
        assert value > previous  # monotone: the restart resumed from what was persisted
        previous = value
