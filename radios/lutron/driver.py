"""The Lutron driver: a RadioDriver that keeps a LIP session to one repeater alive.

It owns the link (serial or telnet), runs one ``LipSession`` per connection, reconnects with
backoff, and translates both ways: hub Commands into LIP requests (``commands.py``), LIP reports
into hub events (``events.py``). Everything it reports goes into the RadioSink synchronously.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hubd.core.backoff import Backoff, BackoffPolicy
from hubd.core.clock import Clock, SystemClock
from hubd.core.errors import ConfigError, RemoteProtocolError, TransientError
from hubd.core.events import (
    AvailabilityChanged,
    CommandResult,
    DeviceJoined,
    RadioHealth,
    RadioStatus,
)
from hubd.core.model import Command, CommandStatus, Context, Origin
from radios.base import RadioSink
from radios.lutron.buttons import HoldTracker
from radios.lutron.commands import build_request
from radios.lutron.devices import (
    RADIO,
    merge_devices,
    parse_integration_report,
    sync_queries,
    to_device,
)
from radios.lutron.events import EventMapper
from radios.lutron.session import (
    LinkLost,
    LinkReady,
    LipSession,
    Phase,
    ReportReceived,
    RequestDone,
    SessionStats,
    UnmatchedError,
)
from radios.lutron.settings import LutronDeviceConfig, LutronSettings, LutronTransport
from radios.lutron.transport import Link, StreamLink, fetch_integration_report

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LutronStats:
    """Counters over the driver's life: how clean the line is and how often it dropped."""

    lines_received: int = 0
    garbage_lines: int = 0
    overlong_lines: int = 0
    undecodable_lines: int = 0
    lines_written: int = 0
    coalesced: int = 0
    errors_received: int = 0
    connections: int = 0
    unknown_ids: int = 0


class LutronDriver:
    """Drives a RadioRA 2 main repeater (or compatible) over the Lutron Integration Protocol."""

    def __init__(self, settings: LutronSettings, clock: Clock | None = None, *,
                 seed: int | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.settings = settings
        self._clock = clock or SystemClock()
        self._sleep = sleep  # the pause between attempts (tests: one that never returns)
        self.backoff = Backoff(BackoffPolicy(settings.backoff_min_s, settings.backoff_max_s,
                                             settings.stable_after_s), random.Random(seed))
        self._sink: RadioSink | None = None
        self._devices: dict[int, LutronDeviceConfig] = {}
        self._session: LipSession | None = None
        self._link: Link | None = None
        self._waiting: dict[str, asyncio.Future[tuple[CommandStatus, str | None]]] = {}
        self._wake = asyncio.Event()
        self._lost: LinkLost | None = None
        self._holds = HoldTracker(settings.hold_after_s)
        self._mapper = EventMapper(self._devices, self._clock, self._holds)
        self._totals = LutronStats()
        self._status: RadioStatus | None = None
        self._is_available = True
        self._has_report = False
        self._ready_at: float | None = None  # monotonic time the current link became ready

    @property
    def name(self) -> str:
        """The radio's name, the prefix of its device ids."""
        return RADIO

    @property
    def where(self) -> str:
        """The repeater's address, for people."""
        if self.settings.transport is LutronTransport.SERIAL:
            return self.settings.path
        return f"{self.settings.host}:{self.settings.port}"

    @property
    def stats(self) -> LutronStats:
        """Totals so far, including the current connection."""
        total = LutronStats(**{k: getattr(self._totals, k) for k in LutronStats.__slots__})
        if self._session is not None:
            _add(total, self._session)
        total.unknown_ids = self._mapper.unknown_ids
        return total

    @property
    def devices(self) -> tuple[LutronDeviceConfig, ...]:
        """The integration ids the driver knows."""
        return tuple(self._devices.values())

    # -- RadioDriver ---------------------------------------------------------------------------

    async def run(self, sink: RadioSink) -> None:
        """Announce the devices, then connect, serve and reconnect until cancelled."""
        self._sink = sink
        self._mapper.sink = sink
        await self._load_devices()
        try:
            while True:
                lost = await self._connect_and_serve()
                self._set_available(False)
                # Up time counts from the login, and only a stable link resets the backoff: a
                # repeater that accepts the login and drops the link must see the pause grow.
                ready_at = self._ready_at
                up_s = self._clock.monotonic() - ready_at if ready_at is not None else 0.0
                delay = self.backoff.failed(up_s)
                if lost.is_fatal:
                    self._health(RadioStatus.FAILED, f"{lost.detail}; check [radios.lutron]")
                    delay = self.settings.backoff_max_s  # slowly: never spin on a wrong password
                else:
                    self._health(RadioStatus.RECONNECTING, lost.detail)
                log.info("event=lutron_link_down reason=%r failures=%d up_s=%.1f retry_in_s=%.2f",
                         lost.detail, self.backoff.failures, up_s, delay)
                await self._sleep(delay)
        finally:
            self._sink = self._mapper.sink = None

    async def send(self, command: Command) -> CommandResult:
        """Write the command's LIP request and wait for its echo, error or timeout."""
        started = self._clock.monotonic()
        try:
            config = self._device_for(command.device_id)
            request = build_request(command, config, self._mapper.level_of(config))
        except ValueError as exc:
            return CommandResult(command, CommandStatus.FAILED, 0.0, str(exc))
        session = self._session
        if command.deadline is not None and started > command.deadline:
            return CommandResult(command, CommandStatus.EXPIRED, 0.0,
                                 "the deadline passed before the command was sent")
        if session is None or session.phase not in (Phase.CONFIGURE, Phase.SYNC, Phase.READY):
            return CommandResult(command, CommandStatus.FAILED, 0.0,
                                 f"not connected to the Lutron repeater at {self.where}")
        future = asyncio.get_running_loop().create_future()
        self._waiting[command.id] = future
        self._mapper.contexts[command.id] = command.context
        try:
            session.submit(request, started)
            self._flush(session)
            self._wake.set()
            status, error = await future
        finally:
            self._waiting.pop(command.id, None)
            self._mapper.contexts.pop(command.id, None)
        return CommandResult(command, status, self._clock.monotonic() - started, error)

    async def permit_join(self, duration_s: float) -> None:
        """LIP cannot pair: devices are added with Lutron's own programming tools."""
        log.info("event=lutron_permit_join duration_s=%s: Lutron devices are added with Lutron's "
                 "programming software; the hub reads them from the integration report",
                 duration_s)

    # -- devices -------------------------------------------------------------------------------

    async def _load_devices(self) -> None:
        """Config, then the report file; announce every device."""
        reported: tuple[LutronDeviceConfig, ...] = ()
        path = self.settings.integration_report
        if path is not None:
            try:
                xml = await asyncio.to_thread(path.read_bytes)
                reported = parse_integration_report(xml)
            except (OSError, RemoteProtocolError) as exc:
                raise ConfigError(str(exc), file=str(path), key="radios.lutron.integration_report"
                                  ) from exc
            self._has_report = True
        self._adopt(merge_devices(self.settings.devices, reported))

    async def _fetch_report(self) -> None:
        """Telnet: the repeater serves its own integration report over HTTP; use it once."""
        if self._has_report or self.settings.transport is not LutronTransport.TELNET or \
                not self.settings.fetch_integration_report:
            return
        try:
            xml = await fetch_integration_report(self.settings.host, self.settings.http_port,
                                                 self.settings.login_timeout_s)
            reported = parse_integration_report(xml)
        except (TransientError, RemoteProtocolError) as exc:
            log.warning("event=lutron_report_fetch_failed error=%r", str(exc))
            return
        self._has_report = True
        self._adopt(merge_devices(self.settings.devices, reported))

    def _adopt(self, devices: tuple[LutronDeviceConfig, ...]) -> None:
        """Know these devices and announce those that are new or changed."""
        now = self._clock.time()
        context = Context.new(Origin.SYSTEM)
        for config in devices:
            if self._devices.get(config.integration_id) == config:
                continue
            self._devices[config.integration_id] = config
            if self._sink is not None:
                self._sink.report(DeviceJoined(to_device(config), now, context))

    def _device_for(self, device_id: str) -> LutronDeviceConfig:
        radio, _, address = device_id.partition(":")
        config = self._devices.get(int(address)) if address.isdigit() else None
        if radio != RADIO or config is None:
            raise ValueError(f"{device_id} is not a known Lutron device")
        return config

    # -- the link ------------------------------------------------------------------------------

    async def _open(self) -> Link:
        if self.settings.transport is LutronTransport.SERIAL:
            return await StreamLink.open_serial(self.settings.path, self.settings.baudrate)
        return await StreamLink.open_tcp(self.settings.host, self.settings.port,
                                         self.settings.login_timeout_s)

    async def _connect_and_serve(self) -> LinkLost:
        """One connection's life; returns why it ended."""
        self._ready_at = None
        try:
            await self._fetch_report()
            link = await self._open()
        except TransientError as exc:
            return LinkLost(str(exc))
        s = self.settings
        session = LipSession(
            now=self._clock.monotonic(), needs_login=s.transport is LutronTransport.TELNET,
            username=s.username, password=s.password,
            sync=sync_queries(self._devices.values()), pace_s=s.pace_s,
            confirm_timeout_s=s.confirm_timeout_s, liveness_interval_s=s.liveness_interval_s,
            login_timeout_s=s.login_timeout_s, max_line_bytes=s.max_line_bytes)
        self._totals.connections += 1
        self._link, self._session, self._lost = link, session, None
        reader = asyncio.create_task(self._read_loop(link, session), name="lutron-read")
        try:
            self._flush(session)
            return await self._timer_loop(session)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            link.close()
            why = self._lost.detail if self._lost is not None else "the driver stopped"
            session.close(f"link to the repeater lost: {why}")
            self._link = None
            self._flush(session)
            self._session = None
            _add(self._totals, session)
            self._holds.clear()

    async def _read_loop(self, link: Link, session: LipSession) -> None:
        while self._lost is None:
            data = await link.read()
            if not data:
                self._lose(LinkLost(f"the link to {self.where} closed"))
                return
            session.receive_data(data, self._clock.monotonic())
            self._flush(session)
            self._wake.set()  # the session's next deadline may have moved

    async def _timer_loop(self, session: LipSession) -> LinkLost:
        while self._lost is None:
            self._wake.clear()
            deadlines = [d for d in (session.next_deadline(), self._holds.next_deadline())
                         if d is not None]
            delay = min(deadlines) - self._clock.monotonic() if deadlines else None
            if delay is None or delay > 0:
                try:
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                except TimeoutError:
                    pass
            now = self._clock.monotonic()
            session.handle_timeout(now)
            self._mapper.poll_holds(now)
            self._flush(session)
            if self._link is not None:
                await self._link.drain()  # back-pressure: no more paced writes until sent
        return self._lost

    def _lose(self, lost: LinkLost) -> None:
        if self._lost is None:
            self._lost = lost
        self._wake.set()

    def _flush(self, session: LipSession) -> None:
        """Write what the session wants written; act on what it says happened."""
        data = session.data_to_send()
        if data and self._link is not None:
            self._link.write(data)
        for event in session.events_received():
            if isinstance(event, ReportReceived):
                self._mapper.on_report(event.report, event.echo_of)
            elif isinstance(event, RequestDone):
                future = self._waiting.get(event.token)
                if future is not None and not future.done():
                    future.set_result((event.status, event.error))
            elif isinstance(event, LinkReady):
                if self._ready_at is None:
                    self._ready_at = self._clock.monotonic()
                verb = "monitoring restored on" if event.is_resync else "connected to"
                self._health(RadioStatus.OK, f"{verb} {self.where}, {len(self._devices)} devices")
                self._set_available(True)
            elif isinstance(event, LinkLost):
                self._lose(event)
            elif isinstance(event, UnmatchedError):
                log.warning("event=lutron_error code=%d meaning=%r line=%r", event.report.code,
                            event.report.description, event.line)

    # -- health --------------------------------------------------------------------------------

    def _health(self, status: RadioStatus, detail: str) -> None:
        if self._sink is None or (status is self._status and status is not RadioStatus.OK):
            return
        self._status = status
        self._sink.report(RadioHealth(RADIO, status, detail, self._clock.time()))

    def _set_available(self, is_available: bool) -> None:
        if is_available == self._is_available or self._sink is None:
            return
        self._is_available = is_available
        now, context = self._clock.time(), Context.new(Origin.SYSTEM)
        for config in self._devices.values():
            self._sink.report(AvailabilityChanged(to_device(config).id, is_available, now,
                                                  context))


def _add(total: LutronStats, session: LipSession) -> None:
    s: SessionStats = session.stats
    total.lines_received += s.lines_received
    total.garbage_lines += s.garbage_lines
    total.lines_written += s.lines_written
    total.coalesced += s.coalesced
    total.errors_received += s.errors_received
    total.overlong_lines += session.decoder.overlong_lines
    total.undecodable_lines += session.decoder.undecodable_lines
