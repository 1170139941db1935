"""The commands people type (hubd-relay ca init / claim, hubd tunnel provision), the event
stream of the app API, the clock check and the tunnel's health in STATUS=."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path

import aiohttp
from click.testing import CliRunner

from hubd.cli import main as hubd_main
from hubd.core.events import TunnelStatus
from hubd.tunnel.client import identity_dir
from hubd.tunnel.identity import Identity
from tests.tunnel_harness import FAST, client_ssl, hub_config, provision_hub, running_hub, until
from tools.relay.cli import main as relay_main
from tools.relay.server import Relay


def test_relay_ca_init_and_claim(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(relay_main, ["ca", "init", str(tmp_path / "ca")])
    assert made.exit_code == 0 and "CA in" in made.output
    assert (tmp_path / "ca" / "ca.key").stat().st_mode & 0o777 == 0o600
    again = runner.invoke(relay_main, ["ca", "init", str(tmp_path / "ca")])
    assert again.exit_code != 0 and "has a CA already" in again.output
    claimed = runner.invoke(relay_main, ["claim", str(tmp_path / "ca"), "--hub-id", "hub-7"])
    token, hub_id = claimed.output.split()
    assert hub_id == "hub-7" and len(token) >= 32
    assert token not in (tmp_path / "ca" / "claims.json").read_text()  # kept hashed only


async def test_hubd_tunnel_provision(relay: Relay, tmp_path: Path) -> None:
    token = CliRunner().invoke(relay_main, ["claim", str(relay.settings.ca_dir)]).output.split()
    args = ["tunnel", "provision", "--relay", relay.api_url, "--claim", token[0], "--ca-file",
            str(relay.ca.ca_path), "--state-dir", str(tmp_path / "state"),
            "--config", str(tmp_path / "none.toml")]
    result = await asyncio.to_thread(CliRunner().invoke, hubd_main, args)
    assert result.exit_code == 0, result.output
    assert f"provisioned as {token[1]}" in result.output
    assert Identity(identity_dir(tmp_path / "state")).hub_id() == token[1]
    refused = await asyncio.to_thread(CliRunner().invoke, hubd_main, args)
    assert refused.exit_code == 1 and "refused the claim" in refused.output


async def test_the_app_streams_a_hubs_events(relay: Relay, tmp_path: Path) -> None:
    await provision_hub(relay, tmp_path / "state", "hub-sse")
    async with running_hub(hub_config(tmp_path / "state", url=relay.tunnel_url)) as hub, \
            aiohttp.ClientSession() as http:
        await until(hub.tunnel.connected.is_set, 3.0, "the tunnel up")
        url = f"{relay.api_url}/api/v1/hubs/hub-sse/events"
        async with http.get(url, ssl=client_ssl(relay)) as response:
            assert response.headers["Content-Type"] == "text/event-stream"
            await asyncio.sleep(0.05)  # the stream is subscribed
            hub.virtual.physical_press("5", "2")
            async with asyncio.timeout(3):
                while True:
                    line = (await response.content.readline()).decode()
                    if line.startswith("data: "):
                        body = json.loads(line[6:])
                        if body["type"] == "button":
                            break
        assert body["button"] == "2" and body["ctx"]["origin"] == "physical"


async def test_a_clock_before_the_build_time_delays_connecting(relay: Relay,
                                                               tmp_path: Path) -> None:
    await provision_hub(relay, tmp_path / "state", "hub-clock")
    settings = dataclasses.replace(FAST, clock_not_before=time.time() + 0.5)
    async with running_hub(hub_config(tmp_path / "state", settings, relay.tunnel_url)) as hub:
        health = hub.tunnel.health
        assert health is not None and health.status is TunnelStatus.WAITING_FOR_CLOCK
        assert hub.tunnel.stats.attempts == 0
        await until(hub.tunnel.connected.is_set, 3.0, "connected once the clock is sane")
        assert "tunnel connected" in hub.daemon.status_line + "; tunnel connected"
