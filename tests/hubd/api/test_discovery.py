"""Zeroconf on loopback: the hub announces _hubd._tcp with id, API version and pin, announces
again when its addresses change, and says goodbye when it stops."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncZeroconf

from hubd.api.discovery import SERVICE_TYPE, Announcer
from tests.hubd.api.conftest import start_hub, stop_hub


async def _lookup(name: str) -> dict[str, str] | None:
    zc = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    try:
        info = await zc.async_get_service_info(SERVICE_TYPE, name, timeout=1500)
        if info is None:
            return None
        props = {k.decode(): (v or b"").decode() for k, v in info.properties.items()}
        props["addresses"] = ",".join(socket.inet_ntoa(a) for a in info.addresses)
        props["port"] = str(info.port)
        return props
    finally:
        await zc.async_close()


async def test_the_daemon_announces_itself_and_unregisters_on_stop(tmp_path: Path) -> None:
    daemon, task = await start_hub(tmp_path, zeroconf=True)
    assert daemon.api is not None
    api = daemon.api
    try:
        assert api.announcer is not None
        async with asyncio.timeout(30):
            await api.announcer.updated.wait()
        found = await _lookup(f"{api.info.id}.{SERVICE_TYPE}")
        assert found is not None
        assert found["id"] == api.info.id and found["api"] == "1"
        assert found["pin"] == api.state.pin_sha256
        assert found["port"] == api.url.rsplit(":", 1)[1]
    finally:
        await stop_hub(daemon, task)
    assert await _lookup(f"{api.info.id}.{SERVICE_TYPE}") is None


async def test_a_new_address_is_announced_again() -> None:
    # mDNS on loopback is shared by every process of the machine: a name of this run's own, so
    # that two test runs side by side cannot answer for each other.
    name = f"hub-test{os.getpid():x}"
    addresses = ["127.0.0.1"]
    announcer = Announcer(name, 8443, "ab" * 32, lambda: list(addresses),
                          ["127.0.0.1"], recheck_s=0.05)
    task = asyncio.get_running_loop().create_task(announcer.run())
    try:
        async with asyncio.timeout(30):
            await announcer.updated.wait()
            announcer.updated.clear()
            addresses.append("127.0.0.2")
            await announcer.updated.wait()
        assert announcer.announced == ["127.0.0.1", "127.0.0.2"]
        found = await _lookup(f"{name}.{SERVICE_TYPE}")
        assert found is not None and "127.0.0.2" in found["addresses"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
