"""WriteBehind: batching off the loop, coalescing, final flush, surviving failed writes."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hubd.core.events import DeviceJoined, DeviceLeft, Report
from hubd.core.model import Capability, Context, Device, Origin
from hubd.core.state import StateEntry, StateStore
from hubd.store import OutboxKind, Store, StoreError, TimerRow, TraceRow, WriteBehind

CTX = Context.new(Origin.PHYSICAL)


def dimmer(n: int) -> Device:
    return Device(f"virtual:{n}", "virtual", str(n), f"Light {n}",
                  capabilities=frozenset({Capability.LEVEL}))


def joined(state: StateStore, *devices: Device) -> None:
    for device in devices:
        state.apply(DeviceJoined(device, 0.0, CTX))


def level(state: StateStore, n: int, pct: float, ts: float = 1.0) -> None:
    state.apply(Report(f"virtual:{n}", "level.level_pct", pct, ts, CTX))


def read(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Read with a connection of our own, as another process would (WAL allows it)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def until(wb: WriteBehind, predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Wait, write attempt after write attempt, until predicate holds."""
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await wb.next_attempt()


async def test_many_reports_coalesce_into_one_row_per_attribute(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    state = StateStore()
    joined(state, dimmer(1), dimmer(2))
    wb = WriteBehind(path, state)
    for n in range(1000):
        level(state, 1, n % 100, float(n))
        level(state, 2, (n * 7) % 100, float(n))
    await wb.flush()
    assert wb.writes == 1 and wb.rows_written == 4  # 2 devices + 2 state rows
    assert sorted(read(path, "SELECT device_id, value FROM state")) == [
        ("virtual:1", "99.0"), ("virtual:2", "93.0")]  # level_pct is a float
    await wb.flush()  # nothing dirty: no write at all
    assert wb.writes == 1
    await wb.close()


async def test_sqlite_runs_in_one_worker_thread_not_on_the_loop(tmp_path: Path) -> None:
    wb = WriteBehind(tmp_path / "hub.db", StateStore())
    loop_thread = threading.get_ident()
    threads = {await wb.call(lambda _: threading.get_ident()) for _ in range(5)}
    assert len(threads) == 1 and loop_thread not in threads
    await wb.close()


async def test_queued_operations_round_trip_through_load(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    state = StateStore()
    joined(state, dimmer(1))
    level(state, 1, 40.0)
    wb = WriteBehind(path, state)
    wb.save_timer("r1:delay", "r1", 1234.5, '{"step": 2}')
    wb.save_timer("r1:gone", "r1", 99.0, "")
    wb.delete_timer("r1:gone")
    for n in range(25):
        wb.save_trace("r1", float(n), f'{{"n": {n}}}')
    wb.set_meta("hub_id", "hub-1")
    wb.set_rule_state("r2", False, "storm")
    await wb.flush()
    await wb.close()

    again = WriteBehind(path, StateStore())
    snap = await again.load()
    assert snap.devices == (dimmer(1),)
    assert snap.state == (StateEntry("virtual:1", "level.level_pct", 40.0, 1.0),)
    assert snap.timers == (TimerRow("r1:delay", "r1", 1234.5, '{"step": 2}'),)
    assert [t.ts for t in snap.traces] == [float(n) for n in range(5, 25)]
    assert snap.meta == {"hub_id": "hub-1"} and snap.rule_states == {"r2": (False, "storm")}
    restored = StateStore()
    restored.load(snap.devices, snap.state)
    assert restored.value("virtual:1", "level.level_pct") == 40.0
    await again.close()


async def test_device_removal_is_persisted(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    state = StateStore()
    joined(state, dimmer(1), dimmer(2))
    level(state, 1, 10.0)
    wb = WriteBehind(path, state)
    await wb.flush()
    state.apply(DeviceLeft("virtual:1", 2.0, CTX))
    await wb.flush()
    assert read(path, "SELECT id FROM devices") == [("virtual:2",)]
    assert read(path, "SELECT count(*) FROM state") == [(0,)]
    await wb.close()


async def test_run_writes_every_interval(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    state = StateStore()
    joined(state, dimmer(1))
    wb = WriteBehind(path, state, interval_s=0.01)
    task = asyncio.create_task(wb.run())
    for pct in (1.0, 2.0, 3.0):
        level(state, 1, pct)
        await until(wb, lambda pct=pct: path.exists()  # type: ignore[misc]
                    and read(path, "SELECT value FROM state") == [(str(pct),)])
    assert wb.writes >= 3
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancel_flushes_what_is_pending(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    state = StateStore()
    joined(state, dimmer(1))
    wb = WriteBehind(path, state, interval_s=3600.0)  # only the final flush can write
    task = asyncio.create_task(wb.run())
    await asyncio.sleep(0)  # run() is now in its first sleep
    level(state, 1, 77.0)
    wb.set_meta("last", "yes")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wb.writes == 1
    assert read(path, "SELECT value FROM state") == [("77.0",)]
    assert read(path, "SELECT value FROM meta WHERE key = 'last'") == [("yes",)]


async def test_failed_write_is_kept_and_retried_and_the_loop_survives(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "hub.db"
    state = StateStore()
    joined(state, dimmer(1))
    wb = WriteBehind(path, state, interval_s=0.01)
    await wb.flush()
    # A real SQLite failure, as a full disk would give: every state write is refused.
    conn = sqlite3.connect(path)
    conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON state "
                 "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    conn.commit()
    level(state, 1, 10.0)
    wb.save_timer("t", "r", 5.0, "")
    with pytest.raises(StoreError, match="disk is full"):
        await wb.flush()
    assert wb.failures == 1
    task = asyncio.create_task(wb.run())
    await until(wb, lambda: wb.failures >= 3)  # retried every interval, still running
    level(state, 1, 20.0)  # newer data is laid over the kept batch
    wb.save_trace("r", 1.0, "{}")
    conn.execute("DROP TRIGGER refuse")
    conn.commit()
    conn.close()
    await until(wb, lambda: wb.last_error is None and wb.writes >= 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert read(path, "SELECT value FROM state") == [("20.0",)]
    assert read(path, "SELECT key FROM timers") == [("t",)]
    assert read(path, "SELECT rule_id FROM traces") == [("r",)]
    # Said once, not at every retry; and the recovery is said too.
    messages = [r.getMessage() for r in caplog.records if r.name == "hubd.store.writebehind"]
    assert sum("store_write_failed" in m for m in messages) == 1
    assert any("store_write_recovered" in m for m in messages)


async def test_unopenable_database_keeps_the_batch_until_it_can_open(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state directory should be")
    state = StateStore()
    joined(state, dimmer(1))
    wb = WriteBehind(blocker / "hub.db", state)
    with pytest.raises(StoreError, match="cannot create"):
        await wb.flush()
    blocker.unlink()
    await wb.flush()
    assert read(blocker / "hub.db", "SELECT id FROM devices") == [("virtual:1",)]
    await wb.close()


async def test_outbox_through_call(tmp_path: Path) -> None:
    wb = WriteBehind(tmp_path / "hub.db", StateStore())
    seq = await wb.call(lambda s: s.outbox_append(OutboxKind.EVENT, b"x", None, 10))
    rows = await wb.call(lambda s: s.outbox_after(0, 10))
    assert [(r.seq, r.body) for r in rows] == [(seq, b"x")]
    assert isinstance(await wb.call(lambda s: s), Store)
    await wb.close()


def test_interval_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        WriteBehind(tmp_path / "hub.db", StateStore(), interval_s=0)


def test_trace_rows_are_bounded_while_writes_fail() -> None:
    from hubd.store import Batch
    kept = Batch(traces=[TraceRow("r", float(n), "") for n in range(30)])
    kept.absorb(Batch(traces=[TraceRow("r", 99.0, "")]))
    assert len(kept.traces) == 20 and kept.traces[-1].ts == 99.0
