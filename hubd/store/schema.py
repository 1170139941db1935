"""The database schema as an ordered list of migrations, and opening a database safely.

``PRAGMA user_version`` holds how many migrations a database has had. Each migration runs in its
own transaction together with the bump of user_version, so a crash leaves the database at one
version or the next, never between. Append migrations; never edit one that has shipped.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from hubd.store.rows import CorruptDatabaseError, SchemaTooNewError, StoreError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema: what it does, for people, and its statements."""

    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration("devices, state, rules, timers, traces, outbox, tokens, meta", (
        """CREATE TABLE devices (
            id TEXT PRIMARY KEY,
            radio TEXT NOT NULL,
            address TEXT NOT NULL,
            name TEXT NOT NULL,
            room TEXT NOT NULL DEFAULT '',
            manufacturer TEXT NOT NULL DEFAULT '',
            model TEXT NOT NULL DEFAULT '',
            capabilities TEXT NOT NULL DEFAULT '[]',
            is_available INTEGER NOT NULL DEFAULT 1
        )""",
        """CREATE TABLE state (
            device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
            attribute TEXT NOT NULL,
            value TEXT NOT NULL,
            ts REAL NOT NULL,
            PRIMARY KEY (device_id, attribute)
        ) WITHOUT ROWID""",
        """CREATE TABLE rules (
            id TEXT PRIMARY KEY,
            source TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            is_enabled INTEGER NOT NULL DEFAULT 1,
            reason TEXT NOT NULL DEFAULT ''
        )""",
        """CREATE TABLE timers (
            key TEXT PRIMARY KEY,
            rule_id TEXT NOT NULL,
            deadline REAL NOT NULL,
            payload TEXT NOT NULL
        )""",
        "CREATE INDEX timers_by_rule ON timers (rule_id)",
        """CREATE TABLE traces (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            rule_id TEXT NOT NULL,
            ts REAL NOT NULL,
            body TEXT NOT NULL
        )""",
        "CREATE INDEX traces_by_rule ON traces (rule_id, id)",
        # AUTOINCREMENT: a seq is never reused, even after every row was acked and deleted,
        # because the cloud dedupes on (hub, seq).
        """CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            coalesce_key TEXT,
            body BLOB NOT NULL,
            ts REAL NOT NULL
        )""",
        "CREATE UNIQUE INDEX outbox_by_coalesce_key ON outbox (coalesce_key)"
        " WHERE coalesce_key IS NOT NULL",
        "CREATE INDEX outbox_by_kind ON outbox (kind, seq)",
        """CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            hash TEXT NOT NULL UNIQUE,
            scope TEXT NOT NULL,
            client TEXT NOT NULL,
            created REAL NOT NULL,
            last_used REAL
        )""",
        """CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
    )),
)

SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the database at path, tuned and migrated to SCHEMA_VERSION."""
    _create_private(path)
    try:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is exactly
        # what the code says, not what the sqlite3 module guesses.
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open the database: {exc}") from exc
    try:
        _tune(conn, path)
        migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError):
            raise StoreError(f"{path}: cannot use the database: {exc}") from exc
        raise CorruptDatabaseError(f"{path}: not a usable SQLite database ({exc}); move it "
                                   "aside to start afresh") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _create_private(path: Path) -> None:
    """Create the parent directory (0700) and the file (0600): it holds token hashes."""
    try:
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True)
            os.chmod(path.parent, 0o700)  # mkdir's mode is filtered by the umask
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the database: {exc.strerror or exc}") from exc


def _tune(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreError(f"{path}: the database refuses WAL mode (journal_mode={mode})")
    # NORMAL in WAL mode: a crash of the process loses nothing committed; a power cut may lose
    # the last transactions but never corrupts the database.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Apply the migrations the database has not had yet; return the version it had before."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"{path}: the database has schema version {version}, but this hubd knows only up "
            f"to {SCHEMA_VERSION}: it was written by a newer hubd. Run that version, or move "
            "the database aside to start afresh")
    for number in range(version + 1, SCHEMA_VERSION + 1):
        migration = MIGRATIONS[number - 1]
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("event=store_migrated path=%s version=%d what=%r", path, number,
                 migration.description)
    return version
