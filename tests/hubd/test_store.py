"""Store: schema migrations, round trips of every table, pruning, the outbox, errors."""

from __future__ import annotations

import json
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubd.core.errors import HubError
from hubd.core.model import Capability, Device
from hubd.core.state import StateEntry
from hubd.store import (
    SCHEMA_VERSION,
    TRACES_PER_RULE,
    Batch,
    CorruptDatabaseError,
    OutboxKind,
    RuleRow,
    SchemaTooNewError,
    Store,
    StoreError,
    TimerRow,
    TokenRow,
    TraceRow,
)

LAMP = Device("virtual:1", "virtual", "1", "Hall light", "Hall", "Acme", "D1",
              frozenset({Capability.SWITCH, Capability.LEVEL}), True)
DOOR = Device("virtual:3", "virtual", "3", "Front door", "Hall",
              capabilities=frozenset({Capability.CONTACT}), is_available=False)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "hub.db")
    yield s
    s.close()


def with_devices(*devices: Device) -> Batch:
    return Batch(devices={d.id: d for d in devices})


def test_open_creates_private_dir_and_file_and_migrates(tmp_path: Path) -> None:
    path = tmp_path / "var" / "hubd" / "hub.db"
    with Store.open(path) as s:
        assert s.integrity_check()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"devices", "state", "rules", "timers", "traces", "outbox", "tokens",
            "meta"} <= tables
    conn.close()


def test_reopen_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    with Store.open(path) as s:
        s.write(with_devices(LAMP))
    with Store.open(path) as s:
        assert s.load_devices() == [LAMP]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_pragmas_are_set(store: Store) -> None:
    conn = store._conn
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0


def test_database_from_the_future_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(SchemaTooNewError, match="newer hubd") as info:
        Store.open(path)
    assert isinstance(info.value, HubError) and str(path) in str(info.value)


def test_corrupt_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    with pytest.raises(CorruptDatabaseError, match="not a usable SQLite database") as info:
        Store.open(path)
    assert str(path) in str(info.value)


def test_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot create"):
        Store.open(blocker / "hub.db")


def test_devices_and_state_round_trip(store: Store) -> None:
    entries = [StateEntry(LAMP.id, "switch.on", True, 1.5),
               StateEntry(LAMP.id, "level.level_pct", 42.5, 1.5),
               StateEntry(DOOR.id, "contact.is_open", None, 2.0),
               StateEntry(LAMP.id, "color.color_temp_k", 2700, 3.0)]
    batch = with_devices(LAMP, DOOR)
    batch.add_state(entries, {})
    store.write(batch)
    assert store.load_devices() == [LAMP, DOOR]
    loaded = {(e.device_id, e.attribute): e for e in store.load_state()}
    assert loaded == {(e.device_id, e.attribute): e for e in entries}
    assert type(loaded[(LAMP.id, "color.color_temp_k")].value) is int
    assert loaded[(LAMP.id, "switch.on")].value is True


def test_device_update_keeps_state_and_delete_cascades(store: Store) -> None:
    batch = with_devices(LAMP, DOOR)
    batch.add_state([StateEntry(LAMP.id, "switch.on", True, 1.0),
                     StateEntry(DOOR.id, "contact.is_open", True, 1.0)], {})
    store.write(batch)
    renamed = Device(LAMP.id, "virtual", "1", "Lamp", capabilities=LAMP.capabilities)
    store.write(with_devices(renamed))
    assert [e.attribute for e in store.load_state() if e.device_id == LAMP.id] == ["switch.on"]
    store.write(Batch(devices={DOOR.id: None}))
    assert store.load_devices() == [renamed]
    assert [e.device_id for e in store.load_state()] == [LAMP.id]


def test_state_of_an_unknown_device_is_skipped_not_fatal(store: Store) -> None:
    store.write(with_devices(LAMP))
    batch = Batch()
    batch.add_state([StateEntry("virtual:99", "switch.on", True, 1.0),
                     StateEntry(LAMP.id, "switch.on", False, 1.0)], {})
    store.write(batch)
    assert store.load_state() == [StateEntry(LAMP.id, "switch.on", False, 1.0)]


def test_unknown_capability_in_database_does_not_lose_the_device(store: Store) -> None:
    store.write(with_devices(LAMP))
    store._conn.execute("UPDATE devices SET capabilities = '[\"switch\", \"teleport\"]'")
    [device] = store.load_devices()
    assert device.capabilities == frozenset({Capability.SWITCH})


def test_timers_save_replace_delete(store: Store) -> None:
    store.write(Batch(timers={"r1:delay:1": TimerRow("r1:delay:1", "r1", 100.0, "{}"),
                              "r2:for": TimerRow("r2:for", "r2", 50.0, '{"a": 1}')}))
    assert [t.key for t in store.load_timers()] == ["r2:for", "r1:delay:1"]  # soonest first
    store.write(Batch(timers={"r1:delay:1": TimerRow("r1:delay:1", "r1", 10.0, "{}"),
                              "r2:for": None}))
    assert store.load_timers() == [TimerRow("r1:delay:1", "r1", 10.0, "{}")]


def test_traces_are_pruned_to_the_last_per_rule(store: Store) -> None:
    for n in range(TRACES_PER_RULE + 7):
        store.write(Batch(traces=[TraceRow("r1", float(n), f'{{"n": {n}}}')]))
    store.write(Batch(traces=[TraceRow("r2", 1.0, "{}"), TraceRow("r2", 2.0, "{}")]))
    r1 = store.load_traces("r1")
    assert len(r1) == TRACES_PER_RULE
    assert [t.ts for t in r1] == [float(n) for n in range(7, TRACES_PER_RULE + 7)]
    assert [t.ts for t in store.load_traces("r2")] == [1.0, 2.0]
    assert len(store.load_traces()) == TRACES_PER_RULE + 2


def test_many_traces_in_one_batch_are_pruned_too(store: Store) -> None:
    store.write(Batch(traces=[TraceRow("r1", float(n), "{}") for n in range(50)]))
    assert [t.ts for t in store.load_traces("r1")] == [float(n) for n in range(30, 50)]


def test_meta_and_rule_states(store: Store) -> None:
    store.write(Batch(meta={"hub_id": "abc", "last_seq": "4"},
                      rule_states={"r1": (False, "storm: 21 runs in 10 s"), "r2": (True, "")}))
    store.write(Batch(meta={"last_seq": "5"}, rule_states={"r1": (True, "")}))
    assert store.get_meta("last_seq") == "5"
    assert store.get_meta("missing") is None
    assert store.load_meta() == {"hub_id": "abc", "last_seq": "5"}
    assert store.load_rule_states() == {"r1": (True, ""), "r2": (True, "")}


def test_rule_rows_keep_their_body_when_state_changes(store: Store) -> None:
    store.rule_put(RuleRow("api1", "api", "name: x", True, ""))
    store.write(Batch(rule_states={"api1": (False, "disabled by user")},
                      timers={"k": TimerRow("k", "api1", 1.0, "")},
                      traces=[TraceRow("api1", 1.0, "{}")]))
    assert store.load_rules() == [RuleRow("api1", "api", "name: x", False, "disabled by user")]
    assert store.rule_delete("api1")
    assert not store.rule_delete("api1")
    assert store.load_rules() == [] and store.load_timers() == [] and store.load_traces() == []


def test_a_failing_batch_changes_nothing(store: Store) -> None:
    store.write(with_devices(LAMP))
    # A NaN timestamp in a NOT NULL REAL column is stored as NULL by SQLite: the batch fails.
    bad = Batch(devices={DOOR.id: DOOR}, timers={"k": TimerRow("k", "r", float("nan"), "")})
    with pytest.raises(StoreError, match="write failed"):
        store.write(bad)
    assert store.load_devices() == [LAMP]
    assert store.load_timers() == []


def test_snapshot_reads_everything(store: Store) -> None:
    batch = with_devices(LAMP)
    batch.add_state([StateEntry(LAMP.id, "switch.on", True, 1.0)], {})
    batch.timers["k"] = TimerRow("k", "r", 5.0, "p")
    batch.traces.append(TraceRow("r", 1.0, "{}"))
    batch.meta["m"] = "v"
    batch.rule_states["r"] = (True, "")
    store.write(batch)
    snap = store.snapshot()
    assert snap.devices == (LAMP,)
    assert snap.state == (StateEntry(LAMP.id, "switch.on", True, 1.0),)
    assert snap.timers == (TimerRow("k", "r", 5.0, "p"),)
    assert snap.traces == (TraceRow("r", 1.0, "{}"),)
    assert snap.meta == {"m": "v"} and snap.rule_states == {"r": (True, "")}


def test_tokens(store: Store) -> None:
    token = TokenRow("t1", "ab" * 32, "admin", "Ann's phone", 100.0)
    store.token_add(token)
    with pytest.raises(ValueError, match="exists already"):
        store.token_add(TokenRow("t2", token.hash, "read", "other", 101.0))
    assert store.token_find(token.hash) == token
    assert store.token_find("00") is None
    store.token_touch("t1", 200.0)
    assert store.token_find(token.hash) == TokenRow("t1", token.hash, "admin", "Ann's phone",
                                                    100.0, 200.0)
    assert [t.id for t in store.load_tokens()] == ["t1"]
    assert store.token_delete("t1") and not store.token_delete("t1")
    assert store.token_find(token.hash) is None


def test_outbox_seq_is_monotonic_and_acks_are_cumulative(store: Store) -> None:
    seqs = [store.outbox_append(OutboxKind.EVENT, f"e{n}".encode(), None, 100)
            for n in range(5)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert [r.body for r in store.outbox_after(seqs[1], 2)] == [b"e2", b"e3"]
    assert store.outbox_ack(seqs[2]) == 3
    assert [r.seq for r in store.outbox_after(0, 100)] == seqs[3:]
    store.outbox_ack(seqs[4])
    # Everything acked and deleted: the next seq still never goes back.
    assert store.outbox_append(OutboxKind.EVENT, b"e5", None, 100) > seqs[4]


def test_outbox_coalesces_state_with_a_fresh_seq(store: Store) -> None:
    first = store.outbox_append(OutboxKind.STATE, b"on", "virtual:1/switch.on", 100)
    store.outbox_append(OutboxKind.EVENT, b"press", None, 100)
    last = store.outbox_append(OutboxKind.STATE, b"off", "virtual:1/switch.on", 100)
    rows = store.outbox_after(0, 100)
    assert [(r.kind, r.body) for r in rows] == [("event", b"press"), ("state", b"off")]
    assert rows[-1].seq == last > first


def test_outbox_bounded_drops_oldest_telemetry_with_one_marker(store: Store) -> None:
    store.outbox_append(OutboxKind.STATE, b"s", "k", 5)
    tele = [store.outbox_append(OutboxKind.TELEMETRY, f"t{n}".encode(), None, 5)
            for n in range(4)]
    store.outbox_append(OutboxKind.EVENT, b"press", None, 5)  # 6 rows > 5: drop t0, t1
    rows = store.outbox_after(0, 100)
    assert len(rows) == 5
    assert [r.body for r in rows if r.kind != "dropped"] == [b"s", b"t2", b"t3", b"press"]
    [marker] = [r for r in rows if r.kind == OutboxKind.DROPPED]
    assert json.loads(marker.body) == {"count": 2, "first_seq": tele[0], "last_seq": tele[1]}
    store.outbox_append(OutboxKind.TELEMETRY, b"t4", None, 5)
    rows = store.outbox_after(0, 100)
    markers = [r for r in rows if r.kind == OutboxKind.DROPPED]
    assert len(rows) == 5 and len(markers) == 1
    assert json.loads(markers[0].body)["count"] == 3
    assert markers[0].seq == max(r.seq for r in rows)  # the marker moved to the end


def test_outbox_full_of_events_drops_oldest_of_any_kind(store: Store) -> None:
    seqs = [store.outbox_append(OutboxKind.EVENT, b"e", None, 3) for _ in range(6)]
    rows = store.outbox_after(0, 100)
    assert len(rows) == 3
    assert [r.seq for r in rows if r.kind == "event"] == seqs[-2:]
    with pytest.raises(ValueError, match="max_rows"):
        store.outbox_append(OutboxKind.EVENT, b"e", None, 1)


def test_damaged_pages_are_named_as_a_corrupt_database(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    with Store.open(path) as s:
        s.write(Batch(devices={f"virtual:{n}": Device(f"virtual:{n}", "virtual", str(n),
                                                        f"Device {n} " + "x" * 200)
                               for n in range(200)}))
    size = path.stat().st_size
    with path.open("r+b") as f:  # keep page 1 (header, schema), trample the rest
        f.seek(4096)
        f.write(b"\xa5" * (size - 4096))
    with pytest.raises(CorruptDatabaseError, match="damaged") as info, Store.open(path) as s:
        assert not s.integrity_check()
        s.snapshot()
    assert str(path) in str(info.value)
