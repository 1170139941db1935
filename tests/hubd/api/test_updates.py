"""Updates through the LAN API against a real daemon: file slots, a file boot env, a fake
reboot (the OS edge). Upload, progress on the WebSocket, commit, reboot; refusals change
nothing; one install at a time."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.asyncio.client import connect

from hubd.core.events import UpdatePhase, UpdateProgress
from hubd.ota.bootenv import BootPlan, choose_slot
from tests.hubd.api.conftest import (
    RunningHub,
    client_session,
    client_ssl,
    running_hub,
    start_hub,
    stop_hub,
)
from tests.hubd.api.test_ws import receive, ws_url
from tests.hubd.ota.conftest import (
    SLOT_BYTES,
    HelperServer,
    Slots,
    bundle_bytes,
    image,
    slot_version,
)


@pytest.fixture(params=["in-process", "helper"])
async def updating(request: pytest.FixtureRequest, tmp_path: Path
                   ) -> AsyncIterator[tuple[RunningHub, Slots]]:
    """A hub whose updates are installed by hubd itself, or by the root helper (the hub OS)."""
    slots = Slots(tmp_path / "hw")
    with contextlib.ExitStack() as stack:
        helper = None
        if request.param == "helper":
            # The helper reboots (hubd may not): it records into slots.reboots too.
            helper = HelperServer(slots.root / "update.toml", slots.reboots)
            stack.callback(helper.close)
        async with client_session() as session, running_hub(
                tmp_path, session, extra_toml=slots.toml(helper.path if helper else None),
                reboot=None if helper else slots.reboot) as hub:
            yield hub, slots
        if helper is not None:
            assert helper.served > 0, "the helper installed nothing"


OCTETS = {"Content-Type": "application/octet-stream"}


async def test_upload_progress_commit_and_reboot(updating: tuple[RunningHub, Slots]) -> None:
    hub, slots = updating
    token = await hub.pair("admin")
    status, body, _ = await hub.call("GET", "/update", token)
    assert status == 200 and body["running_version"] == "1" and body["booted_slot"] == "A"
    assert body["phase"] == "idle" and body["max_bundle_bytes"] > SLOT_BYTES
    async with connect(ws_url(hub), ssl=client_ssl(),
                       additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.send(json.dumps({"id": 1, "type": "subscribe"}))
        await receive(ws, "result")
        status, body, _ = await hub.call("POST", "/update/bundle", token, headers=OCTETS,
                                         data=slots.bundle("1.1"))
        assert status == 202, body
        assert body["version"] == "1.1" and body["phase"] in ("writing", "hashing", "committed")
        phases: list[dict[str, Any]] = []
        while not phases or phases[-1]["phase"] != "committed":
            event = (await receive(ws, "event"))["event"]
            if event["event"] == "update_progress":
                phases.append(event)
    order = [p["phase"] for p in phases]
    assert [p for i, p in enumerate(order) if i == 0 or order[i - 1] != p] == [
        "receiving", "verifying", "writing", "hashing", "committed"]
    writes = [(p["done_bytes"], p["total_bytes"]) for p in phases if p["phase"] == "writing"]
    assert writes[-1] == (100_000, 100_000) and writes == sorted(writes)
    assert all(p["context"]["origin"] == "api:test" for p in phases)
    assert slot_version(slots.root / "slot-b") == "1.1"
    assert BootPlan.read(slots.env).order == ("B", "A")
    status, body, _ = await hub.call("GET", "/update", token)
    assert body["phase"] == "committed" and not body["is_busy"]
    assert not (slots.root / "data/update/incoming.bundle").exists()
    assert slots.reboots == []
    status, body, _ = await hub.call("POST", "/update/reboot", token)
    assert status == 202 and body["phase"] == "rebooting"
    assert slots.reboots == ["reboot"]
    assert choose_slot(slots.env) == "B", "the bootloader now starts the new slot"


@pytest.mark.parametrize("case", ["tampered", "bad_signature", "other_board", "older"])
async def test_a_refused_bundle_gets_the_reason_and_changes_nothing(
        updating: tuple[RunningHub, Slots], case: str) -> None:
    hub, slots = updating
    token = await hub.pair("admin")
    bundle = bytearray(slots.bundle("1.1"))
    if case == "tampered":
        bundle[-10] ^= 0xFF
    elif case == "bad_signature":
        bundle = bytearray(bundle_bytes(image("1.1"), "1.1", [Ed25519PrivateKey.generate()]))
    elif case == "other_board":
        bundle = bytearray(slots.bundle("1.1", board="hub-other"))
    else:
        bundle = bytearray(slots.bundle("0.8"))
    before = slots.files()
    status, problem, response = await hub.call("POST", "/update/bundle", token, headers=OCTETS,
                                               data=bytes(bundle))
    assert status == 422 and problem["code"] == "update_rejected"
    assert response.content_type == "application/problem+json"
    reason = {"tampered": "tampered", "bad_signature": "no valid signature",
              "other_board": "board", "older": "older"}[case]
    assert reason in problem["reason"]
    assert slots.files() == before
    status, body, _ = await hub.call("GET", "/update", token)
    assert body["phase"] == "failed" and reason in body["reason"] and not body["is_busy"]
    status, problem, _ = await hub.call("POST", "/update/reboot", token)
    assert status == 409 and slots.reboots == []


async def test_one_install_at_a_time_and_admins_only(updating: tuple[RunningHub, Slots]) -> None:
    hub, slots = updating
    token = await hub.pair("admin")
    bundle = slots.bundle("1.1")
    release = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield bundle[:1000]
        await release.wait()  # the first upload stays in "receiving" until the test says
        yield bundle[1000:]

    receiving = asyncio.Event()

    def on_progress(progress: UpdateProgress) -> None:
        if progress.phase is UpdatePhase.RECEIVING:
            receiving.set()

    assert hub.daemon.hub is not None
    hub.daemon.hub.bus.subscribe((UpdateProgress,), on_progress, name="test", inline=True)
    first = asyncio.create_task(hub.call("POST", "/update/bundle", token, headers=OCTETS,
                                         data=slow_body()))
    async with asyncio.timeout(5):
        await receiving.wait()
    status, problem, _ = await hub.call("POST", "/update/bundle", token, headers=OCTETS,
                                        data=slots.bundle("1.2"))
    assert status == 409 and problem["code"] == "update_busy"
    release.set()
    status, body, _ = await first
    assert status == 202 and body["version"] == "1.1"
    control = await hub.pair("control", client="phone")
    status, problem, _ = await hub.call("POST", "/update/bundle", control, headers=OCTETS,
                                        data=bundle)
    assert status == 403 and problem["code"] == "insufficient_scope"
    status, problem, _ = await hub.call("POST", "/update/bundle", token, data=b"x",
                                        headers={"Content-Type": "text/plain"})
    assert status == 415
    status, problem, _ = await hub.call("POST", "/update/bundle", token, headers=OCTETS,
                                        data=b"\0" * (SLOT_BYTES + 80_000))
    assert status == 413


async def test_a_hub_without_update_settings_says_so(hub: RunningHub) -> None:
    token = await hub.pair("admin")
    status, problem, _ = await hub.call("GET", "/update", token)
    assert status == 503 and "[update]" in problem["detail"]
    status, problem, _ = await hub.call("POST", "/update/bundle", token, headers=OCTETS,
                                        data=b"HUBDUPD1")
    assert status == 503


async def test_a_chunked_upload_past_the_cap_is_refused(updating: tuple[RunningHub, Slots]
                                                        ) -> None:
    hub, slots = updating
    token = await hub.pair("admin")

    async def endless() -> AsyncIterator[bytes]:
        yield slots.bundle("1.1")  # a good header, then far more than it signs
        for _ in range(100):  # no Content-Length: the cap is enforced while spooling
            yield b"\0" * 65536

    before = slots.files()
    status, problem, _ = await hub.call("POST", "/update/bundle", token, headers=OCTETS,
                                        data=endless())
    assert status == 422 and "larger than" in problem["reason"]
    assert slots.files() == before
    assert not (slots.root / "data/update/incoming.bundle").exists()


async def test_an_unreadable_update_toml_costs_updates_not_the_hub(tmp_path: Path) -> None:
    daemon, task = await start_hub(
        tmp_path, extra_toml=f'\n[update]\nconfig = "{tmp_path}/missing.toml"\n')
    try:
        assert daemon.ready.is_set() and daemon.updates is None
    finally:
        await stop_hub(daemon, task)


async def test_a_committed_update_survives_a_restart_of_hubd(tmp_path: Path) -> None:
    slots = Slots(tmp_path / "hw")
    options: dict[str, Any] = {"extra_toml": slots.toml(), "reboot": slots.reboot}
    async with client_session() as session:
        async with running_hub(tmp_path, session, **options) as hub:
            daemon = hub.daemon
            assert daemon.updates is not None and daemon.hub is not None
            token = await hub.pair("admin")
            committed = asyncio.Event()
            daemon.hub.bus.subscribe(
                (UpdateProgress,), lambda p: committed.set() if p.phase is UpdatePhase.COMMITTED
                else None, name="test", inline=True)
            status, body, _ = await hub.call("POST", "/update/bundle", token, headers=OCTETS,
                                             data=slots.bundle("1.1"))
            assert status == 202, body
            async with asyncio.timeout(10):
                await committed.wait()
        async with running_hub(tmp_path, session, **options) as hub:
            status, body, _ = await hub.call("GET", "/update", token)
            assert body["phase"] == "committed" and body["version"] == "1.1"
            status, body, _ = await hub.call("POST", "/update/reboot", token)
            assert status == 202 and slots.reboots == ["reboot"]


async def test_stopping_hubd_mid_upload_aborts_it_and_changes_nothing(tmp_path: Path) -> None:
    slots = Slots(tmp_path / "hw")
    before = slots.files()
    bundle = slots.bundle("1.1")
    receiving, release = asyncio.Event(), asyncio.Event()
    phases: list[UpdateProgress] = []

    def on_progress(progress: UpdateProgress) -> None:
        phases.append(progress)
        if progress.phase is UpdatePhase.RECEIVING:
            receiving.set()

    async def held() -> AsyncIterator[bytes]:
        yield bundle[:1000]
        await release.wait()
        yield bundle[1000:]

    async with client_session() as session, running_hub(
            tmp_path, session, extra_toml=slots.toml(), reboot=slots.reboot) as hub:
        assert hub.daemon.hub is not None
        hub.daemon.hub.bus.subscribe((UpdateProgress,), on_progress, name="test", inline=True)
        token = await hub.pair("admin")
        upload = asyncio.create_task(hub.call("POST", "/update/bundle", token, headers=OCTETS,
                                              data=held()))
        async with asyncio.timeout(5):
            await receiving.wait()
        await hub.stop()
        release.set()
        with contextlib.suppress(aiohttp.ClientError):
            await upload
    assert phases[-1].phase is UpdatePhase.FAILED
    assert slots.files() == before
    assert not (slots.root / "data/update/incoming.bundle").exists()


async def test_a_bad_signature_is_refused_from_the_first_bytes(
        updating: tuple[RunningHub, Slots]) -> None:
    hub, slots = updating
    token = await hub.pair("admin")
    bundle = bundle_bytes(image("1.1"), "1.1", [Ed25519PrivateKey.generate()])
    never = asyncio.Event()

    async def head_only() -> AsyncIterator[bytes]:
        yield bundle[:2000]  # the header and a little: the rest would never come
        await never.wait()
        yield bundle[2000:]

    before = slots.files()
    async with asyncio.timeout(10):
        status, problem, _ = await hub.call("POST", "/update/bundle", token, headers=OCTETS,
                                            data=head_only())
    assert status == 422 and "no valid signature" in problem["reason"]
    assert slots.files() == before
    status, body, _ = await hub.call("GET", "/update", token)
    assert body["phase"] == "failed" and not body["is_busy"]
