"""The daemon's event loop: uvloop's (libuv, written in Cython) rather than asyncio's own.

Everything hubd does is loop work: a rule run is a task, a radio frame a reader callback, an API
request a handful of callbacks. On the hub's Python (Debian 12's 3.11.2) uvloop creates and runs a
bare task in ~60 % of asyncio's time; the rule engine fed as the daemon feeds it fires 3-4 % more
rules per CPU second and the LAN API spends ~10 % less CPU per request (``make bench``, A/B
alternating on one machine), for ~2.3 MiB of RSS and ~30 ms of import. Its ``loop.time()``
has millisecond resolution, which is all the daemon asks of it (timeouts, the watchdog's pacer):
latencies are measured with ``time.perf_counter`` and the clock's own readings.

``hubd run``, the benchmarks that measure the daemon's path and the tests all run on this loop,
so what is measured and tested is what the hub runs.
"""

from __future__ import annotations

import asyncio

import uvloop


def new_loop() -> asyncio.AbstractEventLoop:
    """A fresh event loop of the kind the daemon runs on."""
    return uvloop.new_event_loop()


def name() -> str:
    """The loop's name and version, for the benchmarks' header."""
    from importlib.metadata import version  # not on the daemon's start path

    return f"uvloop {version('uvloop')}"
