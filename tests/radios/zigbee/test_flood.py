"""A flood of device frames cannot eat the hub: the excess is dropped at the door, counted and
told, tasks and memory stay bounded, and the loop stays free for what matters.

The driver's clock is a manual one, stopped during the flood: the budget then lets in exactly
one device's share whatever the machine's load, and the counts are exact."""

from __future__ import annotations

import asyncio
import resource
import threading
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from hubd.core.clock import ManualClock
from hubd.core.events import DeviceJoined, Notice, Report
from hubd.core.model import CommandStatus
from radios.zigbee.ratelimit import SOURCE_SHARE, FrameBudget
from radios.zigbee.sim import DeviceKind, Simulator
from tests.radios.zigbee.conftest import Running, start_driver
from tests.radios.zigbee.test_driver import CONTACT, LIGHT, cmd, join, report

T = TypeVar("T")

FLOOD_FRAMES = 3000
FRAMES_PER_TICK = 15  # every 5 ms: ~3,000 frames a second on a quiet machine
FLOOD_BUDGET = 40.0
SHARE = int(FLOOD_BUDGET * SOURCE_SHARE)  # what one device may send in a stopped second


def test_budget_refuses_past_the_rate_and_tells_start_and_end() -> None:
    budget = FrameBudget(rate_per_s=40.0)
    allowed = sum(budget.allow(0.0, source=n % 8) for n in range(80))
    assert allowed == 40 and budget.dropped == 40
    assert budget.flood_started() and not budget.flood_started()  # once
    assert budget.allow(0.1, source=1)  # tokens came back in 0.1 s
    assert budget.flood_ended(0.5) == 0  # not quiet long enough
    assert budget.flood_ended(1.1) == 40 and budget.flood_ended(2.0) == 0


def test_one_chattering_device_cannot_starve_the_others() -> None:
    budget = FrameBudget(rate_per_s=40.0)
    assert sum(budget.allow(0.0, source=7) for _ in range(100)) == 10  # a quarter of it
    assert all(budget.allow(0.0, source=n) for n in range(8, 20))  # the rest still come in


def test_the_answers_to_the_hubs_requests_are_paid_for() -> None:
    budget = FrameBudget(rate_per_s=40.0)
    assert sum(budget.allow(0.0, source=7) for _ in range(SHARE)) == SHARE  # its share, used
    assert not budget.allow(0.0, source=7)
    for _ in range(3):  # the hub sends it 3 requests: their answers come in
        budget.expect(0.0, source=7)
    assert sum(budget.allow(0.0, source=7) for _ in range(20)) == 6
    # Credits are bounded (a second's worth of its share on top of a full bucket), and lapse
    # when no answer uses them: a flood after them is still dropped.
    for _ in range(100):
        budget.expect(0.0, source=8)
    assert sum(budget.allow(0.0, source=8) for _ in range(100)) == 2 * SHARE
    for _ in range(100):
        budget.expect(0.0, source=9)
    assert sum(budget.allow(1.0, source=9) for _ in range(100)) == SHARE


async def test_a_light_commanded_fast_answers_every_command(sim: Simulator,
                                                            tmp_path: Path) -> None:
    """Each command to a light brings its Default Response and its report: two frames, which
    its share of the budget would drop past a few commands in a stopped second."""
    clock = ManualClock()
    ticker = asyncio.create_task(_tick(clock))
    zigbee = await start_driver(sim, tmp_path, clock=clock, max_frames_per_s=FLOOD_BUDGET)
    try:
        await join(zigbee, DeviceKind.ON_OFF_LIGHT, LIGHT)
        await zigbee.driver.onboarded()
        ticker.cancel()
        clock.advance(10.0)  # every bucket full; from here the budget's time stands still
        dropped_before = zigbee.driver.budget.dropped
        for n in range(2 * SHARE):
            result = await zigbee.driver.send(cmd(LIGHT, "switch.on" if n % 2 else "switch.off"))
            assert (n, result.status, result.error) == (n, CommandStatus.CONFIRMED, None)
        await report(zigbee, LIGHT, "switch.on", True, after=len(zigbee.sink.events) - 2)
        assert zigbee.driver.budget.dropped == dropped_before
    finally:
        ticker.cancel()
        await zigbee.stop()


def _rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class SimThread:
    """The simulated coordinator on an event loop of its own, in a thread: a real coordinator
    sends at its own pace, however busy the hub is (in-process, the hub would throttle it)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sim = Simulator()

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the simulator's loop and wait for its result."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def close(self) -> None:
        """Unplug and stop the thread."""
        await self.call(self.sim.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.to_thread(self.thread.join, 5)
        self.loop.close()


async def _add(threaded: SimThread, z: Running, kind: DeviceKind, ieee: str) -> None:
    async def add() -> None:
        threaded.sim.add_device(kind, ieee)

    await threaded.call(add())
    await z.driver.permit_join(60)
    await z.sink.wait_for(DeviceJoined, lambda e: e.device.address == ieee, timeout_s=30.0)


async def _flood(sim: Simulator) -> int:
    """The light switched FLOOD_FRAMES times, at the simulator's own pace; frames sent."""
    light = sim.device(LIGHT)
    state = False
    for _ in range(FLOOD_FRAMES // FRAMES_PER_TICK):
        for _ in range(FRAMES_PER_TICK):
            state = not state
            light.switch(state)
        await asyncio.sleep(0.005)
    return FLOOD_FRAMES // FRAMES_PER_TICK * FRAMES_PER_TICK


async def _tick(clock: ManualClock) -> None:
    """Time passes for the budget while devices join (their answers are device frames too)."""
    while True:
        await asyncio.sleep(0.01)
        clock.advance(1.0)



@pytest.fixture
async def threaded() -> AsyncIterator[SimThread]:
    """A simulated coordinator in a thread of its own, stopped at the end."""
    sim_thread = SimThread()
    try:
        yield sim_thread
    finally:
        await sim_thread.close()


async def test_a_flood_is_dropped_and_tasks_stay_bounded(threaded: SimThread,
                                                         tmp_path: Path) -> None:
    await threaded.call(threaded.sim.start_pty())
    clock = ManualClock()
    ticker = asyncio.create_task(_tick(clock))
    zigbee = await start_driver(threaded.sim, tmp_path, clock=clock,
                                max_frames_per_s=FLOOD_BUDGET)
    try:
        await _add(threaded, zigbee, DeviceKind.ON_OFF_LIGHT, LIGHT)
        await _add(threaded, zigbee, DeviceKind.CONTACT_SENSOR, CONTACT)
        await zigbee.driver.onboarded()
        ticker.cancel()
        clock.advance(10.0)  # every bucket full; from here the budget's time stands still
        budget = zigbee.driver.budget
        dropped_before, mark = budget.dropped, len(zigbee.sink.events)
        baseline_tasks = len(asyncio.all_tasks())
        peak_tasks = baseline_tasks
        rss_before = _rss_kib()
        flood = asyncio.ensure_future(threaded.call(_flood(threaded.sim)))
        while not flood.done():
            await asyncio.sleep(0.01)
            peak_tasks = max(peak_tasks, len(asyncio.all_tasks()))
        sent = await flood

        async def door(is_open: bool) -> None:
            threaded.sim.device(CONTACT).open() if is_open else threaded.sim.device(
                CONTACT).close()

        # Right after the flood a door's report still comes through: the loop is free, and
        # one device's flood leaves the others their share. It follows every flood frame on
        # the line, so once it is in, all of them were counted.
        await threaded.call(door(True))
        await zigbee.sink.wait_for(
            Report, lambda r: r.device_id.endswith(CONTACT) and r.value is True, 30.0,
            after=mark)
        taken = [e for e in zigbee.sink.events[mark:]
                 if isinstance(e, Report) and e.device_id.endswith(LIGHT)]
        dropped = budget.dropped - dropped_before
        print(f"flood: sent {sent}, peak tasks {peak_tasks} (baseline {baseline_tasks}), "
              f"taken {len(taken)}, dropped {dropped}, rss +{_rss_kib() - rss_before} KiB")
        assert 0 < len(taken) <= SHARE
        assert dropped >= sent - SHARE
        assert peak_tasks - baseline_tasks < 100, (baseline_tasks, peak_tasks)
        assert _rss_kib() - rss_before < 40 * 1024
        assert any("the excess is dropped" in n.message for n in zigbee.sink.of(Notice))
        # A quiet second later, the next frame in says the flood is over and what it cost.
        clock.advance(2.0)
        await threaded.call(door(False))
        over = await zigbee.sink.wait_for(Notice, lambda n: "is over" in n.message, 30.0,
                                          after=mark)
        assert f"{dropped} were dropped" in over.message
    finally:
        ticker.cancel()
        await zigbee.stop()
