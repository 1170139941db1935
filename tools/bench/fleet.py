"""The relay fleet on NATS: cross-relay command round trip, and a herd across a relay restart.

nats-server (JetStream) and two relays (``hubd-relay serve --nats``, uvloop) run in their own
processes; the hubs are a herd of simulated hubs (tools.relay.herd: the hub's own session, no
radios) in this process, which answer commands at once, so the round trip is the fleet's.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp

from tools.bench.report import Table, percentiles
from tools.relay.ca import CertificateAuthority
from tools.relay.herd import SimHub, herd_contexts

HUBS = 1_000
ROUND_TRIPS = 500
DRAIN_SPREAD_S = 10.0


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _process(args: list[str], ready: bytes | None = None) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        if ready is not None:
            assert process.stdout is not None
            line = process.stdout.readline()
            if ready not in line:
                raise RuntimeError(f"{args[0]} did not start: {line!r}")
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(30)


def _relay(ca_dir: Path, tunnel: int, api: int, nats_url: str) -> list[str]:
    return [sys.executable, "-m", "tools.relay", "serve", str(ca_dir), "--tunnel-port",
            str(tunnel), "--api-port", str(api), "--nats", nats_url, "--drain-spread-s",
            str(DRAIN_SPREAD_S)]


async def _wait_port(port: int) -> None:
    for _ in range(500):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


async def _until(predicate: Callable[[], bool]) -> None:
    while not predicate():  # noqa: ASYNC110 - polls the herd's state, there is no event
        await asyncio.sleep(0.02)


async def _round_trips(api: int, hub_id: str, context: ssl.SSLContext) -> list[float]:
    samples = []
    async with aiohttp.ClientSession() as http:
        for n in range(ROUND_TRIPS + 50):
            async with http.post(f"https://127.0.0.1:{api}/api/v1/hubs/{hub_id}/commands",
                                 json={"device": "x", "capability": "switch", "name": "on",
                                       "deadline_ms": 2000}, ssl=context) as response:
                answer = await response.json()
            if n >= 50:
                samples.append(answer["round_trip_ms"] / 1e3)
    return samples


async def run() -> list[Table]:
    """The fleet's figures."""
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ca = CertificateAuthority.init(root / "ca")
        nats_port = _port()
        ports = [(_port(), _port()), (_port(), _port())]
        nats_url = f"nats://127.0.0.1:{nats_port}"
        context = ssl.create_default_context(cafile=str(ca.ca_path))
        with _process([binary, "-js", "-sd", str(root / "js"), "-a", "127.0.0.1", "-p",
                       str(nats_port)]):
            await _wait_port(nats_port)
            with _process(_relay(root / "ca", *ports[0], nats_url), b"tunnels on") as first, \
                    _process(_relay(root / "ca", *ports[1], nats_url), b"tunnels on"):
                ids = [f"bench-{n:05d}" for n in range(HUBS)]
                contexts = await asyncio.to_thread(herd_contexts, ca, ids, root / "herd")
                urls = [f"wss://127.0.0.1:{t}/" for t, _ in ports]
                hubs = [SimHub(i, contexts[i], urls) for i in ids]
                tasks = [asyncio.create_task(h.run()) for h in hubs]
                started = time.perf_counter()
                await _until(lambda: sum(h.is_connected for h in hubs) == HUBS)
                up_s = time.perf_counter() - started
                # A hub on relay b commanded through relay a (over NATS), and through relay b.
                target = next(h.hub_id for h in hubs if h.relay_url == urls[1])
                far = await _round_trips(ports[0][1], target, context)
                near = await _round_trips(ports[1][1], target, context)
                on_first = sum(1 for h in hubs if h.relay_url == urls[0])
                before = {h.hub_id: h.attempts for h in hubs}
                stopped = time.perf_counter()
                first.send_signal(signal.SIGTERM)  # drain: bye with retry_after over 10 s
                await _until(lambda: not any(h.relay_url == urls[0] for h in hubs))
                drained_s = time.perf_counter() - stopped
                await _until(lambda: sum(h.is_connected for h in hubs) >= 0.99 * HUBS)
                back_99_s = time.perf_counter() - stopped
                await _until(lambda: sum(h.is_connected for h in hubs) == HUBS)
                back_all_s = time.perf_counter() - stopped
                per_second = Counter(int(t - stopped) for h in hubs for t in h.attempt_times
                                     if t >= stopped)
                attempts = sum(h.attempts - before[h.hub_id] for h in hubs)
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
    return [
        Table("fleet: command round trip to a (simulated) hub, relay-measured",
              ("path", "samples", "p50 ms", "p99 ms", "max ms"),
              [("relay a → NATS → relay b → hub (cross-relay)", len(far), *percentiles(far)),
               ("relay b → hub (single relay)", len(near), *percentiles(near))],
              "nats-server and both relays in their own processes; the herd in the bench's."),
        Table(f"fleet: herd of {HUBS} hubs on 2 relays; one relay drained (SIGTERM)",
              ("hubs up from cold s", "hubs moved", "drained in s", "99 % back s", "all back s",
               "reconnect attempts", "peak attempts/s"),
              [(up_s, on_first, drained_s, back_99_s, back_all_s, attempts,
                max(per_second.values(), default=0))],
              f"Drain spread {DRAIN_SPREAD_S:.0f} s: each hub told to come back at a uniform "
              "moment within it, then tries the relays in turn (a load balancer's spread). "
              "Times from the SIGTERM."),
    ]
