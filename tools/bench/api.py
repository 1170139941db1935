"""The LAN API, measured from outside: a real `hubd run` process serving TLS on loopback, with
200 virtual devices, and clients in the benchmark's own process (aiohttp over TLS).

- command round trip over the WebSocket: command sent → virtual radio confirms → result read;
- ``GET /devices`` requests per second (200 devices with their state, 8 keep-alive clients);
- event fan-out: a state change's delay from the hub's report (its ``ts``) to its arrival at
  each of N subscribed WebSocket clients, for 1 and for 20 clients;
- the command round trip again with Zigbee: the TI Z-Stack simulator in a process of its own on
  a pty (tools/bench/zigbee_sim.py), lights joined through ``POST /radios/zigbee/join``, real
  zigpy-znp; the result comes back when the light's default response confirms the command.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from tools.bench.footprint import cpu_s
from tools.bench.hubproc import PairedHub, free_port, paired_hub
from tools.bench.report import Table, percentiles

if TYPE_CHECKING:
    from tools.bench.zigbee import Coordinator

DEVICES = 200
GET_CLIENTS = 8
ZIGBEE_PAIRS = 10  # tools.bench.zigbee_sim's pairs: a sensor and a light each


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big a run is: the full bench, or the smoke test's tiny one."""

    commands: int = 2_000
    get_seconds: float = 5.0
    fanout_samples: int = 300
    zigbee_commands: int = 300
    console_loads: int = 5


FULL = Sizes()
QUICK = Sizes(commands=20, get_seconds=0.5, fanout_samples=10, zigbee_commands=10,
              console_loads=1)


def _config(root: Path, port: int, zigbee_path: str = "") -> str:
    lines = [f'[hub]\nstate_dir = "{root / "state"}"\n[log]\nlevel = "warning"\n',
             f'[api]\nhost = "127.0.0.1"\nport = {port}\nis_zeroconf = false\n'
             "rate_per_s = 1000000.0\nrate_burst = 1000000\n"]
    if zigbee_path:
        lines.append(f'[radios.zigbee]\npath = "{zigbee_path}"\nchannel = 15\n'
                     "skip_bootloader = false\nrequest_timeout_s = 5.0\n")
    lines.append("[radios.virtual]\ncommand_latency_s = 0.0\ndevices = [")
    lines += [f'  {{ address = "{n}", name = "Lamp {n}", kind = "dimmer" }},'
              for n in range(1, DEVICES + 1)]
    return "\n".join(lines) + "\n]\n"


@asynccontextmanager
async def _hub(root: Path, zigbee_path: str = "") -> AsyncIterator[PairedHub]:
    """A `hubd run` process with the benchmark's devices, and a paired session with it."""
    port = free_port()
    (root / "hub.toml").write_text(_config(root, port, zigbee_path))
    async with paired_hub(root / "hub.toml", port) as hub:
        yield hub


async def _toggle(ws: aiohttp.ClientWebSocketResponse, command_id: int, device: str
                  ) -> dict[str, Any]:
    """Toggle the device through the WebSocket; the command's reply (events in between skipped)."""
    await ws.send_str(json.dumps({"id": command_id, "type": "command", "device": device,
                                  "command": "switch.toggle"}))
    while True:
        reply: dict[str, Any] = json.loads((await ws.receive()).data)
        if reply.get("id") == command_id:
            return reply


async def _command_round_trips(url: str, session: aiohttp.ClientSession,
                               headers: dict[str, str], count: int) -> list[float]:
    samples = []
    async with session.ws_connect(f"{url}/api/v1/ws", headers=headers) as ws:
        await ws.receive_json()  # hello
        for i in range(count + 100):
            device = f"virtual:{i % DEVICES + 1}"
            started = time.perf_counter()
            reply = await _toggle(ws, i, device)
            if i >= 100:  # warm-up left out
                samples.append(time.perf_counter() - started)
            assert reply["ok"] and reply["result"]["status"] == "confirmed", reply
    return samples


async def _get_devices_rate(url: str, session: aiohttp.ClientSession,
                            headers: dict[str, str], seconds: float) -> tuple[float, int]:
    count = 0
    size = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal count, size
        while time.perf_counter() < deadline:
            async with session.get(f"{url}/api/v1/devices", headers=headers) as resp:
                body = await resp.read()
                assert resp.status == 200
                size = len(body)
                count += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(GET_CLIENTS)))
    return count / (time.perf_counter() - started), size


async def _fanout(url: str, session: aiohttp.ClientSession, headers: dict[str, str],
                  clients: int, samples: int) -> list[float]:
    """Delays from the hub's report of each state change to its arrival at every client."""
    sockets = [await session.ws_connect(f"{url}/api/v1/ws", headers=headers)
               for _ in range(clients)]
    delays: list[float] = []
    try:
        for ws in sockets:
            await ws.send_str(json.dumps({"id": 1, "type": "subscribe"}))
        control = sockets[0]
        for i in range(samples):
            await control.send_str(json.dumps({"id": 100 + i, "type": "command",
                                               "device": "virtual:1",
                                               "command": "switch.toggle"}))
            for ws in sockets:
                while True:
                    message = json.loads((await ws.receive()).data)
                    event = message.get("event")
                    if message["type"] == "event" and event["event"] == "state_changed" \
                            and event["attribute"] == "switch.on":
                        delays.append(time.time() - event["ts"])
                        break
    finally:
        for ws in sockets:
            await ws.close()
    return delays


async def _console_loads(url: str, headers: dict[str, str], count: int) -> list[float]:
    """Seconds from opening the console (already paired) to its first live device state, on a
    phone-sized screen in Debian's chromium; empty when chromium is not installed."""
    chromium = shutil.which("chromium")
    if chromium is None:
        return []
    from playwright.async_api import async_playwright

    token = headers["Authorization"].removeprefix("Bearer ")
    loads = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            for _ in range(count):
                context = await browser.new_context(ignore_https_errors=True,
                                                    viewport={"width": 390, "height": 844})
                await context.add_init_script(
                    f"localStorage.setItem('hubd.token', {json.dumps(token)})")
                page = await context.new_page()
                started = time.perf_counter()
                await page.goto(f"{url}/")
                await page.wait_for_selector(".card .state")
                await page.wait_for_function(
                    "document.getElementById('connection').textContent === 'live'")
                loads.append(time.perf_counter() - started)
                await context.close()
        finally:
            await browser.close()
    return loads


async def _zigbee_round_trips(root: Path, count: int) -> list[float]:
    from tools.bench.zigbee import Coordinator

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tools.bench.zigbee_sim", "--pairs", str(ZIGBEE_PAIRS),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        verb, _, path = (await asyncio.wait_for(process.stdout.readline(), 30)
                         ).decode().strip().partition(" ")
        if verb != "ready":
            raise RuntimeError("the Zigbee simulator did not start")
        return await _zigbee_commands(root, Coordinator(process, path), count)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def _zigbee_commands(root: Path, coordinator: Coordinator, count: int) -> list[float]:
    from tools.bench.zigbee_sim import ieee

    async with _hub(root, coordinator.path) as (url, session, headers, _):
        async with session.post(f"{url}/api/v1/radios/zigbee/join", headers=headers,
                                json={"duration_s": 254}) as resp:
            assert resp.status == 202, await resp.text()
        lights = {f"zigbee:{ieee(2 * n + 2)}" for n in range(ZIGBEE_PAIRS)}
        deadline = time.monotonic() + 60
        while True:
            async with session.get(f"{url}/api/v1/devices", headers=headers) as resp:
                known = {d["id"] for d in (await resp.json())["devices"]}
            if lights <= known or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        await coordinator.ask("quiet 0.5")  # interviews and configuration are over
        samples = []
        async with session.ws_connect(f"{url}/api/v1/ws", headers=headers) as ws:
            await ws.receive_json()
            for i in range(count + 20):
                device = sorted(lights)[i % len(lights)]
                started = time.perf_counter()
                reply = await _toggle(ws, i, device)
                assert reply["ok"] and reply["result"]["status"] == "confirmed", reply
                if i >= 20:
                    samples.append(time.perf_counter() - started)
        return samples


async def run(quick: bool = False) -> list[Table]:
    """The API's figures."""
    sizes = QUICK if quick else FULL
    logging.getLogger().setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        async with _hub(Path(tmp)) as (url, session, headers, pid):
            cpu = cpu_s(pid)
            trips = await _command_round_trips(url, session, headers, sizes.commands)
            cpu_command_ms = (cpu_s(pid) - cpu) / (sizes.commands + 100) * 1e3
            cpu = cpu_s(pid)
            rate, size = await _get_devices_rate(url, session, headers, sizes.get_seconds)
            cpu_get_ms = (cpu_s(pid) - cpu) / (rate * sizes.get_seconds) * 1e3
            one = await _fanout(url, session, headers, 1, sizes.fanout_samples)
            twenty = await _fanout(url, session, headers, 20, sizes.fanout_samples)
            loads = await _console_loads(url, headers, sizes.console_loads)
        (Path(tmp) / "zigbee").mkdir()
        zigbee = await _zigbee_round_trips(Path(tmp) / "zigbee", sizes.zigbee_commands)
    z50, z99, zmax = percentiles(zigbee)
    c50, _, cmax = percentiles(loads)
    p50, p99, worst = percentiles(trips)
    f1, f20 = percentiles(one), percentiles(twenty)
    return [
        Table("api: LAN command round trip over the WebSocket (virtual radio)",
              ("commands", "p50 ms", "p99 ms", "max ms", "hub CPU ms/command"),
              [(len(trips), p50, p99, worst, cpu_command_ms)],
              "A real `hubd run` process, TLS on loopback, client in another process.",
              path="command sent on the WebSocket → Hub → the virtual radio confirms → the "
                   "result read by the client"),
        Table("api: LAN command round trip over the WebSocket (Zigbee simulator)",
              ("lights", "commands", "p50 ms", "p99 ms", "max ms"),
              [(ZIGBEE_PAIRS, len(zigbee), z50, z99, zmax)],
              "The simulated coordinator in its own process, on a pty.",
              path="command sent on the WebSocket → Hub → zigpy-znp → the coordinator "
                   "simulator → the light's Default Response → the result read by the client"),
        Table("api: GET /api/v1/devices",
              ("devices", "clients", "body bytes", "requests/s", "hub CPU ms/request"),
              [(DEVICES, GET_CLIENTS, size, rate, cpu_get_ms)],
              "Clients in the benchmark's process.",
              path="keep-alive HTTPS GET on loopback → the whole device list as JSON → body "
                   "read, the clients back to back"),
        Table("api: event fan-out, hub report → WebSocket client",
              ("clients", "p50 ms", "p99 ms", "max ms"),
              [(1, *f1), (20, *f20)],
              f"Added by 19 more clients at p99: {f20[1] - f1[1]:.3f} ms.",
              path="a command toggles a virtual switch → its StateChanged's ts in the hub → "
                   "the event read by each subscribed WebSocket client"),
        Table("api: web console, open → first live state (390x844, Debian chromium)",
              ("loads", "median ms", "max ms"), [(len(loads), c50, cmax)],
              "200 devices; an already paired browser." + (
                  "" if loads else " No loads: chromium is not installed."),
              path="page.goto of the console → device cards drawn and the WebSocket live"),
    ]
