"""Flat memory under a long run: hours of a busy house compressed into a minute or two.

The real Daemon runs the bench house (tools/bench/house.py: virtual rooms, the Lutron repeater
simulator on a pty, the Zigbee coordinator simulator on a pty with paired devices, rules with
``for`` durations, delays in restart mode and cross-radio commands). House time is compressed:
the wall clock the rules read (timers, ``for``, delays) is a manual clock moved 5 s per step,
while monotonic time (radio pacing, confirmation timeouts) stays real, because the simulators on
the other end of the byte streams answer in real time; each step also gives the radios a few
real milliseconds. Every step doors open and close and motion comes and goes; Zigbee doors and
motion chatter; the Lutron Pico is pressed; the rules' commands go to all three radios.

After a warm-up (every bounded table full: traces, echo windows, caches), memory is sampled at
intervals: RSS, the objects the collector tracks, and the live bytes tracemalloc saw the hub's
code allocate since the daemon started (the simulators' share is filtered out, and their own
request logs are cleared at each sample). RSS is read twice: as it is, and after the C heap's
free memory went back to the system (``hubd.memory.release``, which the daemon runs every
minute; this compressed run is shorter than a few of its minutes, so the bench runs it before
reading). Flat means: traced growth ≤ 256 KiB, tracked objects ≤ +0.5 %, RSS after release
≤ +4 MiB from the end of the warm-up (a third of the run) to the end. RSS as read before the
release goes up and down by ~8 MiB from one sample to the next (glibc keeping what Python freed),
so it says little about growth.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hubd.config import load_config
from hubd.core.clock import ManualClock
from hubd.core.events import CommandResult
from hubd.core.model import CommandStatus
from hubd.daemon import Daemon
from hubd.memory import release
from hubd.systemd import Notifier
from radios.lutron.sim.demo import LIVING_OCCUPANCY, LIVING_PICO, PICO_OFF, PICO_ON
from radios.virtual.driver import VirtualDriver
from rules.engine import RuleEngine
from tools.bench.house import ROOM_KINDS, BenchHouse, bench_house, zigbee_groups
from tools.bench.report import Table

STEP_S = 8.0  # house seconds per step
STEP_REAL_S = 0.008  # real seconds each step gives the radios' byte streams
SAMPLES = 5  # memory samples after the warm-up
SETTLE_S = 0.3  # real seconds without stimuli before each sample
TRACED_LIMIT_B = 256 * 1024
OBJECTS_LIMIT = 0.005
RSS_LIMIT_B = 4 * 1024 * 1024
NOT_HUB = ("*/sim/*", "*/tools/bench/*", tracemalloc.__file__)


class CompressedClock(ManualClock):
    """House time moves when told to (rules, timers); monotonic time is the machine's."""

    def monotonic(self) -> float:
        """Real monotonic seconds: radio pacing and timeouts run against real simulators."""
        return time.monotonic()


@dataclass(frozen=True, slots=True)
class Sample:
    """Memory at one point of the run."""

    house_h: float
    rss_b: int  # after the release of free memory, as the daemon does every minute
    rss_read_b: int  # as read before it
    objects: int
    traced_b: int


@dataclass(slots=True)
class Tally:
    """Commands per radio and status, counted from the bus."""

    by_radio: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, result: CommandResult) -> None:
        """Count one command's result."""
        radio = result.command.device_id.partition(":")[0]
        statuses = self.by_radio.setdefault(radio, {})
        statuses[result.status] = statuses.get(result.status, 0) + 1


def rss_b() -> int:
    """This process's resident set size in bytes (VmRSS)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@dataclass(slots=True)
class Probe:
    """Takes the samples; keeps the first and the last in detail, to say what grew."""

    house: BenchHouse
    clock: ManualClock
    started_wall: float
    lines: list[dict[str, int]] = field(default_factory=list)  # traced bytes per source line
    types: list[Counter[str]] = field(default_factory=list)  # live objects per type

    def sample(self) -> Sample:
        """Memory now, after a full collection; the simulators' logs cleared first."""
        self.house.forget_sim_logs()
        gc.collect()
        traced = 0
        if tracemalloc.is_tracing():  # before RSS: what it keeps then counts in every reading
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, pattern) for pattern in NOT_HUB])
            by_line = {_where(stat.traceback[0]): stat.size
                       for stat in snapshot.statistics("lineno")}
            del snapshot
            traced = sum(by_line.values())
            self.lines[1:] = [by_line]
        objects = gc.get_objects()
        self.types[1:] = [Counter(type(o).__qualname__ for o in objects)]
        count = len(objects) + gc.get_freeze_count()
        del objects
        read = rss_b()
        release()
        return Sample((self.clock.time() - self.started_wall) / 3600, rss_b(), read, count,
                      traced)

    def growers(self) -> str:
        """The source lines and the object types that grew most from the first sample."""
        lines = types = "-"
        if len(self.lines) == 2:
            first, last = self.lines
            grew = sorted(((size - first.get(where, 0), where) for where, size in last.items()),
                          reverse=True)[:5]
            lines = "; ".join(f"{where} +{diff / 1024:.0f} KiB" for diff, where in grew
                              if diff > 0) or "-"
        if len(self.types) == 2:
            diff = self.types[1] - self.types[0]
            types = ", ".join(f"{name} +{n}" for name, n in diff.most_common(5)) or "-"
        return f"grew most: {lines}\nobject types that grew: {types}"


def _where(frame: tracemalloc.Frame) -> str:
    return f"{'/'.join(frame.filename.rsplit('/', 2)[-2:])}:{frame.lineno}"


class House:
    """The stimuli: who opens which door when."""

    def __init__(self, house: BenchHouse, virtual: VirtualDriver) -> None:
        self.house = house
        self.virtual = virtual
        self.groups = zigbee_groups(house.zigbee_devices)
        self.rng = random.Random(8)
        self.flags: dict[str, bool] = {}

    def _flip(self, key: str) -> bool:
        self.flags[key] = value = not self.flags.get(key, False)
        return value

    def step(self, n: int) -> None:
        """One step's physical events."""
        rooms = self.house.rooms
        room = n % rooms
        door = 4 * room + 1
        self.virtual.physical_set(str(door), "contact.is_open", self._flip(f"door{room}"))
        room = self.rng.randrange(rooms)
        self.virtual.physical_set(str(4 * room + 2), "motion.is_active", self._flip(f"m{room}"))
        zigbee = self.house.zigbee
        if self.groups and n % 3 == 0:
            group = (n // 3) % self.groups
            zigbee.door(is_open=self._flip(f"zd{group}"), index=group)
            zigbee.motion(is_active=self._flip("zm"))
        if n % 60 == 0:
            zigbee.temperature_drift()
        engine = self.house.lutron.engine
        if n % 8 == 0:
            engine.press(LIVING_PICO, PICO_ON if self._flip("pico") else PICO_OFF)
        elif n % 8 == 1:
            engine.release(LIVING_PICO, PICO_ON if self.flags["pico"] else PICO_OFF)
        if n % 10 == 0:
            engine.set_occupancy(LIVING_OCCUPANCY, self._flip("occupied"))


async def _soak(root: Path, steps: int, devices: int, zigbee_devices: int, *,
                is_quick: bool) -> tuple[list[Sample], Tally, BenchHouse, str]:
    async with bench_house(root, devices=devices, zigbee_devices=zigbee_devices) as house:
        clock = CompressedClock(start=time.time())
        started_wall = clock.time()
        if not is_quick:  # (tracing slows the daemon's start: the smoke test skips that)
            tracemalloc.start(1)  # before the daemon, so what it keeps is all seen
        daemon = Daemon(load_config(house.config_path), clock=clock, notifier=Notifier(""))
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.ready.wait(), 60)
            hub, engine = daemon.hub, daemon.engine
            assert hub is not None and isinstance(engine, RuleEngine)
            virtual = hub.drivers["virtual"]
            assert isinstance(virtual, VirtualDriver)
            tally = Tally()
            hub.bus.subscribe((CommandResult,), tally.count, name="soak", inline=True)
            stimuli = House(house, virtual)
            warmup = steps // 3  # every rule has run 20 times: its kept traces are full
            every = max(1, (steps - warmup) // SAMPLES)
            samples: list[Sample] = []
            probe = Probe(house, clock, started_wall)
            for n in range(steps):
                if n == warmup and not tracemalloc.is_tracing():
                    tracemalloc.start(1)
                if n >= warmup and (n - warmup) % every == 0:
                    await asyncio.sleep(SETTLE_S)  # what is in flight lands: count at rest
                    samples.append(probe.sample())
                stimuli.step(n)
                await engine.advance(STEP_S)
                await asyncio.sleep(STEP_REAL_S)
            await asyncio.sleep(SETTLE_S)
            samples.append(probe.sample())
            growers = probe.growers()
        finally:
            tracemalloc.stop()
            daemon.request_stop()
            await asyncio.wait_for(task, 30)
    return samples, tally, house, growers



def verdict(first: Sample, last: Sample) -> tuple[bool, str]:
    """Flat or not, and why."""
    problems = []
    traced = last.traced_b - first.traced_b
    objects = last.objects - first.objects
    rss = last.rss_b - first.rss_b
    if traced > TRACED_LIMIT_B:
        problems.append(f"traced +{traced / 1024:.0f} KiB > {TRACED_LIMIT_B // 1024} KiB")
    if objects > OBJECTS_LIMIT * first.objects:
        problems.append(f"objects +{objects} > {OBJECTS_LIMIT:.1%}")
    if rss > RSS_LIMIT_B:
        problems.append(f"RSS after release +{rss / 2**20:.1f} MiB > "
                        f"{RSS_LIMIT_B / 2**20:.0f} MiB")
    return not problems, "; ".join(problems)


async def run(quick: bool = False) -> list[Table]:
    """Soak the bench house; memory at the end of the warm-up and after, and the verdict."""
    logging.getLogger().setLevel(logging.ERROR)
    steps, devices, zigbee_devices = (30, 30, 9) if quick else (3_000, 120, 36)
    with tempfile.TemporaryDirectory(prefix="hubd-soak-") as tmp:
        started = time.perf_counter()
        samples, tally, house, growers = await _soak(Path(tmp), steps, devices, zigbee_devices,
                                                   is_quick=quick)
        real_s = time.perf_counter() - started
    first, last = samples[0], samples[-1]
    is_flat, why = verdict(first, last)
    memory = Table(
        f"soak: memory over {last.house_h:.1f} house hours in {real_s:.0f} s "
        f"— {'FLAT' if is_flat else 'NOT FLAT: ' + why}",
        ("house hours", "RSS MiB as read", "RSS MiB after release", "tracked objects",
         "traced KiB (hub code)"),
        [(round(s.house_h, 2), s.rss_read_b / 2**20, s.rss_b / 2**20, s.objects,
          s.traced_b / 1024) for s in samples],
        path="the whole Daemon in this process (store, bus, rules, virtual, Lutron and Zigbee "
             "drivers with zigpy) driven through simulators on ptys; traced = live memory "
             "allocated by hub code since the daemon started (simulators and bench excluded)",
        note=f"{house.devices} devices ({house.rooms * len(ROOM_KINDS)} virtual, "
             f"{house.zigbee_devices} Zigbee, Lutron demo house), {steps} steps of {STEP_S:.0f} "
             f"house s; limits: traced ≤ {TRACED_LIMIT_B // 1024} KiB, objects ≤ "
             f"+{OBJECTS_LIMIT:.1%}, RSS after release ≤ +{RSS_LIMIT_B // 2**20} MiB (release: "
             "the C heap's free memory back to the system, as hubd does every minute)"
             + ("" if is_flat else "\n" + growers))
    commands = Table(
        "soak: commands the rules sent, by radio and result",
        ("radio", *(str(s) for s in CommandStatus)),
        [(radio, *(counts.get(s, 0) for s in CommandStatus))
         for radio, counts in sorted(tally.by_radio.items())],
        path="rule → Hub.execute → the radio's driver → its simulator (CommandResult on the bus)")
    return [memory, commands]
