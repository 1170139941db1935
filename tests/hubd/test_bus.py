"""The bus: typed fan-out that a slow or failing subscriber cannot stall."""

import asyncio

import pytest

from hubd.bus import Bus


async def test_fan_out_by_type_in_order() -> None:
    bus = Bus()
    ints: list[int] = []
    strs: list[str] = []
    bus.subscribe((int,), ints.append, name="ints")
    bus.subscribe((str,), strs.append, name="strs")
    for item in (1, "a", 2, "b"):
        bus.publish(item)
    await bus.drain()
    assert (ints, strs) == ([1, 2], ["a", "b"])
    await bus.close()


async def test_wants_says_whether_anyone_subscribes_to_a_type_now() -> None:
    bus = Bus()
    assert not bus.wants(int)
    sub = bus.subscribe((int,), lambda event: None, name="ints", inline=True)
    assert bus.wants(int)
    assert not bus.wants(str)
    bus.unsubscribe(sub)
    assert not bus.wants(int)
    await bus.close()


async def test_failing_subscriber_is_counted_and_others_go_on() -> None:
    bus = Bus()
    seen: list[int] = []

    def broken(event: int) -> None:
        raise RuntimeError("boom")

    bus.subscribe((int,), broken, name="broken")
    bus.subscribe((int,), seen.append, name="good")
    bus.publish(1)
    bus.publish(2)
    await bus.drain()
    assert seen == [1, 2]
    assert bus.stats()["broken"] == (2, 0, 2)
    await bus.close()


async def test_slow_subscriber_overflows_without_blocking_publisher(
        caplog: pytest.LogCaptureFixture) -> None:
    bus = Bus()
    gate = asyncio.Event()
    fast: list[int] = []

    async def slow(event: int) -> None:
        await gate.wait()

    bus.subscribe((int,), slow, name="slow", maxsize=3)
    bus.subscribe((int,), fast.append, name="fast")
    for i in range(10):
        bus.publish(i)  # never awaits, never raises
    await asyncio.sleep(0)
    assert bus.stats()["slow"][1] >= 6
    assert "bus_overflow" in caplog.text
    gate.set()
    await bus.drain()
    assert fast == list(range(10))
    await bus.close()


async def test_inline_subscriber_runs_within_publish_and_its_failures_are_counted() -> None:
    bus = Bus()
    seen: list[int] = []

    def quick(event: int) -> None:
        if event < 0:
            raise ValueError("negative")
        seen.append(event)

    bus.subscribe((int,), quick, name="quick", inline=True)
    bus.publish(1)
    assert seen == [1]  # before any await: no trip through the loop
    bus.publish(-1)
    bus.publish(2)
    assert seen == [1, 2]
    assert bus.stats()["quick"] == (3, 0, 1)
    await bus.drain()
    await bus.close()
