"""`hubctl update install` follows an install that ends before the hub reads its subscription.

The hub serves the upload and the WebSocket on two connections; on a loaded hub the upload can
be verified, written and committed before the WebSocket's subscribe is read. The client must
lose no progress then (it once waited for a "committed" that had gone by: the flaky
test_update_status_install_with_progress_and_reboot). Here a hub simulator over real HTTP and
WebSocket makes that order certain: it reads a subscription only after a delay, and its
installs commit at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp import WSMsgType, web

from hubd.ctl.client import connect
from hubd.ctl.update import _install
from tests.loopback_http import serving

SUBSCRIBE_DELAY_S = 0.5  # how long the simulated hub takes to get to a WebSocket message


class SlowHub:
    """The update endpoints and the event WebSocket, with the hub's ring of events."""

    def __init__(self) -> None:
        self.events: list[tuple[int, str]] = []
        self.listeners: list[web.WebSocketResponse] = []

    async def publish(self, phase: str) -> None:
        seq = len(self.events) + 1
        text = json.dumps({"type": "event", "seq": seq, "event": {
            "event": "update_progress", "phase": phase, "version": "1.1", "done_bytes": 10,
            "total_bytes": 10, "reason": ""}})
        self.events.append((seq, text))
        for ws in self.listeners:
            await ws.send_str(text)

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "seq": len(self.events)})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            message = json.loads(msg.data)
            await asyncio.sleep(SUBSCRIBE_DELAY_S)  # busy with the other connection
            if message["type"] == "subscribe":
                await ws.send_json({"type": "result", "id": message["id"], "ok": True,
                                    "result": {"seq": len(self.events)}})
                since = message.get("since_seq")
                for seq, text in self.events:
                    if since is not None and seq > since:
                        await ws.send_str(text)
                self.listeners.append(ws)
        return ws

    async def bundle(self, request: web.Request) -> web.Response:
        await request.read()
        for phase in ("receiving", "verifying", "writing", "hashing", "committed"):
            await self.publish(phase)
        return web.json_response({"phase": "writing", "version": "1.1", "done_bytes": 0,
                                  "total_bytes": 10, "reason": ""}, status=202)


@pytest.fixture
async def slow_hub() -> AsyncIterator[str]:
    hub = SlowHub()
    app = web.Application()
    app.router.add_get("/api/v1/ws", hub.websocket)
    app.router.add_post("/api/v1/update/bundle", hub.bundle)
    async with serving(app) as url:
        yield url


async def test_an_install_that_commits_before_the_subscription_is_followed(
        slow_hub: str, tmp_path: Path) -> None:
    bundle = tmp_path / "hubd-1.1.bundle"
    bundle.write_bytes(b"HUBDUPD1" + b"\0" * 100)
    async with connect(slow_hub, "", "token") as hub:
        async with asyncio.timeout(10 * SUBSCRIBE_DELAY_S):
            status: dict[str, Any] = await _install(cast(Any, None), hub, bundle, False)
    assert status["phase"] == "committed" and status["version"] == "1.1"
