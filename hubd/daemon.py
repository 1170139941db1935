"""The composition root: builds the hub from its config and runs every component until told to stop.

Start: open the store and load devices and state → start the radios, the write-behind persister,
the rules and the watchdog under one TaskGroup → READY=1 once every radio has said how it is (or
the ready timeout passed, with a STATUS naming the radios still missing). A component that crashes
is logged and restarted with backoff (hubd.supervise); a ConfigError stops the daemon with its
message. SIGTERM or SIGINT: STOPPING=1, cancel everything, flush state to disk, within 5 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from hubd.bus import Bus
from hubd.config import HubConfig
from hubd.core.clock import Clock, SystemClock
from hubd.core.state import StateStore
from hubd.hub import Hub
from hubd.store import WriteBehind
from hubd.supervise import supervise
from hubd.systemd import Notifier, watchdog_interval_s, watchdog_loop
from radios.base import RadioDriver
from radios.virtual.driver import VirtualDriver

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0

# Extra work the caller runs beside the daemon's own components (the demo's printer and sims).
Extra = Callable[[Hub], Coroutine[Any, Any, None]]


@dataclass(slots=True)
class Daemon:
    """One hub: its config, its components and the means to stop it."""

    config: HubConfig
    clock: Clock = field(default_factory=SystemClock)
    notifier: Notifier = field(default_factory=Notifier)
    drivers: list[RadioDriver] = field(default_factory=list)
    extras: Sequence[Extra] = ()
    ready_timeout_s: float = 30.0
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    hub: Hub | None = None

    def request_stop(self) -> None:
        """Ask the daemon to stop (signal handlers call this)."""
        self.stop_requested.set()

    async def run(self) -> None:
        """Run until a stop is requested, then stop cleanly."""
        state = StateStore()
        writer = WriteBehind(self.config.hub.state_dir / "hubd.sqlite3", state,
                             interval_s=self.config.store.write_interval_s)
        snapshot = await writer.load()
        state.load(snapshot.devices, snapshot.state)
        hub = self.hub = Hub(self.clock, Bus(), state)
        for driver in self._drivers():
            hub.add_driver(driver)
        log.info("event=starting devices=%d radios=%s state_dir=%s", len(snapshot.devices),
                 ",".join(hub.drivers) or "none", self.config.hub.state_dir)
        self.notifier.status(f"starting {len(hub.drivers)} radios")
        async with asyncio.TaskGroup() as group:
            # Tasks start in creation order: listeners subscribe before the radios report.
            store_task = group.create_task(writer.run(), name="store")
            tasks: list[asyncio.Task[None]] = []
            tasks.extend(group.create_task(extra(hub), name="extra") for extra in self.extras)
            for name, driver in hub.drivers.items():
                tasks.append(group.create_task(
                    supervise(f"radio:{name}", _bind(driver, hub)), name=f"radio:{name}"))
            interval = watchdog_interval_s()
            if interval is not None:
                tasks.append(group.create_task(watchdog_loop(self.notifier, interval),
                                               name="watchdog"))
            tasks.append(group.create_task(self._announce_ready(hub), name="ready"))
            await self._wait_for_stop(tasks)
            # The store goes last, so what the others wrote while stopping reaches the disk.
            await self._cancel([store_task])
        log.info("event=stopped")

    def _drivers(self) -> list[RadioDriver]:
        drivers = list(self.drivers)
        radios = self.config.radios
        if radios.virtual is not None:
            drivers.append(VirtualDriver(radios.virtual, self.clock))
        return drivers

    async def _announce_ready(self, hub: Hub) -> None:
        missing = await hub.wait_radios(self.ready_timeout_s)
        states = ", ".join(f"{h.radio} {h.status}" for h in hub.health.values())
        status = f"{sum(1 for _ in hub.state.devices())} devices; radios: {states or 'none'}"
        if missing:
            status += f"; no word yet from {', '.join(missing)}"
        self.notifier.ready(status)
        log.info("event=ready status=%r", status)

    async def _wait_for_stop(self, tasks: list[asyncio.Task[None]]) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.ExitStack() as stack:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, self.request_stop)
                    stack.callback(loop.remove_signal_handler, sig)
            await self.stop_requested.wait()
        log.info("event=stopping")
        self.notifier.stopping()
        await self._cancel(tasks)

    @staticmethod
    async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S / 2)
        for task in pending:
            log.error("event=stop_timeout task=%s", task.get_name())


def _bind(driver: RadioDriver, hub: Hub) -> Callable[[], Awaitable[None]]:
    """A factory supervise() can call again after a crash."""
    return lambda: driver.run(hub)
