"""The machine's floor under the Zigbee figure: bare pty hops between two processes.

The Zigbee local-control figure crosses a pty twice (door frame to the hub, command back to
the simulator), each time waking a process that has been idle. This measures the same two
hops with nothing else: the parent writes 8 bytes (its perf_counter stamp) to the master
side, a child process (``python -m tools.bench.pty_floor child``) reads them from the slave
side and writes back its own stamp; the caller's gap between samples (the Zigbee bench's), so
both processes are idle when woken, as they are there. Both ends use asyncio readers, as
zigpy-znp's serial transport and the simulator's pty port do.
"""

from __future__ import annotations

import asyncio
import os
import struct
import sys
import time
import tty

_STAMP = struct.Struct("d")


async def _child(path: str) -> None:
    loop = asyncio.get_running_loop()
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)  # raw: the parent set it

    def readable() -> None:
        data = os.read(fd, 64)
        os.write(fd, _STAMP.pack(time.perf_counter()) + data[:_STAMP.size])

    loop.add_reader(fd, readable)
    os.write(fd, b"r")  # ready
    await asyncio.sleep(3600)  # the parent kills us


async def hops(samples: int, gap_s: float) -> tuple[list[float], list[float]]:
    """Seconds of the hop to the idle child and of the round trip, one pair per sample."""
    master, slave = os.openpty()
    tty.setraw(slave)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tools.bench.pty_floor", "child", os.ttyname(slave))
    loop = asyncio.get_running_loop()
    os.set_blocking(master, False)
    waiting: asyncio.Future[tuple[bytes, float]] | None = None

    def readable() -> None:
        data = os.read(master, 64)
        if waiting is not None and not waiting.done():
            waiting.set_result((data, time.perf_counter()))

    loop.add_reader(master, readable)
    waiting = loop.create_future()
    await asyncio.wait_for(waiting, 10)  # the child's "ready"
    there: list[float] = []
    round_trip: list[float] = []
    try:
        for i in range(samples + 10):
            waiting = loop.create_future()
            sent_at = time.perf_counter()
            os.write(master, _STAMP.pack(sent_at))
            data, back_at = await asyncio.wait_for(waiting, 10)
            (read_at,) = _STAMP.unpack(data[:_STAMP.size])
            if i >= 10:  # the child's start-up
                there.append(read_at - sent_at)
                round_trip.append(back_at - sent_at)
            await asyncio.sleep(gap_s)
    finally:
        loop.remove_reader(master)
        child.kill()
        await child.wait()
        os.close(master)
        os.close(slave)
    return there, round_trip


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    asyncio.run(_child(sys.argv[2]))
