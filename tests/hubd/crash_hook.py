"""Crash-test instrumentation: hold a process inside a store write, so a SIGKILL lands there.

A kill at a random moment mostly lands between writes (measured: 5 of 30 kills in a transaction
for the store test, 0 of 25 for the daemon's), so a crash test that relies on timing tests
nothing most of the time. ``install`` wraps the store's connections with SQLite's statement
trace: once ``after_writes`` write transactions have committed, the next one is stopped at its
``statement``-th statement (BEGIN IMMEDIATE is statement 0, COMMIT the last), the marker file
is written, and the store's thread sleeps there, the transaction open, until the process is
killed. Nothing else changes: the event loop, the other threads and the writes before go on.

Used through ``$HUBD_CRASH_HOOK`` (``MARKER:STATEMENT:AFTER_WRITES``, STATEMENT ``commit`` for
the COMMIT itself) by ``python -m tests.hubd.crash_hook CLI-ARGS...`` (the daemon) and by
tests.hubd.store_crash_writer.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

import hubd.store.schema
import hubd.store.sqlite

ENV = "HUBD_CRASH_HOOK"
COMMIT = -1


class _Hook:
    def __init__(self, marker: Path, statement: int, after_writes: int) -> None:
        self.marker = marker
        self.statement = statement
        self.after_writes = after_writes
        self.writes = 0
        self.position: int | None = None  # statement index inside the open write, else None

    def trace(self, sql: str) -> None:
        verb = sql.strip().split(None, 1)[0].upper() if sql.strip() else ""
        if verb == "BEGIN" and "IMMEDIATE" in sql.upper():
            self.position = 0
        elif self.position is None:
            return
        elif verb in ("COMMIT", "ROLLBACK"):
            if self.writes >= self.after_writes and self.statement == COMMIT:
                self.hold(f"at COMMIT, after {self.position} statements")
            self.position = None
            self.writes += 1
            return
        else:
            self.position += 1
        if (self.writes >= self.after_writes and self.position == self.statement
                and self.statement != COMMIT):
            self.hold(f"at statement {self.position}: {sql.strip()[:60]}")

    def hold(self, where: str) -> None:
        tmp = self.marker.with_suffix(".tmp")
        tmp.write_text(f"in transaction {where} (write {self.writes + 1})\n")
        tmp.replace(self.marker)
        while True:  # until SIGKILL; the transaction stays open
            time.sleep(3600)


def install(marker: Path, statement: int, after_writes: int) -> None:
    """Wrap every store connection opened from now on with the hook."""
    hook = _Hook(marker, statement, after_writes)
    real: Callable[[Path], sqlite3.Connection] = hubd.store.schema.connect

    def connect(path: Path) -> sqlite3.Connection:
        conn = real(path)
        conn.set_trace_callback(hook.trace)  # one store thread: no lock needed
        return conn

    # The Store opens its connections through the name it imported from hubd.store.schema.
    setattr(hubd.store.sqlite, "connect", connect)  # noqa: B010


def install_from_env() -> bool:
    """Install the hook $HUBD_CRASH_HOOK asks for; whether there was one."""
    value = os.environ.get(ENV)
    if not value:
        return False
    marker, statement, after = value.rsplit(":", 2)
    install(Path(marker), COMMIT if statement == "commit" else int(statement), int(after))
    return True


def spec(marker: Path, statement: int | str, after_writes: int) -> str:
    """The $HUBD_CRASH_HOOK value for these settings."""
    return f"{marker}:{statement}:{after_writes}"


if __name__ == "__main__":
    install_from_env()
    from hubd.cli import main

    main(sys.argv[1:], prog_name="hubd")
