"""Crash-test helper: persists reports through a WriteBehind as fast as it can, until killed.

Run as ``python -m tests.hubd.store_crash_writer DB``. It restores what the database holds, then
counts on from the highest persisted value: every device's ``power.kwh`` gets the same value in
each round, so a batch that landed half-way would show as devices that disagree. Before each
round it prints ``upto N`` (no value will exceed N-1 until the next line) and, after each write
that landed, ``writes N``. With ``$HUBD_CRASH_HOOK`` set (tests.hubd.crash_hook) one write is
held open, mid-transaction, for the kill.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from hubd.core.events import DeviceJoined, Report
from hubd.core.model import Capability, Context, Device, Origin
from hubd.core.state import StateStore
from hubd.store import WriteBehind
from tests.hubd.crash_hook import install_from_env

DEVICES = 5
ROUND = 50  # values per round: many reports coalesce into each batch
ATTRIBUTE = "power.kwh"


def meter(n: int) -> Device:
    """One of the simulated meters."""
    return Device(f"virtual:{n}", "virtual", str(n), f"Meter {n}",
                  capabilities=frozenset({Capability.POWER}))


async def main(path: Path) -> None:
    """Write until killed."""
    ctx = Context.new(Origin.PHYSICAL)
    state = StateStore()
    wb = WriteBehind(path, state, interval_s=0.002)
    snap = await wb.load()
    state.load(snap.devices, snap.state)
    for n in range(DEVICES):
        if state.get_device(f"virtual:{n}") is None:
            state.apply(DeviceJoined(meter(n), 0.0, ctx))
    values = [e.value for e in snap.state if isinstance(e.value, float)]
    counter = int(max(values, default=-1.0)) + 1
    runner = asyncio.create_task(wb.run())
    writes = 0
    while not runner.done():
        upto = counter + ROUND
        print(f"upto {upto}", flush=True)
        for value in range(counter, upto):
            for n in range(DEVICES):
                state.apply(Report(f"virtual:{n}", ATTRIBUTE, float(value), float(value), ctx))
        counter = upto
        await asyncio.sleep(0)  # a batch may be taken only here, between whole rounds
        if wb.writes != writes:
            writes = wb.writes
            print(f"writes {writes}", flush=True)
    await runner


if __name__ == "__main__":
    install_from_env()  # $HUBD_CRASH_HOOK: hold a write open for the kill
    asyncio.run(main(Path(sys.argv[1])))
