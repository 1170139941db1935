"""A whole bench house for the soak and the footprint: every radio configured, on simulators.

``bench_house(root, ...)`` starts a Lutron RA2 repeater simulator on a pty (the demo house) and
a Z-Stack coordinator simulator on a pty with Zigbee devices of every kind, pairs those devices
once through the real ZigbeeDriver (so zigpy's database in the state directory knows them, as
on a hub that has been set up), adds virtual rooms to reach the device count, writes rules that
exercise every radio (``for`` durations, delays, restart mode, cross-radio commands) and a
hub.toml that configures all of it, with the LAN API on loopback. The daemon, in process or as
``hubd run``, reads that file.

Z-Wave: ``ZWAVE`` is the hook for the Z-Wave area: a function that starts its simulator on the
exit stack (``radios.zwave.sim.demo.demo_stick``) and returns the ``[radios.zwave]`` TOML (``url``
and ``serial_path``, so that hubd spawns zwave-js-server), rules and device count; the soak and
the footprint then include it, and the footprint counts the sidecar's memory with hubd's (a
server hubd spawns is its child; one systemd runs goes in ``RadioPart.sidecar_pids``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from hubd.bus import Bus
from hubd.core.clock import SystemClock
from hubd.core.events import DeviceJoined, DriverEvent, RadioHealth, RadioStatus
from hubd.core.state import StateStore
from hubd.hub import Hub
from radios.lutron.sim.demo import DEMO_DEVICES, demo_simulator
from radios.lutron.sim.report import integration_report
from radios.lutron.sim.server import LutronSimulator
from radios.zigbee.driver import ZigbeeDriver
from radios.zigbee.settings import ZigbeeSettings
from radios.zigbee.sim.demo import HOUSE_MIX, DemoCoordinator, demo_coordinator, demo_ieee
from radios.zigbee.sim.simulator import Simulator

log = logging.getLogger(__name__)

ROOM_KINDS = ("contact", "motion", "switch", "dimmer")  # one virtual room: door, motion, lamps
PAIR_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class RadioPart:
    """What one more radio adds to the house: config, rules and its device count."""

    toml: str
    rules: str = ""
    devices: int = 0
    # Processes of the hub that hubd does not spawn (a sidecar run by its own systemd unit): the
    # footprint counts their memory as the hub's. Sidecars hubd spawns count as its children.
    sidecar_pids: tuple[int, ...] = ()


# The Z-Wave area fills this: start the simulator on the stack, return the radio's part.
ZwaveSetup = Callable[[contextlib.AsyncExitStack, Path], Awaitable[RadioPart]]
ZWAVE: ZwaveSetup | None = None


@dataclass(slots=True)
class BenchHouse:
    """The running simulators and the config that points a daemon at them."""

    root: Path
    config_path: Path
    lutron: LutronSimulator
    zigbee: DemoCoordinator[Simulator]
    rooms: int  # virtual rooms: virtual:<4r+1> door, +2 motion, +3 lamp, +4 dimmer
    zigbee_devices: int
    devices: int
    radios: list[str] = field(default_factory=list)
    sidecar_pids: tuple[int, ...] = ()

    def forget_sim_logs(self) -> None:
        """Clear the simulators' own request logs (they keep every line; the hub does not)."""
        self.lutron.engine.received.clear()
        self.zigbee.sim.requests_seen.clear()


def zigbee_id(index: int) -> str:
    """The device id of the simulated Zigbee device ``index`` (from 1)."""
    return f"zigbee:{demo_ieee(index)}"


def zigbee_groups(devices: int) -> int:
    """How many full groups of the demo's mix (door, lights, motion, ...) ``devices`` holds."""
    return devices // len(HOUSE_MIX)


async def _pair_zigbee(coordinator: DemoCoordinator[Simulator], settings: ZigbeeSettings,
                       state_dir: Path, devices: int) -> None:
    """Join every simulated device once through the real driver, so zigpy remembers them."""
    hub = Hub(SystemClock(), Bus(), StateStore())
    joined: set[str] = set()
    ready, all_joined = asyncio.Event(), asyncio.Event()

    class Sink:
        def report(self, event: DriverEvent) -> None:
            if isinstance(event, RadioHealth) and event.status is RadioStatus.OK:
                ready.set()
            elif isinstance(event, DeviceJoined):
                joined.add(event.device.id)
                if len(joined) >= devices:
                    all_joined.set()
            hub.report(event)

    driver = ZigbeeDriver(settings, state_dir, SystemClock())
    hub.add_driver(driver)
    task = asyncio.create_task(driver.run(Sink()))
    try:
        async with asyncio.timeout(PAIR_TIMEOUT_S):
            await ready.wait()
            await driver.permit_join(254)
            await all_joined.wait()
            # Binding and reporting configuration go on after the announcements: wait for quiet.
            while True:
                seen = len(coordinator.sim.requests_seen)
                await asyncio.sleep(0.3)
                if len(coordinator.sim.requests_seen) == seen:
                    break
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await hub.bus.close()


def _virtual_toml(rooms: int) -> str:
    lines = ["[radios.virtual]", "command_latency_s = 0.0", ""]
    for n in range(rooms * len(ROOM_KINDS)):
        room, kind = divmod(n, len(ROOM_KINDS))
        lines += ["[[radios.virtual.devices]]", f'address = "{n + 1}"',
                  f'name = "Room {room} {ROOM_KINDS[kind]}"', f'kind = "{ROOM_KINDS[kind]}"',
                  f'room = "Room {room}"', ""]
    return "\n".join(lines)


def _rules(rooms: int, zigbee_groups: int) -> str:
    """Rules on every radio: doors with delays (restart), motion with ``for``, cross-radio."""
    out = ["rules:"]
    for r in range(rooms):
        door, motion, lamp, dimmer = (f"virtual:{4 * r + k}" for k in range(1, 5))
        out += [
            f"  - {{id: door-{r}, mode: restart, triggers: [{{kind: state, device: '{door}', "
            "attribute: contact.is_open, to: true}], actions: ["
            f"{{kind: command, device: '{lamp}', command: switch.on}}, "
            f"{{kind: delay, duration: 30s}}, {{kind: command, device: '{lamp}', "
            "command: switch.off}]}",
            f"  - {{id: motion-on-{r}, triggers: [{{kind: state, device: '{motion}', "
            "attribute: motion.is_active, to: true, for: 10s}], actions: ["
            f"{{kind: command, device: '{dimmer}', command: level.set, "
            "args: {level_pct: 80}}]}",
            f"  - {{id: motion-off-{r}, triggers: [{{kind: state, device: '{motion}', "
            "attribute: motion.is_active, to: false, for: 60s}], actions: ["
            f"{{kind: command, device: '{dimmer}', command: switch.off}}]}}",
        ]
    mix = len(HOUSE_MIX)
    for g in range(zigbee_groups):
        door, ct, motion, light = (zigbee_id(mix * g + k) for k in range(1, 5))
        out += [
            f"  - {{id: zb-door-open-{g}, triggers: [{{kind: state, device: '{door}', "
            "attribute: contact.is_open, to: true}], actions: ["
            f"{{kind: command, device: '{light}', command: switch.on}}, "
            "{kind: command, device: Dining lights, command: level.set, "
            "args: {level_pct: 60}}]}",
            f"  - {{id: zb-door-close-{g}, triggers: [{{kind: state, device: '{door}', "
            "attribute: contact.is_open, to: false}], actions: ["
            f"{{kind: command, device: '{light}', command: switch.off}}]}}",
            f"  - {{id: zb-motion-{g}, mode: restart, triggers: [{{kind: state, "
            f"device: '{motion}', attribute: motion.is_active, to: true}}], actions: ["
            f"{{kind: command, device: '{ct}', command: switch.on}}, "
            f"{{kind: delay, duration: 45s}}, {{kind: command, device: '{ct}', "
            "command: switch.off}]}",
        ]
    out += [
        "  - {id: pico-on, triggers: [{kind: button, device: Living Pico, button: '2', "
        "action: press}], actions: [{kind: command, device: Dining lights, command: level.set, "
        "args: {level_pct: 100}}, {kind: command, device: 'virtual:3', command: switch.on}]}",
        "  - {id: pico-off, triggers: [{kind: button, device: Living Pico, button: '4', "
        "action: press}], actions: [{kind: command, device: Dining lights, command: level.set, "
        "args: {level_pct: 0}}, {kind: command, device: 'virtual:3', command: switch.off}]}",
        "  - {id: occupied, triggers: [{kind: state, device: Living room occupancy, "
        "attribute: motion.is_active, to: false, for: 5m}], actions: ["
        "{kind: command, device: Living lamps, command: level.set, args: {level_pct: 0}}]}",
    ]
    return "\n".join(out) + "\n"


@contextlib.asynccontextmanager
async def bench_house(root: Path, *, devices: int, zigbee_devices: int,
                      zwave: ZwaveSetup | None = None) -> AsyncIterator[BenchHouse]:
    """Simulators for every radio, Zigbee paired, and ``root/hub.toml`` with ``devices``.

    ``zwave``: the Z-Wave part for this house (the footprint's: tools/bench/zwave_house.py);
    None: ``ZWAVE``'s, if set."""
    zwave = zwave or ZWAVE
    lutron_devices = len(DEMO_DEVICES)
    rooms = max(1, (devices - zigbee_devices - lutron_devices) // len(ROOM_KINDS))
    state_dir, rules_dir = root / "state", root / "rules"
    state_dir.mkdir(parents=True, exist_ok=True)
    rules_dir.mkdir(exist_ok=True)
    async with contextlib.AsyncExitStack() as stack:
        lutron = await stack.enter_async_context(demo_simulator("serial"))
        assert lutron.serial_path is not None
        report = root / "DbXmlInfo.xml"
        report.write_text(integration_report(lutron.engine.house), encoding="utf-8")
        zigbee = await stack.enter_async_context(demo_coordinator(zigbee_devices))
        zigbee_settings = ZigbeeSettings(path=zigbee.path, channel=15, skip_bootloader=False)
        await _pair_zigbee(zigbee, zigbee_settings, state_dir, zigbee_devices)
        parts = [RadioPart(_virtual_toml(rooms), devices=rooms * len(ROOM_KINDS)),
                 RadioPart(f'[radios.lutron]\ntransport = "serial"\npath = "{lutron.serial_path}"'
                           f'\nintegration_report = "{report}"\n', devices=lutron_devices),
                 RadioPart(f'[radios.zigbee]\npath = "{zigbee.path}"\nchannel = 15\n'
                           "skip_bootloader = false\n", devices=zigbee_devices)]
        names = ["virtual", "lutron", "zigbee"]
        if zwave is not None:
            parts.append(await zwave(stack, root))
            names.append("zwave")
        (rules_dir / "house.yaml").write_text(_rules(rooms, zigbee_groups(zigbee_devices)))
        for n, part in enumerate(parts):
            if part.rules:
                (rules_dir / f"radio-{n}.yaml").write_text(part.rules)
        config = root / "hub.toml"
        config.write_text(
            f'[hub]\nstate_dir = "{state_dir}"\n\n[log]\nlevel = "info"\n\n'
            # A compressed house fires one rule many times a (real) second: no storm guard.
            '[rules]\ndir = "rules"\nstorm_runs = 1000000\n\n'
            # The LAN API as a hub serves it (TLS, zeroconf), kept to loopback. No cloud tunnel:
            # it needs a relay to dial.
            '[api]\nhost = "127.0.0.1"\nport = 0\nmdns_interfaces = ["127.0.0.1"]\n\n'
            + "\n".join(part.toml for part in parts))
        yield BenchHouse(root, config, lutron, zigbee, rooms, zigbee_devices,
                         sum(part.devices for part in parts), names,
                         tuple(pid for part in parts for pid in part.sidecar_pids))
