"""Thin links to a repeater: a serial port (termios, raw 9600 8N1) or TCP; and the report fetch.

Links only move bytes; the session decides what they mean. Every failure to open or use a link
is a TransientError (the driver backs off and tries again): an unplugged USB adapter and a pty
whose master closed both read as EIO, which is the end of the link, not an exception.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import termios
from typing import Protocol

from hubd.core.errors import TransientError

log = logging.getLogger(__name__)

READ_SIZE = 4096
MAX_REPORT_BYTES = 16 * 1024 * 1024


class Link(Protocol):
    """A byte stream to the repeater."""

    async def read(self) -> bytes:
        """Some bytes; b"" when the link is gone."""
        ...

    def write(self, data: bytes) -> None:
        """Queue bytes to write."""
        ...

    def close(self) -> None:
        """Let go of the link."""
        ...


def _configure_tty(fd: int, baudrate: int) -> None:
    """Raw mode, 8 data bits, no parity, one stop bit, no flow control (RA2 RS232: 9600 8N1)."""
    try:
        iflag, oflag, cflag, lflag, _ispeed, _ospeed, cc = termios.tcgetattr(fd)
    except termios.error:
        log.warning("event=lutron_not_a_tty fd=%d: line settings not applied", fd)
        return
    iflag &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP | termios.INLCR
               | termios.IGNCR | termios.ICRNL | termios.IXON | termios.IXOFF | termios.IXANY)
    oflag &= ~termios.OPOST
    lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    cflag &= ~(termios.CSIZE | termios.PARENB | termios.CSTOPB | termios.CRTSCTS)
    cflag |= termios.CS8 | termios.CREAD | termios.CLOCAL
    speed = getattr(termios, f"B{baudrate}", None)
    if speed is None:
        raise TransientError(f"unsupported baud rate {baudrate}")
    cc = list(cc)
    cc[termios.VMIN], cc[termios.VTIME] = 1, 0  # with VMIN 0 an empty read means "no data", not EOF
    termios.tcsetattr(fd, termios.TCSANOW, [iflag, oflag, cflag, lflag, speed, speed, cc])


class SerialLink:
    """A serial device (or a pty slave) opened non-blocking and driven by the event loop."""

    def __init__(self, fd: int, path: str) -> None:
        self._fd = fd
        self.path = path
        self._loop = asyncio.get_running_loop()
        self._out = bytearray()
        self._is_writing = False
        self._ready: asyncio.Future[None] | None = None
        self.is_closed = False

    @classmethod
    def open(cls, path: str, baudrate: int = 9600) -> SerialLink:
        """Open and configure the port; TransientError if it is not there (yet)."""
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            raise TransientError(f"cannot open {path}: {exc.strerror}") from exc
        try:
            _configure_tty(fd, baudrate)
        except (OSError, termios.error) as exc:
            os.close(fd)
            raise TransientError(f"cannot configure {path}: {exc}") from exc
        return cls(fd, path)

    async def read(self) -> bytes:
        """Bytes as they arrive; b"" once the port is gone (EIO) or closed."""
        while not self.is_closed:
            try:
                return os.read(self._fd, READ_SIZE)
            except BlockingIOError:
                pass
            except OSError:
                return b""  # EIO: the adapter was unplugged / the pty master closed
            self._ready = ready = self._loop.create_future()
            self._loop.add_reader(self._fd, _resolve, ready)
            try:
                await ready
            finally:
                self._ready = None
                if not self.is_closed:
                    self._loop.remove_reader(self._fd)
        return b""

    def write(self, data: bytes) -> None:
        """Write now, keeping what the port cannot take yet."""
        if self.is_closed:
            return
        self._out += data
        self._flush()

    def _flush(self) -> None:
        try:
            while self._out:
                written = os.write(self._fd, self._out)
                del self._out[:written]
        except BlockingIOError:
            pass
        except OSError as exc:
            if exc.errno != errno.EIO:
                log.warning("event=lutron_serial_write_failed path=%s error=%s", self.path, exc)
            self._out.clear()  # the reader sees the end of the link and reconnects
        if self._out and not self._is_writing:
            self._is_writing = True
            self._loop.add_writer(self._fd, self._writable)
        elif not self._out and self._is_writing:
            self._is_writing = False
            self._loop.remove_writer(self._fd)

    def _writable(self) -> None:
        self._flush()

    def close(self) -> None:
        """Close the port."""
        if self.is_closed:
            return
        self.is_closed = True
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        os.close(self._fd)
        if self._ready is not None:
            _resolve(self._ready)  # a pending read returns b


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class TcpLink:
    """A TCP connection (the telnet port of a repeater or bridge)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, host: str, port: int, timeout_s: float) -> TcpLink:
        """Connect; TransientError if the repeater cannot be reached."""
        try:
            async with asyncio.timeout(timeout_s):
                reader, writer = await asyncio.open_connection(host, port)
        except (OSError, TimeoutError) as exc:
            raise TransientError(f"cannot connect to {host}:{port}: {exc or 'timeout'}") from exc
        return cls(reader, writer)

    async def read(self) -> bytes:
        """Bytes as they arrive; b"" when the connection is closed."""
        try:
            return await self._reader.read(READ_SIZE)
        except OSError:
            return b""

    def write(self, data: bytes) -> None:
        """Queue bytes (the kernel's buffer is far larger than any LIP burst)."""
        if not self._writer.is_closing():
            self._writer.write(data)

    def close(self) -> None:
        """Close the connection."""
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
                raw = await reader.read(MAX_REPORT_BYTES + 64 * 1024)
                while chunk := await reader.read(65536):
                    raw += chunk
                    if len(raw) > MAX_REPORT_BYTES + 64 * 1024:
                        raise TransientError("the integration report is implausibly large")
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
