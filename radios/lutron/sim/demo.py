"""The demo house on a simulated repeater, for ``make demo`` and the benchmarks.

``demo_repeater()`` starts the simulator and yields the LutronSettings that point the driver at
it; with ``activity_interval_s`` > 0 someone in the house taps the Living Pico now and then and
walks through the living room.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

from radios.lutron.settings import LutronDeviceConfig, LutronKind, LutronSettings, LutronTransport
from radios.lutron.sim.engine import RepeaterEngine
from radios.lutron.sim.house import House, PhantomPreset
from radios.lutron.sim.report import integration_report
from radios.lutron.sim.server import LutronSimulator

K = LutronKind
PICO_BUTTONS = (2, 3, 4, 5, 6)  # RA2 5-button Pico: on, favourite, off, raise, lower
PICO_ON, PICO_FAVOURITE, PICO_OFF, PICO_RAISE, PICO_LOWER = PICO_BUTTONS
DINING, LIVING_LAMPS, KITCHEN, PORCH, LIVING_SHADE = 20, 21, 22, 23, 24
LIVING_PICO, ENTRY_KEYPAD, LIVING_OCCUPANCY = 30, 31, 40

DEMO_DEVICES: tuple[LutronDeviceConfig, ...] = (
    LutronDeviceConfig(DINING, "Dining lights", K.DIMMER, "Dining room"),
    LutronDeviceConfig(LIVING_LAMPS, "Living lamps", K.DIMMER, "Living room"),
    LutronDeviceConfig(KITCHEN, "Kitchen pendants", K.DIMMER, "Kitchen"),
    LutronDeviceConfig(PORCH, "Porch sconce", K.SWITCH, "Porch"),
    LutronDeviceConfig(LIVING_SHADE, "Living shade", K.SHADE, "Living room"),
    LutronDeviceConfig(LIVING_PICO, "Living Pico", K.PICO, "Living room", PICO_BUTTONS),
    LutronDeviceConfig(ENTRY_KEYPAD, "Entry keypad", K.KEYPAD, "Entry", (1, 2, 3, 4, 5, 6, 7)),
    LutronDeviceConfig(LIVING_OCCUPANCY, "Living room occupancy", K.OCCUPANCY, "Living room"),
)

DEMO_PRESETS: tuple[PhantomPreset, ...] = (
    PhantomPreset(1, "All on", ((DINING, 100.0), (LIVING_LAMPS, 100.0), (KITCHEN, 100.0))),
    PhantomPreset(2, "All off", ((DINING, 0.0), (LIVING_LAMPS, 0.0), (KITCHEN, 0.0))),
)


def demo_house() -> House:
    """A few dimmers, a switch, a shade, a Pico, a keypad and an occupancy group."""
    return House.from_devices(DEMO_DEVICES, DEMO_PRESETS)


@contextlib.asynccontextmanager
async def demo_simulator(transport: LutronTransport | str = LutronTransport.SERIAL, *,
                         baudrate: int | None = None,
                         activity_interval_s: float = 0.0,
                         seed: int | None = None) -> AsyncIterator[LutronSimulator]:
    """The running simulator with the demo house (for callers that want its test hooks)."""
    transport = LutronTransport(transport)
    engine = RepeaterEngine(demo_house())
    async with LutronSimulator(engine, serial=transport is LutronTransport.SERIAL,
                               telnet=transport is LutronTransport.TELNET,
                               baudrate=baudrate) as sim:
        activity = None
        if activity_interval_s > 0:
            activity = asyncio.create_task(_lively(sim, activity_interval_s, random.Random(seed)))
        try:
            yield sim
        finally:
            if activity is not None:
                activity.cancel()
                await asyncio.gather(activity, return_exceptions=True)


@contextlib.asynccontextmanager
async def demo_repeater(transport: LutronTransport | str = "serial", *,
                        baudrate: int | None = None,
                        activity_interval_s: float = 0.0) -> AsyncIterator[LutronSettings]:
    """Start the demo repeater; yield the settings that point the driver at it.

    Serial: the driver reads the house from an integration report file the simulator wrote;
    telnet: it fetches DbXmlInfo.xml from the simulator over HTTP, as from a real repeater.
    """
    async with demo_simulator(transport, baudrate=baudrate,
                              activity_interval_s=activity_interval_s) as sim:
        if sim.serial_path is not None and LutronTransport(transport) is LutronTransport.SERIAL:
            report = sim.serial_path.parent / "DbXmlInfo.xml"
            report.write_text(integration_report(sim.engine.house), encoding="utf-8")
            yield sim.settings(transport, integration_report=report)
        else:
            yield sim.settings(transport)


async def _lively(sim: LutronSimulator, interval_s: float, rnd: random.Random) -> None:
    """Someone taps the Living Pico (on / off, sometimes a long press) and walks about."""
    engine = sim.engine
    while True:
        await asyncio.sleep(rnd.expovariate(1 / interval_s))
        choice = rnd.random()
        if choice < 0.7:
            button = rnd.choice((PICO_ON, PICO_OFF, PICO_FAVOURITE))
            engine.press(LIVING_PICO, button)
            await asyncio.sleep(1.2 if rnd.random() < 0.2 else 0.15)  # now and then a hold
            engine.release(LIVING_PICO, button)
        else:
            engine.set_occupancy(LIVING_OCCUPANCY, rnd.random() < 0.6)
