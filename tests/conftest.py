"""Guards for the whole test session."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Callable

import pytest

from hubd.loop import new_loop


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop, and name, SQLite worker threads a test left open.

    aiosqlite runs each connection on a non-daemon thread: one a test never closed (zigpy's
    database of an application that was not shut down) keeps the interpreter from exiting after
    the summary, and a CI run then hangs until its time limit instead of reporting.
    """
    core = sys.modules.get("aiosqlite.core")
    if core is None:
        return
    for obj in gc.get_objects():
        # type(), not isinstance(): a weakref proxy whose object is gone raises ReferenceError
        # when isinstance() asks it for its __class__ (one was left by the radio tests).
        if issubclass(type(obj), core.Connection) and obj._thread.is_alive():
            print(f"\nleaked aiosqlite connection, stopped at the session's end: {obj!r}",
                  file=sys.stderr)
            obj.stop()


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item
                                  ) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every async test runs on the daemon's own event loop (uvloop, ``hubd.loop``)."""
    return {"uvloop": new_loop}
