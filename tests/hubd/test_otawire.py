"""The daemon's bundle download: a deadline for the whole transfer, HTTP errors, and the
offered URL's scheme."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from hubd.core.clock import SystemClock
from hubd.core.errors import UpdateError
from hubd.ota.settings import UpdateSettings
from hubd.otawire import TunnelUpdates, build_updates, download
from tests.hubd.ota.conftest import Slots
from tests.loopback_http import serving


@pytest.fixture
async def stalling() -> AsyncIterator[str]:
    """A server that sends a little of a file and then nothing more."""
    stop = asyncio.Event()

    async def serve(request: web.Request) -> web.StreamResponse:
        if request.path == "/gone":
            raise web.HTTPNotFound()
        response = web.StreamResponse(headers={"Content-Length": "100000"})
        await response.prepare(request)
        await response.write(b"HUBDUPD1")
        await stop.wait()
        return response

    app = web.Application()
    app.router.add_get("/{name}", serve)
    async with serving(app) as url:
        try:
            yield url
        finally:
            stop.set()  # the stalled response ends, so the server can close


async def test_a_stalled_download_fails_at_its_deadline(stalling: str) -> None:
    received = b""
    with pytest.raises(UpdateError, match=r"longer than 1 s"):
        async for chunk in download(f"{stalling}/slow.bundle", 1.0):
            received += chunk
    # The server's first bytes, if it got to send them in time on a loaded machine.
    assert received in (b"", b"HUBDUPD1")
    with pytest.raises(UpdateError, match="HTTP 404"):
        async for _ in download(f"{stalling}/gone", 5.0):
            pass


async def test_offered_urls_must_be_https_unless_allowed(tmp_path: Path) -> None:
    slots = Slots(tmp_path / "hw")
    settings = UpdateSettings(config=tmp_path / "hw/update.toml")
    service = build_updates(settings, lambda _: None, SystemClock(), slots.reboot)
    await service.start()
    offers = TunnelUpdates(service, settings)
    with pytest.raises(UpdateError, match="must be https"):
        offers.offer("http://127.0.0.1:1/x.bundle", None, "cloud")
    assert not service.status().is_busy


async def test_the_end_of_an_install_is_said_once_the_hub_is_no_longer_busy(tmp_path: Path
                                                                             ) -> None:
    # A client that sees "committed" and at once asks to reboot (or sees "failed" and tries
    # again) must find the hub free: the API's event log hands events on the moment they are
    # published, so the end must be published after the install let go.
    slots = Slots(tmp_path / "hw")
    settings = UpdateSettings(config=tmp_path / "hw/update.toml")
    seen: list[tuple[str, bool]] = []
    service = build_updates(settings, lambda p: seen.append((p.phase, service.status().is_busy)),
                            SystemClock(), slots.reboot)
    await service.start()

    async def chunks(data: bytes) -> AsyncIterator[bytes]:
        yield data

    good = slots.bundle("1.1")
    status = await service.begin(chunks(good), len(good), "test")
    assert status.phase == "committed" and not status.is_busy
    assert seen[-1] == ("committed", False)
    assert all(is_busy for phase, is_busy in seen[:-1])  # every phase before the end: busy

    seen.clear()
    bad = slots.bundle("1.2", board="another-board")
    with pytest.raises(UpdateError):
        await service.begin(chunks(bad), len(bad), "test")
    assert seen[-1] == ("failed", False)
