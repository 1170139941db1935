"""The daemon's own share of local control: virtual sensor event in → command handed to the radio.

This is not local control as a user feels it (a radio frame in → a radio frame out: the lutron
and zigbee areas measure that); the virtual radio has no codec and no serial line, so this is
the part of the path that is the daemon's alone. The real Daemon runs (store, write-behind,
bus, hub, rule engine, virtual radio) with 1,000 devices and 1,000 rules. A contact sensor
opens (the driver reports into the hub as a radio would); the time is taken when the Hub hands
the rule's command to the radio's ``send``.
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


def _rules(pairs: int) -> str:
    lines = ["rules:"]
    for n in range(pairs):
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


async def _measure(root: Path, pairs: int, samples: int) -> tuple[list[float], int]:
    (root / "rules").mkdir()
    (root / "rules" / "bench.yaml").write_text(_rules(pairs))
    (root / "hub.toml").write_text(f'[hub]\nstate_dir = "{root / "state"}"\n'
                                   '[rules]\ndir = "rules"\n'
                                   'storm_runs = 1000000\n')
    devices = []
    for n in range(pairs):
        devices += [VirtualDevice(f"d{n}", f"Door {n}", VirtualKind.CONTACT),
                    VirtualDevice(f"l{n}", f"Lamp {n}", VirtualKind.SWITCH)]
    daemon = Daemon(load_config(root / "hub.toml"), notifier=Notifier(""))
    driver = StampingDriver(VirtualSettings(tuple(devices)), daemon)
    daemon.drivers.append(driver)
    task = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.ready.wait(), 60)
    await asyncio.sleep(0.5)  # the boot's own writes and initial reports settle
    latencies = []
    for i in range(samples):
        n = i % pairs
        driver.arrived.clear()
        count = len(driver.stamps)
        started = time.perf_counter()
        driver.physical_set(f"d{n}", "contact.is_open", (i // pairs) % 2 == 0)
        await asyncio.wait_for(driver.arrived.wait(), 5)
        latencies.append(driver.stamps[count] - started)
        await asyncio.sleep(0)  # let the command finish before the next event
    rules = len(daemon.engine.statuses()) if daemon.engine else 0
    daemon.request_stop()
    await task
    return latencies, rules


async def run(quick: bool = False) -> list[Table]:
    """p50/p99 of sensor event in → command at the radio, 1,000 devices and 1,000 rules."""
    logging.getLogger().setLevel(logging.ERROR)
    pairs, samples = (20, 100) if quick else (PAIRS, SAMPLES)
    with tempfile.TemporaryDirectory() as tmp:
        latencies, rules = await _measure(Path(tmp), pairs, samples)
    p50, p99, worst = percentiles(latencies)
    return [Table("daemon's own share of local control (virtual radio: no codec, no line)",
                  ("devices", "rules", "samples", "p50 ms", "p99 ms", "max ms"),
                  [(2 * pairs, rules, samples, p50, p99, worst)],
                  path="virtual sensor event (VirtualDriver.physical_set) → Hub.report → "
                       "StateStore → bus → rule engine → Hub.execute → command handed to the "
                       "virtual radio's send; not radio-to-radio",
                  note="The real Daemon (its Bus, GC tuning, write-behind store, rule engine); "
                       "local control as users feel it adds a radio's codec and line: see the "
                       "radio areas above.")]
