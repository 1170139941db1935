"""The LIP client session, sans-I/O: one per connection to a repeater.

Theory of operation. Bytes go in with ``receive_data(data, now)``, timers with
``handle_timeout(now)``; the session answers with ``data_to_send()``, ``events_received()`` and
``next_deadline()``. It never reads a clock or sleeps.

    phase       leaves on                                   to
    LOGIN       ``login: `` ``password: `` answered, prompt  CONFIGURE   (telnet only)
                ``login: `` again after the password        FAILED      (bad credentials)
    CONFIGURE   every #MONITORING written                   SYNC
    SYNC        ?OUTPUT / ?GROUP of every known id written, READY
                then ?MONITORING,3 answered
    READY       ~MONITORING,3,2 from a liveness probe       CONFIGURE   (the repeater forgot)
    any         silence too long, login timeout             LinkLost    (the driver reconnects)

Bridges forget monitoring on every new connection and on reboot, so CONFIGURE runs on every
connection and again whenever a probe finds button monitoring off.

One writer: every line waits until ``pace_s`` after the previous one (the repeater drops
commands that arrive closer together). Three queues are served in order: configuration, then the
hub's commands, then sync queries and probes. A level set for a zone whose last queued request is
also a level set replaces it (coalescing): the replaced commands share the outcome of the one
that is written. A level set is confirmed by the ``~OUTPUT`` echo carrying its level within
``confirm_timeout_s`` (``echoes.AwaitedEchoes`` keeps them); ``~ERROR,n`` fails the line written
last (the one "in flight"); other commands are ``sent`` once their error window (``pace_s``)
closes without an error.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from hubd.core.errors import RemoteProtocolError
from hubd.core.model import CommandStatus
from radios.lutron.codec import (
    LipMessage,
    MonitoringType,
    Op,
    monitoring_query,
    monitoring_set,
    parse_message,
)
from radios.lutron.echoes import AwaitedEchoes, Pending
from radios.lutron.framing import LineDecoder, LoginPrompt, PasswordPrompt, Prompt
from radios.lutron.reports import ErrorReport, MonitoringReport, OutputReport, decode_report
from radios.lutron.session_events import (
    LinkLost,
    LinkReady,
    ReportReceived,
    Request,
    RequestDone,
    SessionEvent,
    UnmatchedError,
)

__all__ = ["LinkLost", "LinkReady", "LipSession", "Phase", "ReportReceived", "Request",
           "RequestDone", "SessionEvent", "SessionStats", "UnmatchedError"]


class Phase(StrEnum):
    """Where the session is in reaching READY."""

    LOGIN = "login"
    CONFIGURE = "configure"
    SYNC = "sync"
    READY = "ready"
    FAILED = "failed"
    CLOSED = "closed"


# What CONFIGURE writes (LIP, MONITORING): replies on, prompt off, then what the hub listens to.
CONFIGURATION: tuple[LipMessage, ...] = (
    monitoring_set(MonitoringType.REPLY, True),
    monitoring_set(MonitoringType.PROMPT, False),
    monitoring_set(MonitoringType.BUTTON, True),
    monitoring_set(MonitoringType.LED, True),
    monitoring_set(MonitoringType.ZONE, True),
    monitoring_set(MonitoringType.OCCUPANCY, True),
)
PROBE = monitoring_query(MonitoringType.BUTTON)


@dataclass(slots=True)
class SessionStats:
    """Counters a person can read to see how healthy the link is."""

    lines_received: int = 0
    garbage_lines: int = 0
    lines_written: int = 0
    coalesced: int = 0
    errors_received: int = 0


MAX_QUEUED = 256  # ~13 s of commands at 50 ms each


class LipSession:
    """The client side of one connection to a LIP repeater."""

    def __init__(self, *, now: float, needs_login: bool, username: str = "", password: str = "",
                 sync: tuple[LipMessage, ...] = (), pace_s: float = 0.05,
                 confirm_timeout_s: float = 2.0, liveness_interval_s: float = 30.0,
                 login_timeout_s: float = 10.0, max_line_bytes: int = 256,
                 max_queued: int = MAX_QUEUED) -> None:
        self.pace_s = pace_s
        self.max_queued = max_queued
        self.confirm_timeout_s = confirm_timeout_s
        self.liveness_interval_s = liveness_interval_s
        self.stats = SessionStats()
        self.decoder = LineDecoder(max_line_bytes=max_line_bytes)
        self._username, self._password = username, password
        self._sync = sync
        self._out = bytearray()
        self._events: list[SessionEvent] = []
        self._config: deque[LipMessage] = deque()
        self._user: deque[Pending] = deque()
        self._last_for_zone: dict[int, Pending] = {}
        self._system: deque[LipMessage] = deque()
        self._in_flight: Pending | LipMessage | None = None
        self._in_flight_until = 0.0
        self._awaiting = AwaitedEchoes(confirm_timeout_s)
        self._next_write_at = now
        self._last_rx = now
        self._next_probe_at = now + liveness_interval_s
        self._probe_sent = False
        self._was_ready = False
        self._sent_username = self._sent_password = False
        self._login_deadline = now + login_timeout_s
        self.phase = Phase.LOGIN
        if not needs_login:
            self._configure()

    # -- I/O -----------------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes read from the link."""
        if self.phase in (Phase.FAILED, Phase.CLOSED):
            return
        self._last_rx = now
        for frame in self.decoder.receive_data(data):
            if isinstance(frame, LoginPrompt | PasswordPrompt | Prompt):
                self._on_prompt(frame)
            else:
                self._on_line(frame.text, now)
        self._pump(now)

    def handle_timeout(self, now: float) -> None:
        """Run the timers that are due (pacing, confirmations, liveness, login)."""
        if self.phase in (Phase.FAILED, Phase.CLOSED):
            return
        if self.phase is Phase.LOGIN and now >= self._login_deadline:
            self._lose("no login exchange with the repeater within the login timeout")
            return
        if self.phase is Phase.SYNC and self._probe_sent and \
                now - self._last_rx >= self.confirm_timeout_s:
            self._lose(f"the repeater did not answer for {now - self._last_rx:.1f} s")
            return
        if self.phase is Phase.READY:
            if now - self._last_rx >= 2 * self.liveness_interval_s:
                self._lose(f"the repeater was silent for {now - self._last_rx:.1f} s")
                return
            if now >= self._next_probe_at:
                self._next_probe_at = now + self.liveness_interval_s
                self._system.append(PROBE)
        self._expire_echoes(now)
        if self._in_flight is not None and now >= self._in_flight_until:
            self._settle_in_flight()
        self._pump(now)

    def next_deadline(self) -> float | None:
        """When ``handle_timeout`` must next be called."""
        if self.phase in (Phase.FAILED, Phase.CLOSED):
            return None
        if self.phase is Phase.LOGIN:
            return self._login_deadline
        times = []
        if self.phase is Phase.READY:
            times += [self._last_rx + 2 * self.liveness_interval_s, self._next_probe_at]
        elif self.phase is Phase.SYNC and self._probe_sent:
            times.append(self._last_rx + self.confirm_timeout_s)
        if self._config or self._user or self._system:
            times.append(self._next_write_at)
        if self._in_flight is not None:
            times.append(self._in_flight_until)
        times.extend(self._awaiting.deadlines())
        return min(times)

    def data_to_send(self) -> bytes:
        """Bytes to write to the link now."""
        data, self._out = bytes(self._out), bytearray()
        return data

    def events_received(self) -> list[SessionEvent]:
        """What happened since the last call."""
        events, self._events = self._events, []
        return events

    # -- the hub's commands --------------------------------------------------------------------

    def submit(self, request: Request, now: float) -> None:
        """Queue a request; a level set may replace the zone's queued one (coalescing)."""
        if self.phase in (Phase.FAILED, Phase.CLOSED, Phase.LOGIN):
            self._done(Pending(request), CommandStatus.FAILED, "the link to the repeater is down")
            return
        last = self._last_for_zone.get(request.integration_id)
        if request.expect_level_pct is not None and last is not None and \
                last.request.expect_level_pct is not None:
            last.absorbed.append(last.request.token)
            last.request = request
            self.stats.coalesced += 1
        elif len(self._user) >= self.max_queued:
            # One command every pace_s: a longer queue only means commands that arrive late.
            self._done(Pending(request), CommandStatus.FAILED,
                       f"{len(self._user)} commands already wait for the repeater")
            return
        else:
            pending = Pending(request)
            self._user.append(pending)
            self._last_for_zone[request.integration_id] = pending
        self._pump(now)

    def close(self, reason: str) -> None:
        """The link is gone: every command not yet confirmed fails with ``reason``."""
        if self.phase is Phase.CLOSED:
            return
        self.phase = Phase.CLOSED
        outstanding = list(self._user)
        if isinstance(self._in_flight, Pending):
            outstanding.append(self._in_flight)
        outstanding.extend(self._awaiting.drain())
        seen: set[int] = set()
        for pending in outstanding:
            if id(pending) not in seen:
                seen.add(id(pending))
                self._done(pending, CommandStatus.FAILED, reason)
        self._user.clear()
        self._last_for_zone.clear()
        self._in_flight = None

    # -- internals -----------------------------------------------------------------------------

    def _configure(self) -> None:
        self.phase = Phase.CONFIGURE
        self._config.extend(CONFIGURATION)
        self._system.extend(self._sync)
        self._system.append(PROBE)
        self._probe_sent = False

    def _on_prompt(self, frame: LoginPrompt | PasswordPrompt | Prompt) -> None:
        if self.phase is not Phase.LOGIN:
            return  # a prompt before "#MONITORING,12,2" took effect: nothing to do
        if isinstance(frame, LoginPrompt):
            if self._sent_password:
                self.phase = Phase.FAILED
                self._events.append(LinkLost("the repeater rejected the username or password",
                                             is_fatal=True))
                return
            self._out += f"{self._username}\r\n".encode("ascii", "replace")
            self._sent_username = True
        elif isinstance(frame, PasswordPrompt):
            self._out += f"{self._password}\r\n".encode("ascii", "replace")
            self._sent_password = True
        elif self._sent_password:
            self._configure()

    def _on_line(self, text: str, now: float) -> None:
        if self.phase is Phase.LOGIN:
            return  # banners and echoes before the prompt
        self.stats.lines_received += 1
        try:
            message = parse_message(text)
            if message.op is not Op.REPORT:
                raise RemoteProtocolError(f"the repeater sent a {message.op} line")
            report = decode_report(message)
        except RemoteProtocolError:
            self.stats.garbage_lines += 1
            return
        if isinstance(report, ErrorReport):
            self._on_error(report)
        elif isinstance(report, OutputReport):
            self._events.append(ReportReceived(report, self._match_echo(report)))
        elif isinstance(report, MonitoringReport) and report.kind == MonitoringType.BUTTON:
            self._on_probe_answer(report)
        else:
            self._events.append(ReportReceived(report))

    def _on_probe_answer(self, report: MonitoringReport) -> None:
        if self.phase is Phase.SYNC and self._probe_sent:
            self.phase = Phase.READY
            self._events.append(LinkReady(self._was_ready))
            self._was_ready = True
        elif self.phase is Phase.READY and not report.is_enabled:
            self._configure()  # the repeater rebooted or another client turned monitoring off

    def _on_error(self, report: ErrorReport) -> None:
        self.stats.errors_received += 1
        flight, self._in_flight = self._in_flight, None
        if isinstance(flight, Pending):
            self._awaiting.discard(flight)
            self._done(flight, CommandStatus.FAILED,
                       f"the repeater answered ~ERROR,{report.code}: {report.description}")
        else:
            line = flight.encode().decode().strip() if flight is not None else None
            self._events.append(UnmatchedError(report, line))

    def _match_echo(self, report: OutputReport) -> str | None:
        """The token of the awaiting level set this ~OUTPUT confirms (with all older ones)."""
        confirmed = self._awaiting.confirmed_by(report)
        for pending in confirmed:
            self._awaited_done(pending, CommandStatus.CONFIRMED)
        return confirmed[-1].request.token if confirmed else None

    def _expire_echoes(self, now: float) -> None:
        for pending in self._awaiting.expired(now):
            self._awaited_done(pending, CommandStatus.FAILED,
                                 f"no ~OUTPUT echo from the repeater within "
                                 f"{self.confirm_timeout_s:g} s")

    def _settle_in_flight(self) -> None:
        """The error window of the last line closed without ~ERROR."""
        flight, self._in_flight = self._in_flight, None
        if isinstance(flight, Pending) and flight.request.expect_level_pct is None:
            self._done(flight, CommandStatus.SENT)

    def _pump(self, now: float) -> None:
        """Write the next line if the pace allows."""
        while self.phase in (Phase.CONFIGURE, Phase.SYNC, Phase.READY) \
                and now >= self._next_write_at:
            if self._config:
                self._write(self._config.popleft(), now)
                if not self._config:
                    self.phase = Phase.SYNC
            elif self._user:
                pending = self._user.popleft()
                if self._last_for_zone.get(pending.request.integration_id) is pending:
                    del self._last_for_zone[pending.request.integration_id]
                deadline = pending.request.deadline
                if deadline is not None and now > deadline:
                    self._done(pending, CommandStatus.EXPIRED,
                               "the deadline passed before the command reached the repeater")
                    continue
                self._write_request(pending, now)
            elif self._system:
                message = self._system.popleft()
                if message is PROBE and self.phase is Phase.SYNC:
                    self._probe_sent = True
                self._write(message, now)
            return

    def _write(self, message: LipMessage, now: float) -> None:
        if isinstance(self._in_flight, Pending):
            self._settle_in_flight()
        self._out += message.encode()
        self.stats.lines_written += 1
        self._in_flight = message
        self._in_flight_until = now + self.pace_s
        self._next_write_at = now + self.pace_s

    def _write_request(self, pending: Pending, now: float) -> None:
        self._write(pending.request.message, now)
        self._in_flight = pending
        pending.written_at = now
        if pending.request.expect_level_pct is not None:
            self._awaiting.add(pending)

    def _done(self, pending: Pending, status: CommandStatus, error: str | None = None) -> None:
        for token in (*pending.absorbed, pending.request.token):
            self._events.append(RequestDone(token, status, error))

    def _awaited_done(self, pending: Pending, status: CommandStatus,
                      error: str | None = None) -> None:
        """An awaited level set ended; if it was the line in flight, that line is settled too."""
        if pending is self._in_flight:
            self._in_flight = None
        self._done(pending, status, error)

    def _lose(self, detail: str) -> None:
        self._events.append(LinkLost(detail))
        self.close(f"link lost: {detail}")
