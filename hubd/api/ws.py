"""The WebSocket ``/api/v1/ws``: commands with integer ids, events with seq and resume.

Client → hub, one JSON object per text message, each with an integer ``id``:
``{"id": 1, "type": "auth", "token": "..."}`` (when no Authorization header was sent; browsers
cannot send one), ``{"id": 2, "type": "command", "device": "...", "command": "switch.on",
"args": {}}``, ``{"id": 3, "type": "subscribe", "since_seq": 123}``, ``{"id": 4, "type":
"unsubscribe"}``, ``{"id": 5, "type": "ping"}``.

Hub → client: ``{"type": "hello", ...}`` first; ``{"type": "result", "id": n, "ok": true,
"result": ...}`` or ``"ok": false, "error": <problem>``; ``{"type": "event", "seq": n,
"event": {...}}``; ``{"type": "resync", "seq": n, "reason": ...}`` when a resume is impossible
(fetch the state again, then follow from ``seq``). The hub pings every ``ping_interval_s`` and
closes a client that does not answer; a client too slow for its events is closed with 4008 and
a reason. Every send goes through one writer task per client, so order is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from hubd.api.app import ApiState, authenticate, state_of
from hubd.api.auth import Scope
from hubd.api.events import KeptEvent, Listener
from hubd.api.ports import TokenInfo
from hubd.api.problems import ApiProblem, Code
from hubd.api.rest import make_command
from hubd.api.serialize import result_json
from hubd.core.model import Context, api_origin

log = logging.getLogger(__name__)

CLOSE_TOO_SLOW = 4008
CLOSE_UNAUTHORIZED = 4001
MAX_MESSAGE_BYTES = 64 * 1024
AUTH_TIMEOUT_S = 10.0


class Client:
    """One WebSocket client: its token, its send queue and its in-flight commands."""

    def __init__(self, state: ApiState, ws: web.WebSocketResponse, token: TokenInfo | None
                 ) -> None:
        self.state = state
        self.ws = ws
        self.token = token
        # A reply (text) or an event from the log, encoded by the writer when it goes out.
        self.queue: asyncio.Queue[str | KeptEvent] = asyncio.Queue(state.settings.send_queue)
        self.listener: Listener | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.close_reason = ""

    def send(self, text: str) -> None:
        """Queue a message; a client that cannot keep up is closed."""
        if not self._put(text):
            self.on_overflow()

    def offer(self, kept: KeptEvent) -> bool:
        """Queue an event; False if the queue is full."""
        return self._put(kept)

    def _put(self, item: str | KeptEvent) -> bool:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            return False
        return True

    def on_overflow(self) -> None:
        """Too slow: stop its events and close it, saying why (once)."""
        if self.close_reason:
            return
        if self.listener is not None:
            self.state.events.forget(self.listener)
        self.close_reason = (f"too slow: more than {self.state.settings.send_queue} messages "
                             "waiting; reconnect and resume with since_seq")
        log.warning("event=ws_slow_client client=%s", self.token.client if self.token else "?")
        task = asyncio.get_running_loop().create_task(
            self.ws.close(code=CLOSE_TOO_SLOW, message=self.close_reason.encode()[:120]))
        # What is queued will never be sent: the writer stops with the socket.
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def writer(self) -> None:
        """Send queued messages in order."""
        while True:
            item = await self.queue.get()
            try:
                await self.ws.send_str(item if isinstance(item, str) else item.encoded())
            finally:
                self.queue.task_done()

    async def close(self, code: int, reason: str) -> None:
        """Send what is queued, then close."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await self.queue.join()
        await self.ws.close(code=code, message=reason.encode()[:120])


def _reply(msg_id: int | None, result: object) -> str:
    return json.dumps({"type": "result", "id": msg_id, "ok": True, "result": result},
                      default=str)


def _fail(msg_id: int | None, problem: ApiProblem) -> str:
    return json.dumps({"type": "result", "id": msg_id, "ok": False,
                       "error": problem.body("/api/v1/ws")}, default=str)


async def websocket(request: web.Request) -> web.StreamResponse:
    """Serve one WebSocket client until it leaves."""
    state = state_of(request)
    header = request.headers.get("Authorization", "")
    token = None
    if header:
        scheme, _, secret = header.partition(" ")
        token = authenticate(state, secret.strip() if scheme.lower() == "bearer" else None,
                             Scope.READ)
    ws = web.WebSocketResponse(heartbeat=state.settings.ping_interval_s,
                               max_msg_size=MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    client = Client(state, ws, token)
    writer = asyncio.get_running_loop().create_task(client.writer())
    client.send(json.dumps({"type": "hello", "hub_id": state.info.id,
                            "api_version": state.versions.get("api", "1"),
                            "seq": state.events.seq, "is_authenticated": token is not None}))
    try:
        await _serve(client)
    finally:
        if client.listener is not None:
            state.events.forget(client.listener)
        for task in list(client.tasks):
            task.cancel()
        writer.cancel()
        # The writer may have died first on a broken connection: nothing is left to tell.
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
            await writer
        await ws.close()
    return ws


async def _serve(client: Client) -> None:
    ws = client.ws
    while True:
        timeout = AUTH_TIMEOUT_S if client.token is None else None
        try:
            msg = await ws.receive(timeout=timeout)
        except TimeoutError:
            await client.close(CLOSE_UNAUTHORIZED, "authenticate first")
            return
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return
        if msg.type != WSMsgType.TEXT:
            client.send(_fail(None, ApiProblem(Code.INVALID_BODY, "send JSON text messages")))
            continue
        await _handle(client, msg.data)
        if client.token is None and ws.closed:
            return


def _parse(data: str) -> tuple[int | None, dict[str, Any]]:
    try:
        message = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ApiProblem(Code.INVALID_JSON, f"not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise ApiProblem(Code.INVALID_BODY, "a message is a JSON object")
    msg_id = message.get("id")
    if not isinstance(msg_id, int) or isinstance(msg_id, bool):
        raise ApiProblem(Code.INVALID_BODY, "every message needs an integer id")
    if not isinstance(message.get("type"), str):
        raise ApiProblem(Code.INVALID_BODY, "every message needs a type", id=msg_id)
    return msg_id, message


async def _handle(client: Client, data: str) -> None:
    msg_id: int | None = None
    try:
        msg_id, message = _parse(data)
        assert msg_id is not None  # _parse checked it
        kind = message["type"]
        if client.token is None:
            if kind != "auth" or not isinstance(message.get("token"), str):
                raise ApiProblem(Code.UNAUTHORIZED, "authenticate first: "
                                 '{"id": 1, "type": "auth", "token": "..."}')
            client.token = authenticate(client.state, message["token"], Scope.READ)
            client.send(_reply(msg_id, {"client": client.token.client,
                                        "scope": client.token.scope}))
        elif kind == "command":
            _start_command(client, msg_id, message)
        elif kind == "subscribe":
            _subscribe(client, msg_id, message.get("since_seq"))
        elif kind == "unsubscribe":
            if client.listener is not None:
                client.state.events.forget(client.listener)
                client.listener = None
            client.send(_reply(msg_id, None))
        elif kind == "ping":
            client.send(_reply(msg_id, "pong"))
        else:
            raise ApiProblem(Code.INVALID_BODY, f"unknown message type {kind!r}")
    except ApiProblem as problem:
        client.send(_fail(msg_id, problem))
        if problem.code is Code.UNAUTHORIZED and client.token is None:
            await client.close(CLOSE_UNAUTHORIZED, "unauthorized")


def _start_command(client: Client, msg_id: int, message: dict[str, Any]) -> None:
    state, token = client.state, client.token
    assert token is not None  # _handle authenticated it
    if not Scope(token.scope).allows(Scope.CONTROL):
        raise ApiProblem(Code.INSUFFICIENT_SCOPE, "commands need the control scope")
    ref, name, args = message.get("device"), message.get("command"), message.get("args", {})
    if not isinstance(ref, str) or not isinstance(name, str) or not isinstance(args, dict):
        raise ApiProblem(Code.INVALID_BODY, "a command needs device and command (strings) and "
                         "args (an object)")
    device = state.devices.find(ref)
    if device is None:
        raise ApiProblem(Code.UNKNOWN_DEVICE, f"no device with the id or name {ref!r}")
    timeout_s = message.get("timeout_s", 10.0)
    if not isinstance(timeout_s, int | float) or not 0 < timeout_s <= 300:
        raise ApiProblem(Code.INVALID_BODY, "timeout_s must be a number in (0, 300]")
    command = make_command(device, name, args, Context.new(api_origin(token.client)),
                           state.clock.monotonic() + timeout_s)

    async def run() -> None:
        result = await state.devices.execute(command)
        client.send(_reply(msg_id, result_json(result)))

    # Commands run concurrently: a slow lock must not hold up the next light.
    task = asyncio.get_running_loop().create_task(run())
    client.tasks.add(task)
    task.add_done_callback(client.tasks.discard)


def _subscribe(client: Client, msg_id: int, since: object) -> None:
    events = client.state.events
    if since is not None and (not isinstance(since, int) or isinstance(since, bool)):
        raise ApiProblem(Code.INVALID_BODY, "since_seq must be an integer")
    if client.listener is not None:
        events.forget(client.listener)
    backlog = None if since is None else events.since(since)
    resumed = backlog is not None
    client.send(_reply(msg_id, {"seq": events.seq, "resumed": resumed}))
    if since is not None and backlog is None:
        client.send(json.dumps({"type": "resync", "seq": events.seq,
                                "reason": "events after since_seq are no longer kept; fetch "
                                          "the state again, then follow from seq"}))
    for kept in backlog or ():
        if not client.offer(kept):
            client.on_overflow()
            return
    client.listener = Listener(client.offer, client.on_overflow)
    events.listen(client.listener)
