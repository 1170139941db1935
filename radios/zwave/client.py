"""A small typed client of zwave-js-server on ``websockets``: handshake, requests, events.

zwave-js-server-python (Home Assistant's client) stops supporting Python 3.11 after 0.56, which
predates the schemas this hub needs, so hubd speaks the API itself: ``session`` holds the
protocol as data, this module is the I/O glue. Events reach ``on_event`` synchronously, straight
from the reader (the hot path: no queue, no await between the frame and the driver).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from hubd.core.errors import DeviceError, RemoteProtocolError, TransientError
from radios.zwave.session import (
    Json,
    Requests,
    Result,
    ServerEvent,
    ServerVersion,
    negotiate_schema,
    parse_message,
)

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024 * 1024  # the state dump of a large network is several MiB

EventCallback = Callable[[ServerEvent], None]


class ZwaveClient:
    """One open connection: ``request`` sends and waits for the answer; ``run`` reads."""

    def __init__(self, ws: ClientConnection, version: ServerVersion, schema: int,
                 on_event: EventCallback, request_timeout_s: float) -> None:
        self._ws = ws
        self.version = version
        self.schema = schema
        self._on_event = on_event
        self._timeout_s = request_timeout_s
        self._requests = Requests()
        self._pending: dict[str, asyncio.Future[Result]] = {}
        self.malformed = 0

    @classmethod
    async def open(cls, url: str, on_event: EventCallback, *, timeout_s: float,
                   request_timeout_s: float, heartbeat_s: float) -> ZwaveClient:
        """Connect, read the version greeting and agree on a schema (TransientError if down)."""
        try:
            async with asyncio.timeout(timeout_s):
                ws = await connect(url, max_size=MAX_FRAME_BYTES, ping_interval=heartbeat_s,
                                   ping_timeout=heartbeat_s, compression=None, open_timeout=None)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            raise TransientError(f"cannot reach zwave-js-server at {url}: {exc}") from exc
        try:
            async with asyncio.timeout(timeout_s):
                greeting = parse_message(await ws.recv())
            if not isinstance(greeting, ServerVersion):
                raise RemoteProtocolError("the server did not start with its version")
            client = cls(ws, greeting, negotiate_schema(greeting), on_event, request_timeout_s)
        except (TimeoutError, ConnectionClosed) as exc:
            await ws.close()
            raise TransientError(f"zwave-js-server did not greet: {exc!r}") from exc
        except BaseException:
            await ws.close()
            raise
        return client

    async def run(self) -> str:
        """Read until the connection closes; return why it closed."""
        reason = "closed"
        try:
            async for frame in self._ws:
                self._feed(frame)
        except ConnectionClosed as exc:
            reason = f"connection lost: {exc}"
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(TransientError(f"zwave-js-server: {reason}"))
            self._pending.clear()
        return reason

    def _feed(self, frame: str | bytes) -> None:
        try:
            message = parse_message(frame)
        except RemoteProtocolError as exc:
            self.malformed += 1
            log.warning("event=zwave_malformed_message error=%r", str(exc))
            return
        if isinstance(message, ServerEvent):
            try:
                self._on_event(message)
            except Exception:
                # One bad event must not end the session: log it and read on.
                log.exception("event=zwave_event_failed source=%s name=%s", message.source,
                              message.name)
        elif isinstance(message, Result):
            future = self._pending.pop(message.message_id, None)
            if future is not None and not future.done():
                future.set_result(message)

    async def request(self, command: str, args: Mapping[str, object] | None = None,
                      timeout_s: float | None = None) -> Json:
        """Send one request and return its result; DeviceError if the server says no."""
        message_id, text = self._requests.build(command, args)
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        try:
            await self._ws.send(text)
            async with asyncio.timeout(timeout_s if timeout_s is not None else self._timeout_s):
                result = await future
        except ConnectionClosed as exc:
            raise TransientError(f"zwave-js-server went away during {command}") from exc
        except TimeoutError as exc:
            raise TransientError(f"zwave-js-server did not answer {command} in time") from exc
        finally:
            self._pending.pop(message_id, None)
        if not result.success:
            raise DeviceError("zwave", f"{command}: {result.error}")
        return result.result

    async def close(self) -> None:
        """Close the connection."""
        await self._ws.close()
