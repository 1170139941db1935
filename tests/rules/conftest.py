"""Fixtures for the rule engine: a house of virtual devices behaving honestly, a manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from hubd.bus import Bus
from hubd.core.clock import Clock, ManualClock
from hubd.core.events import (
    AvailabilityChanged,
    ButtonEvent,
    CommandResult,
    DeviceJoined,
    Notice,
    Report,
    StateChanged,
)
from hubd.core.model import (
    ButtonAction,
    Capability,
    Command,
    CommandStatus,
    Context,
    Device,
    Origin,
    Value,
)
from hubd.core.state import StateStore
from rules.engine import EngineSettings, Execute, RuleEngine
from rules.model import Rule
from rules.parse import parse_rules
from rules.persistence import MemoryPersistence

C = Capability
DEVICES = (
    Device("virtual:1", "virtual", "1", "Hall light", capabilities=frozenset({C.SWITCH, C.LEVEL})),
    Device("virtual:2", "virtual", "2", "Porch light", capabilities=frozenset({C.SWITCH})),
    Device("virtual:3", "virtual", "3", "Front door", capabilities=frozenset({C.CONTACT})),
    Device("virtual:4", "virtual", "4", "Hall motion", capabilities=frozenset({C.MOTION})),
    Device("virtual:5", "virtual", "5", "Kitchen remote", capabilities=frozenset({C.BUTTON})),
    Device("virtual:6", "virtual", "6", "Kitchen light",
           capabilities=frozenset({C.SWITCH, C.LEVEL})),
    Device("virtual:7", "virtual", "7", "Living lamp", capabilities=frozenset({C.SWITCH})),
    Device("virtual:8", "virtual", "8", "Kitchen sensor",
           capabilities=frozenset({C.TEMPERATURE, C.BATTERY})),
)
# 2023-11-14 22:13:20 UTC; tests that care about the time of day set the clock themselves.
START = 1_700_000_000.0


@dataclass
class House:
    """An in-memory house: commands really change device state, which goes back on the bus."""

    state: StateStore
    bus: Bus
    clock: Clock
    commands: list[Command] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    # A device echoing with the command's context, or with a fresh digital one (a radio that
    # knows it is an echo but not of which command: the chain, and so the depth, is lost).
    keep_context: bool = True

    async def execute(self, command: Command) -> CommandResult:
        """Do what the command says to the device's state, like a radio that confirms."""
        self.commands.append(command)
        context = command.context if self.keep_context else Context.new(Origin.DIGITAL)
        for attribute, value in self._effect(command):
            self.report(command.device_id, attribute, value, context)
        return CommandResult(command, CommandStatus.CONFIRMED, 0.002)

    def _effect(self, command: Command) -> list[tuple[str, Value]]:
        name, args = command.qualified_name, command.args
        if name == "switch.toggle":
            return [("switch.on", not self.state.value(command.device_id, "switch.on"))]
        if name in ("switch.on", "switch.off"):
            return [("switch.on", name == "switch.on")]
        if name == "level.set":
            level = args["level_pct"]
            return [("level.level_pct", level), ("switch.on", bool(level))]
        return []

    def report(self, device: str, attribute: str, value: Value,
               context: Context | None = None) -> StateChanged | None:
        """A device reports a value: the store decides, the bus carries the change."""
        device_id = self.state.resolve(device).id
        changed = self.state.apply(Report(device_id, attribute, value, self.clock.time(),
                                          context or Context.new(Origin.PHYSICAL)))
        if changed is not None:
            self.bus.publish(changed)
        return changed

    def press(self, device: str, button: str = "1",
              action: ButtonAction = ButtonAction.PRESS, count: int = 1) -> None:
        """A button event from a device."""
        self.bus.publish(ButtonEvent(self.state.resolve(device).id, button, action,
                                     self.clock.time(), Context.new(Origin.PHYSICAL), count))

    def availability(self, device: str, is_available: bool) -> None:
        """A device goes offline or comes back."""
        event = AvailabilityChanged(self.state.resolve(device).id, is_available,
                                    self.clock.time(), Context.new(Origin.SYSTEM))
        self.state.apply(event)
        self.bus.publish(event)

    def join(self, device: Device) -> None:
        """A device pairs."""
        event = DeviceJoined(device, self.clock.time(), Context.new(Origin.SYSTEM))
        self.state.apply(event)
        self.bus.publish(event)

    def sent(self) -> list[str]:
        """The commands sent so far, as 'Device name: capability.name'."""
        return [f"{self.state.resolve(c.device_id).name}: {c.qualified_name}"
                for c in self.commands]


def make_state(devices: tuple[Device, ...] = DEVICES) -> StateStore:
    """A registry holding the test house's devices."""
    state = StateStore()
    state.load(devices, [])
    return state


@dataclass
class Harness:
    """An engine running on a house, with its persistence in memory."""

    house: House
    engine: RuleEngine
    persistence: MemoryPersistence
    task: asyncio.Task[None] | None = None

    async def start(self, rules: list[Rule] | str | None = None) -> Harness:
        """Load rules (objects or YAML text) and run the engine until ready."""
        if isinstance(rules, str):
            parsed, problems = parse_rules(rules, "test.yaml")
            assert problems == [], [str(p) for p in problems]
            rules = parsed
        if rules is not None:
            assert self.engine.load(rules) == []
        self.task = asyncio.create_task(self.engine.run())
        await asyncio.wait_for(self.engine.ready.wait(), 5)
        await self.engine.settle()
        return self

    async def stop(self) -> None:
        """Stop the engine as the daemon would (cancel its task)."""
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    async def report(self, device: str, attribute: str, value: Value,
                     context: Context | None = None) -> None:
        """A device reports; wait until the engine has done what it does about it."""
        self.house.report(device, attribute, value, context)
        await self.engine.settle()

    async def press(self, device: str, button: str = "1",
                    action: ButtonAction = ButtonAction.PRESS, count: int = 1) -> None:
        """A button event; wait until handled."""
        self.house.press(device, button, action, count)
        await self.engine.settle()


def manual(clock: Clock) -> ManualClock:
    """The house's clock as the ManualClock it is in every test but the real-clock ones."""
    assert isinstance(clock, ManualClock), clock
    return clock


def make_harness(*, clock: ManualClock | None = None, state: StateStore | None = None,
                 persistence: MemoryPersistence | None = None,
                 settings: EngineSettings | None = None,
                 execute: Execute | None = None) -> Harness:
    """A harness (not started) on a fresh or given house (commands go to the house, or to
    ``execute``)."""
    clock = clock or ManualClock(START)
    state = state or make_state()
    bus = Bus()
    house = House(state, bus, clock)
    bus.subscribe((Notice,), house.notices.append, name="notices")
    persistence = persistence or MemoryPersistence()
    engine = RuleEngine(state, bus, execute or house.execute, clock, persistence,
                        settings or EngineSettings(timezone="Europe/Berlin", latitude=52.52,
                                                   longitude=13.405,
                                                   trace_flush_s=5.0))  # fewer ticks: faster
    return Harness(house, engine, persistence)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    """A harness, stopped after the test."""
    h = make_harness()
    yield h
    await h.stop()
    await h.house.bus.close()
