"""Kernel figures, configured as the daemon runs them: Hub.report → StateStore → bus → subscribers.

The daemon builds ``Bus()`` with its default queue (10,000 events per queued subscriber), has the
rule engine as an inline subscriber (called from ``publish``) and the other listeners (LAN API,
tunnel, demo printer) as queued ones, and its radios report from their read callbacks: a read
brings one frame or a few, the driver reports them, and the loop turns before the next read.
The benchmark does the same: bursts of 1, 16 and 256 reports, one loop turn between bursts, one
inline and one queued subscriber; it counts what the bus dropped (it must be nothing).
"""

from __future__ import annotations

import asyncio
import time

from hubd.bus import Bus
from hubd.core.clock import SystemClock
from hubd.core.events import DeviceJoined, Report, StateChanged
from hubd.core.model import Capability, Context, Device, Origin
from hubd.core.state import StateStore
from hubd.daemon import tune_gc
from hubd.hub import Hub
from tools.bench.report import Table, percentiles

DEVICES = 1_000
BURSTS = (1, 16, 256)  # reports per loop turn: one frame per read, a scene's reports, a resync


def _hub() -> Hub:
    hub = Hub(SystemClock(), Bus(), StateStore())  # Bus() as hubd.daemon builds it
    ctx = Context.new(Origin.SYSTEM)
    for n in range(DEVICES):
        device = Device(f"virtual:{n}", "virtual", str(n), f"Sensor {n}",
                        capabilities=frozenset({Capability.CONTACT}))
        hub.state.apply(DeviceJoined(device, 0.0, ctx))
    return hub


def _report(i: int, ctx: Context) -> Report:
    return Report(f"virtual:{i % DEVICES}", "contact.is_open", (i // DEVICES) % 2 == 0, float(i),
                  ctx)


async def _throughput(events: int, burst: int) -> tuple[float, int]:
    """Events/s through report → apply → publish → inline + queued subscriber; and drops."""
    hub = _hub()
    done = asyncio.Event()
    inline_seen = queued_seen = 0

    def inline(event: StateChanged) -> None:
        nonlocal inline_seen
        inline_seen += 1

    def queued(event: StateChanged) -> None:
        nonlocal queued_seen
        queued_seen += 1
        if queued_seen == events:
            done.set()

    hub.bus.subscribe((StateChanged,), inline, name="bench-inline", inline=True)
    sub = hub.bus.subscribe((StateChanged,), queued, name="bench-queued")
    ctx = Context.new(Origin.PHYSICAL)
    reports = [_report(i, ctx) for i in range(events)]
    report = hub.report
    started = time.perf_counter()
    for at in range(0, events, burst):
        for event in reports[at:at + burst]:
            report(event)
        await asyncio.sleep(0)  # the loop turns before the radio's next read
    if sub.dropped == 0:
        await done.wait()
    else:
        await hub.bus.drain()
    elapsed = time.perf_counter() - started
    await hub.bus.close()
    assert inline_seen == events, (inline_seen, events)
    return events / elapsed, sub.dropped


async def _latency(samples: int) -> list[float]:
    hub = _hub()
    arrived = asyncio.Event()
    latencies: list[float] = []
    sent_at = 0.0

    def stamp(event: StateChanged) -> None:
        latencies.append(time.perf_counter() - sent_at)
        arrived.set()

    hub.bus.subscribe((StateChanged,), stamp, name="bench")
    ctx = Context.new(Origin.PHYSICAL)
    for i in range(samples):
        arrived.clear()
        sent_at = time.perf_counter()
        hub.report(_report(i, ctx))
        await arrived.wait()
    await hub.bus.close()
    return latencies


async def run(quick: bool = False) -> list[Table]:
    """Throughput per burst size, and latency to a queued subscriber."""
    tune_gc()  # as the daemon runs
    events, samples = (2_000, 200) if quick else (200_000, 20_000)
    throughput = Table(
        "core: bus + state store throughput (the daemon's bus: default queues, inline rules)",
        ("reports per loop turn", "events", "devices", "events/s", "dropped"),
        path="Hub.report → StateStore.apply → StateChanged → Bus.publish → one inline "
             "subscriber (as the rule engine) and one queued subscriber (as the API), all "
             "delivered; no radio, no rules",
        note="Bus() with the daemon's default queue (10,000); one loop turn between bursts, as a "
             "driver reports from its read callback. 'dropped' must be 0.")
    for burst in BURSTS:
        rate, dropped = await _throughput(events, burst)
        throughput.rows.append((burst, events, DEVICES, rate, dropped))
    p50, p99, worst = percentiles(await _latency(samples))
    latency = Table("core: one report → StateChanged at a queued subscriber",
                    ("samples", "p50 ms", "p99 ms", "max ms"), [(samples, p50, p99, worst)],
                    path="Hub.report → StateStore.apply → Bus.publish → the subscriber's queue → "
                         "its task runs the handler",
                    note="One event at a time, so no queueing is counted.")
    return [throughput, latency]
