"""`hubctl events`: follow the hub's events over the WebSocket, resuming by seq after a drop."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import aiohttp
import click

from hubd.ctl import render
from hubd.ctl.client import HubCallError, connect

if TYPE_CHECKING:
    from hubd.ctl.cli import Ctx

SAVE_EVERY_S = 1.0


class _Enough(Exception):
    """As many events as asked were shown."""


class Follower:
    """Prints events and remembers the last seq, across reconnects."""

    def __init__(self, ctx: Ctx, since: int | None, count: int) -> None:
        self.ctx = ctx
        self.last = since
        self.count = count
        self.shown = 0
        self.saved_at = 0.0

    def take(self, message: dict[str, Any]) -> None:
        """One message from the hub."""
        if message["type"] == "resync":
            click.echo(f"(events before seq {message['seq']} are gone: missed ones are not "
                       "shown)", err=True)
            self.last = message["seq"]
        elif message["type"] == "event":
            self.last = message["seq"]
            click.echo(json.dumps(message) if self.ctx.as_json else render.event_line(message))
            self.shown += 1
            if self.count and self.shown >= self.count:
                raise _Enough
        elif message["type"] == "result" and not message.get("ok"):
            raise HubCallError(message["error"]["detail"], code=message["error"]["code"])
        now = asyncio.get_running_loop().time()
        if now - self.saved_at > SAVE_EVERY_S:
            self.save()
            self.saved_at = now

    def save(self) -> None:
        """Remember where to resume."""
        if self.last is not None:
            self.ctx.save(replace(self.ctx.settings(), events_seq=self.last))

    async def once(self) -> str:
        """One connection, until it drops; why it dropped."""
        s = self.ctx.settings()
        async with connect(s.url, s.pin_sha256, s.token) as hub, hub.websocket() as ws:
            await ws.send_json({"id": 1, "type": "subscribe", "since_seq": self.last})
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                self.take(json.loads(msg.data))
            return f"closed ({ws.close_code})"


async def follow(ctx: Ctx, since: int | None, count: int) -> None:
    """Print events until ``count`` were shown (0: forever); reconnect with backoff."""
    settings = ctx.settings()
    if not settings.url or not settings.token:
        raise click.ClickException("not paired with a hub yet: run `hubctl pair URL`")
    follower = Follower(ctx, since, count)
    failures = 0
    try:
        while True:
            try:
                reason = await follower.once()
                failures = 0
            except HubCallError as exc:
                if exc.code:  # the hub said no (unauthorized...): retrying will not help
                    raise
                reason = str(exc)
            failures += 1
            delay = random.uniform(0, min(30.0, 2.0 ** failures))
            click.echo(f"(disconnected: {reason}; reconnecting in {delay:.1f} s)", err=True)
            await asyncio.sleep(delay)
    except _Enough:
        pass
    finally:
        follower.save()
