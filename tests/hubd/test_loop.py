"""The daemon, its tests and its benchmarks run on one kind of event loop (hubd.loop)."""

from __future__ import annotations

import asyncio

import uvloop

from hubd.cli import _run_bounded


def test_hubd_run_drives_its_main_on_uvloop() -> None:
    seen: list[type[asyncio.AbstractEventLoop]] = []

    async def main() -> None:
        seen.append(type(asyncio.get_running_loop()))

    _run_bounded(main())
    assert seen == [uvloop.Loop]


async def test_async_tests_run_on_the_daemons_loop() -> None:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
