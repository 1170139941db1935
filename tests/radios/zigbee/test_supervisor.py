"""The supervisor's loop (fake sessions, real asyncio) and the broadcast rate gate."""

from __future__ import annotations

import asyncio
import random

import pytest

from hubd.core.errors import ConfigError, TransientError
from hubd.core.events import RadioStatus
from radios.zigbee.ratelimit import RateGate
from radios.zigbee.supervisor import Backoff, Supervisor


def test_backoff_is_full_jitter_within_bounds() -> None:
    backoff = Backoff(min_s=1.0, max_s=30.0)
    rng = random.Random(7)
    for failures in range(1, 12):
        ceiling = min(30.0, 2.0 ** (failures - 1))
        delays = [backoff.delay_s(failures, rng) for _ in range(200)]
        assert all(1.0 <= d <= max(1.0, ceiling) for d in delays)
    assert max(backoff.delay_s(20, rng) for _ in range(500)) > 20  # reaches towards the cap


async def test_sessions_restart_one_at_a_time_and_health_follows() -> None:
    health: list[tuple[RadioStatus, str]] = []
    supervisor = Supervisor(Backoff(0.001, 0.002, failed_after=3),
                            lambda s, d: health.append((s, d)))
    running = 0
    attempts = 0
    done = asyncio.Event()

    async def session(ready: object) -> str:
        nonlocal running, attempts
        running += 1
        assert running == 1, "two sessions at once"
        attempts += 1
        try:
            await asyncio.sleep(0)
            if attempts <= 3:
                raise TransientError(f"start {attempts} failed")
            assert callable(ready)
            ready()
            if attempts == 5:
                done.set()
                await asyncio.Event().wait()
            return "link lost"
        finally:
            running -= 1

    task = asyncio.create_task(supervisor.run(session))
    await asyncio.wait_for(done.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert health == [
        (RadioStatus.RECONNECTING, "start 1 failed"),
        (RadioStatus.RECONNECTING, "start 2 failed"),
        (RadioStatus.FAILED, "start 3 failed"),
        (RadioStatus.OK, "coordinator connected"),
        (RadioStatus.RECONNECTING, "link lost"),
        (RadioStatus.OK, "coordinator connected"),
    ]
    assert supervisor.failures == 0 and supervisor.sessions == 2


async def test_config_error_is_fatal() -> None:
    health: list[RadioStatus] = []
    supervisor = Supervisor(Backoff(0.001, 0.002), lambda s, d: health.append(s))

    async def session(ready: object) -> str:
        raise ConfigError("bad", key="radios.zigbee.path")

    with pytest.raises(ConfigError):
        await asyncio.wait_for(supervisor.run(session), 5)
    assert health == [RadioStatus.FAILED]


async def test_rate_gate_spaces_and_honours_deadlines() -> None:
    gate = RateGate(rate_per_s=50.0)  # one slot every 20 ms
    loop = asyncio.get_running_loop()
    times = []
    for _ in range(3):
        assert await gate.acquire()
        times.append(loop.time())
    assert times[2] - times[0] >= 0.039
    # The next slot is ~20 ms away: a deadline before it is refused without taking the slot.
    assert not await gate.acquire(deadline=loop.time() + 0.001)
    assert await gate.acquire(deadline=loop.time() + 1.0)


def test_rate_gate_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateGate(0)


async def test_a_crashing_session_is_restarted() -> None:
    health: list[tuple[RadioStatus, str]] = []
    supervisor = Supervisor(Backoff(0.001, 0.002), lambda s, d: health.append((s, d)))
    calls = 0
    up = asyncio.Event()

    async def session(ready: object) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("library bug")
        assert callable(ready)
        ready()
        up.set()
        await asyncio.Event().wait()
        return "unreachable"

    task = asyncio.create_task(supervisor.run(session))
    await asyncio.wait_for(up.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert health == [(RadioStatus.RECONNECTING, "unexpected error: RuntimeError('library bug')"),
                      (RadioStatus.OK, "coordinator connected")]


async def test_sessions_that_drop_soon_after_ready_see_backoff_grow() -> None:
    # A coordinator that comes up and drops at once is not "healthy": the pause keeps growing.
    supervisor = Supervisor(Backoff(0.001, 1.0, stable_after_s=30.0), lambda s, d: None,
                            random.Random(2))
    sessions = 0
    enough = asyncio.Event()

    async def session(ready: object) -> str:
        nonlocal sessions
        assert callable(ready)
        ready()
        sessions += 1
        if sessions == 5:
            enough.set()
            await asyncio.Event().wait()
        return "link lost"

    task = asyncio.create_task(supervisor.run(session))
    await asyncio.wait_for(enough.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert supervisor.pauses.failures == 4
    assert supervisor.failures == 0  # every start succeeded: health never says FAILED
