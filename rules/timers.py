"""The engine's timers: a heap keyed by wall-clock deadline, fired by one task or by a test.

In the daemon, ``run()`` sleeps until the earliest deadline (at most ``MAX_SLEEP_S``, so a wall
clock that jumps is noticed) and is woken early when a sooner timer is added. In tests the clock is
a ManualClock and ``RuleEngine.advance`` steps it from deadline to deadline, calling ``fire_due``
itself: the same timer code, deterministic, with no real sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable

from hubd.core.clock import Clock
from hubd.core.errors import StillBusyError

log = logging.getLogger(__name__)

MAX_SLEEP_S = 30.0
# Cancelled timers are dropped from the heap in one sweep once they are this many and at least
# half of it: a ``for`` trigger flapping for hours leaves no pile of dead timers (amortised O(1)).
COMPACT_MIN = 64


class Timer:
    """One scheduled callback."""

    __slots__ = ("callback", "deadline", "is_cancelled", "seq")

    def __init__(self, deadline: float, seq: int, callback: Callable[[], None]) -> None:
        self.deadline = deadline
        self.seq = seq
        self.callback = callback
        self.is_cancelled = False

    def __lt__(self, other: Timer) -> bool:
        return (self.deadline, self.seq) < (other.deadline, other.seq)


class TimerHeap:
    """Callbacks due at wall-clock deadlines, fired in deadline order."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._waker: asyncio.Future[None] | None = None
        self._dead = 0  # cancelled timers still in the heap

    def __len__(self) -> int:
        return len(self._heap) - self._dead

    @property
    def size(self) -> int:
        """Timers held, live or cancelled and not yet swept (bounded: see ``COMPACT_MIN``)."""
        return len(self._heap)

    def call_at(self, deadline: float, callback: Callable[[], None]) -> Timer:
        """Call ``callback`` at ``deadline`` (epoch seconds; at once if past)."""
        timer = Timer(deadline, next(self._seq), callback)
        heapq.heappush(self._heap, timer)
        if self._heap[0] is timer:
            self._wake_up()
        return timer

    def call_in(self, delay_s: float, callback: Callable[[], None]) -> Timer:
        """Call ``callback`` ``delay_s`` from now (wall clock)."""
        return self.call_at(self._clock.time() + delay_s, callback)

    def every(self, period_s: float, fn: Callable[[], None]) -> None:
        """Call ``fn`` every ``period_s`` from now on (until ``clear``)."""
        def tick() -> None:
            fn()
            self.call_in(period_s, tick)
        self.call_in(period_s, tick)

    def cancel(self, timer: Timer | None) -> None:
        """Forget a timer: marked at once, swept from the heap with others soon after."""
        if timer is None or timer.is_cancelled:
            return
        timer.is_cancelled = True
        self._dead += 1
        if self._dead >= COMPACT_MIN and 2 * self._dead >= len(self._heap):
            self._heap[:] = [t for t in self._heap if not t.is_cancelled]  # in place: fire_due
            heapq.heapify(self._heap)  # may be iterating it
            self._dead = 0

    def next_deadline(self) -> float | None:
        """The earliest live deadline, if any."""
        heap = self._heap
        while heap and heap[0].is_cancelled:
            heapq.heappop(heap)
            self._dead -= 1
        return heap[0].deadline if heap else None

    def fire_due(self, now: float) -> int:
        """Call every timer due at ``now``, earliest first; returns how many fired."""
        fired = 0
        heap = self._heap
        while heap and (heap[0].is_cancelled or heap[0].deadline <= now):
            timer = heapq.heappop(heap)
            if timer.is_cancelled:
                self._dead -= 1
                continue
            timer.is_cancelled = True  # fired: cancelling it later is a no-op
            fired += 1
            try:
                timer.callback()
            except Exception:
                log.exception("event=rule_timer_failed")
        return fired

    async def run(self) -> None:
        """Fire timers as their deadlines pass; runs until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            deadline = self.next_deadline()
            delay_s = MAX_SLEEP_S if deadline is None else deadline - self._clock.time()
            if delay_s > 0:
                # A plain future, not wait_for: in 3.11 wait_for can swallow a cancellation
                # that races with the wake-up, and then the engine would never stop.
                self._waker = loop.create_future()
                handle = loop.call_later(min(delay_s, MAX_SLEEP_S), self._wake_up)
                try:
                    await self._waker
                finally:
                    handle.cancel()
                    self._waker = None
            self.fire_due(self._clock.time())

    def _wake_up(self) -> None:
        if self._waker is not None and not self._waker.done():
            self._waker.set_result(None)

    def clear(self) -> None:
        """Forget every timer (the engine stopped)."""
        for timer in self._heap:
            timer.is_cancelled = True
        self._heap.clear()
        self._dead = 0


async def settle(is_busy: Callable[[], bool], max_rounds: int = 10_000,
                 min_wait_s: float = 0.0) -> None:
    """Yield to the loop until nothing is busy (tests: runs parked, queues empty); raise
    StillBusyError if it still is after max_rounds and at least ``min_wait_s`` of real time,
    so a test cannot pass with work pending.

    Rounds alone bound no time: a run waiting on a real radio's answer (a simulator on a pty,
    Lutron's 50 ms pacer) needs real time, and uvloop turns 10,000 rounds in ~30 ms.
    """
    give_up_at = time.monotonic() + min_wait_s  # real time, whatever clock the engine runs on
    rounds = 0
    while True:
        await asyncio.sleep(0)
        if not is_busy():
            return
        rounds += 1
        if rounds >= max_rounds and time.monotonic() >= give_up_at:
            raise StillBusyError(f"still busy after {rounds} rounds of the event loop")


async def advance(clock: Clock, timers: TimerHeap, seconds: float,
                  settle: Callable[[], Awaitable[None]]) -> None:
    """Step a ManualClock from deadline to deadline, firing each timer at its own time."""
    step = getattr(clock, "advance", None)
    if step is None:
        raise TypeError("advance() needs a clock that can be advanced (ManualClock)")
    target = clock.time() + seconds
    await settle()
    while (deadline := timers.next_deadline()) is not None and deadline <= target:
        if deadline > clock.time():
            step(deadline - clock.time())
        timers.fire_due(clock.time())
        await settle()
    if target > clock.time():
        step(target - clock.time())
    await settle()
