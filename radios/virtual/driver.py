"""The virtual radio: simulated devices in the daemon's own process, honest about state.

Commands change a device's state and the change is reported back as the radio would: the Report
carries a digital child of the command's context, so rules see what caused it. Physical events (a
door opened, a button pressed) come from ``VirtualDriver.physical_*`` hooks or, when configured, a
random activity loop that makes the demo house come alive.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from dataclasses import dataclass, field

from hubd.core.clock import Clock
from hubd.core.events import (
    ButtonEvent,
    CommandResult,
    DeviceJoined,
    RadioHealth,
    RadioStatus,
    Report,
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
    device_id,
)
from radios.base import RadioSink
from radios.virtual.settings import VirtualDevice, VirtualKind, VirtualSettings

RADIO = "virtual"

CAPABILITIES: dict[VirtualKind, frozenset[Capability]] = {
    VirtualKind.SWITCH: frozenset({Capability.SWITCH}),
    VirtualKind.DIMMER: frozenset({Capability.SWITCH, Capability.LEVEL}),
    VirtualKind.CONTACT: frozenset({Capability.CONTACT, Capability.BATTERY}),
    VirtualKind.MOTION: frozenset({Capability.MOTION, Capability.BATTERY}),
    VirtualKind.BUTTON: frozenset({Capability.BUTTON, Capability.BATTERY}),
}

INITIAL: dict[VirtualKind, dict[str, Value]] = {
    VirtualKind.SWITCH: {"switch.on": False},
    VirtualKind.DIMMER: {"switch.on": False, "level.level_pct": 0.0},
    VirtualKind.CONTACT: {"contact.is_open": False, "battery.pct": 90.0},
    VirtualKind.MOTION: {"motion.is_active": False, "battery.pct": 80.0},
    VirtualKind.BUTTON: {"battery.pct": 70.0},
}


@dataclass(slots=True)
class _Sim:
    """One simulated device and its state."""

    spec: VirtualDevice
    device: Device
    values: dict[str, Value] = field(default_factory=dict)


SENT_KEPT = 100  # commands remembered in ``sent``: a day of a busy house would be megabytes


class VirtualDriver:
    """A radio whose devices live in memory; implements radios.base.RadioDriver."""

    def __init__(self, settings: VirtualSettings, clock: Clock, *, seed: int | None = None) -> None:
        self._settings = settings
        self._clock = clock
        self._random = random.Random(seed)
        self._sink: RadioSink | None = None
        self._sims: dict[str, _Sim] = {}
        for spec in settings.devices:
            did = device_id(RADIO, spec.address)
            device = Device(did, RADIO, spec.address, spec.name, spec.room, "hubd", spec.kind,
                            CAPABILITIES[spec.kind])
            self._sims[did] = _Sim(spec, device, dict(INITIAL[spec.kind]))
        self.permit_join_until = 0.0
        self.sent: deque[Command] = deque(maxlen=SENT_KEPT)  # the last ones, for tests

    @property
    def name(self) -> str:
        """The radio's name."""
        return RADIO

    async def run(self, sink: RadioSink) -> None:
        """Announce the devices and their state, then (if configured) simulate a lively house."""
        self._sink = sink
        now = self._clock.time()
        context = Context.new(Origin.SYSTEM)
        for sim in self._sims.values():
            sink.report(DeviceJoined(sim.device, now, context))
            for attribute, value in sim.values.items():
                sink.report(Report(sim.device.id, attribute, value, now, context))
        sink.report(RadioHealth(RADIO, RadioStatus.OK, f"{len(self._sims)} devices", now))
        interval_s = self._settings.activity_interval_s
        try:
            while True:
                if interval_s > 0:
                    await asyncio.sleep(self._random.expovariate(1 / interval_s))
                    self._random_activity()
                else:
                    await asyncio.Event().wait()
        finally:
            self._sink = None

    async def send(self, command: Command) -> CommandResult:
        """Apply a command to the simulated device and report the new state."""
        started = self._clock.monotonic()
        self.sent.append(command)
        sim = self._sims.get(command.device_id)
        if sim is None:
            return CommandResult(command, CommandStatus.FAILED, 0.0, "no such virtual device")
        if self._settings.command_latency_s > 0:
            await asyncio.sleep(self._settings.command_latency_s)
        try:
            changes = _apply(sim, command)
        except ValueError as exc:
            return CommandResult(command, CommandStatus.FAILED,
                                 self._clock.monotonic() - started, str(exc))
        echo = command.context.child(Origin.DIGITAL)  # as the radios tag a command's echo
        for attribute, value in changes.items():
            self._set(sim, attribute, value, echo)
        return CommandResult(command, CommandStatus.CONFIRMED, self._clock.monotonic() - started)

    async def permit_join(self, duration_s: float) -> None:
        """Virtual devices are configured, not paired; the window is only recorded."""
        self.permit_join_until = self._clock.monotonic() + max(0.0, duration_s)

    # -- physical events ---------------------------------------------------------------------

    def physical_set(self, address: str, attribute: str, value: Value) -> None:
        """Change a device's state as if by hand or by the world (a door opened)."""
        sim = self._sims[device_id(RADIO, address)]
        self._set(sim, attribute, value, Context.new(Origin.PHYSICAL))

    def physical_press(self, address: str, button: str = "1",
                       action: ButtonAction = ButtonAction.PRESS, count: int = 1) -> None:
        """Press a button of a remote."""
        sim = self._sims[device_id(RADIO, address)]
        if self._sink is not None:
            self._sink.report(ButtonEvent(sim.device.id, button, action, self._clock.time(),
                                          Context.new(Origin.PHYSICAL), count))

    def _set(self, sim: _Sim, attribute: str, value: Value, context: Context) -> None:
        sim.values[attribute] = value
        if self._sink is not None:
            self._sink.report(Report(sim.device.id, attribute, value, self._clock.time(), context))

    def _random_activity(self) -> None:
        sensors = [s for s in self._sims.values()
                   if s.spec.kind in (VirtualKind.CONTACT, VirtualKind.MOTION, VirtualKind.BUTTON)]
        if not sensors:
            return
        sim = self._random.choice(sensors)
        if sim.spec.kind is VirtualKind.BUTTON:
            self.physical_press(sim.spec.address, str(self._random.randint(1, 4)))
            return
        is_contact = sim.spec.kind is VirtualKind.CONTACT
        attribute = "contact.is_open" if is_contact else "motion.is_active"
        self.physical_set(sim.spec.address, attribute, not sim.values.get(attribute))


def _apply(sim: _Sim, command: Command) -> dict[str, Value]:
    """The state a command leads to (a dimmer switched on comes back at its last level)."""
    values = sim.values
    match command.qualified_name:
        case "switch.on":
            changes: dict[str, Value] = {"switch.on": True}
            if "level.level_pct" in values and not values["level.level_pct"]:
                changes["level.level_pct"] = 100.0
            return changes
        case "switch.off":
            return {"switch.on": False}
        case "switch.toggle":
            return {"switch.on": not values.get("switch.on")}
        case "level.set":
            level = command.args["level_pct"]
            if not isinstance(level, int | float):
                raise ValueError("level_pct must be a number")
            return {"level.level_pct": float(level), "switch.on": level > 0}
    raise ValueError(f"{sim.device.name} cannot {command.qualified_name}")
