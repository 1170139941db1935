"""The relay fleet on NATS: cross-relay command round trip and a herd across a relay SIGKILL (the
idle tunnels per process: area fleet_idle).

nats-server (JetStream) and the relays (``hubd-relay serve --nats``, uvloop) run in their own
processes; the herd of simulated hubs (tools.relay.herd: the hub's own session, no radios, the
production backoff) is split over child processes (tools.bench.fleet_herd), so it uses both cores
and no process meets the open-file cap. The hubs answer commands at once, so a round trip is the
fleet's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
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

from tools.bench.fleet_check import Herd, stored_ids
from tools.bench.report import Table, percentiles
from tools.relay.ca import CertificateAuthority

HUBS = 5_000
HERD_PROCESSES = 2
EVENTS_PER_S = 50.0  # over the whole herd, throughout
COMMANDS_PER_S = 10.0
STEADY_S = 5.0  # traffic before the kill, at least
STABLE_S = 31.0  # the hubs' stable_after_s (30 s) and a margin: the kill finds every tunnel stable
ROUND_TRIPS = 500
LOGS = Path(tempfile.gettempdir())  # the relays' logs of the last run: hubd-bench-relay-*.log


def port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def process(args: list[str], ready: bytes | None = None, log: Path | None = None
             ) -> Iterator[subprocess.Popen[bytes]]:
    """A child process, until the block ends (ready: wait for that on its first line)."""
    with (log.open("wb") if log else contextlib.nullcontext(subprocess.DEVNULL)) as stderr:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr)
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
            process.wait(60)


def relay_args(ca_dir: Path, tunnel: int, api: int, nats_url: str) -> list[str]:
    """The command line of a relay on NATS."""
    return [sys.executable, "-m", "tools.relay", "serve", str(ca_dir), "--tunnel-port",
            str(tunnel), "--api-port", str(api), "--nats", nats_url]


async def wait_port(port: int) -> None:
    """Until something listens on a loopback port."""
    for _ in range(500):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


async def _until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 - polls the herd's reports, there is no event
            await asyncio.sleep(0.05)


async def _get(http: aiohttp.ClientSession, api: int, path: str, context: ssl.SSLContext
               ) -> dict[str, object]:
    async with http.get(f"https://127.0.0.1:{api}{path}", ssl=context) as response:
        answer: dict[str, object] = await response.json()
        return answer


async def _round_trips(api: int, hub_id: str, context: ssl.SSLContext, count: int) -> list[float]:
    samples = []
    async with aiohttp.ClientSession() as http:
        for n in range(count + 50):
            async with http.post(f"https://127.0.0.1:{api}/api/v1/hubs/{hub_id}/commands",
                                 json={"device": "x", "capability": "switch", "name": "on",
                                       "deadline_ms": 2000}, ssl=context) as response:
                answer = await response.json()
            if n >= 50:
                samples.append(answer["round_trip_ms"] / 1e3)
    return samples


async def _commands(api: int, targets: list[str], context: ssl.SSLContext,
                    stop: asyncio.Event, log: list[tuple[float, int, float]]) -> None:
    """Commands through one relay's API to hubs it holds, at COMMANDS_PER_S, until stopped."""
    rng = random.Random()
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            started = time.time()
            try:
                async with http.post(
                        f"https://127.0.0.1:{api}/api/v1/hubs/{rng.choice(targets)}/commands",
                        json={"device": "x", "capability": "switch", "name": "on",
                              "deadline_ms": 2000}, ssl=context) as response:
                    await response.read()
                    status = response.status
            except aiohttp.ClientError:
                status = 0
            log.append((started, status, time.time() - started))
            await asyncio.sleep(1 / COMMANDS_PER_S)


def _histogram(attempts: list[float], killed: float) -> tuple[list[tuple[object, ...]], int]:
    """Reconnect attempts per second after the kill (rows with a bar; a run of empty seconds is
    one row), and the peak."""
    buckets: dict[int, int] = {}
    for t in attempts:
        if t >= killed:
            buckets[int(t - killed)] = buckets.get(int(t - killed), 0) + 1
    peak = max(buckets.values(), default=0)
    rows: list[tuple[object, ...]] = []
    second, last = 0, max(buckets, default=-1)
    while second <= last:
        if second in buckets:
            n = buckets[second]
            rows.append((f"{second}-{second + 1}", n, "#" * max(1, round(40 * n / peak))))
            second += 1
        else:
            empty = second
            while second not in buckets:
                second += 1
            rows.append((f"{empty}-{second}", 0, ""))
    return rows, peak


async def _herd(root: Path, ca: CertificateAuthority, nats_url: str, hubs: int,
                processes: int, round_trips: int, stable_s: float) -> list[Table]:
    ports = [(port(), port()), (port(), port())]
    urls = [f"wss://127.0.0.1:{t}/" for t, _ in ports]
    context = ssl.create_default_context(cafile=str(ca.ca_path))
    with process(relay_args(root / "ca", *ports[0], nats_url), b"tunnels on",
                  LOGS / "hubd-bench-relay-a.log") as first, \
            process(relay_args(root / "ca", *ports[1], nats_url), b"tunnels on",
                     LOGS / "hubd-bench-relay-b.log"):
        herd = Herd(root, hubs, processes, EVENTS_PER_S, urls)
        await herd.start()
        try:
            started = time.perf_counter()
            await _until(lambda: herd.up() == hubs, 900, "the herd up")
            up_s = time.perf_counter() - started
            stable_at = time.perf_counter() + stable_s  # every tunnel up long enough: backoff(1)
            async with aiohttp.ClientSession() as http:
                on_b = await _get(http, ports[1][1], "/api/v1/hubs", context)
                asked = time.perf_counter()
                fleet = await _get(http, ports[0][1], "/api/v1/fleet/hubs", context)
                presence_s = time.perf_counter() - asked
            targets = [str(h) for h in on_b["online"]]  # type: ignore[attr-defined]
            listed = len(fleet["online"])  # type: ignore[arg-type]
            far = await _round_trips(ports[0][1], targets[0], context, round_trips)
            near = await _round_trips(ports[1][1], targets[0], context, round_trips)
            herd.say("go")  # events from every hub, at random, from now on
            stop, log = asyncio.Event(), []  # type: ignore[var-annotated]
            commanding = asyncio.create_task(_commands(ports[1][1], targets, context, stop, log))
            await asyncio.sleep(max(STEADY_S, stable_at - time.perf_counter()))
            moved = herd.on(0)
            killed = time.time()
            first.send_signal(signal.SIGKILL)  # mid-traffic: events and commands in flight
            await _until(lambda: herd.on(0) == 0, 60, "relay a's hubs gone")  # as reported
            await _until(lambda: herd.up() == hubs, 600, "every hub back")
            back_all = time.time()
            await asyncio.sleep(2.0)
            stop.set()
            await commanding
            finals = await herd.stop()
        finally:
            await herd.close()
    welcomes = [min(t for t in f if t >= killed) - killed for final in finals
                for f in final["welcomes"].values() if any(t >= killed for t in f)]
    welcomes.sort()
    attempts = [t for final in finals for t in final["attempts"]]
    rows, peak = _histogram(attempts, killed)
    welcome_rows, _ = _histogram([killed + w for w in welcomes], killed)
    expected = {f"{hub}:{seq}" for final in finals for hub, n in final["events"].items()
                for seq in range(1, n + 1)}
    stored = await stored_ids(nats_url)
    during = [(s, d) for t, s, d in log if killed <= t <= back_all]
    ok = [d for s, d in during if s == 200]
    failed = Counter(s for s, _ in during if s != 200)  # 0: no HTTP answer at all
    return [
        Table("fleet: command round trip to a (simulated) hub, relay-measured",
              ("path", "samples", "p50 ms", "p99 ms", "max ms"),
              [("relay a → NATS → relay b → hub (cross-relay)", len(far), *percentiles(far)),
               ("relay b → hub (single relay)", len(near), *percentiles(near))],
              f"With {hubs} idle hubs on the two relays.",
              "the relay's API handler: request in → NATS request → other relay → tunnel → hub "
              "→ result back"),
        Table(f"fleet: herd of {hubs} hubs on 2 relays; relay a SIGKILLed mid-traffic",
              ("hubs up from cold s", "on relay a", "99 % back s", "all back s",
               "attempts after kill", "peak attempts/s", "every hub back",
               "fleet presence lists (ms)"),
              [(up_s, moved, welcomes[int(0.99 * (len(welcomes) - 1))] if welcomes else 0.0,
                welcomes[-1] if welcomes else 0.0, sum(1 for t in attempts if t >= killed), peak,
                finals_up(finals) == hubs and len(welcomes) >= moved,
                f"{listed} ({presence_s * 1e3:.0f})")],
              f"Production backoff (full jitter 1-120 s, hub's own session); {processes} herd "
              f"processes; events {EVENTS_PER_S:.0f}/s and commands {COMMANDS_PER_S:.0f}/s "
              "throughout. 99 % back: the 99th percentile of a moved hub's first welcome.",
              "SIGKILL of relay a → each of its hubs welcomed by relay b"),
        Table("fleet: reconnect attempts per second after the SIGKILL (the whole herd)",
              ("s after kill", "attempts", ""), rows,
              "A hub whose tunnel was up ≥ 30 s retries at full jitter over [0, 2 s]; a refused "
              "or timed-out attempt then waits full jitter over a doubling window (1-120 s).",
              "each connect attempt of a simulated hub, by its start time"),
        Table("fleet: successful reconnects (first welcome) per second after the SIGKILL",
              ("s after kill", "welcomed", ""), welcome_rows,
              "Against the attempts above: where this curve lags or flattens below them, relay "
              "b's accept rate (TLS handshakes, admission ramp), not the hubs' jitter, set it.",
              "SIGKILL of relay a → each moved hub's first welcome by relay b"),
        Table("fleet: nothing lost, nothing twice (read back from JetStream), commands on",
              ("events emitted", "in JetStream", "lost", "stored twice", "unexpected",
               "commands to hubs on b during the herd", "failed (n: status)", "p50 ms",
               "p99 ms"),
              [(len(expected), len(stored), len(expected - set(stored)),
                len(stored) - len(set(stored)), len(set(stored) - expected), len(during),
                " ".join(f"{n}: {s}" for s, n in sorted(failed.items())) or "0",
                *percentiles(ok)[:2])],
              "Every event's Nats-Msg-Id (<hub>:<seq>) read back from the stream.",
              "hub outbox → relay → JetStream (dedupe on the message id) → read back"),
    ]


def finals_up(finals: list[dict[str, object]]) -> int:
    """Hubs connected at the end, over every herd process."""
    return sum(int(str(f["up"])) for f in finals)


async def run(quick: bool = False) -> list[Table]:
    """The fleet's figures (quick: a few dozen hubs, to check it runs)."""
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ca = CertificateAuthority.init(root / "ca")
        nats_port = port()
        nats_url = f"nats://127.0.0.1:{nats_port}"
        with process([binary, "-js", "-sd", str(root / "js"), "-a", "127.0.0.1", "-p",
                       str(nats_port)]):
            await wait_port(nats_port)
            hubs = int(os.environ.get("HUBD_BENCH_FLEET_HUBS", HUBS))
            return await _herd(root, ca, nats_url, 20 if quick else hubs,
                               1 if quick else HERD_PROCESSES, 20 if quick else ROUND_TRIPS,
                               0.0 if quick else STABLE_S)
