"""Two relay processes' worth of relays sharing only NATS: a command through relay A reaches a
hub on relay B, "offline" is answered at once, and a hub moving relays supersedes across them."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import cbor2
import nats
import pytest

from hubd.tunnel.client import identity_dir
from hubd.tunnel.connection import End
from tests.tools.relay.proxy import FaultProxy
from tests.tunnel_harness import api, hub_config, provision_hub, running_hub, until
from tools.relay.nats_fleet import JetStreamEvents, NatsRouter
from tools.relay.server import Relay, RelaySettings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    port = _free_port()
    process = subprocess.Popen([binary, "-js", "-sd", str(tmp_path / "js"), "-a", "127.0.0.1",
                                "-p", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("nats-server did not start")
            time.sleep(0.02)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@contextlib.asynccontextmanager
async def nats_relay(settings: RelaySettings, url: str, name: str) -> AsyncIterator[Relay]:
    nc = await nats.connect(url, name=name)
    store = JetStreamEvents(nc)
    await store.setup()
    relay = Relay(settings, NatsRouter(nc, name), store=store)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()
        await nc.close()


async def test_a_command_through_relay_a_reaches_a_hub_on_relay_b(
        relay_settings: RelaySettings, nats_url: str, tmp_path: Path) -> None:
    async with nats_relay(relay_settings, nats_url, "a") as a, \
            nats_relay(dataclasses.replace(relay_settings), nats_url, "b") as b:
        await provision_hub(a, tmp_path / "state", "hub-far")
        started = time.perf_counter()
        status, problem = await api(a, "POST", "/api/v1/hubs/hub-far/commands", {
            "device": "virtual:1", "capability": "switch", "name": "on", "deadline_ms": 3000})
        assert status == 503 and problem["title"] == "Hub offline"
        assert time.perf_counter() - started < 1.0  # no responders: at once, not at the deadline
        async with running_hub(hub_config(tmp_path / "state", url=b.tunnel_url)) as hub:
            await until(lambda: b.router.online() == ["hub-far"], 3.0, "the hub on relay b")
            assert a.router.online() == []
            status, result = await api(a, "POST", "/api/v1/hubs/hub-far/commands", {
                "device": "virtual:1", "capability": "switch", "name": "on",
                "deadline_ms": 3000})
            assert status == 200 and result["status"] == "confirmed", result
            assert [c.context.origin for c in hub.virtual.sent] == ["cloud"]


async def test_a_hub_that_moves_relays_closes_its_old_tunnel_with_4001(
        relay_settings: RelaySettings, nats_url: str, tmp_path: Path) -> None:
    async with nats_relay(relay_settings, nats_url, "a") as a, \
            nats_relay(relay_settings, nats_url, "b") as b:
        await provision_hub(a, tmp_path / "one", "hub-twin")
        shutil.copytree(identity_dir(tmp_path / "one"), identity_dir(tmp_path / "two"))
        async with running_hub(hub_config(tmp_path / "one", url=a.tunnel_url)) as first:
            await until(first.tunnel.connected.is_set, 3.0, "first on relay a")
            async with running_hub(hub_config(tmp_path / "two", url=b.tunnel_url)):
                await until(lambda: first.tunnel.stats.last_end is not None, 3.0,
                            "the tunnel on relay a superseded")
                end = first.tunnel.stats.last_end
                assert end is not None and end.kind is End.SLOW and "4001" in end.detail
                await until(lambda: b.router.online() == ["hub-twin"], 3.0)
                assert a.router.online() == []
                await asyncio.sleep(0)


async def stored_buttons(url: str) -> list[str]:
    """The buttons of every hub event in the JetStream stream, in order."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("HUB_EVENTS")
        buttons = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            body = cbor2.loads((await js.get_msg("HUB_EVENTS", seq)).data or b"")
            if body.get("type") == "button":
                buttons.append(str(body["button"]))
        return buttons
    finally:
        await nc.close()


async def test_events_resent_to_another_relay_are_stored_once(
        relay_settings: RelaySettings, nats_url: str, tmp_path: Path) -> None:
    async with nats_relay(relay_settings, nats_url, "a") as a, \
            nats_relay(relay_settings, nats_url, "b") as b:
        proxy = FaultProxy(a.tunnel_port)
        await proxy.start()
        try:
            await provision_hub(a, tmp_path / "state", "hub-js")
            async with running_hub(hub_config(tmp_path / "state", url=proxy.url)) as hub:
                await until(lambda: a.router.online() == ["hub-js"], 3.0)
                for n in range(5):
                    hub.virtual.physical_press("5", str(n))
                await until(lambda: len(a.events.hubs["hub-js"].recent) >= 5, 3.0)
                proxy.target_port = b.tunnel_port  # the next connection lands on relay b
                # The next thing relay a sends (an ack of what it just stored, or a ping) is
                # cut in half: the hub resends whatever it has no ack for, to relay b.
                proxy.cut_mid_frame()
                for n in range(5, 10):
                    hub.virtual.physical_press("5", str(n))
                await until(lambda: b.router.online() == ["hub-js"], 5.0, "the hub on b")
                for _ in range(100):
                    if len(await stored_buttons(nats_url)) >= 10:
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.2)  # a duplicate, if any got through, would be in now
        finally:
            await proxy.stop()
        assert await stored_buttons(nats_url) == [str(n) for n in range(10)]


async def test_jetstream_dedupes_on_hub_and_seq_across_connections(nats_url: str) -> None:
    first, second = await nats.connect(nats_url), await nats.connect(nats_url)
    try:
        a, b = JetStreamEvents(first), JetStreamEvents(second)
        await a.setup()
        await b.setup()  # every relay may create the stream: the same config is no error
        assert await a.store("hub-1", 7, {"type": "button", "button": "x"})
        assert not await b.store("hub-1", 7, {"type": "button", "button": "x"})
        assert await b.store("hub-2", 7, {"type": "button", "button": "y"})  # another hub
        assert await stored_buttons(nats_url) == ["x", "y"]
    finally:
        await first.close()
        await second.close()
