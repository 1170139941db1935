"""The links: the serial port is ours alone (serialx, exclusive), TCP writes are bounded."""

from __future__ import annotations

import asyncio
import socket

import pytest

from hubd.core.errors import TransientError
from radios.lutron.sim.server import LutronSimulator
from radios.lutron.transport import MAX_UNSENT_BYTES, StreamLink
from tests.radios.lutron.conftest import running


async def test_the_serial_port_is_opened_exclusively(sim: LutronSimulator) -> None:
    async with running(sim, "serial"):
        assert sim.serial_path is not None
        # A second program (or a second hub) must not interleave its bytes with ours.
        with pytest.raises(TransientError, match="cannot open"):
            await StreamLink.open_serial(str(sim.serial_path))


async def test_a_peer_that_stops_reading_is_dropped_not_buffered_forever() -> None:
    accepted: asyncio.Future[socket.socket] = asyncio.get_running_loop().create_future()

    def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        accepted.set_result(sock)  # and never read

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    link = await StreamLink.open_tcp("127.0.0.1", port, 2.0)
    try:
        await asyncio.wait_for(accepted, 2)
        chunk = b"#OUTPUT,1,1,50\r\n" * 256  # 4 KiB
        for _ in range(4096):  # up to 16 MiB; the kernel's buffers hold far less
            link.write(chunk)
            if link.is_closing:
                break
            await asyncio.sleep(0)
        assert link.is_closing
        assert link.unsent_bytes <= MAX_UNSENT_BYTES + len(chunk)
        assert await asyncio.wait_for(link.read(), 2) == b""  # the driver sees the end
    finally:
        link.close()
        server.close()
        await server.wait_closed()
