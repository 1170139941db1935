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
import ssl
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import aiohttp

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


async def _relay_cli(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tools.relay", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"hubd-relay {' '.join(args)} failed: {err.decode().strip()}")
    return out.decode()


@contextlib.asynccontextmanager
async def demo_relay(state_dir: Path) -> AsyncIterator[DemoRelay]:
    """Start a local relay (making its CA on first run) and provision the hub with a claim."""
    ca_dir = state_dir / "relay"
    if not (ca_dir / "ca.key").exists():
        await _relay_cli("ca", "init", str(ca_dir))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tools.relay", "serve", str(ca_dir), "--tunnel-port", "0",
        "--api-port", "0", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        async with asyncio.timeout(20):
            line = (await process.stdout.readline()).decode()
        match = _URLS.search(line)
        if match is None:
            raise RuntimeError(f"the demo relay did not start: {line!r}")
        relay = DemoRelay(match[1], match[2], ca_dir / "ca.crt")
        identity = Identity(identity_dir(state_dir))
        if not identity.is_provisioned():
            token = (await _relay_cli("claim", str(ca_dir), "--hub-id", HUB_ID)).split()[0]
            await asyncio.to_thread(provision, identity, relay.api_url, token, relay.ca_path)
        yield relay
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


def cloud_round_trips(relay: DemoRelay, device_id: str, out: TextIO, interval_s: float,
                      line: Callable[[str, str], None]
                      ) -> Callable[[Hub], Coroutine[Any, Any, None]]:
    """Once the tunnel is up, toggle a device through the relay's API now and then."""

    async def run(hub: Hub) -> None:
        up = asyncio.Event()

        def on_health(health: TunnelHealth) -> None:
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
                line("cloud", f"app → relay → hub: {device_id} switch.{name} "
                              f"{answer.get('status')} (relay measured "
                              f"{answer.get('round_trip_ms')} ms, app {took_ms:.1f} ms)")
                await asyncio.sleep(interval_s)

    return run
