"""The daemon's radios: each configured radio's driver, imported only where configured (Z-Wave,
Lutron; Zigbee's zigpy in a thread, as it costs ~40 MiB and ~0.7 s of CPU)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hubd.config import HubConfig
from hubd.config.check import check_radio_libraries
from hubd.core.clock import Clock
from radios.base import RadioDriver
from radios.virtual.driver import VirtualDriver

if TYPE_CHECKING:
    from radios.zigbee.driver import ZigbeeDriver


def radio_drivers(config: HubConfig, clock: Clock, given: Sequence[RadioDriver]
                  ) -> list[RadioDriver]:
    """The drivers given (tests, the demo) and those of the configured radios but Zigbee."""
    drivers = list(given)
    radios = config.radios
    if radios.virtual is not None:
        drivers.append(VirtualDriver(radios.virtual, clock))
    if radios.lutron is not None:
        from radios.lutron.driver import LutronDriver

        drivers.append(LutronDriver(radios.lutron, clock))
    if radios.zwave is not None:
        from radios.zwave.driver import ZwaveDriver

        drivers.append(ZwaveDriver(radios.zwave, clock))
    return drivers


async def zigbee_driver(config: HubConfig, config_path: Path | None, clock: Clock
                        ) -> RadioDriver | None:
    """The Zigbee radio if configured, its modules imported in a thread.

    Importing zigpy costs ~40 MiB and ~0.7 s of CPU; the radios started before it spend that
    time waiting on their links (Lutron's sync is 13 lines paced 50 ms apart), so in a
    thread the two overlap instead of adding up.
    """
    settings = config.radios.zigbee
    if settings is None:
        return None
    driver_class = await asyncio.to_thread(_zigbee_driver_class, config, config_path)
    return driver_class(settings, config.hub.state_dir, clock)


def _zigbee_driver_class(config: HubConfig, unchecked: Path | None) -> type[ZigbeeDriver]:
    """The Zigbee driver's class, once zigpy has checked the settings it was not shown yet."""
    if unchecked is not None:
        check_radio_libraries(config, unchecked)  # imports zigpy and the radio's library
    from radios.zigbee.driver import ZigbeeDriver

    return ZigbeeDriver
