"""The demo's cloud: a local reference relay (its own process, as in production), a development
CA, the hub provisioned by claim, and a command sent through the relay's app API.

The relay runs as ``python -m tools.relay`` (hubd-relay) in a child process; the hub only talks
to it over the network, as a hub does. Its CA and the hub's identity stay in the demo's state
directory, so the next run reuses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from hubd.core.errors import StartError
from hubd.core.events import TunnelHealth, TunnelStatus
from hubd.hub import Hub
from hubd.tunnel.client import identity_dir
from hubd.tunnel.identity import Identity
from hubd.tunnel.provision import provision

HUB_ID = "demo-hub"
_URLS = re.compile(r"tunnels on (\S+), API on (\S+)")


@dataclass(frozen=True, slots=True)
class DemoRelay:
    """Where the demo's relay listens, and its CA."""

    tunnel_url: str
    api_url: str
    ca_path: Path
    path: str = "app → relay → hub"


async def _relay_cli(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tools.relay", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode:
        raise StartError(f"hubd-relay {' '.join(args)} failed: {err.decode().strip()}")
    return out.decode()


@contextlib.asynccontextmanager
async def _child(*args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def _serve(stack: contextlib.AsyncExitStack, ca_dir: Path,
                 *extra: str) -> tuple[str, str]:
    """Start one relay; its tunnel and API URLs."""
    process = await stack.enter_async_context(_child(
        sys.executable, "-m", "tools.relay", "serve", str(ca_dir), "--tunnel-port", "0",
        "--api-port", "0", *extra))
    assert process.stdout is not None
    async with asyncio.timeout(20):
        line = (await process.stdout.readline()).decode()
    match = _URLS.search(line)
    if match is None:
        raise StartError(f"the demo relay did not start: {line!r}")
    return match[1], match[2]


async def _nats(stack: contextlib.AsyncExitStack, state_dir: Path) -> str:
    """Start nats-server with JetStream on a free port (the fleet's backplane)."""
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    await stack.enter_async_context(_child(binary, "-js", "-sd", str(state_dir / "nats"), "-a",
                                           "127.0.0.1", "-p", str(port)))
    for _ in range(250):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return f"nats://127.0.0.1:{port}"
        await asyncio.sleep(0.02)
    raise StartError("nats-server did not start")


@contextlib.asynccontextmanager
async def demo_relay(state_dir: Path, fleet: bool = False) -> AsyncIterator[DemoRelay]:
    """Start a local relay (making its CA on first run) and provision the hub with a claim;
    with ``fleet``, nats-server and two relays: the hub on relay B, the app on relay A."""
    ca_dir = state_dir / "relay"
    if not (ca_dir / "ca.key").exists():
        await _relay_cli("ca", "init", str(ca_dir))
    async with contextlib.AsyncExitStack() as stack:
        if fleet:
            nats_url = await _nats(stack, state_dir)
            _, api_url = await _serve(stack, ca_dir, "--nats", nats_url)
            tunnel_url, _ = await _serve(stack, ca_dir, "--nats", nats_url)
            relay = DemoRelay(tunnel_url, api_url, ca_dir / "ca.crt",
                              "app → relay A → NATS → relay B → hub")
        else:
            tunnel_url, api_url = await _serve(stack, ca_dir)
            relay = DemoRelay(tunnel_url, api_url, ca_dir / "ca.crt")
        identity = Identity(identity_dir(state_dir))
        if not identity.is_provisioned():
            token = (await _relay_cli("claim", str(ca_dir), "--hub-id", HUB_ID)).split()[0]
            await asyncio.to_thread(provision, identity, relay.api_url, token, relay.ca_path)
        yield relay


def cloud_round_trips(relay: DemoRelay, device_id: str, out: TextIO, interval_s: float,
                      line: Callable[[str, str], None]
                      ) -> Callable[[Hub], Coroutine[Any, Any, None]]:
    """Once the tunnel is up, toggle a device through the relay's API now and then."""

    async def run(hub: Hub) -> None:
        up = asyncio.Event()
        last_said: tuple[str, str] | None = None

        def on_health(health: TunnelHealth) -> None:
            # The tunnel publishes its health again every few seconds (outbox depth, last
            # ack): say only what changed, or a steady tunnel reads as one reconnecting.
            nonlocal last_said
            if (health.status, health.detail) != last_said:
                last_said = (health.status, health.detail)
                line("cloud", f"tunnel {health.status}: {health.detail}")
            if health.status is TunnelStatus.CONNECTED:
                up.set()

        hub.bus.subscribe((TunnelHealth,), on_health, name="demo-cloud", inline=True)
        await up.wait()
        context = ssl.create_default_context(cafile=str(relay.ca_path))
        url = f"{relay.api_url}/api/v1/hubs/{HUB_ID}/commands"
        async with aiohttp.ClientSession() as http:
            for n in range(1_000_000):
                name = "on" if n % 2 == 0 else "off"
                body = {"device": device_id, "capability": "switch", "name": name,
                        "deadline_ms": 2000}
                started = hub.clock.monotonic()
                async with http.post(url, json=body, ssl=context) as response:
                    answer = await response.json(content_type=None)
                took_ms = (hub.clock.monotonic() - started) * 1e3
                line("cloud", f"{relay.path}: {device_id} switch.{name} "
                              f"{answer.get('status')} (relay measured "
                              f"{answer.get('round_trip_ms')} ms, app {took_ms:.1f} ms)")
                await asyncio.sleep(interval_s)

    return run
