"""Footprint and start as a hub owner meets them: `hubd run` with every radio and 200 devices.

The bench house (tools/bench/house.py) runs the Lutron repeater and Zigbee coordinator
simulators in this process, with the Zigbee devices paired beforehand (zigpy's database in the
state directory knows them, as on a hub that was set up), virtual rooms to reach 200 devices and
rules on every radio. Then ``hubd run --config hub.toml`` starts as systemd starts it: its own
process, ``$NOTIFY_SOCKET`` pointing at a datagram socket of ours. Start → READY=1 is timed from
just before the process is spawned to the READY=1 datagram; the first start is cold (every file
Python, the project and the database read evicted from the page cache first, as after a power
cycle: fsync + POSIX_FADV_DONTNEED file by file, which leaves the machine's other work alone),
the second warm. Memory is read from /proc once the radios' first chatter has settled: VmRSS and
VmHWM of hubd, its PSS, and the whole hub: hubd, its child processes and any sidecar a radio
declared: zwave-js-server, which runs beside hubd as systemd runs it on the hub
(tools/bench/zwave_house.py), already up with its nodes interviewed, as when hubd restarts.

As a hub runs it: a hub's wheel install has its bytecode, and this machine sets
PYTHONDONTWRITEBYTECODE, so the bench first compiles the project and the venv in place
(compileall: the __pycache__ a wheel install writes; files already compiled are kept). hubd's
environment drops the CA-bundle variables this machine's shell sets (SSL_CERT_FILE,
SSL_CERT_DIR), which hubd.service does not set.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import hubd
import radios
import rules
from tools.bench.bytecode import compile_bytecode
from tools.bench.house import BenchHouse, bench_house
from tools.bench.report import Table
from tools.bench.store import evict
from tools.bench.zwave_house import zwave_part

RSS_GOAL_MIB = 96e6 / 2**20  # issue 8: hubd ≤ 96 MB with every radio and 200 devices
HUB_GOAL_MIB = 256e6 / 2**20  # the whole hub, sidecars included, ≤ 256 MB
START_GOAL_S = 2.0
SETTLE_S = 3.0
READY_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Start:
    """One start of hubd: how long to READY=1, its memory, how long it took to stop."""

    ready_s: float
    cpu_s: float  # hubd's CPU time (user + system) at READY=1: what a busy machine cannot inflate
    rss_mib: float
    hwm_mib: float
    pss_mib: float
    sidecar_rss_mib: float  # the declared sidecars (zwave-js-server) and their children
    hub_rss_mib: float
    stop_s: float
    exit_code: int | None
    phases: str  # when hubd logged each step of its start, in seconds after the spawn


def _status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (proc(5): fields 14 and 15 of stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(child) for child in children.read().split())
        except OSError:
            continue
    return found


def evict_python_and_project(extra: list[Path]) -> int:
    """Drop from the page cache what a start of hubd reads; returns how many files."""
    roots = {Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"]),
             Path(sysconfig.get_paths()["platlib"]), Path(sys.executable).resolve().parent}
    roots |= {Path(package.__file__).parent for package in (hubd, radios, rules)
              if package.__file__ is not None}
    count = 0
    for root in sorted(roots):
        for directory, _, files in os.walk(root):
            for name in files:
                count += evict(Path(directory, name))
    for path in extra:
        count += evict(path)
    return count


# Set by this machine's shell, not by hubd.service (systemd starts hubd with the unit's own).
_NOT_IN_THE_UNIT = ("SSL_CERT_FILE", "SSL_CERT_DIR", "WATCHDOG_USEC")


def _hubd_command(config: Path) -> list[str]:
    script = Path(sys.executable).parent / "hubd"
    if script.exists():
        return [str(script), "run", "--config", str(config)]
    return [sys.executable, "-c", "from hubd.cli import main; main()", "run", "--config",
            str(config)]


_LOGGED = re.compile(r"^ts=(\S+)Z .*?event=(starting|radio_health|rules_loaded|ready)\b"
                     r"(?:.*? radio=(\S+) status=(\S+))?")


def phases(log: str, spawned_wall: float) -> str:
    """The start's steps from hubd's own log: ``starting 0.9, lutron ok 1.4, ..., ready 2.0``."""
    steps = []
    for line in log.splitlines():
        match = _LOGGED.match(line)
        if match is None:
            continue
        stamp, event, radio, status = match.groups()
        at = datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp() - spawned_wall
        steps.append(f"{f'{radio} {status}' if radio else event} {at:.2f}")
        if event == "ready":
            break
    return ", ".join(steps)


async def _wait_ready(sock: socket.socket, process: asyncio.subprocess.Process) -> None:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(READY_TIMEOUT_S):
        while True:
            receive = asyncio.ensure_future(loop.sock_recv(sock, 4096))
            exited = asyncio.ensure_future(process.wait())
            done, _ = await asyncio.wait({receive, exited}, return_when=asyncio.FIRST_COMPLETED)
            if receive not in done:
                receive.cancel()
                raise RuntimeError(f"hubd exited with {process.returncode} before READY=1")
            exited.cancel()
            if b"READY=1" in receive.result().split(b"\n"):
                return


async def _start_once(house: BenchHouse, *, is_cold: bool, settle_s: float = SETTLE_S) -> Start:
    notify = house.root / f"notify-{time.monotonic_ns()}.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(notify))
        sock.setblocking(False)
        env = {k: v for k, v in os.environ.items() if k not in _NOT_IN_THE_UNIT}
        env["NOTIFY_SOCKET"] = str(notify)
        if is_cold:
            state = house.root / "state"
            evict_python_and_project([*state.iterdir(), house.config_path])
        log_path = house.root / f"hubd-{'cold' if is_cold else 'warm'}.log"
        log = log_path.open("wb")
        spawned_wall, started = time.time(), time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            *_hubd_command(house.config_path), env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=log, stderr=log)
        try:
            await _wait_ready(sock, process)
            ready_s = time.perf_counter() - started
            ready_cpu_s = cpu_s(process.pid)
            await asyncio.sleep(settle_s)  # the radios' first chatter, the first writes
            pid = process.pid
            sidecar_pids = [q for p in house.sidecar_pids for q in process_tree(p)]
            hub_pids = process_tree(pid) + sidecar_pids
            rss, hwm = _status_kib(pid, "VmRSS"), _status_kib(pid, "VmHWM")
            pss = _pss_kib(pid)
            sidecar_rss = sum(_status_kib(p, "VmRSS") for p in sidecar_pids)
            hub_rss = sum(_status_kib(p, "VmRSS") for p in hub_pids)
            stopping = time.perf_counter()
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 15)
            stop_s = time.perf_counter() - stopping
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            log.close()
    return Start(ready_s, ready_cpu_s, rss / 1024, hwm / 1024, pss / 1024, sidecar_rss / 1024,
                 hub_rss / 1024, stop_s, code,
                 phases(log_path.read_text(errors="replace"), spawned_wall))


async def _imports_s() -> float:
    """Seconds for a fresh interpreter to import what `hubd run` imports before any work."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import hubd.cli, hubd.daemon, radios.zigbee.driver",
        stdin=asyncio.subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k not in _NOT_IN_THE_UNIT})
    if await asyncio.wait_for(process.wait(), 60) != 0:
        raise RuntimeError("importing hubd failed")
    return time.perf_counter() - started


async def run(quick: bool = False) -> list[Table]:
    """Start hubd cold then warm on the bench house; its memory and the whole hub's.

    ``quick`` (the smoke test): tiny sizes, one warm start, no Z-Wave (Node's start and the
    interviews alone would take the smoke test's minute on a loaded machine).
    """
    devices, zigbee_devices = (20, 2) if quick else (200, 100)
    settle_s = 0.2 if quick else SETTLE_S
    compile_s = await asyncio.to_thread(compile_bytecode)
    with tempfile.TemporaryDirectory(prefix="hubd-footprint-") as tmp:
        async with bench_house(Path(tmp), devices=devices, zigbee_devices=zigbee_devices,
                               zwave=None if quick else zwave_part) as house:
            if quick:  # one start, no eviction: the smoke test's time is short
                starts = [("warm", await _start_once(house, is_cold=False, settle_s=settle_s))]
            else:
                starts = [("cold", await _start_once(house, is_cold=True)),
                          ("warm", await _start_once(house, is_cold=False))]
            imports_s = float("nan") if quick else await _imports_s()
            radio_names = ", ".join(house.radios)
            count = house.devices
            log_tail = (Path(tmp) / "hubd-warm.log").read_text(
                errors="replace").splitlines()[-3:]
    start = Table(
        f"footprint: hubd run, start → READY=1 (goal ≤ {START_GOAL_S:.0f} s)",
        ("page cache", "devices", "radios", "seconds", "CPU s", "stop s", "exit"),
        [*((label, count, radio_names, s.ready_s, s.cpu_s, s.stop_s, s.exit_code)
           for label, s in starts),
         ("warm", "-", "none: Python + imports only", imports_s, "-", "-", 0)],
        path="spawn of `hubd run --config hub.toml` (a new process, as systemd starts it) → "
             "the READY=1 datagram on $NOTIFY_SOCKET: Python start, imports, config, store "
             "load, every radio connected to its simulator (Z-Wave: to zwave-js-server, up "
             "beside it), rules loaded, the LAN API listening",
        note="cold: Python's stdlib, the venv, the project and the state directory evicted "
             "from the page cache first; CPU s: hubd's own CPU time until READY=1 (on a "
             "machine busy with other work, seconds > CPU s); stop: SIGTERM → exit; the last "
             "row is a fresh interpreter importing hubd.cli, hubd.daemon and the Zigbee "
             "driver (zigpy), which every start pays. Bytecode: the project and the venv "
             f"compiled in place first, as a wheel install has them ({compile_s:.1f} s); "
             "hubd's environment without this machine's SSL_CERT_FILE and SSL_CERT_DIR, as "
             "hubd.service starts it."
             + "".join(f"\n{label}: s after the spawn, from hubd's log: {s.phases}"
                       for label, s in starts)
             + ("" if all(s.exit_code == 0 for _, s in starts)
                else "\nhubd's last log lines: " + " | ".join(log_tail)))
    memory = Table(
        f"footprint: memory with every radio and {count} devices (goals: hubd ≤ 96 MB = "
        f"{RSS_GOAL_MIB:.1f} MiB, whole hub ≤ 256 MB)",
        ("start", "hubd RSS MiB", "hubd peak (VmHWM) MiB", "hubd PSS MiB",
         "sidecar RSS MiB", "whole hub RSS MiB", "meets goals"),
        [(label, s.rss_mib, s.hwm_mib, s.pss_mib, s.sidecar_rss_mib, s.hub_rss_mib,
          "yes" if s.hwm_mib <= RSS_GOAL_MIB and s.hub_rss_mib <= HUB_GOAL_MIB else "NO")
         for label, s in starts],
        path=f"/proc of the running `hubd run` {settle_s:g} s after READY=1; sidecar = "
             "zwave-js-server (run beside hubd as on the hub, 8 nodes interviewed; the mock "
             "stick it drives is the simulator, not counted); whole hub = hubd + its child "
             "processes + the sidecar"
             + (" (quick: no Z-Wave, no sidecar)" if quick else ""),
        note="whole hub in MB: " + ", ".join(f"{label} {s.hub_rss_mib * 2**20 / 1e6:.0f}"
                                              for label, s in starts)
             + f" (goal ≤ {HUB_GOAL_MIB * 2**20 / 1e6:.0f} MB)")
    return [start, memory]
