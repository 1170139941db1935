"""Fleet-wide presence comes from NATS: any relay's app API says which hubs are online and on
which relay, for the whole fleet (scatter-gather) or one hub (its holder answers), and a relay
that died stops being counted at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.tools.relay.test_nats_fleet import nats_relay, nats_url  # noqa: F401 - the fixture
from tests.tunnel_harness import until
from tools.relay.herd import SimHub, herd_contexts
from tools.relay.server import Relay, RelaySettings


async def get(relay: Relay, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(
            relay.api_url + path, ssl=False) as response:
        return response.status, await response.json()


async def test_any_relay_lists_the_whole_fleet(relay_settings: RelaySettings,
                                               nats_url: str, tmp_path: Path) -> None:  # noqa: F811
    async with nats_relay(relay_settings, nats_url, "a") as a, \
            nats_relay(relay_settings, nats_url, "b") as b:
        ids = [f"seen-{n}" for n in range(6)]
        contexts = await asyncio.to_thread(herd_contexts, a.ca, ids, tmp_path / "herd")
        hubs = [SimHub(i, contexts[i], [(a if n < 2 else b).tunnel_url])
                for n, i in enumerate(ids)]
        tasks = [asyncio.create_task(h.run()) for h in hubs]
        try:
            await until(lambda: len(a.router.online()) == 2 and len(b.router.online()) == 4, 10.0)
            status, fleet = await get(a, "/api/v1/fleet/hubs?deadline_ms=300")
            assert status == 200
            assert fleet["online"] == {i: ("a" if n < 2 else "b") for n, i in enumerate(ids)}
            assert fleet["relays"]["b"]["tunnel"] == b.tunnel_url
            assert sorted(fleet["relays"]["b"]["hubs"]) == ids[2:]

            status, where = await get(a, "/api/v1/hubs/seen-5/presence")
            assert (status, where["online"], where["relay"]) == (200, True, "b")
            assert where["api"] == b.api_url
            started = time.perf_counter()
            status, where = await get(a, "/api/v1/hubs/nowhere/presence")
            assert (status, where) == (200, {"hub": "nowhere", "online": False})
            assert time.perf_counter() - started < 1.0  # no responders: at once

            # Relay b dies (its NATS connection and tunnels gone): it is no longer counted.
            await b.router.nc.close()  # type: ignore[attr-defined]
            for link in list(b.links):
                link.websocket.transport.abort()
            status, fleet = await get(a, "/api/v1/fleet/hubs?deadline_ms=300")
            assert set(fleet["relays"]) == {"a"} and set(fleet["online"]) <= set(ids)
            assert all(relay == "a" for relay in fleet["online"].values())
            status, _ = await get(a, "/api/v1/fleet/hubs?deadline_ms=0")
            assert status == 400
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_single_relay_answers_for_itself(relay: Relay) -> None:
    status, fleet = await get(relay, "/api/v1/fleet/hubs")
    assert status == 200 and fleet == {"relays": {"local": {
        "tunnel": relay.tunnel_url, "api": relay.api_url, "hubs": []}}, "online": {}}
    status, where = await get(relay, "/api/v1/hubs/x/presence")
    assert where == {"hub": "x", "online": False}
