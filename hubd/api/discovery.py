"""Zeroconf: announce ``_hubd._tcp`` with the hub id, API version and certificate pin.

The addresses are looked at every ``recheck_s``; when they change (DHCP renewed, Wi-Fi
switched) the service is announced again with the new ones. Stopping unregisters it (a goodbye
packet, RFC 6762 §10.1), so apps forget the hub at once rather than after the TTL.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence

import ifaddr
from zeroconf import InterfaceChoice, IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from hubd.api.settings import API_VERSION, is_loopback

log = logging.getLogger(__name__)

SERVICE_TYPE = "_hubd._tcp.local."


def lan_addresses(host: str) -> list[str]:
    """The IPv4 addresses the API is reachable on (loopback only when it listens there)."""
    if is_loopback(host):
        return ["127.0.0.1"]
    if host not in ("0.0.0.0", "::", ""):
        return [host]
    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback:
                found.append(ip.ip)
    return sorted(set(found))


class Announcer:
    """Announces the hub while it runs."""

    def __init__(self, hub_id: str, port: int, pin_sha256: str,
                 addresses: Callable[[], Sequence[str]], interfaces: Sequence[str] | None,
                 recheck_s: float = 30.0) -> None:
        self._hub_id = hub_id
        self._port = port
        self._pin = pin_sha256
        self._addresses = addresses
        self._interfaces = interfaces
        self._recheck_s = recheck_s
        self.announced: list[str] = []
        self.announcements = 0
        self.updated = asyncio.Event()  # set after each announcement (tests clear it)

    def _info(self, addresses: Sequence[str]) -> ServiceInfo:
        return ServiceInfo(
            SERVICE_TYPE, f"{self._hub_id}.{SERVICE_TYPE}", port=self._port,
            properties={"id": self._hub_id, "api": API_VERSION, "pin": self._pin},
            server=f"{self._hub_id}.local.",
            addresses=[socket.inet_aton(a) for a in addresses])

    async def run(self) -> None:
        """Register, re-announce on address change, unregister when cancelled."""
        interfaces = list(self._interfaces) if self._interfaces else None
        zc = AsyncZeroconf(interfaces=interfaces or InterfaceChoice.All,
                           ip_version=IPVersion.V4Only)
        addresses = list(self._addresses())
        info = self._info(addresses)
        try:
            # The first await queues the registration; the second waits for its announcement.
            await (await zc.async_register_service(info))
            self.announced, self.announcements = addresses, 1
            self.updated.set()
            log.info("event=zeroconf_registered name=%s addresses=%s", info.name, addresses)
            while True:
                await asyncio.sleep(self._recheck_s)
                now = list(self._addresses())
                if now != addresses:
                    addresses, info = now, self._info(now)
                    await (await zc.async_update_service(info))
                    self.announced = addresses
                    self.announcements += 1
                    self.updated.set()
                    log.info("event=zeroconf_reannounced addresses=%s", addresses)
        finally:
            try:
                await asyncio.shield(zc.async_unregister_all_services())
            finally:
                await asyncio.shield(zc.async_close())
