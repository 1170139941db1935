"""Zigbee through the real stack: simulated coordinator on a pty, real zigpy-znp, the driver,
the hub kernel and the real rules engine.

The coordinator simulator runs in a process of its own (tools/bench/zigbee_sim.py), as a real
coordinator is separate hardware: its CPU work stays off the hub's event loop. It stamps both
ends of each sample itself, so no clock crosses processes.

Local control: a contact sensor's IAS zone notification handed to the simulator's line -> pty
-> zigpy-znp's framing -> heard at its MT frame entry (radios.zigbee.adapter.znp_entry) ->
ZigbeeDriver Report -> Hub (StateStore -> StateChanged on the bus) -> RuleEngine -> Hub.execute ->
ZigbeeDriver.send -> the adapter's packet (radios.zigbee.adapter.unicast) -> zigpy-znp's
send_packet -> AF.DataRequestExt -> pty -> the bytes read by the simulator,
with 200 simulated devices joined, every door opened and closed in turn (all 200 devices
exercised); once with line emulation off and once at 115200 baud. The hub's share of it is
measured apart, in the hub's process (tools/bench/zigbee_share.py).
Start to ready: a fresh driver on a network with 200 devices in zigpy's database.
Memory: VmRSS of a fresh interpreter with hubd's kernel, without and with the zigbee driver
(zigpy, zigpy-znp) imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from hubd.bus import Bus
from hubd.core.clock import SystemClock
from hubd.core.events import (
    CommandResult,
    DeviceJoined,
    DriverEvent,
    RadioHealth,
    RadioStatus,
)
from hubd.core.state import StateStore
from hubd.daemon import tune_gc
from hubd.hub import Hub
from radios.zigbee.adapter.entry import REPLAY_DELAY_S
from radios.zigbee.driver import ZigbeeDriver
from radios.zigbee.settings import RadioType, ZigbeeSettings
from rules.engine import EngineSettings, RuleEngine
from rules.parse import parse_rules
from rules.persistence import MemoryPersistence
from tools.bench.pty_floor import hops
from tools.bench.report import Table, percentiles
from tools.bench.zigbee_share import hub_stamps
from tools.bench.zigbee_sim import ieee as _ieee


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big a run is: the full bench, or the smoke test's tiny one."""

    pairs: int = 100  # 100 contact sensors + 100 lights = 200 devices
    samples: int = 400  # each of the 100 doors opened and closed twice, each switching its light
    warmup: int = 10


FULL = Sizes()
QUICK = Sizes(pairs=4, samples=8, warmup=2)

GAP_S = 0.03
HOLD_S = ZigbeeSettings().default_response_hold_s
BAUD = 115200
REPLY_TIMEOUT_S = 15.0


class Coordinator:
    """The simulator's process, driven one command line at a time."""

    def __init__(self, process: asyncio.subprocess.Process, path: str) -> None:
        self.process = process
        self.path = path

    async def ask(self, command: str) -> str:
        """Send one command; its reply (without the verb's errors: those raise)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), REPLY_TIMEOUT_S)
        reply = line.decode().strip()
        if not reply:
            raise RuntimeError(f"the simulator exited (code {await self.process.wait()})")
        if reply.startswith("error "):
            raise RuntimeError(f"the simulator failed {command!r}: {reply[6:]}")
        return reply


@contextlib.asynccontextmanager
async def _coordinator(size: Sizes, family: str = "znp") -> AsyncIterator[Coordinator]:
    """The simulator in a child process with its devices; killed on any way out."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tools.bench.zigbee_sim", "--pairs", str(size.pairs),
        "--family", family, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), REPLY_TIMEOUT_S)
        verb, _, path = line.decode().strip().partition(" ")
        if verb != "ready":
            raise RuntimeError(f"the simulator did not start: {line!r}")
        yield Coordinator(process, path)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


@dataclass
class Sink:
    """The hub as the driver's sink, noting when the radio became ready."""

    hub: Hub
    devices: int
    ready_at: float | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    joined: set[str] = field(default_factory=set)
    all_joined: asyncio.Event = field(default_factory=asyncio.Event)

    def report(self, event: DriverEvent) -> None:
        """Forward to the hub; stamp the first OK; count devices."""
        if isinstance(event, RadioHealth) and event.status is RadioStatus.OK and not self.ready_at:
            self.ready_at = time.perf_counter()
            self.ready.set()
        elif isinstance(event, DeviceJoined):
            self.joined.add(event.device.id)
            if len(self.joined) >= self.devices:
                self.all_joined.set()
        self.hub.report(event)


def _settings(path: str, hold_s: float, radio_type: RadioType = RadioType.ZNP
              ) -> ZigbeeSettings:
    return ZigbeeSettings(path=path, channel=15, skip_bootloader=False, request_timeout_s=5.0,
                          default_response_hold_s=hold_s, radio_type=radio_type)


async def _start(path: str, state_dir: Path, size: Sizes, hold_s: float = HOLD_S,
                 radio_type: RadioType = RadioType.ZNP
                 ) -> tuple[ZigbeeDriver, Hub, Sink, asyncio.Task[None]]:
    hub = Hub(SystemClock(), Bus(), StateStore())
    driver = ZigbeeDriver(_settings(path, hold_s, radio_type), state_dir)
    hub.add_driver(driver)
    sink = Sink(hub, 2 * size.pairs)
    task = asyncio.create_task(driver.run(sink))
    await asyncio.wait_for(sink.ready.wait(), 30)
    return driver, hub, sink, task


async def _stop(hub: Hub, task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await hub.bus.close()


async def _join_all(coordinator: Coordinator, state_dir: Path, size: Sizes,
                    radio_type: RadioType = RadioType.ZNP, timeout_s: float = 50.0) -> float:
    """Join every device and let the driver configure them; returns the seconds it took."""
    driver, hub, sink, task = await _start(coordinator.path, state_dir, size, HOLD_S,
                                           radio_type)
    try:
        started = time.perf_counter()
        await driver.permit_join(254)
        await asyncio.wait_for(sink.all_joined.wait(), timeout_s)
        # binding and reporting configuration go on after the announcement
        await coordinator.ask("quiet 0.3")
        return time.perf_counter() - started
    finally:
        await _stop(hub, task)


def _rules(pairs: int) -> str:
    lines = ["rules:"]
    for n in range(pairs):
        door, lamp = f"zigbee:{_ieee(2 * n + 1)}", f"zigbee:{_ieee(2 * n + 2)}"
        for state, command in (("true", "switch.on"), ("false", "switch.off")):
            lines += [
                f"  - id: door-{n}-{state}",
                f"    triggers: [{{kind: state, device: '{door}', attribute: contact.is_open, "
                f"to: {state}}}]",
                f"    actions: [{{kind: command, device: '{lamp}', command: {command}}}]",
            ]
    return "\n".join(lines) + "\n"


async def _local_control(coordinator: Coordinator, state_dir: Path, size: Sizes,
                         hold_s: float = HOLD_S, radio_type: RadioType = RadioType.ZNP
                         ) -> tuple[list[float], float, int]:
    """Samples of sensor frame written -> actuator frame read; the start-to-ready time; and
    how many device frames hubd heard at the entry meanwhile."""
    started = time.perf_counter()
    driver, hub, sink, task = await _start(coordinator.path, state_dir, size, hold_s,
                                           radio_type)
    assert sink.ready_at is not None
    ready_s = sink.ready_at - started
    rules, problems = parse_rules(_rules(size.pairs), "bench.yaml")
    assert not problems, problems
    # The storm guard (20 runs in 10 s) would rightly stop a door slammed 200 times in a second.
    engine = RuleEngine(hub.state, hub.bus, hub.execute, hub.clock, MemoryPersistence(),
                        EngineSettings(storm_runs=1_000_000))
    engine.load(rules)
    engine_task = asyncio.create_task(engine.run())
    try:
        await asyncio.wait_for(engine.ready.wait(), 10)
        await coordinator.ask("quiet 0.3")
        # As the daemon does: its collector tuning, and once READY what boot built leaves the
        # collector's sight.
        tune_gc()
        gc.collect()
        gc.freeze()
        adapter = driver.adapter
        assert adapter is not None
        taken = adapter.frames_taken_at_entry
        samples = await _samples(coordinator, hub, size)
        return samples, ready_s, adapter.frames_taken_at_entry - taken
    finally:
        engine_task.cancel()
        await asyncio.gather(engine_task, return_exceptions=True)
        await _stop(hub, task)
        gc.unfreeze()


async def _samples(coordinator: Coordinator, hub: Hub, size: Sizes) -> list[float]:
    """Open, then close, every door in turn, so every device takes part; the simulator
    times each notification -> light request."""
    settled = asyncio.Event()
    waiting_for = ""
    hub.bus.subscribe((CommandResult,), lambda e: settled.set()
                      if e.command.device_id == waiting_for else None, name="bench")
    samples = []
    for i in range(size.warmup + size.samples):
        pair = i % size.pairs
        is_open = (i // size.pairs) % 2 == 0
        waiting_for = f"zigbee:{_ieee(2 * pair + 2)}"
        settled.clear()
        reply = await coordinator.ask(f"{'open' if is_open else 'close'} {pair}")
        if i >= size.warmup:  # the first rounds warm caches up
            samples.append(float(reply.removeprefix("latency ")))
        await asyncio.wait_for(settled.wait(), 10)  # the lamp confirmed the command
        # A house's doors do not slam 50 times a second: let the held Default Response and the
        # lamp's report go out before the next door, as they would between real events.
        await asyncio.sleep(GAP_S)
    return samples


def _rss_mib(with_zigbee: bool, family: str = "ZNP") -> float:
    probe = (
        "import hubd.hub, hubd.bus, radios.base\n"
        + ("import radios.zigbee.driver\n"
           "from radios.zigbee.adapter.glue import app_class\n"
           "from radios.zigbee.settings import RadioType\n"
           f"app_class(RadioType.{family})\n" if with_zigbee else "")
        + "print([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1])\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60)
    return int(out.stdout.strip()) / 1024


async def run(quick: bool = False) -> list[Table]:
    """Join 200 devices, then measure local control (no line emulation, 115200 baud), start
    to ready, and memory."""
    size = QUICK if quick else FULL
    pairs = size.pairs
    logging.getLogger("zigpy").setLevel(logging.WARNING)
    logging.getLogger("zigpy_znp").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp)
        async with _coordinator(size) as coordinator:
            join_s = await _join_all(coordinator, state_dir, size)
            fast, ready_s, taken = await _local_control(coordinator, state_dir, size)
            fast_unheld, _, _ = await _local_control(coordinator, state_dir, size, 0.0)
            with hub_stamps() as stamped:  # a run of its own: the headline's runs are bare
                await _local_control(coordinator, state_dir, size)
            hub_share = stamped[-size.samples:]
            await coordinator.ask(f"baud {BAUD}")
            slow, _, _ = await _local_control(coordinator, state_dir, size)
            slow_unheld, _, _ = await _local_control(coordinator, state_dir, size, 0.0)
            unknown = int((await coordinator.ask("unknown")).split()[1])
    latency = Table(
        "zigbee local control (radio frame in -> radio frame out)",
        ("line", "samples", "p50 ms", "p99 ms", "max ms"),
        [("no emulation", len(fast), *percentiles(fast)),
         (f"{BAUD} baud", len(slow), *percentiles(slow)),
         ("no emulation, Default Response not held", len(fast_unheld),
          *percentiles(fast_unheld)),
         (f"{BAUD} baud, Default Response not held", len(slow_unheld),
          *percentiles(slow_unheld)),
         ("no emulation, the hub's share only: bytes read by zigpy-znp -> the On/Off "
          "request handed to write(), stamped in the hub (no pty hop, no process waking)",
          len(hub_share), *percentiles(hub_share))],
        path="IAS zone notification handed to the sim's line -> pty -> zigpy-znp's framing -> "
             "hubd at its frame entry -> driver -> hub -> rule -> the adapter's packet -> "
             "zigpy-znp's send_packet -> AF.DataRequestExt read from the pty by the sim",
        note=f"{2 * pairs} devices joined and all exercised ({pairs} doors each opened and "
             f"closed, each firing a rule that switches its own light); {taken} device frames "
             f"heard at the entry in the first run (each door's notification and "
             f"each light's report), zigpy handling each {REPLAY_DELAY_S * 1000:.0f} ms later; the "
             f"coordinator simulator in its own process, both stamps taken at its line (its "
             f"own MT encoding and decoding excluded); real zigpy-znp on a pty, the real rules "
             f"engine ({2 * pairs} rules), gc frozen after boot; {GAP_S * 1000:.0f} ms between "
             f"events; goal p99 <= 2 ms without emulation. \"not held\": "
             f"default_response_hold_s = 0; the rule's command still goes first, as hubd hears "
             f"the door before zigpy queues its Default Response. \"the hub's share\": a "
             f"separate run stamped in the hub's process (tools/bench/zigbee_share.py); the "
             f"first row less this is the two pty hops, the simulator's own wake-up among "
             f"them (see the floor below)"
             + (f"; sim saw {unknown} unknown requests" if unknown else ""))
    start = Table("zigbee: start", ("what", "seconds"),
                  [(f"start to ready, {2 * pairs} devices in zigpy's database", ready_s),
                   (f"permit join to {2 * pairs} devices interviewed and configured", join_s)],
                  note="join time includes 0.3 s of silence that tells configuration is over",
                  path="the driver started -> its health OK (zigpy's database loaded, the "
                       "coordinator's network up); permit join -> the last device announced "
                       "and configured")
    without, with_zigbee = _rss_mib(False), _rss_mib(True)
    memory = Table("zigbee: memory", ("imports", "MiB"),
                   [("hubd kernel (hub, bus, radios.base)", without),
                    ("+ radios.zigbee.driver, zigpy, zigpy-znp", with_zigbee),
                    ("zigbee's share", with_zigbee - without)],
                   path="VmRSS of a fresh interpreter after the imports")
    families = await _families(
        size, znp=(fast, slow, ready_s, join_s, with_zigbee - without), without_mib=without)
    return [latency, await _floor(size), start, memory, *families]


async def _floor(size: Sizes) -> Table:
    """The machine's own floor under the figure: the two pty hops with nothing else."""
    there, round_trip = await hops(size.samples, GAP_S)
    return Table(
        "zigbee: this machine's floor under local control (bare pty hops between two idle "
        "processes, no Zigbee code)", ("hops", "samples", "p50 ms", "p99 ms", "max ms"),
        [("one hop: write -> the idle reader has the bytes", len(there), *percentiles(there)),
         ("two hops (what the figure above crosses)", len(round_trip),
          *percentiles(round_trip))],
        note=f"tools/bench/pty_floor.py: {GAP_S * 1000:.0f} ms between samples as above, "
             "both ends asyncio readers, measured after the runs above; on a VM an idle "
             "process's wake-up varies from run to run, and its tail is the figure's too",
        path="parent's write to the pty master -> the child's read of the slave (-> its "
             "answer read back by the parent), perf_counter on both sides")


async def _families(size: Sizes, znp: tuple[list[float], list[float], float, float, float],
                    without_mib: float) -> list[Table]:
    """The same runs on the EmberZNet NCP simulator through bellows; ZNP and EZSP side by
    side (ZNP's figures are the ones measured above, not measured again)."""
    logging.getLogger("bellows").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp)
        async with _coordinator(size, "ezsp") as coordinator:
            join_s = await _join_all(coordinator, state_dir, size, RadioType.EZSP, 240.0)
            fast, ready_s, _ = await _local_control(coordinator, state_dir, size, HOLD_S,
                                                    RadioType.EZSP)
            await coordinator.ask(f"baud {BAUD}")
            slow, _, _ = await _local_control(coordinator, state_dir, size, HOLD_S,
                                              RadioType.EZSP)
            unknown = int((await coordinator.ask("unknown")).split()[1])
    ezsp_mib = _rss_mib(True, "EZSP") - without_mib
    znp_fast, znp_slow, znp_ready_s, znp_join_s, znp_mib = znp
    rows: list[tuple[object, ...]] = []
    for label, z, e in (("no emulation", znp_fast, fast), (f"{BAUD} baud", znp_slow, slow)):
        (z50, z99, _), (e50, e99, _) = percentiles(z), percentiles(e)
        rows += [(f"{label}: p50 ms", z50, e50), (f"{label}: p99 ms", z99, e99)]
    rows += [(f"start to ready s, {2 * size.pairs} devices", znp_ready_s, ready_s),
             (f"join + interview + configure s, {2 * size.pairs} devices", znp_join_s, join_s),
             ("RSS MiB: driver + zigpy + radio library", znp_mib, ezsp_mib)]
    return [Table(
        "zigbee local control and start, ZNP and EZSP side by side",
        ("figure", "ZNP (zigpy-znp, Z-Stack sim)", "EZSP (bellows, EmberZNet NCP sim)"),
        rows,
        path="door notification written by the sim -> radio library -> driver -> hub -> rule "
             "-> On/Off request read by the sim; start and join as above",
        note=f"same {2 * size.pairs} devices, rules, gap and hold as above; EZSP over ASH on a "
             f"pty (each frame acknowledged, window 1), EZSP v13; {len(fast)} + {len(slow)} "
             f"EZSP samples" + (f"; EZSP sim saw {unknown} unknown frames" if unknown else ""))]
