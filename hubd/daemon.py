"""The composition root: builds the hub from its config and runs every component until told to stop.

Start: open the store and load devices and state → start the write-behind persister, the radios
and the watchdog under one TaskGroup → once every radio has said how it is (or the ready timeout
passed), start the rules → READY=1, with a STATUS naming devices, radio health and any radio still
silent. A component that crashes is logged and restarted with backoff (hubd.supervise); a
ConfigError stops the daemon with its message (exit 78). SIGTERM or SIGINT: STOPPING=1, cancel
everything, the store last so what was written while stopping is flushed, within 5 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubd.bus import Bus
from hubd.config import HubConfig
from hubd.core.clock import Clock, SystemClock
from hubd.core.events import Notice
from hubd.core.model import Context, Origin
from hubd.core.state import StateStore
from hubd.hub import Hub
from hubd.store import Snapshot, WriteBehind
from hubd.supervise import supervise
from hubd.systemd import Notifier, watchdog_interval_s, watchdog_loop
from radios.base import RadioDriver
from radios.lutron.driver import LutronDriver
from radios.virtual.driver import VirtualDriver
from rules.engine import EngineSettings, RuleEngine
from rules.model import RuleProblem
from rules.parse import Document, read_rules_dir

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0

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

    def request_stop(self) -> None:
        """Ask the daemon to stop (signal handlers call this)."""
        self.stop_requested.set()

    async def run(self) -> None:
        """Run until a stop is requested, then stop cleanly."""
        tune_gc()
        state = StateStore()
        writer = WriteBehind(self.config.database_path, state,
                             interval_s=self.config.store.write_interval_s)
        snapshot = await writer.load()
        state.load(snapshot.devices, snapshot.state)
        hub = self.hub = Hub(self.clock, Bus(), state,
                             {d.id: (d.name, d.room) for d in self.config.devices})
        for driver in self._drivers():
            hub.add_driver(driver)
        log.info("event=starting devices=%d radios=%s state_dir=%s", len(snapshot.devices),
                 ",".join(hub.drivers) or "none", self.config.hub.state_dir)
        self.notifier.status(f"starting {len(hub.drivers)} radios")
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

    async def _run_components(self, hub: Hub, writer: WriteBehind, snapshot: Snapshot) -> None:
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
            tasks.append(group.create_task(
                self._start_rules_then_ready(group, tasks, hub, writer, snapshot), name="ready"))
            await self._wait_for_stop(tasks)
            # The store goes last, so what the others wrote while stopping reaches the disk.
            await self._cancel([store_task])

    def _drivers(self) -> list[RadioDriver]:
        drivers = list(self.drivers)
        radios = self.config.radios
        if radios.virtual is not None:
            drivers.append(VirtualDriver(radios.virtual, self.clock))
        if radios.lutron is not None:
            drivers.append(LutronDriver(radios.lutron, self.clock))
        if radios.zigbee is not None:
            # Imported only when configured: zigpy costs ~40 MiB of the hub's memory.
            from radios.zigbee.driver import ZigbeeDriver

            drivers.append(ZigbeeDriver(radios.zigbee, self.config.hub.state_dir, self.clock))
        return drivers

    async def _rule_engine(self, hub: Hub, writer: WriteBehind, snapshot: Snapshot
                           ) -> RuleEngine | None:
        """The rule engine with the rules of the rules directory and what was persisted."""
        rules_config, place = self.config.rules, self.config.hub
        if rules_config.dir is None:
            return None
        # Parsed in a thread: 20,000 rules take seconds, and the radios and watchdog go on.
        doc = await asyncio.to_thread(_read_rules, rules_config.dir)
        rules, problems = doc.rules, doc.problems
        settings = EngineSettings(
            max_depth=rules_config.max_depth, storm_runs=rules_config.storm_runs,
            storm_window_s=rules_config.storm_window_s, catch_up_s=rules_config.catch_up_s,
            storm_cooldown_s=rules_config.storm_cooldown_s,
            storm_cooldown_max_s=rules_config.storm_cooldown_max_s,
            latitude=place.latitude, longitude=place.longitude, elevation_m=place.elevation_m,
            timezone=place.timezone)
        engine = RuleEngine(hub.state, hub.bus, hub.execute, self.clock, writer, settings)
        self._tell(hub, [str(p) for p in problems], log_too=True)
        unresolved = await engine.load_async(rules, doc.scenes)  # logged by the engine
        traces: dict[str, list[str]] = {}
        for row in snapshot.traces:
            traces.setdefault(row.rule_id, []).append(row.body)
        last_seen = snapshot.meta.get("last_seen")
        engine.restore(
            timers=[(t.key, t.rule_id, t.deadline, t.payload) for t in snapshot.timers],
            traces=traces,
            rule_states=[(rule_id, *saved) for rule_id, saved in snapshot.rule_states.items()],
            mode=snapshot.meta.get("mode"),
            last_seen=float(last_seen) if last_seen else None)
        self._tell(hub, [str(p) for p in unresolved], log_too=False)
        log.info("event=rules_loaded rules=%d problems=%d", len(rules),
                 len(problems) + len(unresolved))
        for off in engine.disabled():  # the boot log says which rules are off, and why
            log.warning("event=rule_disabled rule=%s reason=%r", off.rule_id, off.reason)
        return engine

    def _tell(self, hub: Hub, problems: list[str], *, log_too: bool) -> None:
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
        missing = await hub.wait_radios(self.ready_timeout_s)
        await hub.bus.drain()
        try:
            engine = self.engine = await self._rule_engine(hub, writer, snapshot)
        except Exception:  # a rule must never take the hub down: run without rules, say so
            log.exception("event=rules_failed")
            self._tell(hub, ["the rules could not be loaded; see the log"], log_too=False)
            engine = None
        if engine is not None:
            tasks.append(group.create_task(supervise("rules", engine.run), name="rules"))
            try:
                async with asyncio.timeout(self.ready_timeout_s):
                    await engine.ready.wait()
            except TimeoutError:
                log.error("event=rules_not_ready timeout_s=%s", self.ready_timeout_s)
        # What boot built (modules, radio tables, rules) lives as long as the daemon: move it out
        # of the collector's sight, so its pauses on the hot path stay short.
        gc.collect()
        gc.freeze()
        states = ", ".join(f"{h.radio} {h.status}" for h in hub.health.values())
        status = f"{sum(1 for _ in hub.state.devices())} devices; radios: {states or 'none'}"
        if missing:
            status += f"; no word yet from {', '.join(missing)}"
        if engine is not None and (off := engine.disabled()):
            status += f"; {len(off)} rules off: {', '.join(s.rule_id for s in off[:5])}"
        self.notifier.ready(status)
        self.ready.set()
        log.info("event=ready status=%r", status)

    def _on_signal(self) -> None:
        if self.stop_requested.is_set():
            log.warning("event=signal_ignored reason=already_stopping")
        self.request_stop()

    async def _wait_for_stop(self, tasks: list[asyncio.Task[None]]) -> None:
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


def _read_rules(path: Path) -> Document:
    """The rules directory, read and parsed; whatever goes wrong disables rules, not the hub."""
    try:
        return read_rules_dir(path)
    except Exception as exc:  # a bad rule file must never escape the TaskGroup
        log.exception("event=rules_unreadable dir=%s", path)
        return Document(problems=[RuleProblem(str(path), 1, "", f"cannot read rules: {exc}")])


def _bind(driver: RadioDriver, hub: Hub) -> Callable[[], Awaitable[None]]:
    """A factory supervise() can call again after a crash."""
    return lambda: driver.run(hub)
