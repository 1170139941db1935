"""A herd on two relays sharing NATS: one relay drains and restarts; every hub comes back over
the other (spread out, no storm), no event is lost or stored twice, and commands keep reaching
hubs on the other relay."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path

import nats
import pytest

from tests.tools.relay.test_nats_fleet import nats_relay, nats_url  # noqa: F401 - the fixture
from tests.tunnel_harness import until
from tools.relay.fleet import CommandExpired, HubOffline
from tools.relay.herd import SimHub, herd_contexts
from tools.relay.server import Relay, RelaySettings

HUBS = 60
EVENTS = 5  # per hub, before and again after the restart


async def stream_count(url: str) -> int:
    nc = await nats.connect(url)
    try:
        return int((await nc.jetstream().stream_info("HUB_EVENTS")).state.messages)
    finally:
        await nc.close()


def kill(relay: Relay) -> None:
    """Die as SIGKILL would: every socket reset, nothing said (NATS notices the rest)."""
    for link in list(relay.links):
        link.websocket.transport.abort()


@pytest.mark.parametrize("how", ["drain", "kill"])
async def test_a_relay_restart_under_a_herd(relay_settings: RelaySettings, nats_url: str,  # noqa: F811
                                            tmp_path: Path, how: str) -> None:
    settings_a = dataclasses.replace(relay_settings, drain_spread_s=1.0)
    async with nats_relay(settings_a, nats_url, "a") as a, \
            nats_relay(relay_settings, nats_url, "b") as b:
        ids = [f"herd-{n:03d}" for n in range(HUBS)]
        contexts = await asyncio.to_thread(herd_contexts, a.ca, ids, tmp_path / "herd")
        hubs = [SimHub(i, contexts[i], [a.tunnel_url, b.tunnel_url], backoff_min_s=0.05,
                       backoff_max_s=0.5, stable_after_s=1.0) for i in ids]
        tasks = [asyncio.create_task(h.run()) for h in hubs]
        try:
            async with asyncio.timeout(45):  # patient: a loaded machine runs 60 hubs slowly
                await until(lambda: len(a.router.online()) + len(b.router.online()) == HUBS, 15.0)
                for hub in hubs:
                    for n in range(EVENTS):
                        hub.emit({"type": "button", "button": str(n)})
                await until(lambda: not any(h.outbox for h in hubs), 15.0)
                on_a = a.router.online()
                assert on_a and len(on_a) < HUBS  # spread over both
                if how == "drain":
                    await a.drain()  # SIGTERM: every hub told to come back within 1 s
                    await a.stop()
                for hub in hubs:
                    for n in range(EVENTS, 2 * EVENTS):
                        hub.emit({"type": "button", "button": str(n)})
                if how == "kill":  # mid-traffic: some of these stored and acked, some not
                    await asyncio.sleep(0.01)
                    kill(a)
                    await a.stop()
                # Commands through relay b keep reaching hubs that sit on relay b meanwhile.
                ok = 0
                for hub in [h for h in hubs if h.relay_url == b.tunnel_url][:10]:
                    with contextlib.suppress(HubOffline, CommandExpired):  # it moved just now
                        await b.router.request(hub.hub_id, {"device": "x", "capability":
                                                            "switch", "name": "on"}, 3.0)
                        ok += 1
                await a.start()  # the relay comes back on its ports
                await until(lambda: len(a.router.online()) + len(b.router.online()) == HUBS
                            and not any(h.outbox for h in hubs), 15.0, "every hub back")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        assert ok >= 1
        assert await stream_count(nats_url) == HUBS * 2 * EVENTS  # all in, none twice
        moved = [h for h in hubs if h.back_after_s]
        assert moved and all(h.connects >= 2 for h in moved)
        # No storm: a drained hub waits its retry_after (spread over 1 s), then a jittered backoff.
        # A killed relay refuses at once while it is down and a hub alternates relays, so each
        # of its retries there counts too (a storm would be hundreds per hub).
        assert sum(h.attempts for h in hubs) < HUBS * (6 if how == "drain" else 12)
