"""Finding hubs on the LAN: browse ``_hubd._tcp`` for a while and read each one's TXT record."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from zeroconf import InterfaceChoice, IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncZeroconf

SERVICE_TYPE = "_hubd._tcp.local."


@dataclass(frozen=True, slots=True)
class Found:
    """A hub that answered."""

    hub_id: str
    url: str
    api: str
    pin_sha256: str


async def discover(timeout_s: float, interfaces: Sequence[str] | None = None) -> list[Found]:
    """The hubs announcing themselves within timeout_s."""
    zc = AsyncZeroconf(interfaces=list(interfaces) if interfaces else InterfaceChoice.All,
                       ip_version=IPVersion.V4Only)
    names: set[str] = set()

    def on_change(zeroconf: Zeroconf, service_type: str, name: str,
                  state_change: ServiceStateChange) -> None:
        if state_change is not ServiceStateChange.Removed:
            names.add(name)

    browser = AsyncServiceBrowser(zc.zeroconf, [SERVICE_TYPE], handlers=[on_change])
    try:
        await asyncio.sleep(timeout_s)
        found = []
        for name in sorted(names):
            info = await zc.async_get_service_info(SERVICE_TYPE, name, timeout=1500)
            if info is None or not info.addresses:
                continue
            props = {k.decode(): (v or b"").decode() for k, v in info.properties.items()}
            address = socket.inet_ntoa(info.addresses[0])
            found.append(Found(props.get("id", name), f"https://{address}:{info.port}",
                               props.get("api", "?"), props.get("pin", "")))
        return found
    finally:
        await browser.async_cancel()
        await zc.async_close()
