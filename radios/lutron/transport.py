"""Thin links to a repeater: a serial port (serialx: raw 9600 8N1, exclusive) or TCP; and the
report fetch.

Links only move bytes; the session decides what they mean. Both are asyncio streams, so writes
have back-pressure (``drain``) and a bounded buffer. Every failure to open or use a link is a
TransientError (the driver backs off and tries again): an unplugged USB adapter and a pty whose
master closed both read as EIO, which is the end of the link, not an exception. The serial port
is opened exclusively (TIOCEXCL and a lock), so a second program cannot interleave its bytes
with ours on the RS232 line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

import serialx

from hubd.core.errors import TransientError

log = logging.getLogger(__name__)

READ_SIZE = 4096
MAX_REPORT_BYTES = 16 * 1024 * 1024
# LIP lines are tens of bytes, paced 50 ms apart: a peer that leaves this much unread is gone.
MAX_UNSENT_BYTES = 64 * 1024


class Link(Protocol):
    """A byte stream to the repeater."""

    async def read(self) -> bytes:
        """Some bytes; b"" when the link is gone."""
        ...

    def write(self, data: bytes) -> None:
        """Queue bytes to write."""
        ...

    async def drain(self) -> None:
        """Wait until what was written has left (back-pressure)."""
        ...

    def close(self) -> None:
        """Let go of the link."""
        ...


class StreamLink:
    """A byte stream to the repeater: a TCP connection (telnet port) or a serial port."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open_tcp(cls, host: str, port: int, timeout_s: float) -> StreamLink:
        """Connect; TransientError if the repeater cannot be reached."""
        try:
            async with asyncio.timeout(timeout_s):
                reader, writer = await asyncio.open_connection(host, port)
        except (OSError, TimeoutError) as exc:
            raise TransientError(f"cannot connect to {host}:{port}: {exc or 'timeout'}") from exc
        return cls(reader, writer)

    @classmethod
    async def open_serial(cls, path: str, baudrate: int = 9600) -> StreamLink:
        """Open the port raw, 8N1, no flow control (RA2 RS232: 9600 8N1), for us alone;
        TransientError if it is not there (yet) or another program holds it."""
        try:
            reader, writer = await serialx.open_serial_connection(
                path, baudrate=baudrate, exclusive=True)
        except (OSError, ValueError) as exc:
            raise TransientError(f"cannot open {path}: {exc}") from exc
        return cls(reader, writer)

    async def read(self) -> bytes:
        """Bytes as they arrive; b"" when the link is gone (closed, unplugged: EIO)."""
        try:
            return await self._reader.read(READ_SIZE)
        except OSError:
            return b""

    def write(self, data: bytes) -> None:
        """Queue bytes; a peer that leaves ``MAX_UNSENT_BYTES`` unread is dropped (the reader
        then sees the end of the link and the driver reconnects), so nothing grows forever."""
        if self._writer.is_closing():
            return
        self._writer.write(data)
        unsent = self._writer.transport.get_write_buffer_size()
        if unsent > MAX_UNSENT_BYTES:
            log.warning("event=lutron_peer_not_reading unsent_bytes=%d", unsent)
            self._writer.transport.abort()

    @property
    def is_closing(self) -> bool:
        """Whether the link is closed or closing."""
        return self._writer.is_closing()

    @property
    def unsent_bytes(self) -> int:
        """Bytes written but not yet taken by the kernel."""
        return self._writer.transport.get_write_buffer_size()

    async def drain(self) -> None:
        """Wait while the link's buffers are full (StreamWriter.drain)."""
        if self._writer.is_closing():
            return
        with contextlib.suppress(OSError):  # the reader sees the end of the link
            await self._writer.drain()

    def close(self) -> None:
        """Close the link."""
        self._writer.close()


async def fetch_integration_report(host: str, port: int, timeout_s: float) -> bytes:
    """GET http://host:port/DbXmlInfo.xml (HTTP/1.0: the body ends when the server closes)."""
    request = (f"GET /DbXmlInfo.xml HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"
               .encode("ascii"))
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(request)
                # One growing buffer, not bytes += chunk (a copy of everything per chunk).
                buffer = bytearray()
                while chunk := await reader.read(65536):
                    buffer += chunk
                    if len(buffer) > MAX_REPORT_BYTES + 64 * 1024:
                        raise TransientError("the integration report is implausibly large")
                raw = bytes(buffer)
            finally:
                writer.close()
    except (OSError, TimeoutError) as exc:
        raise TransientError(f"cannot fetch http://{host}:{port}/DbXmlInfo.xml: "
                             f"{exc or 'timeout'}") from exc
    head, sep, body = raw.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if not sep or len(status) < 2 or status[1] != b"200":
        raise TransientError(f"http://{host}:{port}/DbXmlInfo.xml answered "
                             f"{head[:60].decode('latin-1')!r}")
    return body
