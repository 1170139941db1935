"""The simulator on real byte streams: the master side of a pty, or a TCP port on 127.0.0.1.

Thin glue around a sans-I/O coordinator engine (ZStack, or the EZSP Ncp): bytes read from the
line are fed to the engine with the loop's time, its output is written back, and its timers are
armed on the loop. With ``baud_rate`` set, each direction is paced at 10 bits per byte (8N1) so
latencies look like a real 115200-baud UART. Unplugging closes the pty master (the host sees
EIO / connection lost) or drops the TCP connection; replugging powers the stick up again,
keeping its NV.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import termios
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

BITS_PER_BYTE = 10  # 8N1: start bit, 8 data bits, stop bit


class Engine(Protocol):
    """A sans-I/O coordinator: what the line needs from ZStack or the EZSP Ncp."""

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes the host wrote."""
        ...

    def data_to_send(self) -> bytes:
        """Bytes for the host."""
        ...

    def next_deadline(self) -> float | None:
        """When handle_timers() must next run."""
        ...

    def handle_timers(self, now: float) -> None:
        """Run the work that is due."""
        ...

    def set_wakeup(self, wakeup: Callable[[], None] | None) -> None:
        """Called whenever output or timers appear outside receive_data."""
        ...


class LineTransport:
    """Moves bytes between one engine and a pty or TCP host, with optional pacing."""

    def __init__(self, engine: Engine, *, baud_rate: int | None = None) -> None:
        self.engine = engine
        self.baud_rate = baud_rate
        self._loop = asyncio.get_running_loop()
        self._sink: Callable[[bytes], None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0  # the handle's deadline (uvloop's handles do not say when())
        self._is_flush_scheduled = False
        self._rx_free_at = 0.0
        self._tx_free_at = 0.0
        self.bytes_in = 0
        self.bytes_out = 0
        # Benchmarks stamp frames at the line, not after the engine's decoding: called with
        # the loop's time when bytes from the host reach the engine (the last byte crossed
        # the emulated line) and when the engine's bytes are handed to the line.
        self.on_bytes_in: Callable[[float], None] | None = None
        self.on_bytes_out: Callable[[float], None] | None = None
        engine.set_wakeup(self._kick)

    @property
    def byte_time_s(self) -> float:
        """How long one byte takes on the emulated line (0 without line emulation)."""
        return BITS_PER_BYTE / self.baud_rate if self.baud_rate else 0.0

    def attach(self, sink: Callable[[bytes], None] | None) -> None:
        """Where the engine's output goes (None: nobody listens, output is dropped)."""
        self._sink = sink

    def feed(self, data: bytes) -> None:
        """Bytes arrived from the host."""
        self.bytes_in += len(data)
        if not self.byte_time_s:
            now = self._loop.time()
            if self.on_bytes_in is not None:
                self.on_bytes_in(now)
            self.engine.receive_data(data, now)
            self._flush()
            return
        # The last byte is in only after the whole chunk has crossed the line
        now = self._loop.time()
        self._rx_free_at = max(now, self._rx_free_at) + len(data) * self.byte_time_s
        self._loop.call_at(self._rx_free_at, self._feed_now, data)

    def _feed_now(self, data: bytes) -> None:
        now = self._loop.time()
        if self.on_bytes_in is not None:
            self.on_bytes_in(now)
        self.engine.receive_data(data, now)
        self._flush()

    def _kick(self) -> None:
        if not self._is_flush_scheduled:
            self._is_flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._is_flush_scheduled = False
        data = self.engine.data_to_send()
        if data:
            self._send(data)
        self._arm_timer()

    def _send(self, data: bytes) -> None:
        if self.on_bytes_out is not None:
            self.on_bytes_out(self._loop.time())
        if not self.byte_time_s:
            self._write(data)
            return
        now = self._loop.time()
        self._tx_free_at = max(now, self._tx_free_at) + len(data) * self.byte_time_s
        self._loop.call_at(self._tx_free_at, self._write, data)

    def _write(self, data: bytes) -> None:
        if self._sink is not None:
            self.bytes_out += len(data)
            self._sink(data)

    def _arm_timer(self) -> None:
        deadline = self.engine.next_deadline()
        if deadline is None:
            return
        if self._timer is not None:
            if self._timer_at <= deadline:
                return
            self._timer.cancel()
        self._timer = self._loop.call_at(deadline, self._on_timer)
        self._timer_at = deadline

    def _on_timer(self) -> None:
        self._timer = None
        self.engine.handle_timers(self._loop.time())
        self._flush()

    def close(self) -> None:
        """Stop moving bytes and timers."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._sink = None
        self.engine.set_wakeup(None)


class PtyPort:
    """The master side of a pseudo-terminal whose slave is reached through a stable symlink."""

    def __init__(self, transport: LineTransport, link_dir: Path | None = None) -> None:
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._dir = link_dir or Path(tempfile.mkdtemp(prefix="hubd-znp-"))
        self.path = str(self._dir / "ttyZNP0")
        self._master: int | None = None
        self._slave: int | None = None
        self._pending = bytearray()

    @property
    def is_open(self) -> bool:
        """Whether the port is plugged in."""
        return self._master is not None

    def open(self) -> None:
        """Plug in: a new pty, raw mode, the symlink pointed at its slave."""
        master, slave = os.openpty()
        tty.setraw(slave, termios.TCSANOW)
        os.set_blocking(master, False)
        tmp_link = self.path + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_link)
        os.symlink(os.ttyname(slave), tmp_link)
        os.replace(tmp_link, self.path)
        # Keep our slave fd open: without it the master reads EIO until the host opens it
        self._master, self._slave = master, slave
        self._loop.add_reader(master, self._on_readable)
        self._transport.attach(self._write)

    def _on_readable(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # EIO while no slave is open; the host will come back
        if data:
            self._transport.feed(data)

    def _write(self, data: bytes) -> None:
        if self._master is None:
            return
        self._pending += data
        self._drain()

    def _drain(self) -> None:
        if self._master is None:
            return
        try:
            written = os.write(self._master, self._pending)
        except BlockingIOError:
            written = 0
        except OSError:
            self._pending.clear()
            return
        del self._pending[:written]
        if self._pending:
            self._loop.add_writer(self._master, self._on_writable)

    def _on_writable(self) -> None:
        assert self._master is not None
        self._loop.remove_writer(self._master)
        self._drain()

    def close(self) -> None:
        """Unplug: close both ends; the host's reads fail and it sees the connection lost."""
        self._transport.attach(None)
        self._pending.clear()
        if self._master is not None:
            self._loop.remove_reader(self._master)
            self._loop.remove_writer(self._master)
            os.close(self._master)
            self._master = None
        if self._slave is not None:
            os.close(self._slave)
            self._slave = None

    def remove(self) -> None:
        """Close and delete the symlink and its directory."""
        self.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            self._dir.rmdir()


class TcpPort:
    """A TCP listener on 127.0.0.1 serving one host at a time (``socket://127.0.0.1:PORT``)."""

    def __init__(self, transport: LineTransport, port: int = 0, *,
                 on_connect: Callable[[], None] | None = None) -> None:
        self._transport = transport
        self.port = port
        self._on_connect = on_connect  # e.g. a stick whose NCP resets when a host connects
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def path(self) -> str:
        """The URL zigpy opens."""
        return f"socket://127.0.0.1:{self.port}"

    @property
    def is_open(self) -> bool:
        """Whether the port listens."""
        return self._server is not None

    async def open(self) -> None:
        """Listen (on the same port again after an unplug)."""
        self._server = await asyncio.start_server(self._on_client, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None:
            writer.close()  # one host at a time, as with a serial port
            return
        self._writer = writer
        self._transport.attach(writer.write)
        if self._on_connect is not None:
            self._on_connect()
        try:
            while data := await reader.read(4096):
                self._transport.feed(data)
        except ConnectionError:
            pass
        finally:
            if self._writer is writer:
                self._writer = None
                self._transport.attach(None)
            writer.close()

    def close(self) -> None:
        """Unplug: drop the host's connection and stop listening."""
        self._transport.attach(None)
        if self._writer is not None:
            self._writer.transport.abort()
            self._writer = None
        if self._server is not None:
            self._server.close()
            self._server = None
