"""Local control through the whole daemon: virtual sensor event in → command handed to the radio.

The real Daemon runs (store, write-behind, bus, hub, rule engine, virtual radio) with 1,000
devices and 1,000 rules. A contact sensor opens (the driver reports into the hub as a radio would);
the time is taken when the Hub hands the rule's command to the radio's ``send``.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path

from hubd.config import load_config
from hubd.core.events import CommandResult
from hubd.core.model import Command
from hubd.daemon import Daemon
from hubd.systemd import Notifier
from radios.virtual.driver import VirtualDriver
from radios.virtual.settings import VirtualDevice, VirtualKind, VirtualSettings
from tools.bench.report import Table, percentiles

PAIRS = 500  # 500 contact sensors + 500 switches = 1,000 devices; two rules per pair
SAMPLES = 2_000


class StampingDriver(VirtualDriver):
    """The virtual radio, noting when each command reaches it."""

    def __init__(self, settings: VirtualSettings, daemon: Daemon) -> None:
        super().__init__(settings, daemon.clock)
        self.arrived = asyncio.Event()
        self.stamps: list[float] = []

    async def send(self, command: Command) -> CommandResult:
        self.stamps.append(time.perf_counter())
        self.arrived.set()
        return await super().send(command)


def _rules() -> str:
    lines = ["rules:"]
    for n in range(PAIRS):
        lines += [
            f"  - id: open-{n}",
            f"    triggers: [{{kind: state, device: Door {n}, attribute: contact.is_open, "
            "to: true}]",
            f"    actions: [{{kind: command, device: Lamp {n}, command: switch.on}}]",
            f"  - id: close-{n}",
            f"    triggers: [{{kind: state, device: Door {n}, attribute: contact.is_open, "
            "to: false}]",
            f"    actions: [{{kind: command, device: Lamp {n}, command: switch.off}}]",
        ]
    return "\n".join(lines) + "\n"


async def _measure(root: Path) -> tuple[list[float], int]:
    (root / "rules").mkdir()
    (root / "rules" / "bench.yaml").write_text(_rules())
    (root / "hub.toml").write_text(f'[hub]\nstate_dir = "{root / "state"}"\n'
                                   '[rules]\ndir = "rules"\n'
                                   'storm_runs = 1000000\n')
    devices = []
    for n in range(PAIRS):
        devices += [VirtualDevice(f"d{n}", f"Door {n}", VirtualKind.CONTACT),
                    VirtualDevice(f"l{n}", f"Lamp {n}", VirtualKind.SWITCH)]
    daemon = Daemon(load_config(root / "hub.toml"), notifier=Notifier(""))
    driver = StampingDriver(VirtualSettings(tuple(devices)), daemon)
    daemon.drivers.append(driver)
    task = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.ready.wait(), 60)
    await asyncio.sleep(0.5)  # the boot's own writes and initial reports settle
    latencies = []
    for i in range(SAMPLES):
        n = i % PAIRS
        driver.arrived.clear()
        count = len(driver.stamps)
        started = time.perf_counter()
        driver.physical_set(f"d{n}", "contact.is_open", (i // PAIRS) % 2 == 0)
        await asyncio.wait_for(driver.arrived.wait(), 5)
        latencies.append(driver.stamps[count] - started)
        await asyncio.sleep(0)  # let the command finish before the next event
    rules = len(daemon.engine.statuses()) if daemon.engine else 0
    daemon.request_stop()
    await task
    return latencies, rules


async def run() -> list[Table]:
    """p50/p99 of sensor event in → command at the radio, 1,000 devices and 1,000 rules."""
    logging.getLogger().setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        latencies, rules = await _measure(Path(tmp))
    p50, p99, worst = percentiles(latencies)
    return [Table("daemon: local control, sensor event in → command handed to the radio",
                  ("devices", "rules", "samples", "p50 ms", "p99 ms", "max ms"),
                  [(2 * PAIRS, rules, SAMPLES, p50, p99, worst)],
                  "The real Daemon: hub, bus, rule engine, write-behind store, virtual radio.")]
