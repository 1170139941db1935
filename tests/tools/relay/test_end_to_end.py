"""A provisioned hub's daemon and the relay on loopback: commands down, events up, state."""

from __future__ import annotations

from pathlib import Path

from hubd.core.model import Capability
from tests.tunnel_harness import api, hub_config, provision_hub, running_hub, until
from tools.relay.server import Relay


async def test_command_from_the_app_runs_on_the_hub_and_events_come_back(
        relay: Relay, tmp_path: Path) -> None:
    endpoint = await provision_hub(relay, tmp_path / "state", "hub-e2e")
    assert endpoint.hub_id == "hub-e2e" and endpoint.url == relay.tunnel_url
    async with running_hub(hub_config(tmp_path / "state")) as hub:
        await until(lambda: relay.router.online() == ["hub-e2e"], what="the hub online")
        status, result = await api(relay, "POST", "/api/v1/hubs/hub-e2e/commands", {
            "device": "virtual:1", "capability": "level", "name": "set",
            "args": {"level_pct": 40.0}, "deadline_ms": 2000})
        assert status == 200, result
        assert result["status"] == "confirmed" and result["round_trip_ms"] > 0
        [sent] = hub.virtual.sent
        assert sent.capability is Capability.LEVEL and sent.context.origin == "cloud"
        # The state change the command caused comes up as an event and lands in the state.
        record = relay.events.hubs["hub-e2e"]
        await until(lambda: record.values.get(("virtual:1", "level.level_pct")) == 40.0,
                    what="the new level at the relay")
        hub.virtual.physical_press("5")
        await until(lambda: record.events >= 1 and record.duplicates == 0)
        status, state = await api(relay, "GET", "/api/v1/hubs/hub-e2e/state")
        assert status == 200 and state["values"]["virtual:1"]["level.level_pct"] == 40.0
        assert {d["id"] for d in state["devices"]} == {"virtual:1", "virtual:3", "virtual:5"}


async def test_a_hub_without_a_tunnel_is_offline_at_once(relay: Relay) -> None:
    status, problem = await api(relay, "POST", "/api/v1/hubs/nobody/commands", {
        "device": "virtual:1", "capability": "switch", "name": "on"})
    assert status == 503 and problem["title"] == "Hub offline"
