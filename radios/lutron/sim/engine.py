"""The simulated RA2 main repeater: one engine, many sessions (serial port, telnet connections).

Each session has its own login state and monitoring flags, reset on every new connection and on
reboot, as a real repeater does. Commands are parsed with the hub's own codec and answered
byte-exact: queries always answer (reply state on), changes are reported to every session whose
monitoring for that kind is on, ``GNET> `` follows every processed line while the prompt is on,
and bad commands get the documented ``~ERROR,n``. The engine is sans-I/O: ``server.py`` moves
its bytes, and the clock is injected so fades can be tested without waiting.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from hubd.core.clock import Clock, SystemClock
from radios.lutron.codec import MonitoringType, OccupancyState, format_level
from radios.lutron.framing import LineDecoder
from radios.lutron.sim.commands import execute_line
from radios.lutron.sim.house import House

PROMPT = b"GNET> "
LOGIN = b"login: "
PASSWORD = b"password: "

DEFAULT_MONITORING = frozenset({MonitoringType.REPLY, MonitoringType.PROMPT})


@dataclass(frozen=True, slots=True)
class Received:
    """A command line as the repeater got it, and when (engine clock, monotonic)."""

    t: float
    session: str
    line: str
    is_ignored: bool = False


class SimSession:
    """One connection's view of the repeater: login, monitoring flags, pending output."""

    def __init__(self, engine: RepeaterEngine, name: str, *, needs_login: bool) -> None:
        self.engine = engine
        self.name = name
        self.decoder = LineDecoder(max_line_bytes=256, recognise_prompts=False)
        self.monitoring: set[int] = set(engine.default_monitoring)
        self.is_logged_in = not needs_login
        self._user: str | None = None
        self._out = bytearray()
        self.last_command_t: float | None = None
        self.is_closed = False
        self._is_prompt_open = False  # a prompt was printed and no line end followed it yet
        if needs_login:
            self._out += LOGIN

    def wants(self, kind: MonitoringType) -> bool:
        """Whether this session is to hear reports of this kind."""
        return (self.is_logged_in and not self.is_closed and MonitoringType.REPLY in self.monitoring
                and kind in self.monitoring)

    def emit(self, line: str) -> None:
        """Queue a line (terminator added)."""
        self._out += line.encode("ascii") + b"\r\n"

    def emit_raw(self, data: bytes) -> None:
        """Queue bytes as they are (fault injection)."""
        self._out += data

    def data_to_send(self) -> bytes:
        """Bytes for the link."""
        data, self._out = bytes(self._out), bytearray()
        return data

    def receive_data(self, data: bytes) -> None:
        """Bytes from the link."""
        if self.is_closed:
            return
        for frame in self.decoder.receive_data(data):
            self._on_line(getattr(frame, "text", ""))

    def _on_line(self, text: str) -> None:
        engine = self.engine
        if engine.is_booting():
            return
        if not self.is_logged_in:
            self._login(text.strip())
            return
        now = engine.clock.monotonic()
        gap = engine.min_command_gap_s
        is_ignored = gap > 0 and self.last_command_t is not None and \
            now - self.last_command_t < gap
        self.last_command_t = now
        engine.log(Received(now, self.name, text, is_ignored))
        if is_ignored:
            engine.ignored_commands += 1
            return  # the repeater drops commands that follow too closely
        if self._is_prompt_open:
            # The prompt's line ends when a command has been entered, so what follows starts on
            # a line of its own (clients that read up to "GNET>" rely on it: pylutron does).
            self._out += b"\r\n"
            self._is_prompt_open = False
        if text.strip():
            error = execute_line(engine, self, text.strip())
            if error is not None:
                engine.errors_sent += 1
                self.emit(f"~ERROR,{int(error)}")
        if MonitoringType.PROMPT in self.monitoring:
            self._out += PROMPT
            self._is_prompt_open = True

    def _login(self, text: str) -> None:
        if self._user is None:
            self._user = text
            self._out += PASSWORD
            return
        if (self._user, text) == (self.engine.username, self.engine.password):
            self.is_logged_in = True
            self._out += b"\r\n" + PROMPT
            self._is_prompt_open = True
        else:
            self.engine.failed_logins += 1
            self._user = None
            self._out += b"\r\n" + LOGIN


class RepeaterEngine:
    """The repeater's state and its sessions; test hooks act "physically" on the house."""

    def __init__(self, house: House, *, clock: Clock | None = None, username: str = "lutron",
                 password: str = "integration",
                 default_monitoring: frozenset[MonitoringType] = DEFAULT_MONITORING) -> None:
        self.house = house
        self.clock = clock or SystemClock()
        self.username, self.password = username, password
        self.default_monitoring = default_monitoring
        self.sessions: list[SimSession] = []
        self.received: deque[Received] = deque(maxlen=10_000)
        self.on_command: Callable[[Received], None] | None = None
        self.on_output: Callable[[], None] | None = None  # the server moves the bytes
        self.min_command_gap_s = 0.0  # > 0: commands closer than this are dropped (a fault)
        self.ignored_commands = 0
        self.errors_sent = 0
        self.failed_logins = 0
        self.boots = 0
        self._boot_until = 0.0
        self._pending_reports: list[tuple[float, int]] = []  # (when, zone) for delayed fades

    # -- sessions ------------------------------------------------------------------------------

    def open_session(self, name: str, *, needs_login: bool) -> SimSession:
        """A new connection: fresh login and monitoring flags."""
        session = SimSession(self, name, needs_login=needs_login)
        self.sessions.append(session)
        return session

    def close_session(self, session: SimSession) -> None:
        """A connection ended."""
        session.is_closed = True
        if session in self.sessions:
            self.sessions.remove(session)

    def log(self, received: Received) -> None:
        """Record a command line (tests read ``received``; the bench hooks ``on_command``)."""
        self.received.append(received)
        if self.on_command is not None:
            self.on_command(received)

    def is_booting(self) -> bool:
        """Whether the repeater is rebooting (deaf)."""
        return self.clock.monotonic() < self._boot_until

    def reboot(self, boot_s: float = 0.0) -> None:
        """Forget every session (the server drops their links) and stay deaf for ``boot_s``."""
        self.boots += 1
        for session in list(self.sessions):
            self.close_session(session)
        self._boot_until = self.clock.monotonic() + boot_s
        self._notify()

    # -- reports -------------------------------------------------------------------------------

    def broadcast(self, kind: MonitoringType, line: str) -> None:
        """Send a report to every session monitoring this kind."""
        for session in self.sessions:
            if session.wants(kind):
                session.emit(line)
        self._notify()

    def _notify(self) -> None:
        if self.on_output is not None:
            self.on_output()

    def report_zone(self, zone_id: int, level: float | None = None) -> None:
        """~OUTPUT,id,1,level to zone monitors (the level now, unless given)."""
        zone = self.house.zones[zone_id]
        value = zone.level_at(self.clock.monotonic()) if level is None else level
        self.broadcast(MonitoringType.ZONE, f"~OUTPUT,{zone_id},1,{format_level(round(value, 2))}")

    def schedule_report(self, when: float, zone_id: int) -> None:
        """Report a zone when its delayed fade starts."""
        self._pending_reports.append((when, zone_id))

    def next_deadline(self) -> float | None:
        """When ``tick`` has work: a delayed fade starting, a ramp reaching its end."""
        times = [when for when, _ in self._pending_reports]
        times += [z.end_t for z in self.house.zones.values() if z.is_ramping]
        return min(times, default=None)

    def tick(self) -> None:
        """Report delayed fades that started and ramps that ended."""
        now = self.clock.monotonic()
        due = [zone for when, zone in self._pending_reports if when <= now]
        self._pending_reports = [(w, z) for w, z in self._pending_reports if w > now]
        for zone_id in due:
            self.report_zone(zone_id, self.house.zones[zone_id].target)
        for zone in self.house.zones.values():
            if zone.is_ramping and zone.end_t <= now:
                zone.is_ramping = False
                self.report_zone(zone.integration_id, zone.target)

    # -- "physical" test hooks -----------------------------------------------------------------

    def press(self, keypad_id: int, component: int) -> None:
        """A finger presses a button (keypad, Pico)."""
        self._button(keypad_id, component, 3)

    def release(self, keypad_id: int, component: int) -> None:
        """The finger lets go."""
        self._button(keypad_id, component, 4)

    def tap(self, keypad_id: int, component: int) -> None:
        """Press and release."""
        self.press(keypad_id, component)
        self.release(keypad_id, component)

    def _button(self, keypad_id: int, component: int, action: int) -> None:
        keypad = self.house.keypads[keypad_id]
        if component not in keypad.buttons:
            raise ValueError(f"{keypad.name} has no button {component}")
        self.broadcast(MonitoringType.BUTTON, f"~DEVICE,{keypad_id},{component},{action}")

    def move_level(self, zone_id: int, level_pct: float) -> None:
        """A hand on the dimmer: the level changes at once and is reported."""
        zone = self.house.zones[zone_id]
        zone.fade_to(self.clock.monotonic(), level_pct, 0.0)
        self.report_zone(zone_id, zone.target)

    def set_occupancy(self, group_id: int, is_occupied: bool | None) -> None:
        """Someone walks in (True), the room empties (False), or the sensor is lost (None)."""
        group = self.house.groups[group_id]
        group.state = (OccupancyState.UNKNOWN if is_occupied is None else
                       OccupancyState.OCCUPIED if is_occupied else OccupancyState.UNOCCUPIED)
        self.broadcast(MonitoringType.OCCUPANCY, f"~GROUP,{group_id},3,{int(group.state)}")

    def inject_garbage(self, data: bytes) -> None:
        """Write raw bytes to every logged-in session (line noise, a confused bridge)."""
        for session in self.sessions:
            if session.is_logged_in:
                session.emit_raw(data)
        self._notify()

    def system_time(self) -> str:
        """The repeater's clock, HH:MM:SS, from the wall time."""
        return time.strftime("%H:%M:%S", time.localtime(self.clock.time()))

    def system_date(self) -> str:
        """The repeater's date, MM/DD/YYYY."""
        return time.strftime("%m/%d/%Y", time.localtime(self.clock.time()))
