"""Idle hub tunnels one relay process holds (uvloop, on NATS), and what each costs in memory.

The clients (tools.bench.tunnel_clients: mTLS WebSockets that say hello, get their welcome and
idle) are split over processes, so only the relay meets this container's open-file cap.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import sys
import tempfile
from pathlib import Path

import aiohttp

from tools.bench.fleet import port, process, relay_args, wait_port
from tools.bench.report import Table
from tools.relay.ca import CertificateAuthority

IDLE_TUNNELS = 19_000  # this container: 20,000 open files per process (hard limit)
CLIENT_PROCESSES = 4


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def _tunnels_gauge(api: int, ca_dir: Path) -> int:
    """The relay's own count of the tunnels it holds (its /metrics gauge)."""
    context = ssl.create_default_context(cafile=str(CertificateAuthority.load(ca_dir).ca_path))
    async with aiohttp.ClientSession() as http, \
            http.get(f"https://127.0.0.1:{api}/metrics", ssl=context) as response:
        text = await response.text()
    return next(int(line.split()[1]) for line in text.splitlines()
                if line.startswith("hubd_relay_tunnels "))


async def _idle(root: Path, nats_url: str, count: int, processes: int) -> Table:
    tunnel, api = port(), port()
    with process(relay_args(root / "ca", tunnel, api, nats_url), b"tunnels on") as relay:
        await wait_port(api)
        base = _rss_kib(relay.pid)
        share = count // processes
        clients = [await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tools.bench.tunnel_clients", str(root / "ca"),
            f"wss://127.0.0.1:{tunnel}/", str(share), str(20_000 + n * share),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            for n in range(processes)]
        try:
            lines = [(await c.stdout.readline()).split() for c in clients]  # type: ignore[union-attr]
            opened = sum(int(line[1]) for line in lines if line and line[0] == b"ready")
            rss = _rss_kib(relay.pid)
            files = len(await asyncio.to_thread(os.listdir, f"/proc/{relay.pid}/fd"))
            gauge = await _tunnels_gauge(api, root / "ca")
            seconds = max(float(line[2]) for line in lines if line)
        finally:
            held = 0
            for client in clients:
                assert client.stdin is not None and client.stdout is not None
                client.stdin.close()
                line = (await client.stdout.readline()).split()
                held += int(line[1]) if line and line[0] == b"held" else 0
                await client.wait()
    return Table("fleet: idle mTLS tunnels held by one relay process (uvloop, on NATS)",
                 ("tunnels opened", "still open (clients)", "hubd_relay_tunnels", "open files",
                  "relay RSS MiB", "KiB per tunnel", "s to open all"),
                 [(opened, held, gauge, files, rss // 1024, (rss - base) / max(opened, 1),
                   seconds)],
                 f"Clients split over {processes} processes. This container caps open files at "
                 "20,000 per process (ulimit -Hn): one socket per tunnel, so 20,000 cannot be "
                 "held in one process here. Still open: what the clients found open after the "
                 "relay's gauge was read (a tunnel the relay closed meanwhile, e.g. its "
                 "keepalive unanswered in time, counts as opened but not held).",
                 "relay RSS after the tunnels are open, minus before; a tunnel = one hub's mTLS "
                 "WebSocket, welcomed, NATS subscriptions made")


async def run(quick: bool = False) -> list[Table]:
    """Idle tunnels per relay process (quick: a hundred)."""
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    count = int(os.environ.get("HUBD_BENCH_IDLE_TUNNELS", IDLE_TUNNELS))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        CertificateAuthority.init(root / "ca")
        nats_port = port()
        with process([binary, "-js", "-sd", str(root / "js"), "-a", "127.0.0.1", "-p",
                      str(nats_port)]):
            await wait_port(nats_port)
            return [await _idle(root, f"nats://127.0.0.1:{nats_port}", 50 if quick else count,
                                1 if quick else CLIENT_PROCESSES)]
