"""Store benchmarks: batch write latency, the write-behind under load, the outbox, boot load."""

from __future__ import annotations

import asyncio
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


def _batch_latency(path: Path) -> Table:
    table = Table("store: one batch, one transaction (Store.write)",
                  ("state rows", "p50 ms", "p99 ms", "max ms", "rows/s"))
    with Store.open(path) as store:
        store.write(Batch(devices={d.id: d for d in map(_device, range(1000))}))
        for size in (1, 10, 100, 1000):
            samples = []
            for rep in range(40):
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
                 note="loop gap: time between two slices of 100 reports; SQLite runs in the "
                      "store thread, so the gap is CPU sharing (GIL), not disk waits.")


def _outbox(path: Path) -> Table:
    table = Table("store: outbox_append (one transaction each)",
                  ("kind", "max_rows", "p50 ms", "p99 ms", "max ms", "rows kept"))
    with Store.open(path) as store:
        for kind, key_of, bound in ((OutboxKind.STATE, lambda i: f"bench:{i % 50}/x", 10_000),
                                    (OutboxKind.TELEMETRY, lambda i: None, 500)):
            samples = []
            for i in range(2000):
                started = time.perf_counter()
                store.outbox_append(kind, b"x" * 64, key_of(i), bound)
                samples.append(time.perf_counter() - started)
            rows = len(store.outbox_after(0, 100_000))
            table.rows.append((kind.value, bound, *percentiles(samples), rows))
            store.outbox_ack(1 << 62)
    return table


async def _boot(path: Path) -> Table:
    state = StateStore()
    for n in range(1000):
        state.apply(DeviceJoined(_device(n), 0.0, CTX))
        for attr in ATTRS:
            state.apply(Report(f"bench:{n}", attr, 1.0 if attr != "switch.on" else True, 0.0,
                               CTX))
    wb = WriteBehind(path, state)
    await wb.flush()
    await wb.close()
    samples = []
    for _ in range(5):
        fresh = WriteBehind(path, StateStore())
        started = time.perf_counter()
        snap = await fresh.load()
        samples.append(time.perf_counter() - started)
        await fresh.close()
    p50, _, worst = percentiles(samples)
    return Table("store: boot load (open, migrate check, read everything)",
                 ("devices", "state rows", "p50 ms", "max ms"),
                 [(len(snap.devices), len(snap.state), p50, worst)])


async def run() -> list[Table]:
    """All store benchmarks, on a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="hubd-bench-") as tmp:
        root = Path(tmp)
        return [_batch_latency(root / "batch.db"), await _under_load(root / "load.db"),
                _outbox(root / "outbox.db"), await _boot(root / "boot.db")]
