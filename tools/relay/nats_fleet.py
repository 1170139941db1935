"""The Router on NATS: many stateless relay processes, any of which can reach any hub.

A relay holding a hub's tunnel subscribes ``hub.<id>.cmd``; a command from any relay's app API is
a NATS request with the command's deadline as its timeout, so "no responders" means the hub is
offline everywhere and is answered at once (DESIGN.md, "Cloud tunnel"). Taking a hub over is
announced on the same subject (``!<token>``): the relay that held it before closes its tunnel
with 4001, whichever process it is in.

Presence is asked of NATS, not kept in a table of ours: one hub's is a request ``?`` on its
``hub.<id>.cmd`` (the holding relay answers with its id; "no responders" = offline at once), the
fleet's a scatter-gather on ``relay.presence`` (every relay answers with its hubs, in parts of
PRESENCE_PART; the asker, not knowing how many relays there are, gathers until its deadline).
Nothing is written when a hub comes or goes, and a relay that died answers nothing: its hubs are
not listed once its NATS connection is gone.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Callable
from typing import Any

import cbor2
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from tools.relay.fleet import Body, CommandExpired, HubLink, HubOffline

log = logging.getLogger(__name__)

PRESENCE_SUBJECT = "relay.presence"
PRESENCE_PART = 5_000  # hub ids per answer: 20,000 hubs' worth stays far under NATS's 1 MiB
# Control messages share hub.<id>.cmd with commands (a CBOR map, first byte 0xa0-0xbf), so a hub
# costs one subscription: "?" asks who holds the hub, "!<token>" announces a takeover.
_ASK = b"?"
_TAKEOVER = b"!"


def _subject(hub_id: str, what: str) -> str:
    # Hub ids come from our CA (claim tokens), but a subject must never take a wildcard or dot.
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in hub_id)
    return f"hub.{safe}.{what}"


class _Dispatcher(asyncio.Future[Msg]):
    """The one consumer of every hub subscription of a relay.

    nats-py gives a subscription made with ``cb`` its own task and queue (~8 KiB a subscription,
    one per hub); one made with ``future`` has no task: nats-py hands each message to
    ``future.set_result`` as it reads it (its path for old-style requests). This future never
    completes: it routes each message instead, so a hub costs one SUB and nothing running.
    """

    def __init__(self, route: Callable[[Msg], None]) -> None:
        super().__init__()
        self._route = route

    def set_result(self, result: Msg) -> None:
        """Route one message (called by nats-py's reader, so it must not block)."""
        self._route(result)


class NatsRouter:
    """Routes commands to whichever relay holds the hub's tunnel, over NATS."""

    def __init__(self, nc: NATS, relay_id: str | None = None) -> None:
        self.nc = nc
        self.relay_id = relay_id or os.urandom(4).hex()
        self._tokens = itertools.count(1)
        self._links: dict[str, tuple[HubLink, str, list[Subscription]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.superseded = 0
        self.commands = 0
        self.urls: dict[str, str] = {}  # what presence answers say of this relay (tunnel, api)
        self._presence: Subscription | None = None
        self._hubs: dict[str, str] = {}  # subject -> hub id, for the dispatcher
        self._dispatcher: _Dispatcher | None = None  # made on the running loop, at first use

    async def serve_presence(self, **urls: str) -> None:
        """Answer the fleet's presence queries on relay.presence (once the relay listens)."""
        self.urls = dict(urls)
        if self._presence is not None:  # a restarted relay: the same subscription answers
            return

        async def on_query(msg: Msg) -> None:
            hubs = sorted(self._links)
            parts = max(1, -(-len(hubs) // PRESENCE_PART))
            for n in range(parts):
                await msg.respond(cbor2.dumps({
                    "relay": self.relay_id, **self.urls, "part": n, "parts": parts,
                    "hubs": hubs[n * PRESENCE_PART:(n + 1) * PRESENCE_PART]}))

        self._presence = await self.nc.subscribe(PRESENCE_SUBJECT, cb=on_query)

    async def attach(self, link: HubLink) -> None:
        """Hold a hub's tunnel: announce it (older tunnels anywhere close), then serve it."""
        hub_id = link.hub_id
        local = self._links.get(hub_id)
        if local is not None:
            await self._drop(hub_id, local[0], supersede=True)
        token = f"{self.relay_id}:{next(self._tokens)}"
        subject = _subject(hub_id, "cmd")
        self._hubs[subject] = hub_id
        if self._dispatcher is None:
            self._dispatcher = _Dispatcher(self._route)
        subscriptions = [await self.nc.subscribe(subject, future=self._dispatcher)]
        self._links[hub_id] = (link, token, subscriptions)
        await self.nc.publish(subject, _TAKEOVER + token.encode())
        await self.nc.flush()

    def _route(self, msg: Msg) -> None:
        """Every hub subscription's message, from the one dispatcher: to the tunnel held now."""
        hub_id = self._hubs.get(msg.subject)
        current = self._links.get(hub_id) if hub_id is not None else None
        if msg.data == _ASK:  # who holds this hub: we do
            if current is not None and msg.reply:
                self._spawn(msg.respond(cbor2.dumps({"relay": self.relay_id, **self.urls})))
        elif msg.data.startswith(_TAKEOVER):
            if current is not None and hub_id is not None and msg.data[1:].decode() != current[1]:
                self._spawn(self._drop(hub_id, current[0], supersede=True))
        elif current is not None:
            self._spawn(self._serve(current[0], msg))
        elif msg.reply:  # unsubscribed a moment ago: the hub is gone from here
            self._spawn(msg.respond(cbor2.dumps({"offline": "the tunnel just closed"})))

    async def detach(self, link: HubLink) -> None:
        """Stop serving a hub's tunnel if it is still the one we hold."""
        current = self._links.get(link.hub_id)
        if current is not None and current[0] is link:
            await self._drop(link.hub_id, link, supersede=False)

    async def _drop(self, hub_id: str, link: HubLink, *, supersede: bool) -> None:
        current = self._links.get(hub_id)
        if current is None or current[0] is not link:  # dropped already (two takeovers)
            return
        del self._links[hub_id]
        for subscription in current[2]:
            self._hubs.pop(subscription.subject, None)
            await subscription.unsubscribe()
        if supersede:
            self.superseded += 1
            log.warning("event=relay_superseded hub=%s", hub_id)
            await link.supersede()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, link: HubLink, msg: Msg) -> None:
        """Run one routed command on the tunnel we hold and answer the requester."""
        self.commands += 1
        try:
            request = cbor2.loads(msg.data)
            ttl_s = float(request.pop("ttl_s"))
            answer: dict[str, Any] = {"result": dict(await link.command(request, ttl_s))}
        except CommandExpired as exc:
            answer = {"expired": str(exc)}
        except HubOffline as exc:
            answer = {"offline": str(exc)}
        except (ValueError, KeyError, TypeError, cbor2.CBORDecodeError) as exc:
            answer = {"error": f"bad request: {exc}"}
        await msg.respond(cbor2.dumps(answer))

    async def request(self, hub_id: str, body: Body, ttl_s: float) -> Body:
        """Send a command to the hub wherever its tunnel is: offline at once if nowhere."""
        payload = cbor2.dumps({**body, "ttl_s": ttl_s})
        try:
            msg = await self.nc.request(_subject(hub_id, "cmd"), payload, timeout=ttl_s)
        except NoRespondersError:
            raise HubOffline(f"hub {hub_id} is offline") from None
        except NatsTimeout:
            raise CommandExpired(f"no answer from hub {hub_id} in {ttl_s:.3f} s") from None
        answer = cbor2.loads(msg.data)
        if "result" in answer:
            return dict(answer["result"])
        if "offline" in answer:
            raise HubOffline(str(answer["offline"]))
        if "expired" in answer:
            raise CommandExpired(str(answer["expired"]))
        raise HubOffline(str(answer.get("error", "the holding relay could not run it")))

    def online(self) -> list[str]:
        """The hubs whose tunnels this relay holds (the fleet's view: presence())."""
        return sorted(self._links)

    async def where(self, hub_id: str, ttl_s: float) -> dict[str, Any] | None:
        """The relay holding a hub's tunnel ({relay, tunnel, api}), or None: offline at once."""
        try:
            msg = await self.nc.request(_subject(hub_id, "cmd"), _ASK, timeout=ttl_s)
        except (NoRespondersError, NatsTimeout):
            return None
        return dict(cbor2.loads(msg.data))

    async def presence(self, deadline_s: float) -> dict[str, dict[str, Any]]:
        """Every relay's hubs ({relay: {tunnel, api, hubs}}), as gathered by deadline_s: the
        number of relays is not known, so the whole deadline is waited."""
        relays: dict[str, dict[str, Any]] = {}

        async def on_answer(msg: Msg) -> None:
            answer = cbor2.loads(msg.data)
            hubs = answer.pop("hubs")
            entry = relays.setdefault(str(answer.pop("relay")), {
                k: v for k, v in answer.items() if k not in ("part", "parts")} | {"hubs": []})
            entry["hubs"].extend(hubs)

        inbox = self.nc.new_inbox()
        subscription = await self.nc.subscribe(inbox, cb=on_answer)
        try:
            await self.nc.publish(PRESENCE_SUBJECT, b"", reply=inbox)
            await asyncio.sleep(deadline_s)
        finally:
            await subscription.unsubscribe()
        return relays


class JetStreamEvents:
    """Hub events into a JetStream stream, deduplicated on (hub, seq) by the message id.

    The relay acks an event to the hub only once JetStream has it, so an event resent after a
    reconnect, to this relay or another, is stored once however the tunnel broke.
    """

    def __init__(self, nc: NATS, stream: str = "HUB_EVENTS",
                 duplicate_window_s: float = 24 * 3600.0) -> None:
        self.js = nc.jetstream()
        self.stream = stream
        self.duplicate_window_s = duplicate_window_s
        self.stored = 0
        self.duplicates = 0

    async def setup(self) -> None:
        """Create the stream if it is not there (every relay may call this)."""
        from nats.js.api import StreamConfig

        await self.js.add_stream(StreamConfig(
            name=self.stream, subjects=["hub.*.events"],
            duplicate_window=self.duplicate_window_s))

    async def store(self, hub_id: str, seq: int, body: Body) -> bool:
        """Store one event; whether it was new to the fleet."""
        ack = await self.js.publish(_subject(hub_id, "events"), cbor2.dumps(dict(body)),
                                    headers={"Nats-Msg-Id": f"{hub_id}:{seq}"})
        if ack.duplicate:
            self.duplicates += 1
            return False
        self.stored += 1
        return True
