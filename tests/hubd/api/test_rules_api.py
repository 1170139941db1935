"""Rules, traces, dry runs, scenes and modes through the API."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hubd.core.events import Report

import asyncio
from pathlib import Path

from tests.hubd.api.conftest import RunningHub, client_session, running_hub

YAML = {"Content-Type": "application/yaml"}

NEW_RULE = """
id: porch-at-night
name: Porch light with the door
triggers:
  - kind: state
    device: Front door
    attribute: is_open
    to: true
actions:
  - kind: command
    device: Porch light
    command: switch.on
"""

BROKEN_RULE = """
id: broken
triggers:
  - kind: state
    device: Front door
    attribute: is_open
    to: maybe
actions: []
"""


async def test_rules_list_get_create_replace_delete(hub: RunningHub) -> None:
    token = await hub.pair()
    status, body, _ = await hub.call("GET", "/rules", token)
    assert status == 200 and [r["id"] for r in body["rules"]] == ["door-light"]
    assert body["rules"][0]["origin"] == "file"
    status, body, _ = await hub.call("PUT", "/rules/porch-at-night", token, data=NEW_RULE,
                                     headers=YAML)
    assert status == 200, body
    assert body["id"] == "porch-at-night" and body["origin"] == "api" and body["is_enabled"]
    status, body, _ = await hub.call("GET", "/rules/porch-at-night", token)
    assert status == 200 and "Porch light" in body["text"]
    status, body, _ = await hub.call("GET", "/rules", token)
    assert {r["id"] for r in body["rules"]} == {"door-light", "porch-at-night"}
    # Replace from JSON.
    status, body, _ = await hub.call("PUT", "/rules/porch-at-night", token, json={
        "id": "porch-at-night", "name": "renamed", "triggers": [
            {"kind": "state", "device": "Front door", "attribute": "is_open", "to": True}],
        "actions": [{"kind": "command", "device": "Porch light", "command": "switch.off"}]})
    assert status == 200 and body["name"] == "renamed"
    status, body, _ = await hub.call("DELETE", "/rules/door-light", token)
    assert (status, body["code"]) == (409, "conflict")
    status, _, _ = await hub.call("DELETE", "/rules/porch-at-night", token)
    assert status == 204
    status, body, _ = await hub.call("GET", "/rules/porch-at-night", token)
    assert (status, body["code"]) == (404, "unknown_rule")


async def test_a_broken_rule_is_rejected_with_its_location(hub: RunningHub) -> None:
    token = await hub.pair()
    status, body, _ = await hub.call("POST", "/rules", token, data=BROKEN_RULE,
                                     headers={"Content-Type": "text/yaml"})
    assert status == 422 and body["code"] == "rule_invalid"
    assert body["errors"], body
    error = body["errors"][0]
    assert error["line"] >= 2 and error["field"]
    status, body, _ = await hub.call("PUT", "/rules/other", token, data=NEW_RULE,
                                     headers=YAML)
    assert status == 422 and "exactly the rule 'other'" in body["errors"][0]["message"]
    status, body, _ = await hub.call("GET", "/rules", token)
    assert [r["id"] for r in body["rules"]] == ["door-light"]


async def test_api_rules_survive_a_restart(tmp_path: Path) -> None:
    async with client_session() as session, running_hub(tmp_path, session) as hub:
        token = await hub.pair()
        status, body, _ = await hub.call("PUT", "/rules/porch-at-night", token, data=NEW_RULE,
                                         headers=YAML)
        assert status == 200, body
    async with client_session() as session, running_hub(tmp_path, session) as hub:
        status, body, _ = await hub.call("GET", "/rules", token)  # the token survived too
        assert status == 200
        assert {r["id"] for r in body["rules"]} == {"door-light", "porch-at-night"}


async def test_enable_disable_traces_and_dry_run(hub: RunningHub) -> None:
    token = await hub.pair()
    status, body, _ = await hub.call("POST", "/rules/door-light/disable", token)
    assert status == 200 and not body["is_enabled"]
    status, body, _ = await hub.call("POST", "/rules/door-light/enable", token)
    assert status == 200 and body["is_enabled"]
    status, body, _ = await hub.call("POST", "/rules/door-light/dry-run", token, json={
        "states": [{"device": "Front door", "attribute": "contact.is_open", "value": True}]})
    assert status == 200, body
    assert body["is_dry_run"] and body["outcome"] == "done"
    assert body["steps"][0]["status"] == "simulated"
    status, body, _ = await hub.call("POST", "/rules/door-light/dry-run", token, json={
        "states": [{"device": "Nobody", "attribute": "contact.is_open", "value": True}]})
    assert (status, body["code"]) == (422, "invalid_body")
    # A real run leaves a trace.
    hub.daemon.hub.report(_door_open())  # type: ignore[union-attr]
    async with asyncio.timeout(5):
        while True:
            status, body, _ = await hub.call("GET", "/rules/door-light/traces", token)
            if body["traces"] and body["traces"][-1]["outcome"] == "done":
                break
            await asyncio.sleep(0.02)
    assert body["traces"][-1]["steps"][0]["status"] == "confirmed"


def _door_open() -> Report:
    from hubd.core.events import Report
    from hubd.core.model import Context, Origin

    return Report("virtual:3", "contact.is_open", True, 0.0, Context.new(Origin.PHYSICAL))


async def test_scenes_and_modes(hub: RunningHub) -> None:
    token = await hub.pair("control")
    status, body, _ = await hub.call("GET", "/scenes", token)
    assert status == 200 and body["scenes"] == ["Evening"]
    status, body, _ = await hub.call("POST", "/scenes/evening/apply", token)
    assert status == 200 and len(body["results"]) == 2
    assert {r["status"] for r in body["results"]} == {"confirmed"}
    status, body, _ = await hub.call("POST", "/scenes/nope/apply", token)
    assert (status, body["code"]) == (404, "unknown_scene")
    status, body, _ = await hub.call("PUT", "/mode", token, json={"mode": "night"})
    assert status == 200 and body["mode"] == "night"
    status, body, _ = await hub.call("GET", "/mode", token)
    assert body["mode"] == "night"


DELAYED = """
id: porch-later
triggers:
  - {kind: state, device: Front door, attribute: is_open, to: true}
actions:
  - {kind: delay, duration: 1h}
  - {kind: command, device: Porch light, command: switch.on}
"""


async def until_running(hub: RunningHub, token: str, rule_id: str) -> None:
    """Wait until the rule has a run in progress."""
    async with asyncio.timeout(5):
        while True:
            _, body, _ = await hub.call("GET", f"/rules/{rule_id}", token)
            if body["is_running"]:
                return
            await asyncio.sleep(0.02)


async def test_replacing_one_rule_keeps_the_pending_runs_of_the_others(hub: RunningHub
                                                                        ) -> None:
    token = await hub.pair()
    status, _, _ = await hub.call("PUT", "/rules/porch-later", token, data=DELAYED,
                                  headers=YAML)
    assert status == 200
    hub.daemon.hub.report(_door_open())  # type: ignore[union-attr]
    await until_running(hub, token, "porch-later")
    status, _, _ = await hub.call("PUT", "/rules/porch-at-night", token, data=NEW_RULE,
                                  headers=YAML)
    assert status == 200
    _, body, _ = await hub.call("GET", "/rules/porch-later", token)
    assert body["is_running"], "the pending delay of porch-later was lost"


async def test_a_pending_delay_of_an_api_rule_survives_a_restart(tmp_path: Path) -> None:
    async with client_session() as session, running_hub(tmp_path, session) as hub:
        token = await hub.pair()
        status, body, _ = await hub.call("PUT", "/rules/porch-later", token, data=DELAYED,
                                         headers=YAML)
        assert status == 200, body
        assert hub.daemon.hub is not None
        hub.daemon.hub.report(_door_open())
        await until_running(hub, token, "porch-later")
    async with client_session() as session, running_hub(tmp_path, session) as hub:
        await until_running(hub, token, "porch-later")
