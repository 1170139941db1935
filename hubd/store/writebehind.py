"""WriteBehind: persists state and rule bookkeeping in batches, off the event loop.

The hot path changes state in memory (StateStore) and queues rule bookkeeping here with methods
that return at once. Every ``interval_s`` the dirty state and the queued operations become one
Batch, written in one transaction by the one worker thread that owns the Store, so SQLite never
runs on the event loop. A failed write keeps its batch, under anything newer, for the next try.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from hubd.core.errors import InvalidValueError
from hubd.core.state import StateStore
from hubd.store.rows import Batch, Snapshot, StoreError, TimerRow, TraceRow
from hubd.store.sqlite import Store

log = logging.getLogger(__name__)

T = TypeVar("T")

_LOG_EVERY = 100  # failed attempts between two error logs of the same failure


class WriteBehind:
    """Batches writes to the Store in its own thread; the asyncio face of the database."""

    def __init__(self, store_path: Path, state: StateStore, interval_s: float = 0.1) -> None:
        if interval_s <= 0:
            raise InvalidValueError(f"interval_s must be positive, not {interval_s}")
        self.store_path = store_path
        self.interval_s = interval_s
        self._state = state
        self._queued = Batch()
        self._lock = asyncio.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._store: Store | None = None  # touched only in the worker thread
        self.writes = 0
        self.rows_written = 0
        self.failures = 0
        self.failing_streak = 0
        self.last_error: str | None = None
        self._attempt_ended = asyncio.Event()

    # -- queueing: called on the hot path, returns at once --------------------------------------

    def save_timer(self, key: str, rule_id: str, deadline: float, payload: str) -> None:
        """Persist a pending timer (its deadline is absolute wall-clock seconds)."""
        self._queued.timers[key] = TimerRow(key, rule_id, deadline, payload)

    def delete_timer(self, key: str) -> None:
        """Forget a timer that fired or was cancelled."""
        self._queued.timers[key] = None

    def save_trace(self, rule_id: str, ts: float, body: str) -> None:
        """Keep the trace of a rule run (the last 20 per rule are kept)."""
        self._queued.traces.append(TraceRow(rule_id, ts, body))

    def set_meta(self, key: str, value: str) -> None:
        """Remember a small fact across restarts (last seq, hub id...)."""
        self._queued.meta[key] = value

    def set_rule_state(self, rule_id: str, is_enabled: bool, reason: str) -> None:
        """Remember whether a rule is enabled, and why not."""
        self._queued.rule_states[rule_id] = (is_enabled, reason)

    # -- the thread --------------------------------------------------------------------------

    async def call(self, fn: Callable[[Store], T]) -> T:
        """Run fn(store) in the store's thread (for the outbox, tokens, rules of the API)."""
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="hubd-store")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._in_thread, fn)

    def _in_thread(self, fn: Callable[[Store], T]) -> T:
        if self._store is None:
            self._store = Store.open(self.store_path)
        try:
            return fn(self._store)
        except sqlite3.Error as exc:  # the edge: callers see only HubErrors
            raise self._store.translate(exc, "database call failed") from exc

    def _close_in_thread(self, _: Store | None) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    async def load(self) -> Snapshot:
        """Read everything the daemon needs at boot (opening and migrating the database)."""
        return await self.call(Store.snapshot)

    # -- writing -------------------------------------------------------------------------------

    def _take(self) -> Batch:
        """The next batch: what is queued and what state is dirty (on the loop: StateStore and
        the queue are not thread-safe)."""
        batch, self._queued = self._queued, Batch()
        entries, devices = self._state.drain_dirty()
        batch.add_state(entries, devices)
        return batch

    async def flush(self) -> None:
        """Write everything pending now; raise StoreError if the write failed (it stays
        pending and is retried by the next flush)."""
        async with self._lock:
            batch = self._take()
            if batch.is_empty():
                return
            future = asyncio.ensure_future(self.call(lambda store: store.write(batch)))
            try:
                # Shielded: a cancelled caller must not leave us unsure whether the batch landed.
                await asyncio.shield(future)
            except asyncio.CancelledError:
                await asyncio.wait([future])
                self._settle(future, batch)
                raise
            except Exception:  # noqa: BLE001 - _settle logs it and keeps the batch
                pass
            error = self._settle(future, batch)
        if error is not None:
            raise StoreError(error)

    async def next_attempt(self) -> None:
        """Wait until the next write attempt has ended, well or badly (for whoever must know
        that something reached the disk: tests, tools, a shutdown)."""
        await self._attempt_ended.wait()

    def _settle(self, future: asyncio.Future[None], batch: Batch) -> str | None:
        """Count a finished write; on failure keep its batch and return the error."""
        ended, self._attempt_ended = self._attempt_ended, asyncio.Event()
        ended.set()
        exc = future.exception()
        if exc is None:
            self.writes += 1
            self.rows_written += batch.row_count()
            if self.failing_streak:
                log.warning("event=store_write_recovered path=%s failed_attempts=%d",
                            self.store_path, self.failing_streak)
            self.failing_streak = 0
            self.last_error = None
            return None
        # Keep the batch, with anything queued since laid over it, for the next try.
        batch.absorb(self._queued)
        self._queued = batch
        self.failures += 1
        self.failing_streak += 1
        is_ours = isinstance(exc, StoreError)
        self.last_error = str(exc) if is_ours else f"{self.store_path}: write failed: {exc!r}"
        # Every attempt fails alike while a disk is full: say so at once, then now and then.
        if self.failing_streak == 1 or self.failing_streak % _LOG_EVERY == 0:
            log.error("event=store_write_failed failed_attempts=%d pending_rows=%d error=%r",
                      self.failing_streak, batch.row_count(), self.last_error,
                      exc_info=None if is_ours else exc)
        return self.last_error

    async def run(self) -> None:
        """Write a batch every interval_s until cancelled, then flush what is left and close."""
        try:
            while True:
                await asyncio.sleep(self.interval_s)
                # A failure is logged by _settle and its batch retried next interval.
                with contextlib.suppress(StoreError):
                    await self.flush()
        finally:
            await self._final_flush()

    async def _final_flush(self) -> None:
        try:
            await self.flush()
        except StoreError:
            log.error("event=store_final_flush_failed path=%s", self.store_path)
        finally:
            await self.close()

    async def close(self) -> None:
        """Close the database and stop the thread (a later call reopens them)."""
        if self._executor is None:
            return
        try:
            # Straight to the thread, not through call(): closing must not open the database
            # (a damaged one would raise again instead of closing).
            await asyncio.get_running_loop().run_in_executor(self._executor,
                                                             self._close_in_thread, None)
        finally:
            executor, self._executor = self._executor, None
            executor.shutdown(wait=False)
