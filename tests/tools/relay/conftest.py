"""Fixtures of the relay and tunnel tests: a development CA and a relay on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tools.relay.ca import CertificateAuthority
from tools.relay.server import Relay, RelaySettings


@pytest.fixture
def ca_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "ca"
    CertificateAuthority.init(directory)
    return directory


@pytest.fixture
def relay_settings(ca_dir: Path) -> RelaySettings:
    return RelaySettings(ca_dir, ping_interval_s=0.3, ping_timeout_s=0.3, close_timeout_s=0.2)


@pytest.fixture
async def relay(relay_settings: RelaySettings) -> AsyncIterator[Relay]:
    running = Relay(relay_settings)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
