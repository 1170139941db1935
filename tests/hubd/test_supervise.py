"""Supervision: restart with jittered exponential backoff, reset when healthy, fatal ConfigError."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from hubd.core.clock import ManualClock
from hubd.core.errors import ConfigError, TransientError
from hubd.supervise import ComponentState, backoff_s, config_error_in, supervise


class FakeSleep:
    """An instant sleep that records each pause and moves the manual clock by it."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.delays_s: list[float] = []

    async def __call__(self, delay_s: float) -> None:
        self.delays_s.append(delay_s)
        self.clock.advance(delay_s)


class Component:
    """Plays a script: each attempt runs for some seconds, then raises or returns."""

    def __init__(self, clock: ManualClock,
                 script: list[tuple[float, BaseException | None]]) -> None:
        self.clock = clock
        self.script = script
        self.attempts = 0

    async def run(self) -> None:
        ran_s, outcome = self.script[self.attempts]
        self.attempts += 1
        self.clock.advance(ran_s)
        if outcome is not None:
            raise outcome


@dataclass
class Harness:
    """A scripted component under supervise(), with instant sleeps and a manual clock."""

    script: list[tuple[float, BaseException | None]]
    clock: ManualClock = field(default_factory=ManualClock)
    states: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.component = Component(self.clock, self.script)
        self.sleep = FakeSleep(self.clock)

    async def supervise(self, name: str, *, backoff_min_s: float = 1.0,
                        backoff_max_s: float = 30.0, healthy_after_s: float = 30.0) -> None:
        await supervise(name, self.component.run, backoff_min_s=backoff_min_s,
                        backoff_max_s=backoff_max_s, healthy_after_s=healthy_after_s,
                        on_state=lambda n, st: self.states.append((n, st)), clock=self.clock,
                        sleep=self.sleep, rng=random.Random(7))


async def test_crashing_component_restarts_with_growing_jittered_backoff(
        caplog: pytest.LogCaptureFixture) -> None:
    boom = RuntimeError("adapter vanished")
    h = Harness([(0.1, boom)] * 7 + [(0.1, None)])
    await h.supervise("zigbee", backoff_min_s=1.0, backoff_max_s=30.0)
    component, sleep, states = h.component, h.sleep, h.states
    assert component.attempts == 8
    assert len(sleep.delays_s) == 7
    caps = [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    for delay, cap in zip(sleep.delays_s, caps, strict=True):
        assert 1.0 <= delay <= cap
    assert sleep.delays_s[0] == 1.0
    assert len(set(sleep.delays_s[1:])) == 6, "full jitter: pauses differ"
    assert states[:3] == [("zigbee", "running"), ("zigbee", "restarting"), ("zigbee", "running")]
    assert states[-1] == ("zigbee", ComponentState.DONE)
    failed = [r for r in caplog.records if "event=component_failed" in r.getMessage()]
    assert len(failed) == 7
    assert failed[0].exc_info is not None and failed[0].exc_info[1] is boom
    assert "error=RuntimeError: adapter vanished" in failed[0].getMessage()


async def test_backoff_resets_after_a_healthy_run() -> None:
    boom = TransientError("link down")
    script: list[tuple[float, BaseException | None]] = [
        (0.0, boom), (0.0, boom), (0.0, boom), (31.0, boom), (0.0, None)]
    h = Harness(script)
    await h.supervise("lutron", healthy_after_s=30.0)
    assert h.sleep.delays_s[0] == 1.0
    assert h.sleep.delays_s[3] == 1.0, "the run of 31 s was healthy: back to the minimum"


async def test_config_error_is_fatal_and_propagates(caplog: pytest.LogCaptureFixture) -> None:
    bad = ConfigError("must be a path", file="hub.toml", key="radios.zigbee.port")
    h = Harness([(0.0, RuntimeError("x")), (0.0, bad)])
    with pytest.raises(ConfigError) as caught:
        await h.supervise("zigbee")
    assert caught.value is bad
    assert h.component.attempts == 2 and len(h.sleep.delays_s) == 1
    assert h.states[-1] == ("zigbee", "fatal")
    assert "event=component_fatal component=zigbee error=hub.toml: radios.zigbee.port: must be" \
        in caplog.text


async def test_config_error_inside_a_task_group_is_fatal_too() -> None:
    bad = ConfigError("unknown radio", key="radios.foo")
    group = ExceptionGroup("unhandled errors in a TaskGroup", [RuntimeError("x"), bad])
    h = Harness([(0.0, group)])
    with pytest.raises(ConfigError) as caught:
        await h.supervise("radios")
    assert caught.value is bad
    assert config_error_in(group) is bad
    assert config_error_in(RuntimeError()) is None


async def test_component_that_returns_is_done_not_restarted() -> None:
    h = Harness([(5.0, None)])
    await h.supervise("oneshot")
    assert h.component.attempts == 1 and h.sleep.delays_s == []
    assert h.states == [("oneshot", "running"), ("oneshot", "done")]


async def test_cancel_while_running_stops_it() -> None:
    started = asyncio.Event()
    states: list[tuple[str, str]] = []

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(supervise("api", forever,
                                         on_state=lambda n, s: states.append((n, s))))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert states == [("api", "running"), ("api", "stopped")]


async def test_cancel_during_backoff_stops_it() -> None:
    in_backoff = asyncio.Event()
    states: list[tuple[str, str]] = []

    async def crash() -> None:
        raise RuntimeError("boom")

    async def slow_sleep(delay_s: float) -> None:
        in_backoff.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(supervise("tunnel", crash, sleep=slow_sleep,
                                         on_state=lambda n, s: states.append((n, s))))
    await asyncio.wait_for(in_backoff.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert states == [("tunnel", "running"), ("tunnel", "restarting"), ("tunnel", "stopped")]


async def test_base_exceptions_are_not_swallowed() -> None:
    h = Harness([(0.0, KeyboardInterrupt())])
    with pytest.raises(KeyboardInterrupt):
        await h.supervise("x")
    assert h.sleep.delays_s == []


async def test_broken_observer_does_not_stop_supervision(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    component = Component(clock, [(0.0, RuntimeError("x")), (0.0, None)])

    def broken(name: str, state: str) -> None:
        raise ValueError("observer bug")

    await supervise("x", component.run, on_state=broken, clock=clock, sleep=FakeSleep(clock))
    assert component.attempts == 2
    assert caplog.text.count("event=on_state_failed") == 4
    assert logging.ERROR in {r.levelno for r in caplog.records}


def test_backoff_bounds() -> None:
    rng = random.Random(1)
    assert backoff_s(1, 1.0, 30.0, rng) == 1.0
    samples = [backoff_s(3, 1.0, 30.0, rng) for _ in range(200)]
    assert all(1.0 <= s <= 4.0 for s in samples)
    assert max(samples) > 3.0 and min(samples) < 2.0
    assert all(1.0 <= backoff_s(n, 1.0, 30.0, rng) <= 30.0 for n in (10, 100, 10_000))


@pytest.mark.parametrize(("minimum_s", "maximum_s"), [(0.0, 1.0), (2.0, 1.0), (-1.0, 1.0)])
async def test_bad_backoff_settings_are_refused(minimum_s: float, maximum_s: float) -> None:
    factory: Callable[[], asyncio.Future[None]] = asyncio.get_running_loop().create_future
    with pytest.raises(ValueError, match="backoff_min_s"):
        await supervise("x", factory, backoff_min_s=minimum_s, backoff_max_s=maximum_s)
