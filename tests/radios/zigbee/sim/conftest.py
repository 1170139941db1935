"""Fixtures: the simulated coordinator on a pty, strict about unknown requests, and a
factory for unmodified zigpy-znp ControllerApplications on it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import zigpy.config as zc
from zigpy_znp.zigbee.application import ControllerApplication

from radios.zigbee.sim import Simulator

AppFactory = Callable[..., Awaitable[ControllerApplication]]


def zigpy_config(path: str, db: Path) -> dict[str, Any]:
    """zigpy config for tests: our database, no OTA, fast timeouts, no pin toggling."""
    return {
        zc.CONF_DEVICE: {zc.CONF_DEVICE_PATH: path},
        zc.CONF_DATABASE: str(db),
        zc.CONF_OTA: {zc.CONF_OTA_ENABLED: False},
        zc.CONF_TOPO_SCAN_ENABLED: False,
        "znp_config": {
            "connect_rts_pin_states": [],
            "connect_dtr_pin_states": [],
            "sync_request_timeout": 2,
            "async_response_timeout": 3,
        },
    }


# The `sim` fixture (a factory-fresh coordinator on a pty, strict about unknown requests)
# comes from tests/radios/zigbee/conftest.py.


@pytest.fixture
async def make_app(tmp_path: Path) -> AsyncIterator[AppFactory]:
    """Start zigpy-znp applications (forming a network if needed); all shut down at the end."""
    apps: list[ControllerApplication] = []

    async def start(simulator: Simulator, db_name: str = "zigbee.db") -> ControllerApplication:
        config = zigpy_config(simulator.path, tmp_path / db_name)
        async with asyncio.timeout(20):
            app = await ControllerApplication.new(config, auto_form=True, start_radio=True)
        apps.append(app)
        return app

    yield start
    for app in apps:
        await app.shutdown()


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


async def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Wait until a condition holds, bounded by a timeout.

    The conditions live in zigpy's and the simulator's objects, which offer no change
    notification, so the condition is re-checked every few milliseconds."""
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.005)
