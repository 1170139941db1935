"""The cloud outbox: a bounded queue of hub-to-cloud messages with monotonic sequence numbers.

Design, "Cloud tunnel": at-least-once delivery with a monotonic seq, state events coalesced per
attribute, telemetry dropped oldest-first with a ``dropped`` marker, cumulative acks. These
functions run inside the Store's transactions, on its connection.
"""

from __future__ import annotations

import json
import sqlite3

from hubd.core.errors import InvalidValueError
from hubd.store.rows import OutboxKind, OutboxRow

MIN_ROWS = 2  # room for one message and the dropped marker


def append(conn: sqlite3.Connection, kind: str, body: bytes, coalesce_key: str | None,
           max_rows: int, ts: float) -> int:
    """Queue one message (inside a transaction); return its seq."""
    if max_rows < MIN_ROWS:
        raise InvalidValueError(f"max_rows must be at least {MIN_ROWS}, not {max_rows}")
    if coalesce_key is not None:
        # Replace rather than update: the pending row may already be on the wire under its seq,
        # and the cloud dedupes on seq, so a newer value needs a newer seq to be seen.
        conn.execute("DELETE FROM outbox WHERE coalesce_key = ?", (coalesce_key,))
    cursor = conn.execute(
        "INSERT INTO outbox (kind, coalesce_key, body, ts) VALUES (?, ?, ?, ?)",
        (str(kind), coalesce_key, body, ts))
    seq = cursor.lastrowid
    assert seq is not None  # an INSERT into a rowid table always has one
    count = int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])
    if count > max_rows:
        _make_room(conn, count, max_rows, ts)
    return seq


def _make_room(conn: sqlite3.Connection, count: int, max_rows: int, ts: float) -> None:
    """Drop the oldest rows down to max_rows, telemetry first, and leave one dropped marker."""
    total, first_seq = 0, None
    marker = conn.execute("SELECT seq, body FROM outbox WHERE kind = ? ORDER BY seq LIMIT 1",
                          (OutboxKind.DROPPED.value,)).fetchone()
    if marker is not None:
        # Fold the unacked marker into the new one: one marker says it all.
        previous = _read_marker(marker[1])
        total, first_seq = previous.get("count", 0), previous.get("first_seq")
        conn.execute("DELETE FROM outbox WHERE seq = ?", (marker[0],))
        count -= 1
    excess = count + 1 - max_rows  # +1: the marker needs a row too
    dropped: list[int] = []
    for where in ("kind = 'telemetry'", "kind != 'dropped'"):
        if excess <= 0:
            break
        seqs = [r[0] for r in conn.execute(
            f"SELECT seq FROM outbox WHERE {where} ORDER BY seq LIMIT ?", (excess,))]
        conn.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
        dropped.extend(seqs)
        excess -= len(seqs)
    if not dropped and marker is None:
        return
    body = {
        "count": total + len(dropped),
        "first_seq": min([s for s in (first_seq, *dropped) if s is not None]),
        "last_seq": max(dropped) if dropped else first_seq,
    }
    conn.execute("INSERT INTO outbox (kind, coalesce_key, body, ts) VALUES (?, NULL, ?, ?)",
                 (OutboxKind.DROPPED.value, json.dumps(body).encode(), ts))


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
