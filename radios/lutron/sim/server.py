"""The simulator's I/O: the engine behind a pty (RS232), a TCP port (telnet) and an HTTP port.

The serial side is a pty whose slave is reached through a stable symlink (like
/dev/serial/by-id/...), so "unplugging" closes the pty and "plugging in" makes a new one behind
the same path. The RS232 side can emulate the line's speed: at 9600 baud, ten bits a byte, each
byte in either direction takes 1.04 ms. Faults: drop links, stall half-open (read and write
nothing, keep the connection), slow replies, the engine's gap and garbage faults, reboot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import tty
from pathlib import Path
from types import TracebackType

from radios.lutron.settings import LutronSettings, LutronTransport
from radios.lutron.sim.engine import RepeaterEngine, SimSession
from radios.lutron.sim.fdlink import FdLink
from radios.lutron.sim.report import integration_report

log = logging.getLogger(__name__)


class _Pipe:
    """One session's link: feeds the engine, paces and delays output, can stall."""

    def __init__(self, sim: LutronSimulator, session: SimSession, baudrate: int | None) -> None:
        self.sim = sim
        self.session = session
        self.byte_s = 10.0 / baudrate if baudrate else 0.0
        self._line_free_at = 0.0
        self._in_free_at = 0.0
        self._out: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def feed(self, data: bytes) -> None:
        """Bytes arrived from the client."""
        if self.sim.is_stalled:
            return
        self.session.receive_data(data)
        self.sim.pump()

    def push(self, data: bytes) -> None:
        """Queue output with the reply delay and the line speed applied."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now + self.sim.reply_delay_s, self._line_free_at)
        self._line_free_at = start + len(data) * self.byte_s
        self._out.put_nowait((self._line_free_at, data))

    async def write_loop(self, write: object) -> None:
        """Hand queued output to ``write`` when its last byte would have crossed the line."""
        loop = asyncio.get_running_loop()
        assert callable(write)
        while True:
            due, data = await self._out.get()
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if not self.sim.is_stalled:
                write(data)

    async def arrival_delay(self, size: int) -> None:
        """Incoming bytes take the line's time too (serial emulation only)."""
        if not self.byte_s:
            return
        loop = asyncio.get_running_loop()
        self._in_free_at = max(loop.time(), self._in_free_at) + size * self.byte_s
        await asyncio.sleep(self._in_free_at - loop.time())


class LutronSimulator:
    """A RadioRA 2 main repeater on a pty and on 127.0.0.1 (telnet + HTTP for DbXmlInfo.xml)."""

    def __init__(self, engine: RepeaterEngine, *, serial: bool = True, telnet: bool = True,
                 baudrate: int | None = None, directory: Path | None = None) -> None:
        self.engine = engine
        self.baudrate = baudrate  # None: no line-speed emulation
        self.reply_delay_s = 0.0
        self.is_stalled = False
        self._want_serial, self._want_telnet = serial, telnet
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._dir = directory
        self.serial_path: Path | None = None
        self.telnet_port = 0
        self.http_port = 0
        self._pipes: dict[SimSession, _Pipe] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._servers: list[asyncio.Server] = []
        self._tcp_writers: dict[SimSession, asyncio.StreamWriter] = {}
        self._pty: tuple[int, int, FdLink] | None = None
        self._serial_session: SimSession | None = None
        self._wake = asyncio.Event()
        engine.on_output = self.pump

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> LutronSimulator:
        if self._dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="lutron-sim-")
            self._dir = Path(self._tmp.name)
        self.serial_path = self._dir / "ttyLutron"
        if self._want_serial:
            self.plug_in()
        if self._want_telnet:
            telnet = await asyncio.start_server(self._on_telnet, "127.0.0.1", 0)
            http = await asyncio.start_server(self._on_http, "127.0.0.1", 0)
            self._servers += [telnet, http]
            self.telnet_port = telnet.sockets[0].getsockname()[1]
            self.http_port = http.sockets[0].getsockname()[1]
        self._spawn(self._tick_loop())
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        for server in self._servers:
            server.close()
        for writer in list(self._tcp_writers.values()):
            writer.close()
        self.unplug()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        if self._tmp is not None:
            self._tmp.cleanup()

    def _spawn(self, coro: object) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def settings(self, transport: LutronTransport | str = LutronTransport.SERIAL,
                 **overrides: object) -> LutronSettings:
        """Settings that point the driver at this simulator."""
        base: dict[str, object] = {"transport": LutronTransport(transport),
                                   "path": str(self.serial_path), "host": "127.0.0.1",
                                   "port": self.telnet_port, "http_port": self.http_port,
                                   "username": self.engine.username,
                                   "password": self.engine.password}
        base.update(overrides)
        return LutronSettings(**base)  # type: ignore[arg-type]

    # -- the engine's output -------------------------------------------------------------------

    def pump(self) -> None:
        """Move every session's pending output to its link; wake the fade timer."""
        for session, pipe in list(self._pipes.items()):
            if session.is_closed:
                self._drop(session)
                continue
            data = session.data_to_send()
            if data:
                pipe.push(data)
        self._wake.set()

    async def _tick_loop(self) -> None:
        while True:
            self._wake.clear()
            deadline = self.engine.next_deadline()
            now = self.engine.clock.monotonic()
            timeout = None if deadline is None else max(0.0, deadline - now)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self.engine.tick()
            for session in list(self._pipes):
                data = session.data_to_send() if not session.is_closed else b""
                if data:
                    self._pipes[session].push(data)

    def _drop(self, session: SimSession) -> None:
        pipe = self._pipes.pop(session, None)
        if pipe is not None and pipe.task is not None:
            pipe.task.cancel()
        writer = self._tcp_writers.pop(session, None)
        if writer is not None:
            writer.close()
        if session is self._serial_session:
            # A serial port cannot be "dropped" by the repeater: a fresh session takes over
            self._serial_session = None
            if self._pty is not None:
                self._open_serial_session()

    # -- serial --------------------------------------------------------------------------------

    def plug_in(self) -> None:
        """Create the pty and point the stable path at its slave."""
        if self._pty is not None or self.serial_path is None:
            return
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline: bytes cross as they are
        os.set_blocking(master, False)
        link = FdLink(master, "pty-master")
        self._pty = (master, slave, link)
        tmp = self.serial_path.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.serial_path)
        self._open_serial_session()

    def _open_serial_session(self) -> None:
        assert self._pty is not None
        session = self.engine.open_session("serial", needs_login=False)
        pipe = _Pipe(self, session, self.baudrate)
        self._serial_session = session
        self._pipes[session] = pipe
        link = self._pty[2]
        pipe.task = self._spawn(pipe.write_loop(link.write))
        if not any(t.get_name() == "lutron-sim-serial-read" for t in self._tasks):
            task = self._spawn(self._serial_read_loop(link))
            task.set_name("lutron-sim-serial-read")

    async def _serial_read_loop(self, link: FdLink) -> None:
        while True:
            data = await link.read()
            if not data:
                return
            session = self._serial_session
            pipe = self._pipes.get(session) if session is not None else None
            if pipe is None:
                continue
            await pipe.arrival_delay(len(data))
            pipe.feed(data)

    def unplug(self) -> None:
        """Pull the USB adapter: the pty closes (the driver reads EIO) and the path vanishes."""
        if self._pty is None:
            return
        _master, slave, link = self._pty
        self._pty = None
        session, self._serial_session = self._serial_session, None
        if session is not None:
            self.engine.close_session(session)
            self._drop(session)
        link.close()
        os.close(slave)
        if self.serial_path is not None:
            self.serial_path.unlink(missing_ok=True)
        for task in list(self._tasks):
            if task.get_name() == "lutron-sim-serial-read":
                task.cancel()

    # -- telnet and http -----------------------------------------------------------------------

    async def _on_telnet(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.engine.is_booting():
            writer.close()
            return
        peer = writer.get_extra_info("peername")
        session = self.engine.open_session(f"telnet:{peer[1] if peer else '?'}", needs_login=True)
        pipe = _Pipe(self, session, None)
        self._pipes[session] = pipe
        self._tcp_writers[session] = writer
        writer_task = self._spawn(pipe.write_loop(writer.write))
        self.pump()
        try:
            while data := await reader.read(4096):
                pipe.feed(data)
        except OSError:
            pass
        finally:
            writer_task.cancel()
            self.engine.close_session(session)
            self._pipes.pop(session, None)
            self._tcp_writers.pop(session, None)
            writer.close()

    async def _on_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            target = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
            if target == b"/DbXmlInfo.xml":
                body = integration_report(self.engine.house).encode("utf-8")
                status = b"200 OK"
            else:
                body, status = b"not found\n", b"404 Not Found"
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: text/xml\r\n"
                         b"Content-Length: " + str(len(body)).encode() +
                         b"\r\nConnection: close\r\n\r\n" + body)
            await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    # -- faults --------------------------------------------------------------------------------

    def drop_links(self) -> None:
        """Close every telnet connection (the serial line has no connection to drop: unplug)."""
        for writer in list(self._tcp_writers.values()):
            writer.close()

    def reboot(self, boot_s: float = 0.2) -> None:
        """Reboot the repeater: links drop, sessions and monitoring reset, deaf for ``boot_s``."""
        self.engine.reboot(boot_s)

    def stall(self, is_stalled: bool = True) -> None:
        """Half-open: the links stay up but nothing is read or written."""
        self.is_stalled = is_stalled
