"""Kernel figures: bus + state store throughput, and radio event → StateChanged at a subscriber."""

from __future__ import annotations

import asyncio
import time

from hubd.bus import Bus
from hubd.core.clock import SystemClock
from hubd.core.events import DeviceJoined, Report, StateChanged
from hubd.core.model import Capability, Context, Device, Origin
from hubd.core.state import StateStore
from hubd.hub import Hub
from tools.bench.report import Table, percentiles

DEVICES = 1_000


def _hub() -> Hub:
    hub = Hub(SystemClock(), Bus(default_maxsize=1_000_000), StateStore())
    ctx = Context.new(Origin.SYSTEM)
    for n in range(DEVICES):
        device = Device(f"virtual:{n}", "virtual", str(n), f"Sensor {n}",
                        capabilities=frozenset({Capability.CONTACT}))
        hub.state.apply(DeviceJoined(device, 0.0, ctx))
    return hub


async def _throughput(events: int) -> float:
    hub = _hub()
    done = asyncio.Event()
    received = 0

    def count(event: StateChanged) -> None:
        nonlocal received
        received += 1
        if received == events:
            done.set()

    hub.bus.subscribe((StateChanged,), count, name="bench")
    ctx = Context.new(Origin.PHYSICAL)
    started = time.perf_counter()
    for i in range(events):
        hub.report(Report(f"virtual:{i % DEVICES}", "contact.is_open", (i // DEVICES) % 2 == 0,
                          float(i), ctx))
    await done.wait()
    elapsed = time.perf_counter() - started
    await hub.bus.close()
    return events / elapsed


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
        hub.report(Report(f"virtual:{i % DEVICES}", "contact.is_open", (i // DEVICES) % 2 == 0,
                          float(i), ctx))
        await arrived.wait()
    await hub.bus.close()
    return latencies


async def run() -> list[Table]:
    """Both kernel figures."""
    rate = await _throughput(200_000)
    p50, p99, worst = percentiles(await _latency(20_000))
    return [
        Table("core: bus + state store throughput", ("events", "devices", "events/s"),
              [(200_000, DEVICES, rate)],
              "Report → StateStore.apply → StateChanged → bus → one subscriber, all delivered."),
        Table("core: radio event in → StateChanged at a subscriber", ("samples", "p50 ms",
                                                                    "p99 ms", "max ms"),
              [(20_000, p50, p99, worst)], "One event at a time, so no queueing is counted."),
    ]
