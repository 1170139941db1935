"""A TCP proxy between hub and relay that can pass, delay, throttle, blackhole, reset, cut a
connection mid-frame, or accept and close at once: faults on real byte streams."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field
from enum import StrEnum


class Mode(StrEnum):
    """What the proxy does to traffic."""

    PASS = "pass"
    BLACKHOLE = "blackhole"  # connections stay open, nothing goes through either way
    ACCEPT_THEN_CLOSE = "accept_then_close"  # new connections are closed at once


@dataclass
class FaultProxy:
    """Forwards 127.0.0.1:port to target_port, with faults switched on and off by the test."""

    target_port: int
    mode: Mode = Mode.PASS
    delay_s: float = 0.0  # added to every chunk, both ways
    throttle_bytes_per_s: float | None = None
    port: int = 0
    accepted: int = 0
    _server: asyncio.Server | None = None
    _links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = field(default_factory=set)
    _cut_next: bool = False

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.reset_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"wss://127.0.0.1:{self.port}/"

    def reset_all(self) -> None:
        """Reset every open connection (RST, not FIN), both ends."""
        for client, upstream in list(self._links):
            for writer in (client, upstream):
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                writer.transport.abort()
        self._links.clear()

    def cut_mid_frame(self) -> None:
        """Forward only half of the next relay-to-hub chunk, then drop the connection."""
        self._cut_next = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode is Mode.ACCEPT_THEN_CLOSE:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        link = (writer, up_writer)
        self._links.add(link)
        try:
            await asyncio.gather(self._pipe(reader, up_writer, False),
                                 self._pipe(up_reader, writer, True))
        finally:
            self._links.discard(link)
            for w in link:
                w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    is_down: bool) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                while self.mode is Mode.BLACKHOLE:
                    await asyncio.sleep(0.01)  # swallow: nothing moves, nothing closes
                    chunk = b""
                if not chunk:
                    continue
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                if self.throttle_bytes_per_s:
                    await asyncio.sleep(len(chunk) / self.throttle_bytes_per_s)
                if is_down and self._cut_next and len(chunk) > 1:
                    self._cut_next = False
                    writer.write(chunk[: len(chunk) // 2])
                    await writer.drain()
                    writer.transport.abort()
                    return
                writer.write(chunk)
                await writer.drain()
