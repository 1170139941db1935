"""A relay, a provisioned hub and its daemon on loopback, with the tunnel's timers shrunk."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from hubd.config import HubConfig, parse_config
from hubd.core.events import Notice
from hubd.daemon import Daemon
from hubd.hub import Hub
from hubd.ota.service import Reboot
from hubd.systemd import Notifier
from hubd.tunnel.client import TunnelClient, identity_dir
from hubd.tunnel.identity import Endpoint, Identity
from hubd.tunnel.provision import provision
from hubd.tunnel.settings import TunnelSettings
from radios.virtual.driver import VirtualDriver
from tools.relay.ca import ClaimBook
from tools.relay.server import Relay

# Every timer of the tunnel shrunk by configuration, so each fault heals in well under a second.
FAST = TunnelSettings(
    backoff_min_s=0.02, backoff_max_s=0.2, stable_after_s=1.0, slow_retry_min_s=1.0,
    slow_retry_max_s=1.5, open_timeout_s=1.0, welcome_timeout_s=1.0, ping_interval_s=0.3,
    ping_timeout_s=0.3, close_timeout_s=0.2, flush_interval_s=0.005, clock_not_before=0.0,
    clock_check_s=0.01)

HUB_TOML = """
[hub]
state_dir = "{state}"

[store]
write_interval_s = 0.02

[radios.virtual]
devices = [
  {{ address = "1", name = "Hall light", kind = "dimmer", room = "Hall" }},
  {{ address = "3", name = "Front door", kind = "contact", room = "Hall" }},
  {{ address = "5", name = "Remote", kind = "button", room = "Hall" }},
]
"""


async def until(predicate: Callable[[], bool], timeout_s: float = 5.0, what: str = "") -> None:
    """Wait until predicate() holds; raise if it does not within timeout_s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"gave up after {timeout_s} s waiting for {what or predicate}")
        await asyncio.sleep(0.005)


async def provision_hub(relay: Relay, state_dir: Path, hub_id: str | None = None) -> Endpoint:
    """Claim a token on the relay and provision a hub's identity with it, over HTTPS."""
    token, _ = ClaimBook(relay.settings.ca_dir / "claims.json").issue(hub_id)
    return await asyncio.to_thread(provision, Identity(identity_dir(state_dir)), relay.api_url,
                                   token, relay.ca.ca_path)


def hub_config(state_dir: Path, settings: TunnelSettings = FAST, url: str = "") -> HubConfig:
    """A virtual house with the tunnel configured."""
    config = parse_config(HUB_TOML.format(state=state_dir), "test.toml")
    return dataclasses.replace(config, tunnel=dataclasses.replace(settings, url=url))


@dataclasses.dataclass
class RunningHub:
    """A daemon running in this process."""

    daemon: Daemon
    task: asyncio.Task[None]
    notices: list[Notice]

    @property
    def tunnel(self) -> TunnelClient:
        assert self.daemon.tunnel is not None
        return self.daemon.tunnel

    @property
    def virtual(self) -> VirtualDriver:
        assert self.daemon.hub is not None
        driver = self.daemon.hub.drivers["virtual"]
        assert isinstance(driver, VirtualDriver)
        return driver


@contextlib.asynccontextmanager
async def running_hub(config: HubConfig, notify_socket: str = "", reboot: Reboot | None = None
                      ) -> AsyncIterator[RunningHub]:
    """Run the daemon until the block ends (telling systemd's socket, if given)."""
    notices: list[Notice] = []

    async def record(hub: Hub) -> None:
        hub.bus.subscribe((Notice,), notices.append, name="test-notices", inline=True)

    daemon = Daemon(config, notifier=Notifier(notify_socket), ready_timeout_s=5.0,
                    extras=[record], reboot=reboot)
    task = asyncio.create_task(daemon.run())
    try:
        async with asyncio.timeout(10):
            await daemon.ready.wait()
        yield RunningHub(daemon, task, notices)
    finally:
        daemon.request_stop()
        async with asyncio.timeout(10):
            await task


def client_ssl(relay: Relay) -> ssl.SSLContext:
    """What an app uses to trust the relay's API."""
    return ssl.create_default_context(cafile=str(relay.ca.ca_path))


async def api(relay: Relay, method: str, path: str, body: Any = None,
              wrap: Callable[[aiohttp.ClientResponse], Awaitable[Any]] | None = None
              ) -> tuple[int, Any]:
    """Call the relay's app API; the status and the JSON answer."""
    async with aiohttp.ClientSession() as http, http.request(
            method, relay.api_url + path, json=body, ssl=client_ssl(relay)) as response:
        return response.status, await response.json(content_type=None)
