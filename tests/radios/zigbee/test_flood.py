"""A flood of device frames cannot eat the hub: the excess is dropped at the door, counted and
told, tasks and memory stay bounded, and the loop stays free for what matters."""

from __future__ import annotations

import asyncio
import resource
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from hubd.core.events import DeviceJoined, Notice, Report
from radios.zigbee.ratelimit import FrameBudget
from radios.zigbee.sim import DeviceKind, Simulator
from tests.radios.zigbee.conftest import Running, start_driver
from tests.radios.zigbee.test_driver import CONTACT, LIGHT

T = TypeVar("T")

FLOOD_S = 1.5
FRAMES_PER_TICK = 15  # every 5 ms: ~3,000 frames a second
FLOOD_BUDGET = 40.0


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


async def _flood(sim: Simulator) -> None:
    light = sim.device(LIGHT)
    loop = asyncio.get_running_loop()
    ends = loop.time() + FLOOD_S
    state = False
    while loop.time() < ends:
        for _ in range(FRAMES_PER_TICK):
            state = not state
            light.switch(state)
        await asyncio.sleep(0.005)


async def test_a_flood_is_dropped_and_tasks_stay_bounded(tmp_path: Path) -> None:
    threaded = SimThread()
    try:
        await _flooded_hub(threaded, tmp_path)
    finally:
        await threaded.close()


async def _flooded_hub(threaded: SimThread, tmp_path: Path) -> None:
    await threaded.call(threaded.sim.start_pty())
    zigbee = await start_driver(threaded.sim, tmp_path, max_frames_per_s=FLOOD_BUDGET)
    try:
        await _add(threaded, zigbee, DeviceKind.ON_OFF_LIGHT, LIGHT)
        await _add(threaded, zigbee, DeviceKind.CONTACT_SENSOR, CONTACT)
        await asyncio.sleep(0.5)  # onboarding is over
        baseline_tasks = len(asyncio.all_tasks())
        peak_tasks = baseline_tasks
        rss_before = _rss_kib()
        flood = asyncio.ensure_future(threaded.call(_flood(threaded.sim)))
        while not flood.done():
            await asyncio.sleep(0.01)
            peak_tasks = max(peak_tasks, len(asyncio.all_tasks()))
        await flood
        # Right after the flood a door's report still comes through: the loop is free.
        mark = len(zigbee.sink.events)

        async def open_door() -> None:
            threaded.sim.device(CONTACT).open()

        await threaded.call(open_door())
        await zigbee.sink.wait_for(
            Report, lambda r: r.device_id.endswith(CONTACT) and r.value is True, 30.0,
            after=mark)
        taken = [e for e in zigbee.sink.of(Report) if e.device_id.endswith(LIGHT)]
        print(f"flood: peak tasks {peak_tasks} (baseline {baseline_tasks}), taken {len(taken)}, "
              f"dropped {zigbee.driver.budget.dropped}, rss +{_rss_kib() - rss_before} KiB")
        assert len(taken) < FLOOD_BUDGET * (FLOOD_S + 1) + 30  # the rate, the burst, a margin
        assert peak_tasks - baseline_tasks < 100, (baseline_tasks, peak_tasks)
        assert zigbee.driver.budget.dropped > 5 * FLOOD_BUDGET  # most of the flood
        assert _rss_kib() - rss_before < 40 * 1024
        notices = zigbee.sink.of(Notice)
        assert any("dropped" in n.message for n in notices), notices
    finally:
        await zigbee.stop()
