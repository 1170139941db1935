"""Giving the memory Python has freed back to the system.

glibc's malloc keeps freed memory in its heap for reuse rather than returning it, so hubd's RSS
drifts up to the peak of what its busiest minutes needed: in the soak (hours of a busy house),
12-15 MiB of ~140 MiB resident was memory already freed and kept this way, and the RSS went up
and down by as much between samples. ``release()`` asks glibc to return it (``malloc_trim(0)``:
~1 ms on that heap). The daemon calls it in a worker thread once boot is done and then every
``RELEASE_EVERY_S``, so that on a hub with little RAM its resident size is what it holds. On
another C library (musl, macOS) there is nothing to call, and it does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
from collections.abc import Callable
from functools import cache

log = logging.getLogger(__name__)

RELEASE_EVERY_S = 60.0


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    # The C library hubd's interpreter runs on (dlopen of the program itself: no search, no
    # ldconfig subprocess). ctypes releases the GIL during the call.
    trim: Callable[[int], int] | None = getattr(ctypes.CDLL(None), "malloc_trim", None)
    return trim


def release() -> bool:
    """Return the free memory of the C heap to the system; True if some was."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


async def keep_released(every_s: float = RELEASE_EVERY_S) -> None:
    """Release free memory now and then every ``every_s``, in a worker thread (the loop goes
    on; only a large allocation made during the ~1 ms call waits for it)."""
    if _malloc_trim() is None:
        log.info("event=memory_release_unavailable")
        return
    while True:
        await asyncio.to_thread(release)
        await asyncio.sleep(every_s)
