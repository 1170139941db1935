"""The simulator's end of the serial line: the pty master as a non-blocking descriptor."""

from __future__ import annotations

import asyncio
import errno
import logging
import os

log = logging.getLogger(__name__)

READ_SIZE = 4096


class FdLink:
    """A non-blocking file descriptor (the simulator's pty master) driven by the event loop."""

    def __init__(self, fd: int, path: str) -> None:
        self._fd = fd
        self.path = path
        self._loop = asyncio.get_running_loop()
        self._out = bytearray()
        self._is_writing = False
        self._ready: asyncio.Future[None] | None = None
        self.is_closed = False

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
                log.warning("event=lutron_sim_write_failed path=%s error=%s", self.path, exc)
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
