"""The hub's own share of Zigbee local control, stamped inside the hub's process.

The headline figure is stamped by the coordinator simulator at its line, so it holds two pty
hops, each waking an idle process: the hub's and the simulator's own (a chip's UART never
sleeps). ``hub_stamps`` stamps the other two ends instead, in the hub: when zigpy-znp's
serial protocol (the adapter's ``MtLine``, radios/zigbee/adapter/znp_line.py) is handed the
bytes read from the pty (``data_received``), and when the bytes of an On/Off
AF.DataRequestExt are handed to its transport (``write`` called: the syscall's
return can wait while the simulator it woke runs on the processor, 0.04 ms p50 but up to
0.4-0.7 ms at p90-p99 in some runs, and that is the pty hop's, in the headline). Both
with ``perf_counter`` in one process: no wake-up of either process is in it, only the hub's
work (zigpy-znp's framing and parsing, the packet entry, the driver, hub, bus, rule, the
adapter, zigpy-znp's send).

A process spinning on its end of the pty instead of sleeping was tried for the simulator:
on a 2-core VM shared by other jobs it takes a core from the hub and makes the figure worse,
not more faithful (p50 4.9-5.7 ms spinning, 2.0-2.7 spinning with sched_yield, against
2.0-2.4 sleeping, one session at load 1.3-1.9), so it is not offered.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

# MT AF 3.2.1.1 AF.DataRequestExt as framed on the line (MT 2.1.1): SOF, length, cmd0
# (SREQ, AF), cmd1; its ClusterId is at data offset 13 (address mode, 8-byte address,
# endpoint, PAN id, source endpoint), i.e. bytes 17-18 of the frame.
_DATA_REQUEST_EXT = bytes((0x24, 0x02))
_ON_OFF = bytes((0x06, 0x00))


@contextlib.contextmanager
def hub_stamps() -> Iterator[list[float]]:
    """Within: seconds from the read that preceded each On/Off request to its write call."""
    from radios.zigbee.adapter.znp_line import MtLine

    samples: list[float] = []
    read_at = 0.0
    received, write = MtLine.data_received, MtLine.write

    def stamped_received(self: Any, data: bytes) -> None:
        nonlocal read_at
        read_at = time.perf_counter()
        received(self, data)

    def stamped_write(self: Any, data: bytes) -> None:
        if data[2:4] == _DATA_REQUEST_EXT and data[17:19] == _ON_OFF:
            samples.append(time.perf_counter() - read_at)
        write(self, data)

    MtLine.data_received, MtLine.write = stamped_received, stamped_write  # type: ignore[method-assign]
    try:
        yield samples
    finally:
        MtLine.data_received, MtLine.write = received, write  # type: ignore[method-assign]
