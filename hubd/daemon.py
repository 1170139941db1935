"""The composition root: builds the hub from its config and runs every component until told to stop.

Start: open the store and load devices and state → start the write-behind persister, the radios
and the watchdog under one TaskGroup → once every radio has said how it is (or the ready timeout
passed), start the rules → READY=1, with a STATUS naming devices, radio health and any radio still
silent. A component that crashes is logged and restarted with backoff (hubd.supervise); a
ConfigError stops the daemon with its message (exit 78). SIGTERM or SIGINT: STOPPING=1, cancel
everything, the store last so what was written while stopping is flushed, within 5 s: a
component that ignores its cancellation is abandoned with ``event=stop_abandoned`` at its
deadline (``abandoned`` names it; the CLI then exits without waiting for it).

Before anything starts, the state directory must be writable (else StateDirectoryError, which
the unit does not restart); a database SQLite calls damaged is moved aside, kept for recovery,
and the hub starts from its configuration, with a Notice saying so. Where start may be slow
(the store, the radios, the rules) the daemon asks systemd for time with EXTEND_TIMEOUT_USEC.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubd import memory, startgc
from hubd.bus import Bus
from hubd.config import HubConfig
from hubd.core.clock import Clock, SystemClock
from hubd.core.errors import HubError
from hubd.core.events import Notice, TunnelHealth
from hubd.core.model import Context, Origin
from hubd.core.state import StateStore
from hubd.hub import Hub
from hubd.radiowire import radio_drivers, zigbee_driver
from hubd.rulewire import build_engine
from hubd.statedir import check_state_dir, move_aside
from hubd.store import CorruptDatabaseError, Snapshot, WriteBehind
from hubd.supervise import supervise
from hubd.systemd import Notifier, watchdog_interval_s, watchdog_loop
from radios.base import RadioDriver
from rules.engine import RuleEngine
from rules.parse import Document

# The LAN API, the tunnel, updates and each radio but the virtual one are imported where the config
# turns them on: a hub without them never pays their start time or memory (aiohttp, websockets,
# cbor2, serialx, zigpy).
if TYPE_CHECKING:
    from hubd.api.server import ApiServer
    from hubd.apirules import EngineRules
    from hubd.ota.service import Reboot, UpdateService
    from hubd.tunnel.client import TunnelClient
    from radios.zwave.sidecar import ServerProcess

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0
# What systemd is asked for, beyond a start phase's own bound, when that phase begins.
EXTEND_MARGIN_S = 15.0
STORE_OPEN_BUDGET_S = 30.0

# Python's default (700 new objects) collects the young generation thousands of times a second
# when rules run at full tilt; at 10,000 the rule engine fires ~1.6x more runs a second and the
# local-control p99 is unchanged (measured with tools/bench rules and daemon).
GC_YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Tune the garbage collector for a long-running daemon (the benchmarks call it too)."""
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)


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
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    hub: Hub | None = None
    engine: RuleEngine | None = None
    # The rules and rule problems `hubd run` found while checking the config; None: load them.
    rules: Document | None = None
    api: ApiServer | None = None
    api_rules: EngineRules | None = None
    tunnel: TunnelClient | None = None
    status_line: str = ""
    stop_timeout_s: float = STOP_TIMEOUT_S
    # Components that ignored their cancellation past the stop deadline, left running.
    abandoned: list[asyncio.Task[None]] = field(default_factory=list)
    _stop_deadline: float | None = field(default=None, init=False)
    _components: dict[asyncio.Task[None], asyncio.Task[None]] = field(default_factory=dict,
                                                                       init=False)
    _boot_notices: list[Notice] = field(default_factory=list, init=False)
    zwave_server: ServerProcess | None = None  # the zwave-js-server hubd spawned, if any
    # Set by `hubd run`: the file whose radio-library checks (zigpy's schema) the daemon still
    # owes, done with the import of those libraries (hubd.radiowire.zigbee_driver); a
    # ConfigError stops it.
    config_path: Path | None = None
    # Updates (``[update]``): the service, and the OS's reboot (None: systemctl; tests: a fake).
    updates: UpdateService | None = None
    reboot: Reboot | None = None

    def request_stop(self) -> None:
        """Ask the daemon to stop (signal handlers call this)."""
        self.stop_requested.set()

    async def run(self) -> None:
        """Run until a stop is requested, then stop cleanly."""
        startgc.while_starting()  # until READY=1, then tune_gc() (_start_rules_then_ready)
        try:
            await self._run()
        finally:
            tune_gc()  # also when the daemon stops before READY=1

    async def _run(self) -> None:
        check_state_dir(self.config.hub.state_dir)
        state = StateStore()
        writer = WriteBehind(self.config.database_path, state,
                             interval_s=self.config.store.write_interval_s)
        self.notifier.extend_timeout(STORE_OPEN_BUDGET_S + EXTEND_MARGIN_S)
        snapshot = await self._load(writer)
        state.load(snapshot.devices, snapshot.state)
        hub = self.hub = Hub(self.clock, Bus(), state,
                             {d.id: (d.name, d.room) for d in self.config.devices})
        for driver in radio_drivers(self.config, self.clock, self.drivers):
            hub.add_driver(driver)
        if self.config.radios.zigbee is not None:
            hub.expect_radio("zigbee")  # its driver comes once zigpy is imported (hubd.radiowire)
        radio_names = [*hub.drivers, *(["zigbee"] if self.config.radios.zigbee else [])]
        log.info("event=starting devices=%d radios=%s state_dir=%s", len(snapshot.devices),
                 ",".join(radio_names) or "none", self.config.hub.state_dir)
        self.notifier.status(f"starting {len(radio_names)} radios")
        # Our handlers stay until the very end: a second Ctrl-C while stopping must not turn into
        # a KeyboardInterrupt that skips the radios' cleanup (zigpy's database thread).
        loop = asyncio.get_running_loop()
        with contextlib.ExitStack() as signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(RuntimeError):  # not the main thread: no signals
                    loop.add_signal_handler(sig, self._on_signal)
                    signals.callback(loop.remove_signal_handler, sig)
            await self._run_components(hub, writer, snapshot)
        log.info("event=stopped")

    async def _load(self, writer: WriteBehind) -> Snapshot:
        """What the database holds; a damaged file is moved aside and the hub starts afresh."""
        try:
            return await writer.load()
        except CorruptDatabaseError as exc:
            await writer.close()
            kept = move_aside(writer.store_path)
            message = (f"the database was damaged ({exc}); it was moved to {kept} and the hub "
                       "starts from its configuration, re-learning state from the radios")
            log.error("event=store_corrupt_moved_aside path=%s kept=%s error=%r",
                      writer.store_path, kept, str(exc))
            self._boot_notices.append(Notice("store", message, self.clock.time(),
                                             Context.new(Origin.SYSTEM), "error"))
            return await writer.load()

    async def _run_components(self, hub: Hub, writer: WriteBehind, snapshot: Snapshot) -> None:
        async with asyncio.TaskGroup() as group:
            # Tasks start in creation order: listeners subscribe before the radios report.
            store_task = self.start_component(group, "store", writer.run())
            tasks: list[asyncio.Task[None]] = []
            tasks.extend(self.start_component(group, "extra", extra(hub)) for extra in self.extras)
            self.updates = await self._updates(hub)
            if self.updates is not None:
                tasks.append(self.start_component(group, "updates", self.updates.run()))
            tunnel = await self._tunnel(hub, writer)
            if tunnel is not None:
                # Before the radios: the feeder hears every event from the first one.
                tunnel.feeder.subscribe()
                tasks.append(self.start_component(group, "tunnel", supervise("tunnel", tunnel.run)))
            zwave = self.config.radios.zwave
            if zwave is not None and zwave.spawns_server:
                # Off the hub (no systemd unit): hubd runs zwave-js-server itself, restarted
                # with backoff when it exits; the Z-Wave driver reconnects and resyncs.
                from radios.zwave.sidecar import ServerProcess

                server = self.zwave_server = ServerProcess(zwave, self.config.hub.state_dir)
                tasks.append(self.start_component(group, "zwave-js-server", supervise(
                    "zwave-js-server", server.run, backoff_min_s=zwave.backoff_min_s,
                    backoff_max_s=zwave.backoff_max_s)))
            for name, driver in hub.drivers.items():
                tasks.append(self.start_component(group, f"radio:{name}",
                                         supervise(f"radio:{name}", _bind(driver, hub))))
            # Built while the radios above connect.
            zigbee = await zigbee_driver(self.config, self.config_path, self.clock)
            if zigbee is not None:
                hub.add_driver(zigbee)
                tasks.append(self.start_component(group, f"radio:{zigbee.name}", supervise(
                    f"radio:{zigbee.name}", _bind(zigbee, hub))))
            interval = watchdog_interval_s()
            if interval is not None:
                tasks.append(self.start_component(group, "watchdog",
                                         watchdog_loop(self.notifier, interval)))
            tasks.append(self.start_component(group, "ready", self._start_rules_then_ready(
                group, tasks, hub, writer, snapshot)))
            await self._wait_for_stop(tasks)
            # The store goes last, so what the others wrote while stopping reaches the disk.
            await self._cancel([store_task])

    def start_component(self, group: asyncio.TaskGroup, name: str,
               component: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run component in a task of its own, with a guard in the group that reports its crash
        to the group; the component itself is outside it, so it can be abandoned at the stop
        deadline (TaskGroup and asyncio.run would both wait for it forever)."""
        inner = asyncio.create_task(component, name=name)
        guard = group.create_task(self._guard(inner), name=name)
        self._components[guard] = inner
        return guard

    async def _guard(self, inner: asyncio.Task[None]) -> None:
        """Wait for inner; if cancelled first, cancel it and give it until the deadline."""
        try:
            await asyncio.wait([inner])  # unlike `await inner`, returns at once when cancelled
        except asyncio.CancelledError:
            inner.cancel()
            await self._bounded([inner])
            raise
        inner.result()  # a crash reaches the TaskGroup, which stops the daemon

    async def _bounded(self, components: list[asyncio.Task[None]]) -> None:
        """Wait for cancelled components until the stop deadline; abandon those still going."""
        deadline = self._stop_deadline
        remaining = (self.stop_timeout_s / 2 if deadline is None
                     else max(0.0, deadline - time.monotonic()))
        pending = [c for c in components if not c.done()]
        if pending:
            _, pending_set = await asyncio.wait(pending, timeout=remaining)
            pending = [c for c in pending if c in pending_set]
        for component in components:
            if component in pending and component not in self.abandoned:
                self.abandoned.append(component)
                log.error("event=stop_abandoned task=%s waited_s=%.1f reason=ignores_cancel",
                          component.get_name(), remaining)
            elif (component.done() and not component.cancelled()
                  and component.exception() is not None):
                log.error("event=stop_failed task=%s error=%r", component.get_name(),
                          component.exception())

    async def _tunnel(self, hub: Hub, writer: WriteBehind) -> TunnelClient | None:
        """The cloud tunnel, if configured; the hub's key is made now on first start."""
        settings = self.config.tunnel
        if settings is None:
            return None
        from hubd.otawire import TunnelUpdates
        from hubd.tunnel.client import identity_dir
        from hubd.tunnel.identity import Identity
        from hubd.tunnel_ports import build_tunnel

        state_dir = self.config.hub.state_dir
        await asyncio.to_thread(Identity(identity_dir(state_dir)).ensure_key)
        updates = (TunnelUpdates(self.updates, self.config.update)
                   if self.updates is not None and self.config.update is not None else None)
        tunnel = self.tunnel = build_tunnel(settings, state_dir, hub, writer, self.clock,
                                            updates=updates)
        hub.bus.subscribe((TunnelHealth,), self._on_tunnel_health, name="status", inline=True)
        return tunnel

    async def _updates(self, hub: Hub) -> UpdateService | None:
        """The update service, if configured; a broken update.toml costs updates, not the hub."""
        if self.config.update is None:
            return None
        from hubd.otawire import build_updates

        try:
            service = build_updates(self.config.update, hub.bus.publish, self.clock, self.reboot,
                                    state_dir=self.config.hub.state_dir)
            await service.start()
        except (HubError, OSError) as exc:  # e.g. no access to the slot devices
            log.error("event=updates_unavailable error=%s", exc)
            self._boot_notices.append(Notice("update", f"updates are off: {exc}",
                                             self.clock.time(), Context.new(Origin.SYSTEM),
                                             "error"))
            return None
        return service

    def _on_tunnel_health(self, health: TunnelHealth) -> None:
        """Keep the tunnel's health in systemd's STATUS= line."""
        if self.status_line:
            self.notifier.status(f"{self.status_line}; tunnel {health.status}")

    def tell(self, hub: Hub, problems: list[str], *, log_too: bool) -> None:
        """Publish rule problems: the LAN API, the tunnel and the demo tell people."""
        now = self.clock.time()
        for problem in problems:
            if log_too:
                log.warning("event=rule_problem problem=%r", problem)
            hub.bus.publish(Notice("rules", problem, now, Context.new(Origin.SYSTEM), "warning"))

    async def _start_rules_then_ready(self, group: asyncio.TaskGroup,
                                      tasks: list[asyncio.Task[None]], hub: Hub,
                                      writer: WriteBehind, snapshot: Snapshot) -> None:
        """Once the radios have announced their devices, start the rules, then say READY=1.

        Rules start after the radios so that references resolve, restored timers find their
        devices, and "hub started" means the hub can act.
        """
        self.notifier.extend_timeout(self.ready_timeout_s + EXTEND_MARGIN_S)
        # The LAN API's modules load in a thread while the radios come up: the loop mostly
        # waits on their links then (Lutron's paced lines), and the API starts right after.
        api_loading = (asyncio.ensure_future(asyncio.to_thread(importlib.import_module,
                                                               "hubd.apiwire"))
                       if self.config.api is not None else None)
        missing = await hub.wait_radios(self.ready_timeout_s)
        if api_loading is not None:
            await api_loading
        await hub.bus.drain()
        for notice in self._boot_notices:
            hub.bus.publish(notice)
        self.notifier.extend_timeout(self.ready_timeout_s + EXTEND_MARGIN_S)
        try:
            engine = self.engine = await build_engine(self, hub, writer, snapshot)
        except Exception:  # a rule must never take the hub down: run without rules, say so
            log.exception("event=rules_failed")
            self.tell(hub, ["the rules could not be loaded; see the log"], log_too=False)
            engine = None
        if engine is not None:
            tasks.append(self.start_component(group, "rules", supervise("rules", engine.run)))
            try:
                async with asyncio.timeout(self.ready_timeout_s):
                    await engine.ready.wait()
            except TimeoutError:
                log.error("event=rules_not_ready timeout_s=%s", self.ready_timeout_s)
        if self.config.api is not None:
            from hubd.apiwire import start_api

            self.api = await start_api(self, group, tasks, hub, writer, snapshot)
        states = ", ".join(f"{h.radio} {h.status}" for h in hub.health.values())
        status = f"{sum(1 for _ in hub.state.devices())} devices; radios: {states or 'none'}"
        if missing:
            status += f"; no word yet from {', '.join(missing)}"
        if engine is not None and (off := engine.disabled()):
            status += f"; {len(off)} rules off: {', '.join(s.rule_id for s in off[:5])}"
        self.status_line = status
        if self.tunnel is not None and self.tunnel.health is not None:
            status += f"; tunnel {self.tunnel.health.status}"
        self.notifier.ready(status)
        self.ready.set()
        log.info("event=ready status=%r", status)
        # What boot built (modules, radio tables, rules) lives as long as the daemon: move it out
        # of the collector's sight, so its pauses on the hot path stay short. After READY=1:
        # the hub is up without it, and it takes tens of ms. The older generations, left alone
        # while starting (hubd.startgc), are collected from here on.
        gc.collect()
        gc.freeze()
        tune_gc()
        # What boot freed, and from now on what busy minutes free, goes back to the system
        # (glibc's malloc would keep it: RSS would read the peak, not what the hub holds).
        tasks.append(self.start_component(group, "memory", memory.keep_released()))

    def _on_signal(self) -> None:
        if self.stop_requested.is_set():
            log.warning("event=signal_ignored reason=already_stopping")
        self.request_stop()

    async def _wait_for_stop(self, tasks: list[asyncio.Task[None]]) -> None:
        await self.stop_requested.wait()
        log.info("event=stopping")
        self.notifier.stopping()
        # Everything but the store has half the stop time; the store, last, the rest of it.
        self._stop_deadline = time.monotonic() + self.stop_timeout_s / 2
        await self._cancel(tasks)
        self._stop_deadline = time.monotonic() + self.stop_timeout_s / 2

    async def _cancel(self, guards: list[asyncio.Task[None]]) -> None:
        # A task started without start_component is its own component (and its own guard).
        components = [self._components.get(guard, guard) for guard in guards]
        for guard, component in zip(guards, components, strict=True):
            guard.cancel()
            component.cancel()  # also when its guard is cancelled before it ever ran
        if guards:
            # Each guard returns by the deadline; so does the wait for the components.
            await asyncio.wait(guards)
            await self._bounded(components)


def _bind(driver: RadioDriver, hub: Hub) -> Callable[[], Awaitable[None]]:
    """A factory supervise() can call again after a crash."""
    return lambda: driver.run(hub)
