"""Updates through the tunnel with the real relay: the app offers a bundle URL, the hub fetches
it (size cap, deadline), installs it on file slots and reports its progress up the tunnel; the
app reboots it (a fake reboot: the OS edge). A tampered bundle fails and changes nothing; one
install at a time."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from hubd.ota.bootenv import BootPlan, choose_slot
from hubd.ota.settings import UpdateSettings
from tests.hubd.ota.conftest import Slots, slot_version
from tests.loopback_http import serving
from tests.tunnel_harness import RunningHub, api, hub_config, provision_hub, running_hub, until
from tools.relay.server import Relay


@dataclasses.dataclass
class Mirror:
    """An HTTP server on loopback holding bundles, as a release's object store would."""

    url: str
    files: dict[str, bytes]
    hold: asyncio.Event  # a path under /slow/ waits for this mid-transfer


@pytest.fixture
async def mirror() -> AsyncIterator[Mirror]:
    files: dict[str, bytes] = {}
    hold = asyncio.Event()

    async def serve(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in files:
            raise web.HTTPNotFound()
        data = files[name]
        response = web.StreamResponse(headers={"Content-Length": str(len(data))})
        await response.prepare(request)
        await response.write(data[:1000])
        if name.startswith("slow"):
            await hold.wait()
        await response.write(data[1000:])
        return response

    app = web.Application()
    app.router.add_get("/{name}", serve)
    async with serving(app) as url:
        try:
            yield Mirror(url, files, hold)
        finally:
            hold.set()


@dataclasses.dataclass
class Setup:
    hub: RunningHub
    slots: Slots
    hub_id: str


@pytest.fixture
async def setup(relay: Relay, tmp_path: Path) -> AsyncIterator[Setup]:
    slots = Slots(tmp_path / "hw")
    await provision_hub(relay, tmp_path / "state", "hub-upd")
    config = dataclasses.replace(
        hub_config(tmp_path / "state"),
        update=UpdateSettings(config=tmp_path / "hw/update.toml", download_timeout_s=10.0,
                              is_http_allowed=True))
    async with running_hub(config, reboot=slots.reboot) as hub:
        await until(lambda: relay.router.online() == ["hub-upd"], what="the hub online")
        yield Setup(hub, slots, "hub-upd")


def progress(relay: Relay, hub_id: str) -> list[dict[str, Any]]:
    """The update events the relay received from the hub, in order."""
    return [dict(body) for _, body in relay.events.hubs[hub_id].recent
            if body.get("type") == "update"]


def last_phase(relay: Relay, hub_id: str) -> str:
    record = relay.events.hubs.get(hub_id)
    return str(record.update["phase"]) if record is not None and record.update else ""


async def test_offer_fetch_progress_commit_and_reboot(relay: Relay, setup: Setup,
                                                      mirror: Mirror) -> None:
    mirror.files["hubd-1.1.bundle"] = bundle = setup.slots.bundle("1.1")
    status, answer = await api(relay, "POST", "/api/v1/hubs/hub-upd/update", {
        "url": f"{mirror.url}/hubd-1.1.bundle", "size_bytes": len(bundle)})
    assert status == 202, answer
    assert answer["status"] == "accepted" and answer["update"]["is_busy"]
    await until(lambda: last_phase(relay, "hub-upd") in ("committed", "failed"), 10.0,
                "the install to end")
    seen = progress(relay, "hub-upd")
    assert seen[-1]["phase"] == "committed", seen[-1]
    phases = [p["phase"] for p in seen]
    # Coalesced in the outbox when the tunnel lags: never out of order, always ending committed.
    order = ["receiving", "verifying", "writing", "hashing", "committed"]
    assert [order.index(p) for p in phases] == sorted(order.index(p) for p in phases)
    assert seen[-1]["version"] == "1.1" and seen[-1]["ctx"]["origin"] == "cloud"
    assert slot_version(setup.slots.root / "slot-b") == "1.1"
    status, state = await api(relay, "GET", "/api/v1/hubs/hub-upd/update")
    assert status == 200 and state["online"]
    assert state["update"]["phase"] == "committed" and state["update"]["version"] == "1.1"
    assert state["last_progress"]["phase"] == "committed"
    assert setup.slots.reboots == []
    status, answer = await api(relay, "POST", "/api/v1/hubs/hub-upd/update/reboot", {})
    assert status == 202 and answer["update"]["phase"] == "rebooting"
    assert setup.slots.reboots == ["reboot"]
    assert choose_slot(setup.slots.env) == "B"


async def test_a_tampered_download_fails_and_changes_nothing(relay: Relay, setup: Setup,
                                                            mirror: Mirror) -> None:
    bundle = bytearray(setup.slots.bundle("1.1"))
    bundle[-10] ^= 0xFF
    mirror.files["tampered.bundle"] = bytes(bundle)
    before = setup.slots.files()
    status, _ = await api(relay, "POST", "/api/v1/hubs/hub-upd/update",
                          {"url": f"{mirror.url}/tampered.bundle"})
    assert status == 202
    await until(lambda: last_phase(relay, "hub-upd") == "failed", 10.0, "the refusal")
    record = relay.events.hubs["hub-upd"].update
    assert record is not None and "tampered" in record["reason"]
    assert setup.slots.files() == before
    assert BootPlan.read(setup.slots.env).order == ("A", "B")
    status, problem = await api(relay, "POST", "/api/v1/hubs/hub-upd/update/reboot", {})
    assert status == 409 and "no committed update" in problem["detail"]
    assert setup.slots.reboots == []
    # A missing file is a failed download, reported the same way.
    status, _ = await api(relay, "POST", "/api/v1/hubs/hub-upd/update",
                          {"url": f"{mirror.url}/nothing.bundle"})
    assert status == 202
    await until(lambda: "HTTP 404" in str((relay.events.hubs["hub-upd"].update or {}).get(
        "reason")), 10.0, "the 404 reported")
    assert setup.slots.files() == before


async def test_one_install_at_a_time_and_refused_offers(relay: Relay, setup: Setup,
                                                        mirror: Mirror) -> None:
    mirror.files["slow.bundle"] = setup.slots.bundle("1.1")
    status, _ = await api(relay, "POST", "/api/v1/hubs/hub-upd/update",
                          {"url": f"{mirror.url}/slow.bundle"})
    assert status == 202
    await until(lambda: last_phase(relay, "hub-upd") == "receiving", 10.0, "the download")
    status, problem = await api(relay, "POST", "/api/v1/hubs/hub-upd/update",
                                {"url": f"{mirror.url}/slow.bundle"})
    assert status == 409 and problem["code"] == "busy"
    mirror.hold.set()
    await until(lambda: last_phase(relay, "hub-upd") == "committed", 10.0, "the install")
    status, problem = await api(relay, "POST", "/api/v1/hubs/hub-upd/update",
                                {"url": "ftp://example.invalid/x.bundle"})
    assert status == 422 and "must be" in problem["detail"]
    status, problem = await api(relay, "POST", "/api/v1/hubs/hub-upd/update", {"url": 5})
    assert status == 400
    status, problem = await api(relay, "POST", "/api/v1/hubs/nobody/update",
                                {"url": f"{mirror.url}/slow.bundle"})
    assert status == 503
