"""The demo's Zigbee radio: a simulated coordinator on a pty with a house full of devices.

``demo_coordinator(n_devices=24, state_path=...)`` starts the simulator with a mix of devices
that join when the hub opens the network; with ``state_path`` the stick's NV and the devices
are saved on exit and come back on the next run already joined, with what each keeps in its
own flash (IAS enrolment, bindings, reporting, groups, scenes, attribute values). The yielded
DemoCoordinator has ``path`` (what zigpy opens) and the house's physical events.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from radios.zigbee.sim.devices import SimDevice
from radios.zigbee.sim.kinds import DeviceKind
from radios.zigbee.sim.memory import DeviceMemory, capture, restore
from radios.zigbee.sim.nvram import NvStore
from radios.zigbee.sim.simulator import Simulator
from radios.zigbee.sim.stick import Stick
from radios.zigbee.sim.wire import format_ieee, parse_ieee
from radios.zigbee.sim.zstack import ZStackConfig

log = logging.getLogger(__name__)

# The order devices are handed out in: a door sensor and the light it switches come first.
HOUSE_MIX: tuple[DeviceKind, ...] = (
    DeviceKind.CONTACT_SENSOR,
    DeviceKind.CT_LIGHT,
    DeviceKind.MOTION_SENSOR,
    DeviceKind.ON_OFF_LIGHT,
    DeviceKind.TEMP_HUMIDITY_SENSOR,
    DeviceKind.SMART_PLUG,
    DeviceKind.REMOTE,
    DeviceKind.DOOR_LOCK,
    DeviceKind.THERMOSTAT,
)
DEMO_IEEE_BASE = 0x000D6F0000000000


def demo_ieee(index: int) -> str:
    """The IEEE address of the demo's device number ``index`` (from 1)."""
    return format_ieee(DEMO_IEEE_BASE + index)


def drift_step_centi(rng: random.Random) -> int:
    """A temperature drift in hundredths of a degree: 1 to 30, up or down, never 0."""
    return rng.choice((-1, 1)) * rng.randint(1, 30)


S = TypeVar("S", bound=Stick[Any])


@dataclass
class DemoCoordinator(Generic[S]):
    """The running demo radio: where the host connects, and the house's physical events."""

    sim: S
    rng: random.Random = field(default_factory=random.Random)

    @property
    def path(self) -> str:
        """The serial path zigpy opens."""
        return self.sim.path

    def _of(self, kind: DeviceKind) -> list[SimDevice]:
        return [d for d in self.sim.devices if d.kind is kind and d.joined_ext_pan is not None]

    def door(self, *, is_open: bool, index: int = 0) -> bool:
        """Open or close a door (contact sensor); False if no such sensor has joined."""
        sensors = self._of(DeviceKind.CONTACT_SENSOR)
        if index >= len(sensors):
            return False
        if is_open:
            sensors[index].open()
        else:
            sensors[index].close()
        return True

    def motion(self, *, is_active: bool = True) -> bool:
        """Someone walks past a motion sensor."""
        sensors = self._of(DeviceKind.MOTION_SENSOR)
        if not sensors:
            return False
        self.rng.choice(sensors).motion(is_active)
        return True

    def temperature_drift(self) -> bool:
        """Every climate sensor's temperature moves a little (0.01 to 0.3 °C, never zero: a
        sensor reports a change only, so a drift that rounded to nothing sent no report)."""
        sensors = self._of(DeviceKind.TEMP_HUMIDITY_SENSOR)
        for sensor in sensors:
            centi = int(sensor.endpoint.clusters[0x0402].get(0x0000))
            sensor.set_temperature((centi + drift_step_centi(self.rng)) / 100)
        return bool(sensors)

    def button(self, button: int = 1) -> bool:
        """Someone presses a remote's button."""
        remotes = self._of(DeviceKind.REMOTE)
        if not remotes:
            return False
        self.rng.choice(remotes).press(button)
        return True

    def random_event(self) -> str:
        """One physical event picked at random; returns what happened."""
        events: dict[str, Callable[[], bool]] = {
            "door opened": lambda: self.door(is_open=True),
            "door closed": lambda: self.door(is_open=False),
            "motion": self.motion,
            "temperature drift": self.temperature_drift,
            "button pressed": lambda: self.button(self.rng.randint(1, 4)),
        }
        name = self.rng.choice(list(events))
        return name if events[name]() else "nothing"

    async def run_activity(self, interval_s: float) -> None:
        """Make a physical event every ``interval_s`` until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            self.random_event()


def _load(path: Path | None) -> tuple[NvStore | None, list[dict[str, Any]]]:
    if path is None or not path.exists():
        return None, []
    raw = json.loads(path.read_text())
    return NvStore.from_json(raw["nv"]), list(raw["devices"])


def save_house(path: Path, sim: Stick[Any], memory: tuple[str, object]) -> None:
    """Write the stick's memory (named, e.g. ("nv", ...)) and its devices to path, 0600."""
    devices = [
        {"ieee": format_ieee(d.ieee), "kind": str(d.kind), "nwk": d.nwk,
         "is_joined": d.joined_ext_pan is not None, "memory": capture(d).to_json()}
        for d in sim.devices
    ]  # fmt: skip
    tmp = path.with_suffix(".tmp")
    # The stick's memory holds the network key: 0600 from the first byte, as zigbee.db is.
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(json.dumps({memory[0]: memory[1], "devices": devices}))
    tmp.replace(path)


def fill_house(sim: Stick[Any], saved: list[dict[str, Any]], n_devices: int, *,
               is_network_kept: bool = True) -> None:
    """Put the saved devices back (joined as they were, if the network was kept) and add the
    house's devices that are missing, ready to join."""
    known = {str(d["ieee"]) for d in saved}
    for entry in saved:
        nwk = entry["nwk"]
        device = sim.add_device(
            DeviceKind(str(entry["kind"])),
            parse_ieee(str(entry["ieee"])),
            is_joined=bool(entry["is_joined"]) and is_network_kept,
            nwk=nwk if isinstance(nwk, int) else None,
        )
        _remember(device, entry.get("memory"))
    for index in range(1, n_devices + 1):
        if demo_ieee(index) not in known:
            sim.add_device(HOUSE_MIX[(index - 1) % len(HOUSE_MIX)], demo_ieee(index))


def _remember(device: SimDevice, raw: object) -> None:
    """Give a device back what it kept in its own flash (state files from before it was kept
    have none: the device then starts factory-fresh, as before)."""
    if raw is None:
        return
    try:
        restore(device, DeviceMemory.from_json(raw))
    except ValueError as exc:
        log.warning("event=sim_device_memory_unreadable ieee=%s error=%s",
                    format_ieee(device.ieee), exc)


@asynccontextmanager
async def demo_coordinator(
    n_devices: int = 24, *, state_path: Path | None = None, baud_rate: int | None = None
) -> AsyncIterator[DemoCoordinator[Simulator]]:
    """A simulated coordinator on a pty with ``n_devices`` devices of every kind."""
    nv, saved = _load(state_path)
    sim = Simulator(ZStackConfig(addr_table_size=max(64, n_devices + 8)), nv, baud_rate=baud_rate)
    await sim.start_pty()
    try:
        fill_house(sim, saved, n_devices)
        yield DemoCoordinator(sim)
    finally:
        if state_path is not None:
            save_house(state_path, sim, ("nv", sim.nv.to_json()))
        await sim.close()
