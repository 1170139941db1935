"""The cloud tunnel: command round trip through the relay, event throughput, the hot path's
share, reconnect after a relay restart, and the relay's memory per idle tunnel.

The relay is the real one in its own process (``python -m tools.relay serve``, uvloop); the hub
is the real Daemon in this process with the virtual radio (a command "confirms" as soon as the
radio applied it, so the figure is the tunnel's and the daemon's share, not a radio's) and the
production tunnel settings, except where a table says otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from hubd.bus import Bus
from hubd.config import parse_config
from hubd.core.clock import SystemClock
from hubd.core.events import StateChanged
from hubd.core.model import Context, Origin
from hubd.core.state import StateStore
from hubd.daemon import Daemon
from hubd.systemd import Notifier
from hubd.tunnel.client import identity_dir
from hubd.tunnel.feeder import Feeder
from hubd.tunnel.identity import Identity
from hubd.tunnel.provision import provision
from hubd.tunnel.settings import TunnelSettings
from hubd.tunnel.uplink import StateMirror, UpMessage
from radios.virtual.driver import VirtualDriver
from radios.zigbee.settings import ZigbeeSettings
from tools.bench.hubproc import free_port
from tools.bench.report import Table, percentiles
from tools.relay.ca import CertificateAuthority, ClaimBook


@dataclasses.dataclass(frozen=True, slots=True)
class Sizes:
    """How big a run is: the full bench, or the smoke test's tiny one."""

    round_trips: int = 1_000
    warm_up: int = 50  # round trips before the measured ones
    zigbee_round_trips: int = 300
    events: int = 8_000
    restarts: int = 8
    idle_tunnels: tuple[int, ...] = (1_000, 5_000)


FULL = Sizes()
QUICK = Sizes(round_trips=20, warm_up=5, zigbee_round_trips=10, events=200, restarts=1,
              idle_tunnels=(20,))
# One light's commands 40 ms apart (25 a second, a slider at full speed): the simulator has no
# airtime, and faster, zigpy's 10 s duplicate filter (PACKET_DEBOUNCE_WINDOW) would drop the
# light's answer to a TSN reused within 10 s (256 of them) as a copy of the earlier one.
ZIGBEE_GAP_S = 0.04

HUB_TOML = """
[hub]
state_dir = "{state}"
[radios.virtual]
devices = [
  {{ address = "1", name = "Lamp", kind = "switch" }},
  {{ address = "5", name = "Remote", kind = "button" }},
]
"""


@dataclasses.dataclass
class RelayProcess:
    """hubd-relay serve in a child process."""

    ca_dir: Path
    tunnel_port: int
    api_port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start it; seconds until it listens."""
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.relay", "serve", str(self.ca_dir), "--tunnel-port",
             str(self.tunnel_port), "--api-port", str(self.api_port)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if b"tunnels on" not in line:
            raise RuntimeError(f"the relay did not start: {line!r}")
        return time.perf_counter() - started

    def stop(self, *, crash: bool = False) -> None:
        """SIGTERM it (it drains: hubs are told when to come back) and wait; or SIGKILL it
        (``crash``: hubs find the tunnel gone)."""
        if self.process is not None and self.process.poll() is None:
            if crash:
                self.process.kill()
            else:
                self.process.terminate()
            self.process.wait(10)
        self.process = None

    def rss_kib(self) -> int:
        """Its resident memory."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    @property
    def api_url(self) -> str:
        """The app API."""
        return f"https://127.0.0.1:{self.api_port}"


@contextlib.asynccontextmanager
async def _setup(root: Path, settings: TunnelSettings, zigbee_path: str | None = None,
                 name: str = "") -> AsyncIterator[tuple[RelayProcess, Daemon]]:
    root = root / name if name else root
    ca_dir = root / "ca"
    CertificateAuthority.init(ca_dir)
    relay = RelayProcess(ca_dir, free_port(), free_port())
    relay.start()
    try:
        token, _ = ClaimBook(ca_dir / "claims.json").issue("bench-hub")
        state = root / "state"
        await asyncio.to_thread(provision, Identity(identity_dir(state)), relay.api_url, token,
                                ca_dir / "ca.crt")
        config = dataclasses.replace(parse_config(HUB_TOML.format(state=state), "bench.toml"),
                                     tunnel=settings)
        if zigbee_path is not None:
            config = dataclasses.replace(config, radios=dataclasses.replace(
                config.radios, virtual=None, zigbee=ZigbeeSettings(path=zigbee_path,
                                                                   channel=15)))
        daemon = Daemon(config, notifier=Notifier(""))
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.ready.wait(), 60)
        assert daemon.tunnel is not None
        await asyncio.wait_for(daemon.tunnel.connected.wait(), 30)
        try:
            yield relay, daemon
        finally:
            daemon.request_stop()
            await task
    finally:
        relay.stop()


async def _api(http: aiohttp.ClientSession, relay: RelayProcess, method: str, path: str,
               context: ssl.SSLContext, body: Any = None) -> Any:
    async with http.request(method, relay.api_url + path, json=body, ssl=context) as response:
        return await response.json(content_type=None)


async def _round_trips(relay: RelayProcess, context: ssl.SSLContext, size: Sizes, count: int,
                       device: str = "virtual:1", gap_s: float = 0.0
                       ) -> tuple[list[float], list[float]]:
    """``count`` commands after the warm-up, one after another, ``gap_s`` between an answer
    and the next command."""
    app, relayed = [], []
    async with aiohttp.ClientSession() as http:
        for n in range(count + size.warm_up):
            body = {"device": device, "capability": "switch", "name": "on" if n % 2 else
                    "off", "deadline_ms": 2000}
            started = time.perf_counter()
            answer = await _api(http, relay, "POST", "/api/v1/hubs/bench-hub/commands", context,
                                body)
            assert answer.get("status") == "confirmed", answer
            if n >= size.warm_up:
                app.append(time.perf_counter() - started)
                relayed.append(answer["round_trip_ms"] / 1e3)
            if gap_s:
                await asyncio.sleep(gap_s)
    return app, relayed


async def _events(relay: RelayProcess, daemon: Daemon, context: ssl.SSLContext,
                  size: Sizes) -> float:
    assert daemon.hub is not None
    driver = daemon.hub.drivers["virtual"]
    assert isinstance(driver, VirtualDriver)
    async with aiohttp.ClientSession() as http:
        before = (await _api(http, relay, "GET", "/api/v1/hubs/bench-hub/state", context))["seq"]
        started = time.perf_counter()
        for n in range(size.events):
            driver.physical_press("5", str(n % 4 + 1))
            if n % 500 == 499:
                await asyncio.sleep(0)  # a radio delivers in bursts, not all in one tick
        while True:
            seq = (await _api(http, relay, "GET", "/api/v1/hubs/bench-hub/state", context))["seq"]
            if seq - before >= size.events:
                return size.events / (time.perf_counter() - started)
            await asyncio.sleep(0.01)


async def _restarts(relay: RelayProcess, daemon: Daemon, size: Sizes
                    ) -> tuple[list[float], list[float]]:
    assert daemon.hub is not None and daemon.tunnel is not None
    driver = daemon.hub.drivers["virtual"]
    assert isinstance(driver, VirtualDriver)
    to_event, boots = [], []
    for _ in range(size.restarts):
        # A crash: on SIGTERM the relay drains, telling its hubs to come back spread over
        # drain_spread_s (60 s, to the other relays of a fleet), by design not a heal time.
        relay.stop(crash=True)
        await asyncio.sleep(0.2)
        boots.append(await asyncio.to_thread(relay.start))
        up = time.perf_counter()
        driver.physical_press("5", "1")
        await daemon.hub.bus.drain()
        await daemon.tunnel.feeder.flush()
        # Acked (gone from the outbox) means the relay holds it.
        while await daemon.tunnel.outbox.depth() > 0:  # noqa: ASYNC110 - polls the store
            await asyncio.sleep(0.005)
        to_event.append(time.perf_counter() - up)
        await asyncio.sleep(0.6)  # connected longer than stable_after_s: a first failure
    return to_event, boots


class _NullOutbox:
    async def append(self, messages: list[UpMessage]) -> None:
        return None


async def _zigbee(root: Path, size: Sizes) -> list[float]:
    """Relay-measured round trips to a light behind the Zigbee coordinator simulator (pty,
    real zigpy-znp): "confirmed" is the light's Default Response to the command."""
    from radios.zigbee.sim.demo import demo_coordinator, demo_ieee

    async with demo_coordinator(2) as coordinator, _setup(
            root, TunnelSettings(), coordinator.path, "zigbee") as (relay, daemon):
        assert daemon.hub is not None
        light = f"zigbee:{demo_ieee(2)}"  # the second device of the mix is a light
        await daemon.hub.drivers["zigbee"].permit_join(60.0)
        for _ in range(600):
            device = daemon.hub.state.get_device(light)
            if device is not None and device.has("switch"):
                break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("the simulated Zigbee light never joined")
        await asyncio.sleep(1.0)  # the interview's configuration settles
        context = ssl.create_default_context(cafile=str(relay.ca_dir / "ca.crt"))
        _, relayed = await _round_trips(relay, context, size, size.zigbee_round_trips, light,
                                        ZIGBEE_GAP_S)
        return relayed


async def _echo_baseline(ca_dir: Path, size: Sizes) -> list[float]:
    """Round trips of a 100-byte message to a bare WSS echo server in another process."""
    from websockets.asyncio.client import connect

    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tools.bench.tunnel_clients", "echo", str(ca_dir),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert server.stdout is not None and server.stdin is not None
    port = int((await server.stdout.readline()).split()[1])
    context = ssl.create_default_context(cafile=str(ca_dir / "ca.crt"))
    samples = []
    async with connect(f"wss://127.0.0.1:{port}/", ssl=context, compression=None,
                       proxy=None) as websocket:
        for n in range(size.round_trips + size.warm_up):
            started = time.perf_counter()
            await websocket.send(b"x" * 100)
            await websocket.recv()
            if n >= size.warm_up:
                samples.append(time.perf_counter() - started)
    server.stdin.close()
    await server.wait()
    return samples


async def _in_process(root: Path, size: Sizes) -> list[float]:
    """The same round trip with the relay in the hub's process and loop: our code's share."""
    from tools.relay.server import Relay, RelaySettings

    ca_dir = root / "ca-inproc"
    CertificateAuthority.init(ca_dir)
    relay = Relay(RelaySettings(ca_dir))
    await relay.start()
    try:
        token, _ = ClaimBook(ca_dir / "claims.json").issue("bench-hub")
        state = root / "state-inproc"
        await asyncio.to_thread(provision, Identity(identity_dir(state)), relay.api_url, token,
                                ca_dir / "ca.crt")
        config = dataclasses.replace(parse_config(HUB_TOML.format(state=state), "bench.toml"),
                                     tunnel=TunnelSettings(url=relay.tunnel_url))
        daemon = Daemon(config, notifier=Notifier(""))
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.ready.wait(), 30)
        assert daemon.tunnel is not None
        await asyncio.wait_for(daemon.tunnel.connected.wait(), 30)
        samples = []
        for n in range(size.round_trips + size.warm_up):
            body = {"device": "virtual:1", "capability": "switch",
                    "name": "on" if n % 2 else "off", "args": {}}
            started = time.perf_counter()
            answer = await relay.router.request("bench-hub", body, 2.0)
            if n >= size.warm_up:
                samples.append(time.perf_counter() - started)
            assert answer["status"] == "confirmed", answer
        daemon.request_stop()
        await task
        return samples
    finally:
        await relay.stop()


async def _hot_path() -> tuple[float, float, float]:
    """µs per publish with and without the tunnel's subscriber; µs per event to the outbox."""
    clock = SystemClock()
    event = StateChanged("virtual:1", "switch.on", False, True, clock.time(),
                         Context.new(Origin.PHYSICAL))
    timings = []
    for with_tunnel in (False, True):
        bus = Bus()
        feeder = Feeder(bus, _NullOutbox(), StateMirror(StateStore()))  # type: ignore[arg-type]
        if with_tunnel:
            feeder.subscribe()
        best = float("inf")
        for _ in range(20):
            started = time.perf_counter()
            for _ in range(2_000):
                bus.publish(event)
            best = min(best, (time.perf_counter() - started) / 2_000)
            await bus.drain()
        timings.append(best * 1e6)
        await bus.close()
    feeder = Feeder(Bus(), _NullOutbox(), StateMirror(StateStore()))  # type: ignore[arg-type]
    started = time.perf_counter()
    for _ in range(20_000):
        feeder.on_event(event)
    per_event = (time.perf_counter() - started) / 20_000 * 1e6
    return timings[0], timings[1], per_event


async def _idle_tunnels(root: Path, size: Sizes) -> list[tuple[int, int, float, float]]:
    rows = []
    for count in size.idle_tunnels:
        ca_dir = root / f"ca-{count}"
        CertificateAuthority.init(ca_dir)
        relay = RelayProcess(ca_dir, free_port(), free_port())
        relay.start()
        try:
            await asyncio.sleep(0.5)
            base = relay.rss_kib()
            clients = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tools.bench.tunnel_clients", str(ca_dir),
                f"wss://127.0.0.1:{relay.tunnel_port}/", str(count),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            assert clients.stdout is not None and clients.stdin is not None
            line = (await asyncio.wait_for(clients.stdout.readline(), 600)).decode().split()
            await asyncio.sleep(1.0)
            rss = relay.rss_kib()
            rows.append((count, rss // 1024, (rss - base) / count, float(line[2])))
            clients.stdin.close()
            await clients.wait()
        finally:
            relay.stop()
    return rows


async def run(quick: bool = False) -> list[Table]:
    """Every tunnel figure."""
    size = QUICK if quick else FULL
    logging.getLogger().setLevel(logging.ERROR)
    settings = TunnelSettings(stable_after_s=0.5)  # production, but a restart is a 1st failure
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        async with _setup(root, settings) as (relay, daemon):
            context = ssl.create_default_context(cafile=str(relay.ca_dir / "ca.crt"))
            app, relayed = await _round_trips(relay, context, size, size.round_trips)
            events_per_s = await _events(relay, daemon, context, size)
            to_event, boots = await _restarts(relay, daemon, size)
        echo = await _echo_baseline(root / "ca", size)
        inproc = await _in_process(root, size)
        zigbee = await _zigbee(root, size)
        idle = await _idle_tunnels(root, size)
    without, with_tunnel, feeder_us = await _hot_path()
    tables = [
        Table("tunnel: command round trip", ("measured at", "samples", "p50 ms", "p99 ms",
                                             "max ms"),
              [("app (HTTPS POST)", len(app), *percentiles(app)),
               ("relay (router.request)", len(relayed), *percentiles(relayed)),
               ("relay in the hub's process and loop", len(inproc), *percentiles(inproc)),
               ("baseline: bare WSS echo, other process", len(echo), *percentiles(echo)),
               ("relay, Zigbee light (coordinator simulator), 40 ms apart", len(zigbee),
                *percentiles(zigbee))],
              "Loopback; relay in its own process (uvloop), hub = the real Daemon. The baseline "
              "row is websockets alone between two processes on the same machine; the Zigbee "
              "row ends at the light's Default Response (real zigpy-znp, simulator on a pty).",
              path="app → relay API → tunnel → hub → virtual radio confirms → relay API → app "
                   "(the relay rows start and stop at the relay)"),
        Table("tunnel: events one hub pushes, acked by the relay",
              ("events", "events/s"), [(size.events, events_per_s)],
              "Until the relay holds the last seq.",
              path="button presses into the hub → bus → feeder → SQLite outbox → tunnel → "
                   "relay dedupe → ack → outbox delete"),
        Table("tunnel: the hot path's share",
              ("without tunnel µs", "with tunnel µs", "feeder per event µs (off the hot path)"),
              [(without, with_tunnel, feeder_us)],
              path="bus.publish of one StateChanged, with and without the tunnel's feeder "
                   "subscribed; the feeder's own work per event, which runs in its task"),
        Table("tunnel: relay crash and restart → first event delivered",
              ("restarts", "median s", "worst s", "relay start median s"),
              [(size.restarts, statistics.median(to_event), max(to_event),
                statistics.median(boots))],
              "The first retry of a 1-120 s full-jitter backoff after a first failure is 1 s. "
              "A SIGTERM instead drains: the relay tells its hubs to come back spread over "
              "60 s (to a fleet's other relays), by design.",
              path="SIGKILL of the relay → a new relay process listening → a button press → "
                   "the hub's production backoff (1-120 s) → the relay holding the event"),
        Table("relay: idle mTLS tunnels (uvloop), one process",
              ("tunnels", "relay RSS MiB", "KiB per tunnel", "s to open all"), idle,
              path="hubd-relay serve's RSS with N hubs' mTLS WebSockets open and welcomed, "
                   "minus before; the hubs are clients in another process"),
    ]
    return tables
