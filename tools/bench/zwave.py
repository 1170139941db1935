"""Z-Wave through the real stack: Z-Wave JS's mock controller (Serial API on TCP), a real
zwave-js-server (Node, spawned by hubd), the driver, the hub kernel and the real rules engine.

Local control: a door/window sensor's Notification Report written on the Serial API by the mock
node -> zwave-js -> zwave-js-server -> WebSocket -> ZwaveDriver Report -> Hub -> RuleEngine ->
Hub.execute -> node.set_value -> zwave-js -> Binary Switch Set frame read by the mock node. Both
ends are stamped by the mock (CLOCK_MONOTONIC); the hub stamps the StateChanged with the same
clock, which splits the path into the inbound hop (Serial API -> zwave-js -> server -> hubd
state) and the outbound hop (rule -> set_value -> server -> zwave-js -> frame at the node). The
mock simulates radio airtime: 10 ms per frame (zwave-js's MockNode txDelay).
Start to READY: ``hubd run`` as a process, with the server already up and with hubd spawning it.
Memory: VmRSS of zwave-js-server and of ``hubd run`` with Z-Wave, Zigbee and Lutron radios.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from hubd.config import HubConfig, HubSection, RulesSection
from hubd.config.hub import RadiosConfig
from hubd.core.errors import HubError
from hubd.core.events import DeviceJoined, StateChanged
from hubd.daemon import Daemon
from hubd.hub import Hub
from radios.lutron.sim.demo import demo_repeater
from radios.zwave.client import ZwaveClient
from radios.zwave.settings import ZwaveSettings
from radios.zwave.sidecar import ServerProcess
from radios.zwave.sim.demo import DEMO_NODES, WINDOW_CLOSED, WINDOW_OPEN, demo_stick
from radios.zwave.sim.mock import MockStick
from tools.bench.bytecode import compile_bytecode
from tools.bench.report import Table, percentiles

SAMPLES = 200
WARMUP = 5
RULE = """
rules:
  - id: window_lamp
    triggers: [{kind: state, device: "zwave:5", attribute: contact.is_open, to: true}]
    actions: [{kind: command, device: "zwave:2", command: switch.on}]
"""
HUBD = str(Path(sys.executable).with_name("hubd"))


async def _until_nodes(hub: Hub, timeout_s: float = 90.0) -> None:
    """Until every demo node is announced (interviews done)."""
    joined = asyncio.Event()

    def check(event: object) -> None:
        if all(hub.state.get_device(f"zwave:{n}") for n in DEMO_NODES):
            joined.set()

    sub = hub.bus.subscribe((DeviceJoined,), check, name="bench-nodes", inline=True)
    try:
        check(None)
        await asyncio.wait_for(joined.wait(), timeout_s)
    finally:
        hub.bus.unsubscribe(sub)


async def _local_control(base: Path) -> Table:
    """Window opens -> rule -> lamp on, SAMPLES times, stamped at both ends by the mock."""
    rules = base / "rules"
    rules.mkdir()
    (base / "lc").mkdir()
    (rules / "bench.yaml").write_text(RULE)
    async with demo_stick(base / "lc") as (stick, settings):
        seen: dict[str, int] = {}

        async def stamp(hub: Hub) -> None:
            def on_change(event: object) -> None:
                if isinstance(event, StateChanged) and event.device_id == "zwave:5":
                    seen["hub_ns"] = time.monotonic_ns()
            hub.bus.subscribe((StateChanged,), on_change, name="bench", inline=True)

        # The storm guard would disable a rule fired 200 times in a row: lift it for the bench.
        config = HubConfig(hub=HubSection(state_dir=base / "lc"),
                           rules=RulesSection(dir=rules, storm_runs=1_000_000),
                           radios=RadiosConfig(zwave=settings))
        daemon = Daemon(config, extras=[stamp])
        task = asyncio.get_running_loop().create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.ready.wait(), 60)
            assert daemon.hub is not None
            await _until_nodes(daemon.hub)
            totals, inbound, outbound = await _samples(stick, seen)
        finally:
            daemon.request_stop()
            await asyncio.wait_for(task, 15)
    table = Table("zwave: local control (mock Serial API -> zwave-js-server -> hubd -> rule -> "
                  "set_value -> frame at the mock node)", ("path", "samples", "p50 ms",
                                                           "p99 ms", "max ms"))
    table.rows.append(("whole path", len(totals), *percentiles(totals)))
    table.rows.append(("inbound: Serial API -> zwave-js -> server -> hubd state", len(inbound),
                       *percentiles(inbound)))
    table.rows.append(("outbound: rule -> set_value -> server -> zwave-js -> frame",
                       len(outbound), *percentiles(outbound)))
    return table


async def _samples(stick: MockStick, seen: dict[str, int]
                   ) -> tuple[list[float], list[float], list[float]]:
    totals: list[float] = []
    inbound: list[float] = []
    outbound: list[float] = []
    for n in range(WARMUP + SAMPLES):
        while not stick.frames.empty():
            stick.frames.get_nowait()
        seen.clear()
        start_ns = await stick.notify(5, *WINDOW_OPEN)
        frame = await stick.wait_frame(2, "BinarySwitchCCSet", timeout_s=15)
        hub_ns = seen.get("hub_ns", 0)
        if n >= WARMUP and hub_ns:
            totals.append((frame.t_ns - start_ns) / 1e9)
            inbound.append((hub_ns - start_ns) / 1e9)
            outbound.append((frame.t_ns - hub_ns) / 1e9)
        await stick.notify(5, *WINDOW_CLOSED)
        await asyncio.sleep(0.05)
    return totals, inbound, outbound


@contextlib.asynccontextmanager
async def _hubd(config: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, list[str]]]:
    """``hubd run`` as a process; its log lines collect in the list."""
    process = await asyncio.create_subprocess_exec(
        HUBD, "run", "--config", str(config), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    lines: list[str] = []

    async def collect() -> None:
        assert process.stderr is not None
        async for line in process.stderr:
            lines.append(line.decode(errors="replace"))

    reader = asyncio.get_running_loop().create_task(collect())
    try:
        yield process, lines
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


async def _wait_line(lines: list[str], pattern: str, timeout_s: float = 120.0) -> re.Match[str]:
    regex = re.compile(pattern)
    async with asyncio.timeout(timeout_s):
        while True:
            for line in lines:
                found = regex.search(line)
                if found:
                    return found
            await asyncio.sleep(0.01)


def _config(base: Path, zwave: ZwaveSettings, extra: str = "") -> Path:
    path = base / "hub.toml"
    spawn = f'serial_path = "{zwave.serial_path}"\n' if zwave.serial_path else ""
    path.write_text(f'[hub]\nstate_dir = "{base / "state"}"\n[log]\nlevel = "info"\n'
                    f'[radios.zwave]\nurl = "{zwave.url}"\n{spawn}{extra}')
    return path


async def _start_to_ready(base: Path) -> Table:
    compile_s = await asyncio.to_thread(compile_bytecode)  # a hub's wheel install has it
    table = Table("zwave: hubd run to READY and to Z-Wave ok (zwave-js cache warm, 8 nodes)",
                  ("server", "READY s", "zwave ok s"),
                  note=f"bytecode: the project and the venv compiled first ({compile_s:.1f} s), "
                       "as a wheel install has them")
    async with demo_stick(base) as (_, settings):
        # Warm zwave-js's cache: the hub's everyday restart, not the first interview.
        (base / "warm").mkdir()
        async with _hubd(_config(base / "warm", settings)) as (_, lines):
            await _wait_line(lines, r"radio=zwave status=ok")
            await asyncio.sleep(15)
        for label, spawned in (("starting alongside", True), ("already up", False)):
            chosen = settings if spawned else ZwaveSettings(url=settings.url)
            server = None if spawned else ServerProcess(settings, base / "warm" / "state")
            server_task = None
            if server is not None:
                server_task = asyncio.get_running_loop().create_task(server.run())
                await _server_up(settings.url)
            try:
                started = time.perf_counter()
                async with _hubd(_config(base / "warm", chosen)) as (_, lines):
                    await _wait_line(lines, r"event=ready")
                    ready_s = time.perf_counter() - started
                    await _wait_line(lines, r"radio=zwave status=ok")
                    table.rows.append((label, ready_s, time.perf_counter() - started))
            finally:
                if server_task is not None:
                    server_task.cancel()
                    await asyncio.gather(server_task, return_exceptions=True)
    return table


async def _server_up(url: str, timeout_s: float = 120.0) -> None:
    """Until zwave-js-server answers on url (its driver ready, the stick's nodes loaded)."""
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                client = await ZwaveClient.open(url, lambda _: None, timeout_s=2.0,
                                                request_timeout_s=5.0, heartbeat_s=20.0)
            except HubError:
                await asyncio.sleep(0.2)
                continue
            await client.close()
            return


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _memory(base: Path) -> Table:
    """hubd run with all three radios (Zigbee and Lutron simulators outside the hub process)."""
    zigbee_sim = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tools.bench.zigbee_sim", "--pairs", "10",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        assert zigbee_sim.stdout is not None
        zigbee_path = (await zigbee_sim.stdout.readline()).decode().split()[1]
        async with demo_stick(base) as (_, settings), demo_repeater("serial") as lutron:
            extra = (f'[radios.zigbee]\npath = "{zigbee_path}"\nchannel = 15\n'
                     f'skip_bootloader = false\n[radios.lutron]\npath = "{lutron.path}"\n'
                     f'integration_report = "{lutron.integration_report}"\n')
            async with _hubd(_config(base, settings, extra)) as (process, lines):
                found = await _wait_line(lines, r"zwave_server_started pid=(\d+)")
                await _wait_line(lines, r"radio=zwave status=ok")
                await _wait_line(lines, r"event=ready")
                await asyncio.sleep(20)  # interviews done, rules loaded, steady state
                server_mib, hub_mib = _rss_mib(int(found[1])), _rss_mib(process.pid)
    finally:
        if zigbee_sim.returncode is None:
            zigbee_sim.kill()
        await zigbee_sim.wait()
    table = Table("zwave: memory (VmRSS, steady state, Z-Wave + Zigbee + Lutron radios)",
                  ("process", "MiB"), note="goal: the whole hub <= 256 MB")
    table.rows.append(("zwave-js-server (sidecar)", server_mib))
    table.rows.append(("hubd run", hub_mib))
    table.rows.append(("whole hub (hubd + sidecar)", server_mib + hub_mib))
    return table


async def run() -> list[Table]:
    """All Z-Wave figures."""
    with tempfile.TemporaryDirectory(prefix="hubd-bench-zwave-") as tmp:
        base = Path(tmp)
        for sub in ("lc", "start", "mem"):
            (base / sub).mkdir()
        return [await _local_control(base / "lc"), await _start_to_ready(base / "start"),
                await _memory(base / "mem")]


async def start_only() -> list[Table]:
    """Only the start-to-READY table (``python -c`` while tuning the start)."""
    with tempfile.TemporaryDirectory(prefix="hubd-bench-zwave-") as tmp:
        (Path(tmp) / "start").mkdir()
        return [await _start_to_ready(Path(tmp) / "start")]
