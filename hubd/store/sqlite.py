"""The Store: hubd's SQLite database, synchronous and confined to the thread that opened it."""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from hubd.core.errors import DuplicateError
from hubd.core.model import Capability, Device, Value
from hubd.core.state import StateEntry
from hubd.store import outbox
from hubd.store.rows import (
    TRACES_PER_RULE,
    Batch,
    CorruptDatabaseError,
    OutboxRow,
    RuleRow,
    Snapshot,
    StoreError,
    TimerRow,
    TokenRow,
    TraceRow,
)
from hubd.store.schema import connect

log = logging.getLogger(__name__)

_DEVICE_COLUMNS = "id, radio, address, name, room, manufacturer, model, capabilities, is_available"


class Store:
    """Devices, state, rules, timers, traces, outbox, tokens and meta in one SQLite file (WAL).

    Every method must be called from the thread that called ``open`` (sqlite3 checks it).
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open the database at path, creating and migrating it as needed."""
        return cls(path, connect(path))

    def close(self) -> None:
        """Close the database (a WAL checkpoint happens as the last connection closes)."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        try:
            # IMMEDIATE: take the write lock now, so busy_timeout applies here and not as a
            # deadlock-prone upgrade halfway through the batch.
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot start a write: {exc}") from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self.translate(exc, "write failed") from exc
            raise

    # -- boot -------------------------------------------------------------------------------

    def load_devices(self) -> list[Device]:
        """Every known device."""
        rows = self._conn.execute(f"SELECT {_DEVICE_COLUMNS} FROM devices ORDER BY id")
        return [_device(row) for row in rows]

    def load_state(self) -> list[StateEntry]:
        """The last persisted value of every attribute of every device."""
        entries = []
        for device_id, attribute, text, ts in self._conn.execute(
                "SELECT device_id, attribute, value, ts FROM state ORDER BY device_id, attribute"):
            try:
                value: Value = json.loads(text)
            except ValueError:
                log.warning("event=store_bad_value device=%s attribute=%s", device_id, attribute)
                continue
            entries.append(StateEntry(device_id, attribute, value, ts))
        return entries

    def load_timers(self) -> list[TimerRow]:
        """Every pending timer, soonest first."""
        rows = self._conn.execute(
            "SELECT key, rule_id, deadline, payload FROM timers ORDER BY deadline, key")
        return [TimerRow(*row) for row in rows]

    def load_traces(self, rule_id: str | None = None) -> list[TraceRow]:
        """The kept traces of one rule or of all, oldest first."""
        if rule_id is None:
            rows = self._conn.execute("SELECT rule_id, ts, body FROM traces ORDER BY id")
        else:
            rows = self._conn.execute(
                "SELECT rule_id, ts, body FROM traces WHERE rule_id = ? ORDER BY id", (rule_id,))
        return [TraceRow(*row) for row in rows]

    def get_meta(self, key: str) -> str | None:
        """One meta value, or None."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def load_meta(self) -> dict[str, str]:
        """Every meta value."""
        return dict(self._conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall())

    def load_rule_states(self) -> dict[str, tuple[bool, str]]:
        """Per rule id: whether it is enabled, and why not."""
        rows = self._conn.execute("SELECT id, is_enabled, reason FROM rules ORDER BY id")
        return {rule_id: (bool(enabled), reason) for rule_id, enabled, reason in rows}

    def snapshot(self) -> Snapshot:
        """Everything the daemon needs at boot, read in one read transaction."""
        try:
            with self._read():
                return Snapshot(tuple(self.load_devices()), tuple(self.load_state()),
                                tuple(self.load_timers()), tuple(self.load_traces()),
                                self.load_meta(), self.load_rule_states())
        except sqlite3.Error as exc:
            raise self.translate(exc, "cannot read the database") from exc

    @contextlib.contextmanager
    def _read(self) -> Iterator[None]:
        self._conn.execute("BEGIN")
        try:
            yield
        finally:
            self._conn.execute("COMMIT")

    def translate(self, exc: sqlite3.Error, what: str) -> StoreError:
        """The StoreError to raise for a sqlite3 error (a damaged file says so)."""
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(
                exc, sqlite3.OperationalError | sqlite3.IntegrityError):
            return CorruptDatabaseError(f"{self.path}: {what}: {exc}; the file is damaged: "
                                        "move it aside to start afresh")
        return StoreError(f"{self.path}: {what}: {exc}")

    # -- the write-behind batch --------------------------------------------------------------

    def write(self, batch: Batch) -> None:
        """Apply one batch in one transaction: all of it or, on error, none of it."""
        with self._transaction() as conn:
            for device_id, device in batch.devices.items():
                if device is None:
                    conn.execute("DELETE FROM devices WHERE id = ?", (device_id,))
                else:
                    # An upsert, not INSERT OR REPLACE: REPLACE deletes the row first, and the
                    # cascade would take the device's state with it.
                    conn.execute(
                        f"INSERT INTO devices ({_DEVICE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?) "
                        "ON CONFLICT (id) DO UPDATE SET radio=excluded.radio, "
                        "address=excluded.address, name=excluded.name, room=excluded.room, "
                        "manufacturer=excluded.manufacturer, model=excluded.model, "
                        "capabilities=excluded.capabilities, is_available=excluded.is_available",
                        _device_row(device))
            self._write_state(conn, batch)
            for key, timer in batch.timers.items():
                if timer is None:
                    conn.execute("DELETE FROM timers WHERE key = ?", (key,))
                else:
                    conn.execute("INSERT OR REPLACE INTO timers VALUES (?, ?, ?, ?)",
                                 (timer.key, timer.rule_id, timer.deadline, timer.payload))
            self._write_traces(conn, batch.traces)
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                             batch.meta.items())
            conn.executemany(
                "INSERT INTO rules (id, is_enabled, reason) VALUES (?, ?, ?) ON CONFLICT (id) "
                "DO UPDATE SET is_enabled=excluded.is_enabled, reason=excluded.reason",
                [(rid, int(on), why) for rid, (on, why) in batch.rule_states.items()])

    def _write_state(self, conn: sqlite3.Connection, batch: Batch) -> None:
        # A value for a device the database does not know is skipped, not allowed to fail the
        # whole batch (and every retry of it) on the foreign key.
        rows = [(e.device_id, e.attribute, json.dumps(e.value), e.ts, e.device_id)
                for e in batch.state.values()]
        written = conn.executemany(
            "INSERT INTO state (device_id, attribute, value, ts) SELECT ?, ?, ?, ? "
            "WHERE EXISTS (SELECT 1 FROM devices WHERE id = ?) "
            "ON CONFLICT (device_id, attribute) DO UPDATE SET value=excluded.value, ts=excluded.ts",
            rows).rowcount
        if written < len(rows):
            log.warning("event=store_state_skipped count=%d reason=unknown_device",
                        len(rows) - written)

    @staticmethod
    def _write_traces(conn: sqlite3.Connection, traces: list[TraceRow]) -> None:
        conn.executemany("INSERT INTO traces (rule_id, ts, body) VALUES (?, ?, ?)",
                         [(t.rule_id, t.ts, t.body) for t in traces])
        for rule_id in {t.rule_id for t in traces}:
            conn.execute(
                "DELETE FROM traces WHERE rule_id = ? AND id < (SELECT min(id) FROM "
                "(SELECT id FROM traces WHERE rule_id = ? ORDER BY id DESC LIMIT ?))",
                (rule_id, rule_id, TRACES_PER_RULE))

    # -- rules kept in the database -----------------------------------------------------------

    def load_rules(self) -> list[RuleRow]:
        """Every rule row (rules from the API, and the enabled state of rules from files)."""
        rows = self._conn.execute("SELECT id, source, body, is_enabled, reason FROM rules "
                                  "ORDER BY id")
        return [RuleRow(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows]

    def rule_put(self, rule: RuleRow) -> None:
        """Create or replace a rule row."""
        with self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO rules VALUES (?, ?, ?, ?, ?)",
                         (rule.id, rule.source, rule.body, int(rule.is_enabled), rule.reason))

    def rule_delete(self, rule_id: str) -> bool:
        """Delete a rule row, its timers and its traces; whether it existed."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM timers WHERE rule_id = ?", (rule_id,))
            conn.execute("DELETE FROM traces WHERE rule_id = ?", (rule_id,))
            return conn.execute("DELETE FROM rules WHERE id = ?", (rule_id,)).rowcount > 0

    # -- outbox --------------------------------------------------------------------------------

    def outbox_append(self, kind: str, body: bytes, coalesce_key: str | None,
                      max_rows: int) -> int:
        """Queue a message for the cloud; return its seq (see hubd.store.outbox)."""
        with self._transaction() as conn:
            return outbox.append(conn, kind, body, coalesce_key, max_rows, time.time())

    def outbox_append_many(self, messages: list[outbox.Message], limits: outbox.OutboxLimits,
                           ts: float | None = None) -> list[int]:
        """Queue a batch of messages in one transaction, then enforce the caps; their seqs."""
        with self._transaction() as conn:
            return outbox.append_many(conn, messages, limits, time.time() if ts is None else ts)

    def outbox_depth(self) -> tuple[int, int]:
        """How many messages wait for the cloud's ack, and their bytes."""
        return outbox.depth(self._conn)

    def outbox_acked_floor(self) -> int:
        """The highest seq the cloud is known to hold (see hubd.store.outbox.acked_floor)."""
        return outbox.acked_floor(self._conn)

    def outbox_after(self, seq: int, limit: int) -> list[OutboxRow]:
        """Messages after seq, oldest first."""
        return outbox.after(self._conn, seq, limit)

    def outbox_ack(self, seq: int) -> int:
        """The cloud has everything up to seq: forget it; return how many rows went."""
        with self._transaction() as conn:
            return outbox.ack(conn, seq)

    # -- tokens --------------------------------------------------------------------------------

    def token_add(self, token: TokenRow) -> None:
        """Store a new token (by hash); a duplicate id or hash is an error."""
        try:
            with self._transaction() as conn:
                conn.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?)",
                             (token.id, token.hash, token.scope, token.client, token.created,
                              token.last_used))
        except StoreError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise DuplicateError(f"token {token.id} exists already (same id or hash)") from exc
            raise

    def token_find(self, token_hash: str) -> TokenRow | None:
        """The token with this hash, if any."""
        row = self._conn.execute("SELECT * FROM tokens WHERE hash = ?", (token_hash,)).fetchone()
        return None if row is None else TokenRow(*row)

    def token_touch(self, token_id: str, ts: float) -> None:
        """Record that a token was used at ts."""
        with self._transaction() as conn:
            conn.execute("UPDATE tokens SET last_used = ? WHERE id = ?", (ts, token_id))

    def load_tokens(self) -> list[TokenRow]:
        """Every token, oldest first."""
        return [TokenRow(*r) for r in self._conn.execute("SELECT * FROM tokens ORDER BY created")]

    def token_delete(self, token_id: str) -> bool:
        """Revoke a token; whether it existed."""
        with self._transaction() as conn:
            return conn.execute("DELETE FROM tokens WHERE id = ?", (token_id,)).rowcount > 0

    # -- health --------------------------------------------------------------------------------

    def integrity_check(self) -> bool:
        """Whether SQLite finds the database sound (PRAGMA integrity_check)."""
        try:
            rows = self._conn.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.DatabaseError as exc:
            log.error("event=store_integrity_failed path=%s error=%s", self.path, exc)
            return False
        is_ok = rows == [("ok",)]
        if not is_ok:
            log.error("event=store_integrity_failed path=%s problems=%r", self.path, rows[:5])
        return is_ok


def _device_row(device: Device) -> tuple[object, ...]:
    capabilities = json.dumps(sorted(str(c) for c in device.capabilities))
    return (device.id, device.radio, device.address, device.name, device.room,
            device.manufacturer, device.model, capabilities, int(device.is_available))


def _device(row: tuple[object, ...]) -> Device:
    (did, radio, address, name, room, manufacturer, model, caps, is_available) = row
    known: set[Capability] = set()
    try:
        names = json.loads(str(caps))
    except ValueError:
        names = []
    for cap in names if isinstance(names, list) else []:
        try:
            known.add(Capability(cap))
        except ValueError:
            # Written by a newer hubd, or a capability since renamed: keep the device usable.
            log.warning("event=store_unknown_capability device=%s capability=%r", did, cap)
    return Device(str(did), str(radio), str(address), str(name), str(room), str(manufacturer),
                  str(model), frozenset(known), bool(is_available))
