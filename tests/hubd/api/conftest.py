"""A real daemon (virtual radio, rules, store) serving the LAN API on loopback with TLS."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import threading
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hubd.config import parse_config
from hubd.daemon import Daemon
from hubd.ota.service import Reboot
from tests.hubd.ota.conftest import Slots

HUB_TOML = """
[hub]
name = "api test hub"
state_dir = "{state}"

[store]
write_interval_s = 0.02

[rules]
dir = "{rules}"

[api]
host = "127.0.0.1"
port = 0
is_zeroconf = {zeroconf}
mdns_interfaces = ["127.0.0.1"]
rate_per_s = {rate}
rate_burst = {burst}
max_body_bytes = 8192

[radios.virtual]
command_latency_s = 0.001
devices = [
  {{ address = "1", name = "Hall light", kind = "dimmer", room = "Hall" }},
  {{ address = "2", name = "Porch light", kind = "switch", room = "Outside" }},
  {{ address = "3", name = "Front door", kind = "contact", room = "Hall" }},
]
"""

RULES_YAML = """
scenes:
  - name: Evening
    states:
      Hall light: {level_pct: 30}
      Porch light: {on: true}
rules:
  - id: door-light
    name: Door opens, hall light on
    triggers:
      - {kind: state, device: Front door, attribute: is_open, to: true}
    actions:
      - {kind: command, device: Hall light, command: switch.on}
"""


def client_ssl() -> ssl.SSLContext:
    """A client context that accepts the self-signed certificate (tests check the pin)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def client_session() -> aiohttp.ClientSession:
    """An HTTP client for the hub's API that accepts its self-signed certificate."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_ssl()))


@dataclass
class RunningHub:
    """A daemon serving the API, and what tests need to talk to it."""

    daemon: Daemon
    url: str
    setup_code: str
    state_dir: Path
    session: aiohttp.ClientSession
    task: asyncio.Task[None]

    async def stop(self) -> None:
        """Stop the daemon; once stopped, nothing more happens."""
        if not self.task.done():
            await stop_hub(self.daemon, self.task)

    async def pair(self, scope: str = "admin", client: str = "test") -> str:
        async with self.session.post(f"{self.url}/api/v1/pair", json={
                "client": client, "scope": scope, "code": self.setup_code}) as resp:
            assert resp.status == 201, await resp.text()
            body: dict[str, Any] = await resp.json()
            return str(body["token"])

    async def call(self, method: str, path: str, token: str | None = None,
                   **kwargs: Any) -> tuple[int, Any, aiohttp.ClientResponse]:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.session.request(method, f"{self.url}/api/v1{path}", headers=headers,
                                        **kwargs) as resp:
            body = await resp.json(content_type=None) if resp.status != 204 else None
            return resp.status, body, resp


async def start_hub(tmp_path: Path, *, zeroconf: bool = False, rate: float = 1000.0,
                    burst: int = 1000, extra_toml: str = "",
                    ready_timeout_s: float = 10.0, reboot: Reboot | None = None
                    ) -> tuple[Daemon, asyncio.Task[None]]:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "house.yaml").write_text(RULES_YAML)
    text = HUB_TOML.format(state=tmp_path / "state", rules=rules,
                           zeroconf=str(zeroconf).lower(), rate=rate, burst=burst) + extra_toml
    daemon = Daemon(parse_config(text, str(tmp_path / "hub.toml")),
                    ready_timeout_s=ready_timeout_s, reboot=reboot)
    task = await run_until_ready(daemon)
    assert daemon.api is not None and daemon.api.ready.is_set()
    return daemon, task


async def run_until_ready(daemon: Daemon) -> asyncio.Task[None]:
    """Start the daemon and wait for READY (a failure to start is raised); its task."""
    task = asyncio.get_running_loop().create_task(daemon.run())
    try:
        async with asyncio.timeout(15):
            while not daemon.ready.is_set():
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
    except BaseException:
        task.cancel()  # a daemon that never got ready is not left running behind the test
        await asyncio.gather(task, return_exceptions=True)
        raise
    return task


async def stop_hub(daemon: Daemon, task: asyncio.Task[None]) -> None:
    daemon.request_stop()
    async with asyncio.timeout(10):
        await task


@asynccontextmanager
async def running_hub(tmp_path: Path, session: aiohttp.ClientSession, **options: Any
                      ) -> AsyncIterator[RunningHub]:
    """A hub (``start_hub`` with these options) that ``session`` talks to; stopped at the end."""
    daemon, task = await start_hub(tmp_path, **options)
    try:
        assert daemon.api is not None
        yield RunningHub(daemon, daemon.api.url, daemon.api.setup_code, tmp_path / "state",
                         session, task)
    finally:
        if not task.done():
            await stop_hub(daemon, task)


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with client_session() as session, running_hub(tmp_path, session) as running:
        yield running


class HubThread:
    """A daemon on its own event loop in a thread, for synchronous clients."""

    def __init__(self, tmp_path: Path, *, zeroconf: bool = False, zigbee_devices: int = 0
                 ) -> None:
        self._zigbee_devices = zigbee_devices
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.url = ""
        self.token = ""
        self.error: BaseException | None = None
        self._zeroconf = zeroconf
        self._thread = threading.Thread(target=self._run, args=(tmp_path,), daemon=True)
        self._thread.start()
        if not self._ready.wait(30) or self.error is not None:
            raise RuntimeError(f"the hub did not start: {self.error!r}")

    def _run(self, tmp_path: Path) -> None:
        self._loop.run_until_complete(self._main(tmp_path))

    async def _main(self, tmp_path: Path) -> None:
        async with contextlib.AsyncExitStack() as stack:
            extra = ""
            if self._zigbee_devices:
                # The simulated TI coordinator on a pty, its devices joining when asked.
                from radios.zigbee.sim.demo import demo_coordinator

                sim = await stack.enter_async_context(demo_coordinator(self._zigbee_devices))
                extra = (f'[radios.zigbee]\npath = "{sim.path}"\nchannel = 15\n'
                         "skip_bootloader = false\n")
            await self._serve(tmp_path, extra)

    async def _serve(self, tmp_path: Path, extra: str) -> None:
        try:
            self.slots = Slots(tmp_path / "hw")
            daemon, task = await start_hub(tmp_path, zeroconf=self._zeroconf,
                                           extra_toml=extra + self.slots.toml(),
                                           ready_timeout_s=30.0, reboot=self.slots.reboot)
        except BaseException as exc:
            self.error = exc
            self._ready.set()
            raise
        assert daemon.api is not None
        self.url = daemon.api.url
        self.daemon = daemon
        self.setup_code = daemon.api.setup_code
        self._stop = asyncio.Event()
        request = urllib.request.Request(
            f"{self.url}/api/v1/pair", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"client": "schemathesis", "scope": "admin",
                             "code": daemon.api.setup_code}).encode())
        reply = await asyncio.to_thread(urllib.request.urlopen, request, context=client_ssl())
        self.token = json.loads(reply.read())["token"]
        self._ready.set()
        await self._stop.wait()
        await stop_hub(daemon, task)

    def soon(self, fn: Any, *args: Any) -> None:
        """Call fn(*args) on the hub's loop."""
        self._loop.call_soon_threadsafe(fn, *args)

    def close(self) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
