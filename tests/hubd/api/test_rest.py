"""The REST API against a real daemon: pairing, auth, devices, commands, rules, problems."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.hubd.api.conftest import RunningHub, client_session, running_hub


async def test_info_is_open_and_shows_the_pin(hub: RunningHub) -> None:
    status, body, _ = await hub.call("GET", "/info")
    assert status == 200
    assert body["id"].startswith("hub-") and body["api_version"] == "1"
    assert len(body["pin_sha256"]) == 64


async def test_unpaired_calls_get_401_problem_json(hub: RunningHub) -> None:
    status, body, resp = await hub.call("GET", "/devices")
    assert status == 401
    assert resp.content_type == "application/problem+json"
    assert body["code"] == "unauthorized" and body["status"] == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_token_in_the_url_is_refused(hub: RunningHub) -> None:
    token = await hub.pair()
    status, body, _ = await hub.call("GET", f"/devices?access_token={token}")
    assert (status, body["code"]) == (400, "token_in_url")
    status, body, _ = await hub.call("GET", f"/devices?x={token}", token)
    assert (status, body["code"]) == (400, "token_in_url")


async def test_pairing_outside_the_window_fails_and_the_button_opens_it(hub: RunningHub
                                                                         ) -> None:
    status, body, _ = await hub.call("POST", "/pair", json={"client": "phone"})
    assert (status, body["code"]) == (403, "pairing_closed")
    from hubd.api.button import press

    await asyncio.to_thread(press, hub.state_dir / "api")
    async with asyncio.timeout(5):
        while True:
            _, info, _ = await hub.call("GET", "/info")
            if info["pairing"]["is_open"]:
                break
            await asyncio.sleep(0.01)
    status, body, _ = await hub.call("POST", "/pair", json={"client": "phone", "scope": "read"})
    assert status == 201 and body["scope"] == "read" and body["token"].startswith("hubd_")
    # One pairing per press: the window closed behind it.
    status, body, _ = await hub.call("POST", "/pair", json={"client": "phone2"})
    assert (status, body["code"]) == (403, "pairing_closed")


async def test_five_wrong_codes_lock_pairing(hub: RunningHub) -> None:
    for _ in range(5):
        status, body, _ = await hub.call("POST", "/pair", json={"client": "x", "code": "0"})
        assert (status, body["code"]) == (403, "bad_setup_code")
    status, body, resp = await hub.call("POST", "/pair", json={
        "client": "x", "code": hub.setup_code})
    assert (status, body["code"]) == (423, "pairing_locked")
    assert int(resp.headers["Retry-After"]) > 0


async def test_scopes_tokens_listed_and_revoked(hub: RunningHub) -> None:
    admin = await hub.pair("admin", "laptop")
    reader = await hub.pair("read", "wall tablet")
    status, body, _ = await hub.call("POST", "/devices/Hall light/commands", reader,
                                     json={"command": "switch.on"})
    assert (status, body["code"]) == (403, "insufficient_scope")
    status, body, _ = await hub.call("GET", "/tokens", admin)
    assert status == 200
    by_client = {t["client"]: t for t in body["tokens"]}
    assert set(by_client) == {"laptop", "wall tablet"}
    assert all("token" not in t and "hash" not in t for t in body["tokens"])
    status, _, _ = await hub.call("DELETE", f"/tokens/{by_client['wall tablet']['id']}", admin)
    assert status == 204
    status, body, _ = await hub.call("GET", "/devices", reader)
    assert (status, body["code"]) == (401, "unauthorized")


async def test_devices_list_get_rename_room_remove(hub: RunningHub) -> None:
    token = await hub.pair()
    status, body, _ = await hub.call("GET", "/devices", token)
    assert status == 200
    names = {d["name"]: d for d in body["devices"]}
    assert {"Hall light", "Porch light", "Front door"} <= set(names)
    status, body, _ = await hub.call("GET", "/devices/hall light", token)
    assert status == 200 and body["id"] == "virtual:1" and "state" in body
    status, body, _ = await hub.call("PATCH", "/devices/virtual:1", token,
                                     json={"name": "Entry light", "room": "Entry"})
    assert status == 200 and (body["name"], body["room"]) == ("Entry light", "Entry")
    status, body, _ = await hub.call("PATCH", "/devices/virtual:2", token,
                                     json={"name": "Entry light"})
    assert (status, body["code"]) == (409, "conflict")
    status, _, _ = await hub.call("DELETE", "/devices/virtual:2", token)
    assert status == 204
    status, body, _ = await hub.call("GET", "/devices/virtual:2", token)
    assert (status, body["code"]) == (404, "unknown_device")


async def test_a_command_answers_its_result_with_status_and_latency(hub: RunningHub) -> None:
    token = await hub.pair("control")
    status, body, _ = await hub.call("POST", "/devices/Hall light/commands", token,
                                     json={"command": "level.set", "args": {"level_pct": 40}})
    assert status == 200, body
    assert body["status"] == "confirmed" and body["latency_s"] > 0
    assert body["context"]["origin"] == "api:test"
    status, body, _ = await hub.call("GET", "/devices/virtual:1", token)
    assert body["state"]["level.level_pct"] == 40
    status, body, _ = await hub.call("POST", "/devices/Front door/commands", token,
                                     json={"command": "switch.on"})
    assert (status, body["code"]) == (422, "invalid_command")
    status, body, _ = await hub.call("POST", "/devices/Hall light/commands", token,
                                     json={"command": "level.set", "args": {"level_pct": 400}})
    assert (status, body["code"]) == (422, "invalid_command")


async def test_bad_bodies_get_clear_problems(hub: RunningHub) -> None:
    token = await hub.pair()
    path = "/devices/Hall light/commands"
    status, body, _ = await hub.call("POST", path, token, data=b"{not json",
                                     headers={"Content-Type": "application/json"})
    assert (status, body["code"]) == (400, "invalid_json")
    status, body, _ = await hub.call("POST", path, token, json={"command": 5})
    assert (status, body["code"]) == (422, "invalid_body")
    assert "command" in body["detail"]
    status, body, _ = await hub.call("POST", path, token, data=b"x" * 100_000,
                                     headers={"Content-Type": "application/json"})
    assert (status, body["code"]) == (413, "body_too_large")
    status, body, _ = await hub.call("GET", "/nothing/here", token)
    assert (status, body["code"]) == (404, "not_found")
    status, body, _ = await hub.call("PUT", "/devices", token)
    assert (status, body["code"]) == (405, "method_not_allowed")
    # ...and the hub still answers.
    status, _, _ = await hub.call("GET", "/health", token)
    assert status == 200


async def test_permit_join_per_radio(hub: RunningHub) -> None:
    token = await hub.pair()
    status, body, _ = await hub.call("POST", "/radios/virtual/join", token,
                                     json={"duration_s": 30})
    assert status == 202 and body == {"radio": "virtual", "duration_s": 30}
    status, body, _ = await hub.call("POST", "/radios/zwave/join", token,
                                     json={"duration_s": 30})
    assert (status, body["code"]) == (404, "unknown_radio")


async def test_health_names_radios_and_versions(hub: RunningHub) -> None:
    token = await hub.pair("read")
    status, body, _ = await hub.call("GET", "/health", token)
    assert status == 200
    assert body["radios"][0]["radio"] == "virtual" and body["radios"][0]["status"] == "ok"
    assert set(body["versions"]) >= {"hubd", "api", "python"}


async def test_a_client_over_its_rate_gets_429_with_retry_after(tmp_path: Path) -> None:
    async with client_session() as session, running_hub(tmp_path, session, rate=0.5,
                                                          burst=3) as hub:
        statuses = []
        for _ in range(5):
            async with session.get(f"{hub.url}/api/v1/info") as resp:
                statuses.append(resp.status)
                if resp.status == 429:
                    body = await resp.json(content_type=None)
                    retry_after = int(resp.headers["Retry-After"])
        assert statuses == [200, 200, 200, 429, 429]
        assert body["code"] == "rate_limited" and 1 <= retry_after <= 2
