"""Faults between hub and relay, each healed within its bound: nothing lost, nothing twice.

Each test runs the real daemon (virtual radio) and the real relay over mutual TLS on loopback,
through a TCP proxy that injects the fault; the tunnel's timers are shrunk by configuration.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.tools.relay.proxy import FaultProxy, Mode
from tests.tunnel_harness import (
    FAST,
    RunningHub,
    api,
    hub_config,
    provision_hub,
    running_hub,
    until,
)
from tools.relay.server import Relay, RelaySettings

HUB = "hub-faults"


@pytest.fixture
async def proxy(relay: Relay) -> AsyncIterator[FaultProxy]:
    running = FaultProxy(relay.tunnel_port)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def presses(relay: Relay) -> list[str]:
    """The buttons the relay stored, in order (each press names a unique button)."""
    record = relay.events.hubs.get(HUB)
    if record is None:
        return []
    return [str(body["button"]) for _, body in record.recent if body.get("type") == "button"]


async def press_all(hub: RunningHub, names: range, pause_s: float = 0.0) -> None:
    for n in names:
        hub.virtual.physical_press("5", button=str(n))
        if pause_s:
            await asyncio.sleep(pause_s)


async def online(relay: Relay, hub: RunningHub, timeout_s: float = 5.0) -> None:
    await until(lambda: relay.router.online() == [HUB] and hub.tunnel.connected.is_set(),
                timeout_s, "the tunnel up")


async def delivered(relay: Relay, count: int, timeout_s: float = 5.0) -> None:
    await until(lambda: len(presses(relay)) >= count, timeout_s, f"{count} presses delivered")
    await asyncio.sleep(0.05)  # anything extra (a duplicate) would show up now
    got = presses(relay)
    assert got == [str(n) for n in range(count)], got


async def test_blackhole_then_heal(relay: Relay, proxy: FaultProxy, tmp_path: Path) -> None:
    await provision_hub(relay, tmp_path / "state", HUB)
    async with running_hub(hub_config(tmp_path / "state", url=proxy.url)) as hub:
        await online(relay, hub)
        await press_all(hub, range(5))
        await delivered(relay, 5)
        proxy.mode = Mode.BLACKHOLE
        await press_all(hub, range(5, 10))
        # Keepalive (ping 0.3 s, timeout 0.3 s) notices the dead link.
        await until(lambda: not hub.tunnel.connected.is_set(), 3.0, "the dead link noticed")
        proxy.mode = Mode.PASS
        await press_all(hub, range(10, 15))
        await online(relay, hub, 3.0)
        await delivered(relay, 15)


async def test_reset_and_cut_mid_frame_heal(relay: Relay, proxy: FaultProxy,
                                            tmp_path: Path) -> None:
    await provision_hub(relay, tmp_path / "state", HUB)
    async with running_hub(hub_config(tmp_path / "state", url=proxy.url)) as hub:
        await online(relay, hub)
        await press_all(hub, range(3))
        proxy.reset_all()
        await press_all(hub, range(3, 6))
        await online(relay, hub, 3.0)
        await delivered(relay, 6)
        connects = hub.tunnel.stats.connects
        proxy.cut_mid_frame()  # the relay's next message (an ack) arrives half, then nothing
        await press_all(hub, range(6, 9))
        await until(lambda: hub.tunnel.stats.connects > connects, 3.0, "a new connection")
        await online(relay, hub, 3.0)
        await delivered(relay, 9)
        assert relay.events.hubs[HUB].duplicates >= 0  # dedupe absorbed any resend


async def test_delay_and_throttle_still_deliver_and_run_commands(
        relay: Relay, proxy: FaultProxy, tmp_path: Path) -> None:
    await provision_hub(relay, tmp_path / "state", HUB)
    async with running_hub(hub_config(tmp_path / "state", url=proxy.url)) as hub:
        await online(relay, hub)
        proxy.delay_s, proxy.throttle_bytes_per_s = 0.02, 200_000
        await press_all(hub, range(20))
        status, result = await api(relay, "POST", f"/api/v1/hubs/{HUB}/commands", {
            "device": "virtual:1", "capability": "switch", "name": "on", "deadline_ms": 2000})
        assert status == 200 and result["status"] == "confirmed"
        await delivered(relay, 20)


async def test_a_command_past_its_deadline_is_expired_and_never_run(
        relay: Relay, proxy: FaultProxy, tmp_path: Path) -> None:
    await provision_hub(relay, tmp_path / "state", HUB)
    async with running_hub(hub_config(tmp_path / "state", url=proxy.url)) as hub:
        await online(relay, hub)
        proxy.delay_s = 0.1  # the command reaches the hub 100 ms after it was sent
        status, result = await api(relay, "POST", f"/api/v1/hubs/{HUB}/commands", {
            "device": "virtual:1", "capability": "switch", "name": "on", "deadline_ms": 30})
        assert status == 504 and result["status"] == "expired"
        await asyncio.sleep(0.3)
        assert hub.virtual.sent == []  # the hub got it late and answered expired


async def test_relay_restart_heals_and_loses_nothing(relay_settings: RelaySettings,
                                                     tmp_path: Path) -> None:
    first = Relay(relay_settings)
    await first.start()
    settings = dataclasses.replace(relay_settings, tunnel_port=first.tunnel_port,
                                   api_port=first.api_port)
    second = Relay(settings, first.router, first.events)  # what survives: the shared state
    try:
        await provision_hub(first, tmp_path / "state", HUB)
        async with running_hub(hub_config(tmp_path / "state")) as hub:
            await online(first, hub)
            await press_all(hub, range(5))
            await first.stop()
            await press_all(hub, range(5, 10))
            await asyncio.sleep(0.2)
            await second.start()
            await online(second, hub, 3.0)
            await delivered(second, 10)
    finally:
        await first.stop()
        await second.stop()


async def test_accept_then_close_never_storms(relay: Relay, proxy: FaultProxy,
                                              tmp_path: Path) -> None:
    await provision_hub(relay, tmp_path / "state", HUB)
    # The real policy (1-120 s, stable after 30 s) scaled down 20 times: 3 s stand for a minute.
    scaled = dataclasses.replace(FAST, backoff_min_s=0.05, backoff_max_s=6.0, stable_after_s=1.5)
    proxy.mode = Mode.ACCEPT_THEN_CLOSE
    async with running_hub(hub_config(tmp_path / "state", scaled, proxy.url)) as hub:
        await asyncio.sleep(3.0)
        attempts = proxy.accepted
        assert 3 <= attempts <= 10, attempts  # ~7 expected a "minute"; websockets' own: 5,585/3 s
        proxy.mode = Mode.PASS
        await online(relay, hub, 8.0)
