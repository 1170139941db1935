"""Lutron figures: a Pico press written by the simulated repeater to the #OUTPUT it reads back.

The hub's hot path with a Lutron link at both ends: the simulator writes ``~DEVICE,<pico>,2,3``
into the pty → LutronDriver → Hub.report → bus → the rule engine, whose rule sends ``level.set``
→ Hub.execute → LutronDriver → ``#OUTPUT,...`` read by the simulator. Timed from just before the
press is written to the moment the simulator has the whole command line, with the serial line's
speed emulated (9600 baud, ten bits a byte) or not.

Paced: one press whose rules command four zones at once. The repeater drops commands closer
than 50 ms, so the driver's pacer spaces them: the figures are press → first and press → last
command read, and the smallest gap the simulator saw between two of them.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time

from hubd.bus import Bus
from hubd.core.clock import SystemClock
from hubd.core.state import StateStore
from hubd.hub import Hub
from radios.lutron.driver import LutronDriver
from radios.lutron.sim.demo import (
    DEMO_DEVICES,
    DINING,
    KITCHEN,
    LIVING_LAMPS,
    LIVING_PICO,
    PICO_FAVOURITE,
    PICO_LOWER,
    PICO_OFF,
    PICO_ON,
    PORCH,
    demo_house,
)
from radios.lutron.sim.engine import Received, RepeaterEngine
from radios.lutron.sim.server import LutronSimulator
from rules.engine import EngineSettings, RuleEngine
from rules.parse import parse_rules
from rules.persistence import MemoryPersistence
from tools.bench.report import Table, percentiles

PRESSES = 100
QUICK_PRESSES = 4  # the smoke test's
RULES = """
rules:
  - id: pico_on
    triggers: [{kind: button, device: Living Pico, button: 2, action: press}]
    actions: [{kind: command, device: Dining lights, command: level.set, args: {level_pct: 100}}]
  - id: pico_off
    triggers: [{kind: button, device: Living Pico, button: 4, action: press}]
    actions: [{kind: command, device: Dining lights, command: level.set, args: {level_pct: 0}}]
"""


SCENE_ZONES = (DINING, LIVING_LAMPS, KITCHEN, PORCH)
SCENE_RULES = "rules:\n" + "".join(
    f"""  - id: {name}_{zone}
    triggers: [{{kind: button, device: Living Pico, button: {button}, action: press}}]
    actions: [{{kind: command, device: 'lutron:{zone}', command: {command}}}]
""" for name, button, on, off in (("fav", PICO_FAVOURITE, "level.set, args: {level_pct: 100}",
                                   "switch.on"),
                                  ("low", PICO_LOWER, "level.set, args: {level_pct: 0}",
                                   "switch.off"))
    for zone in SCENE_ZONES for command in ((off if zone == PORCH else on),))


async def _measure(baudrate: int | None, presses: int, *, scene: bool = False
                   ) -> list[list[float]]:
    clock = SystemClock()
    hub = Hub(clock, Bus(), StateStore())
    engine = RepeaterEngine(demo_house())
    async with LutronSimulator(engine, telnet=False, baudrate=baudrate) as sim:
        driver = LutronDriver(sim.settings("serial", devices=DEMO_DEVICES), clock)
        hub.add_driver(driver)
        task = asyncio.create_task(driver.run(hub))
        rules = RuleEngine(hub.state, hub.bus, hub.execute, clock, MemoryPersistence(),
                           EngineSettings(storm_runs=10**6))
        rules_task: asyncio.Task[None] | None = None
        arrived = asyncio.Event()
        wanted = len(SCENE_ZONES) if scene else 1
        seen: list[float] = []  # perf_counter stamps of this press's command lines

        def on_command(received: Received) -> None:
            zones = SCENE_ZONES if scene else (DINING,)
            if any(received.line.startswith(f"#OUTPUT,{z},") for z in zones):
                seen.append(time.perf_counter())
                if len(seen) >= wanted:
                    arrived.set()

        engine.on_command = on_command
        samples: list[list[float]] = []
        try:
            if await hub.wait_radios(10.0):
                raise RuntimeError("the Lutron driver did not reach the simulator")
            await hub.bus.drain()
            parsed, problems = parse_rules(SCENE_RULES if scene else RULES, "bench.yaml")
            problems += rules.load(parsed)
            if problems:
                raise RuntimeError(f"bench rules: {[str(p) for p in problems]}")
            rules_task = asyncio.create_task(rules.run())
            await rules.ready.wait()
            for n in range(presses):
                on, off = (PICO_FAVOURITE, PICO_LOWER) if scene else (PICO_ON, PICO_OFF)
                button = on if n % 2 == 0 else off  # on, off: every press changes
                arrived.clear()
                seen.clear()
                started = time.perf_counter()
                engine.press(LIVING_PICO, button)
                async with asyncio.timeout(5.0):
                    await arrived.wait()
                samples.append([t - started for t in seen])
                engine.release(LIVING_PICO, button)
                # Let the echoes cross the line and the writer's pace (50 ms) pass: presses are
                # measured one at a time, not queued behind each other.
                await asyncio.sleep((0.12 if baudrate else 0.07) + (0.2 if scene else 0.0))
        finally:
            for running in (task, rules_task):
                if running is not None:
                    running.cancel()
                    await asyncio.gather(running, return_exceptions=True)
            await hub.bus.close()
    return samples


async def run(quick: bool = False) -> list[Table]:
    """Pico press → reaction → #OUTPUT, with and without 9600-baud line emulation; and a press
    that commands four zones, spaced by the 50 ms pacer."""
    presses = QUICK_PRESSES if quick else PRESSES
    table = Table("lutron local control (radio frame in -> radio frame out)",
                  ("line", "presses", "p50 ms", "p99 ms", "max ms"),
                  path="Pico press written by the sim -> driver -> hub -> rule -> #OUTPUT read "
                       "by the sim")
    for label, baudrate in (("no emulation (pty)", None), ("9600 baud 8N1", 9600)):
        samples = [s[0] for s in await _measure(baudrate, presses)]
        table.rows.append((label, len(samples), *percentiles(samples)))
    paced = Table("lutron paced: one Pico press commanding 4 zones",
                  ("line", "what", "presses", "p50 ms", "p99 ms", "max ms"),
                  path="Pico press written by the sim -> rules commanding 4 zones -> the "
                       "driver's 50 ms pacer -> each #OUTPUT read by the sim")
    gaps: list[float] = []
    for label, baudrate in (("no emulation (pty)", None), ("9600 baud 8N1", 9600)):
        runs = await _measure(baudrate, presses // 2, scene=True)
        paced.rows.append((label, "press -> 1st command", len(runs),
                           *percentiles([r[0] for r in runs])))
        paced.rows.append((label, f"press -> {len(SCENE_ZONES)}th command", len(runs),
                           *percentiles([r[-1] for r in runs])))
        gaps += [b - a for r in runs for a, b in itertools.pairwise(r)]
    paced = Table(paced.title, paced.columns, paced.rows, path=paced.path, note=(
        f"gaps between two commands as the sim read them: median "
        f"{statistics.median(gaps) * 1e3:.1f} ms, smallest {min(gaps) * 1e3:.1f} ms (the driver "
        f"writes them >= 50 ms apart; the sim shares the hub's process and loop, so its read "
        f"stamps carry the loop's jitter); each press runs {len(SCENE_ZONES)} rules at once"))
    press, command = len(b"~DEVICE,30,2,3\r\n"), len(b"#OUTPUT,20,1,50.00\r\n")
    wire_ms = (press + command) * 10 / 9600 * 1e3
    table = Table(table.title, table.columns, table.rows, path=table.path, note=(
        "Reaction: the rule engine (Pico on → Dining lights 100 %, Pico off → 0 %). "
        "At 9600 baud the wire dominates: "
        f"the press ({press} B) and the command ({command} B) alone take {wire_ms:.1f} ms at ten "
        "bits a byte (≈ 18-22 ms per command line)."))
    return [table, paced]
