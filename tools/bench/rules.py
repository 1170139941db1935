"""The rule engine alone: events/s and StateChanged → Command latency, 1,000 devices and rules.

500 contact sensors and 500 switches; two rules per pair ("sensor opens → switch on", "sensor
closes → switch off", each with a mode condition), so every event fires exactly one rule, whose
run builds a Command with its context and hands it to ``execute``. Events are fed to the engine's
bus handler directly (the bus and the state store have their own figures in ``core``). The storm
breaker is widened: here every rule runs far more than 20 times in 10 s, on purpose.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

from hubd.bus import Bus
from hubd.core.clock import SystemClock
from hubd.core.events import CommandResult, StateChanged
from hubd.core.model import Capability, Command, CommandStatus, Context, Device, Origin
from hubd.core.state import StateStore
from hubd.daemon import tune_gc
from rules.engine import EngineSettings, RuleEngine
from rules.parse import parse_rules
from rules.persistence import MemoryPersistence
from tools.bench.report import Table, percentiles

PAIRS = 500
EVENTS = 40_000
SAMPLES = 2_000
CHUNK = 200


def _rules_yaml() -> str:
    lines = ["rules:"]
    for n in range(PAIRS):
        for is_open, command in ((True, "switch.on"), (False, "switch.off")):
            lines += [
                f"  - id: r{n}_{'open' if is_open else 'close'}",
                "    triggers:",
                f"      - {{kind: state, device: sensor:{n}, attribute: contact.is_open,"
                f" to: {str(is_open).lower()}}}",
                "    conditions: [{kind: mode, mode: [home, night]}]",
                f"    actions: [{{kind: command, device: switch:{n}, command: {command}}}]",
            ]
    return "\n".join(lines) + "\n"


class _Radio:
    """An executor that answers at once and remembers when each command was handed over."""

    def __init__(self) -> None:
        self.handed = 0
        self.last_at = 0.0
        self.arrived = asyncio.Event()
        self.expect = 0

    def execute(self, command: Command) -> Awaitable[CommandResult]:
        self.last_at = time.perf_counter()
        self.handed += 1
        if self.handed >= self.expect:
            self.arrived.set()
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        future.set_result(CommandResult(command, CommandStatus.CONFIRMED, 0.0))
        return future


def _state() -> StateStore:
    state = StateStore()
    devices = []
    for n in range(PAIRS):
        devices.append(Device(f"sensor:{n}", "bench", str(n), f"Sensor {n}",
                              capabilities=frozenset({Capability.CONTACT})))
        devices.append(Device(f"switch:{n}", "bench", str(n), f"Switch {n}",
                              capabilities=frozenset({Capability.SWITCH})))
    state.load(devices, [])
    return state


def _events(count: int, start: int = 0, attribute: str = "contact.is_open") -> list[StateChanged]:
    ctx = Context.new(Origin.PHYSICAL)
    out = []
    for i in range(start, start + count):
        is_open = (i // PAIRS) % 2 == 0
        out.append(StateChanged(f"sensor:{i % PAIRS}", attribute, not is_open, is_open,
                                float(i), ctx))
    return out


async def _engine(radio: _Radio) -> tuple[RuleEngine, asyncio.Task[None], Bus]:
    rules, problems = parse_rules(_rules_yaml(), "bench.yaml")
    assert not problems, problems
    bus = Bus()
    engine = RuleEngine(_state(), bus, radio.execute, SystemClock(), MemoryPersistence(),
                        EngineSettings(storm_runs=10_000_000))
    engine.load(rules)
    task = asyncio.create_task(engine.run())
    await engine.ready.wait()
    return engine, task, bus


async def _throughput(engine: RuleEngine, radio: _Radio, events: list[StateChanged],
                      expect_commands: int) -> float:
    radio.handed, radio.expect = 0, expect_commands
    radio.arrived.clear()
    handle = engine.handle
    started = time.perf_counter()
    for at in range(0, len(events), CHUNK):
        for event in events[at:at + CHUNK]:
            handle(event)
        await asyncio.sleep(0)  # let the runs of this chunk go, as the bus would
    if expect_commands:
        await radio.arrived.wait()
    await engine.settle()
    return len(events) / (time.perf_counter() - started)


async def _latencies(engine: RuleEngine, radio: _Radio) -> list[float]:
    samples = []
    for event in _events(SAMPLES, start=EVENTS):
        radio.expect = radio.handed + 1
        radio.arrived.clear()
        started = time.perf_counter()
        engine.handle(event)
        await radio.arrived.wait()
        samples.append(radio.last_at - started)
        await engine.settle()
    return samples


async def run() -> list[Table]:
    """Throughput (firing, not firing) and latency of the engine alone."""
    tune_gc()  # as the daemon runs
    radio = _Radio()
    engine, task, bus = await _engine(radio)
    try:
        # Once to reach the steady state (every rule keeps its last 20 traces), then measured.
        await _throughput(engine, radio, _events(EVENTS), EVENTS)
        fire = await _throughput(engine, radio, _events(EVENTS), EVENTS)
        engine.set_mode("away")
        blocked = await _throughput(engine, radio, _events(EVENTS), 0)
        engine.set_mode("home")
        unwatched = await _throughput(engine, radio, _events(EVENTS, attribute="battery.pct"), 0)
        p50, p99, worst = percentiles(await _latencies(engine, radio))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bus.close()
    devices, rules = 2 * PAIRS, len(engine.statuses())
    return [
        Table("rules: engine alone, events/s on one core",
              ("devices", "rules", "events", "every event fires a rule", "conditions false",
               "no rule names it"),
              [(devices, rules, EVENTS, fire, blocked, unwatched)],
              note="target ≥ 50,000 events/s with every event running a rule and a command"),
        Table("rules: StateChanged → Command handed to execute",
              ("devices", "rules", "samples", "p50 ms", "p99 ms", "max ms"),
              [(devices, rules, SAMPLES, p50, p99, worst)]),
    ]
