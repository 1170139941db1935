"""The outbox's caps: rows, bytes and age, each leaving one dropped marker; the acked floor."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubd.store import OutboxKind, Store
from hubd.store.outbox import Message, OutboxLimits


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "hub.db") as opened:
        yield opened


def test_a_batch_gets_growing_seqs_in_one_transaction(store: Store) -> None:
    seqs = store.outbox_append_many([Message("event", b"a"), Message("state", b"1", "k"),
                                     Message("state", b"2", "k")], OutboxLimits())
    assert seqs == sorted(seqs)
    assert [r.body for r in store.outbox_after(0, 10)] == [b"a", b"2"]  # coalesced in-batch


def test_the_byte_cap_drops_telemetry_first_and_says_so(store: Store) -> None:
    limits = OutboxLimits(max_rows=100, max_bytes=1000, max_age_s=None)
    event = store.outbox_append_many([Message("event", b"e" * 300)], limits)[0]
    tele = store.outbox_append_many([Message("telemetry", b"t" * 300) for _ in range(2)], limits)
    store.outbox_append_many([Message("event", b"f" * 300)], limits)  # 1200 bytes > 1000
    rows = store.outbox_after(0, 100)
    assert sum(len(r.body) for r in rows) <= 1000
    assert tele[0] not in [r.seq for r in rows]
    assert event in [r.seq for r in rows]  # the event outlived the older telemetry
    [marker] = [r for r in rows if r.kind == OutboxKind.DROPPED]
    assert json.loads(marker.body)["first_seq"] == tele[0]


def test_the_age_cap_drops_old_rows(store: Store) -> None:
    limits = OutboxLimits(max_rows=100, max_bytes=None, max_age_s=60.0)
    old = store.outbox_append_many([Message("event", b"old")], limits, 1000.0)[0]
    store.outbox_append_many([Message("event", b"mid")], limits, 1050.0)
    store.outbox_append_many([Message("event", b"new")], limits, 1100.0)  # "old": 100 s old
    rows = store.outbox_after(0, 100)
    assert [r.body for r in rows if r.kind == "event"] == [b"mid", b"new"]
    [marker] = [r for r in rows if r.kind == OutboxKind.DROPPED]
    assert json.loads(marker.body) == {"count": 1, "first_seq": old, "last_seq": old}


def test_acked_floor_survives_an_empty_outbox(store: Store) -> None:
    assert store.outbox_acked_floor() == 0
    seqs = store.outbox_append_many([Message("event", b"x") for _ in range(3)], OutboxLimits())
    assert store.outbox_acked_floor() == seqs[0] - 1
    store.outbox_ack(seqs[-1])
    assert store.outbox_acked_floor() == seqs[-1]  # every row acked: the last seq ever issued
    assert store.outbox_depth() == (0, 0)


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_rows"):
        OutboxLimits(max_rows=1)
    with pytest.raises(ValueError, match="max_bytes"):
        OutboxLimits(max_bytes=10)
