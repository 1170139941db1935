"""The cloud outbox: a bounded queue of hub-to-cloud messages with monotonic sequence numbers.

Design, "Cloud tunnel": at-least-once delivery with a monotonic seq, state events coalesced per
attribute, telemetry dropped oldest-first with a ``dropped`` marker, cumulative acks. These
functions run inside the Store's transactions, on its connection (the store's own thread: the
tunnel hands messages over in batches, so the disk is never on the hot path).

Three caps bound it (``OutboxLimits``): rows, bytes of bodies, and age. Past a cap, rows go
oldest first, telemetry before anything else; what went is counted in one ``dropped`` marker
(JSON: count, first_seq, last_seq), itself a message with a fresh seq, so the cloud learns of
the gap. An unacked marker is folded into the next one: one marker says it all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from hubd.core.errors import InvalidValueError
from hubd.store.rows import OutboxKind, OutboxRow

MIN_ROWS = 2  # room for one message and the dropped marker
_MARKER_BYTES = 96  # room a marker's JSON body needs, at most


@dataclass(frozen=True, slots=True)
class OutboxLimits:
    """The outbox's caps: rows, bytes of bodies, age of the oldest row (None: no cap)."""

    max_rows: int = 10_000
    max_bytes: int | None = 8 * 1024 * 1024
    max_age_s: float | None = 7 * 24 * 3600.0

    def __post_init__(self) -> None:
        if self.max_rows < MIN_ROWS:
            raise InvalidValueError(f"max_rows must be at least {MIN_ROWS}, not {self.max_rows}")
        if self.max_bytes is not None and self.max_bytes < 2 * _MARKER_BYTES:
            raise InvalidValueError(f"max_bytes must be at least {2 * _MARKER_BYTES}")
        if self.max_age_s is not None and self.max_age_s <= 0:
            raise InvalidValueError("max_age_s must be positive")


@dataclass(frozen=True, slots=True)
class Message:
    """One message to queue: its kind, its body, and the key it coalesces on (state only)."""

    kind: str
    body: bytes
    coalesce_key: str | None = None


def append(conn: sqlite3.Connection, kind: str, body: bytes, coalesce_key: str | None,
           max_rows: int, ts: float) -> int:
    """Queue one message (inside a transaction); return its seq."""
    if max_rows < MIN_ROWS:
        raise InvalidValueError(f"max_rows must be at least {MIN_ROWS}, not {max_rows}")
    limits = OutboxLimits(max_rows=max_rows, max_bytes=None, max_age_s=None)
    return append_many(conn, [Message(kind, body, coalesce_key)], limits, ts)[0]


def append_many(conn: sqlite3.Connection, messages: Iterable[Message], limits: OutboxLimits,
                ts: float) -> list[int]:
    """Queue messages in order (inside one transaction), then enforce the caps; their seqs."""
    seqs: list[int] = []
    for message in messages:
        if message.coalesce_key is not None:
            # Replace rather than update: the pending row may already be on the wire under its
            # seq, and the cloud dedupes on seq, so a newer value needs a newer seq to be seen.
            conn.execute("DELETE FROM outbox WHERE coalesce_key = ?", (message.coalesce_key,))
        cursor = conn.execute(
            "INSERT INTO outbox (kind, coalesce_key, body, ts) VALUES (?, ?, ?, ?)",
            (str(message.kind), message.coalesce_key, message.body, ts))
        assert cursor.lastrowid is not None  # an INSERT into a rowid table always has one
        seqs.append(cursor.lastrowid)
    enforce(conn, limits, ts)
    return seqs


def enforce(conn: sqlite3.Connection, limits: OutboxLimits, ts: float) -> int:
    """Drop what is past a cap, leaving one marker; how many rows were dropped."""
    dropped: list[int] = []
    if limits.max_age_s is not None:
        dropped += [r[0] for r in conn.execute(
            "SELECT seq FROM outbox WHERE ts < ? AND kind != ? ORDER BY seq",
            (ts - limits.max_age_s, OutboxKind.DROPPED.value))]
        conn.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in dropped])
    count, size = conn.execute(
        "SELECT count(*), coalesce(sum(length(body)), 0) FROM outbox").fetchone()
    over_rows = count + (1 if dropped else 0) > limits.max_rows
    over_bytes = limits.max_bytes is not None and size > limits.max_bytes
    if not (dropped or over_rows or over_bytes):
        return 0
    marker = conn.execute("SELECT seq, body FROM outbox WHERE kind = ? ORDER BY seq LIMIT 1",
                          (OutboxKind.DROPPED.value,)).fetchone()
    total, first_seq, last_seq = 0, None, None
    if marker is not None:
        # Fold the unacked marker into the new one.
        previous = _read_marker(marker[1])
        total = previous.get("count", 0)
        first_seq, last_seq = previous.get("first_seq"), previous.get("last_seq")
        conn.execute("DELETE FROM outbox WHERE seq = ?", (marker[0],))
        count, size = count - 1, size - len(marker[1])
    # The marker needs a row and some bytes too.
    rows_left, bytes_left = count + 1 - limits.max_rows, 0
    if limits.max_bytes is not None:
        bytes_left = size + _MARKER_BYTES - limits.max_bytes
    for where in ("kind = 'telemetry'", "kind != 'dropped'"):
        if rows_left <= 0 and bytes_left <= 0:
            break
        victims: list[int] = []
        for seq, length in conn.execute(
                f"SELECT seq, length(body) FROM outbox WHERE {where} ORDER BY seq"):
            if rows_left <= 0 and bytes_left <= 0:
                break
            victims.append(seq)
            rows_left -= 1
            bytes_left -= length
        conn.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in victims])
        dropped += victims
    if not dropped and marker is None:
        return 0
    seqs = [s for s in (first_seq, last_seq, *dropped) if s is not None]
    body = {"count": total + len(dropped), "first_seq": min(seqs), "last_seq": max(seqs)}
    conn.execute("INSERT INTO outbox (kind, coalesce_key, body, ts) VALUES (?, NULL, ?, ?)",
                 (OutboxKind.DROPPED.value, json.dumps(body).encode(), ts))
    return len(dropped)


def _read_marker(body: bytes) -> dict[str, int]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, int)}


def after(conn: sqlite3.Connection, seq: int, limit: int) -> list[OutboxRow]:
    """The messages with a seq greater than seq, oldest first, at most limit of them."""
    rows = conn.execute(
        "SELECT seq, kind, coalesce_key, body, ts FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
        (seq, limit))
    return [OutboxRow(r[0], r[1], r[2], bytes(r[3]), r[4]) for r in rows]


def ack(conn: sqlite3.Connection, seq: int) -> int:
    """Forget every message up to and including seq (acks are cumulative); return how many."""
    return conn.execute("DELETE FROM outbox WHERE seq <= ?", (seq,)).rowcount


def depth(conn: sqlite3.Connection) -> tuple[int, int]:
    """How many messages wait, and how many bytes their bodies hold."""
    count, size = conn.execute(
        "SELECT count(*), coalesce(sum(length(body)), 0) FROM outbox").fetchone()
    return int(count), int(size)


def acked_floor(conn: sqlite3.Connection) -> int:
    """The highest seq known delivered: below the oldest waiting row, or the last seq ever."""
    oldest = conn.execute("SELECT min(seq) FROM outbox").fetchone()[0]
    if oldest is not None:
        return int(oldest) - 1
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
    return 0 if row is None else int(row[0])
