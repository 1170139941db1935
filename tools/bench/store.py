"""Store benchmarks: batch write latency, the write-behind under load, the outbox, boot load."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

from hubd.core.events import DeviceJoined, Report
from hubd.core.model import Capability, Context, Device, Origin
from hubd.core.state import StateEntry, StateStore
from hubd.store import Batch, OutboxKind, Store, WriteBehind
from tools.bench.report import Table, percentiles

CTX = Context.new(Origin.PHYSICAL)
ATTRS = ("switch.on", "level.level_pct", "power.watts", "power.kwh", "battery.pct")


def _device(n: int) -> Device:
    return Device(f"bench:{n}", "bench", str(n), f"Device {n}",
                  capabilities=frozenset({Capability.SWITCH, Capability.LEVEL,
                                          Capability.POWER, Capability.BATTERY}))


def _batch_latency(path: Path, reps: int) -> Table:
    table = Table("store: one batch, one transaction (Store.write)",
                  ("state rows", "p50 ms", "p99 ms", "max ms", "rows/s"),
                  path="Store.write of one Batch of state rows: one SQLite transaction, in the "
                       "calling thread (the daemon runs it in the store's thread)")
    with Store.open(path) as store:
        store.write(Batch(devices={d.id: d for d in map(_device, range(1000))}))
        for size in (1, 10, 100, 1000):
            samples = []
            for rep in range(reps):
                batch = Batch()
                batch.add_state([StateEntry(f"bench:{i % 1000}", ATTRS[i // 1000 % 5],
                                            float(rep), float(rep)) for i in range(size)], {})
                started = time.perf_counter()
                store.write(batch)
                samples.append(time.perf_counter() - started)
            p50, p99, worst = percentiles(samples)
            table.rows.append((size, p50, p99, worst, size / (p50 / 1e3)))
    return table


async def _under_load(path: Path, seconds: float = 2.0) -> Table:
    """Reports as fast as the loop allows; how long is the loop ever blocked, what lands."""
    state = StateStore()
    for n in range(200):
        state.apply(DeviceJoined(_device(n), 0.0, CTX))
    wb = WriteBehind(path, state, interval_s=0.1)
    await wb.load()
    runner = asyncio.create_task(wb.run())
    lags: list[float] = []
    reports = 0
    deadline = time.perf_counter() + seconds
    last = time.perf_counter()
    while (now := time.perf_counter()) < deadline:
        lags.append(now - last)
        for i in range(100):
            state.apply(Report(f"bench:{(reports + i) % 200}", "power.watts",
                               float(reports + i), 0.0, CTX))
        reports += 100
        last = time.perf_counter()
        await asyncio.sleep(0)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    p50, p99, worst = percentiles(lags)
    return Table("store: write-behind under a report storm (200 devices, interval 0.1 s)",
                 ("reports", "writes", "rows written", "loop gap p50 ms", "p99 ms", "max ms"),
                 [(reports, wb.writes, wb.rows_written, p50, p99, worst)],
                 path="StateStore.apply on the loop while WriteBehind.run batches the changes "
                      "to SQLite in its thread",
                 note="loop gap: time between two slices of 100 reports; SQLite runs in the "
                      "store thread, so the gap is CPU sharing (GIL), not disk waits.")


def _outbox(path: Path, appends: int) -> Table:
    table = Table("store: outbox_append (one transaction each)",
                  ("kind", "max_rows", "p50 ms", "p99 ms", "max ms", "rows kept"),
                  path="Store.outbox_append: one row for the cloud tunnel, bound enforced, "
                       "one transaction")
    with Store.open(path) as store:
        for kind, key_of, bound in ((OutboxKind.STATE, lambda i: f"bench:{i % 50}/x", 10_000),
                                    (OutboxKind.TELEMETRY, lambda i: None, 500)):
            samples = []
            for i in range(appends):
                started = time.perf_counter()
                store.outbox_append(kind, b"x" * 64, key_of(i), bound)
                samples.append(time.perf_counter() - started)
            rows = len(store.outbox_after(0, 100_000))
            table.rows.append((kind.value, bound, *percentiles(samples), rows))
            store.outbox_ack(1 << 62)
    return table


def evict(path: Path) -> bool:
    """Drop a file's pages from the page cache (as after a power cycle); False if it stayed.

    fsync first (dirty pages cannot be dropped), then POSIX_FADV_DONTNEED: only this file
    leaves the cache, so the machine's other work is not disturbed as by vm/drop_caches.
    """
    if not path.exists():
        return True
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


async def _boot(path: Path, devices: int, rounds: int) -> Table:
    state = StateStore()
    for n in range(devices):
        state.apply(DeviceJoined(_device(n), 0.0, CTX))
        for attr in ATTRS:
            state.apply(Report(f"bench:{n}", attr, 1.0 if attr != "switch.on" else True, 0.0,
                               CTX))
    wb = WriteBehind(path, state)
    await wb.flush()
    await wb.close()
    table = Table("store: boot load (open, migrate check, read everything)",
                  ("page cache", "devices", "state rows", "database KiB", "p50 ms", "max ms"),
                  path="WriteBehind.load at daemon start: open the SQLite file, check the "
                       "schema, read devices, state, timers, traces, rule states",
                  note="cold: the database file (and its -wal, -shm) evicted from the page cache "
                       "before each load (fsync + POSIX_FADV_DONTNEED), as after a power cycle; "
                       "Python and SQLite themselves stay cached.")
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    size_kib = sum(f.stat().st_size for f in files if f.exists()) // 1024
    for label in ("cold", "warm"):
        samples = []
        loaded = 0, 0
        for _ in range(rounds):
            if label == "cold" and not all(evict(f) for f in files):
                label = "cold (eviction refused: warm)"
            fresh = WriteBehind(path, StateStore())
            started = time.perf_counter()
            snap = await fresh.load()
            samples.append(time.perf_counter() - started)
            loaded = len(snap.devices), len(snap.state)
            await fresh.close()
        p50, _, worst = percentiles(samples)
        table.rows.append((label, *loaded, size_kib, p50, worst))
    return table


async def run(quick: bool = False) -> list[Table]:
    """All store benchmarks, on a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="hubd-bench-") as tmp:
        root = Path(tmp)
        return [_batch_latency(root / "batch.db", 3 if quick else 40),
                await _under_load(root / "load.db", 0.2 if quick else 2.0),
                _outbox(root / "outbox.db", 50 if quick else 2000),
                await _boot(root / "boot.db", 50 if quick else 1000, 2 if quick else 5)]
