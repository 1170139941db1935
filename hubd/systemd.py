"""systemd readiness notification and an honest watchdog, in-house (sd_notify(3) over AF_UNIX).

Theory of operation. ``Notifier`` sends sd_notify datagrams (``READY=1``, ``STATUS=...``,
``WATCHDOG=1``...) to ``$NOTIFY_SOCKET`` from a non-blocking datagram socket; without the variable
it does nothing but log at debug, so the daemon runs the same way outside systemd.

The watchdog exists to restart a daemon that stopped serving, and hubd serves from one asyncio
loop, so the ping is sent *from that loop* and only when the loop has been healthy: a thread that
pinged regardless would keep a frozen hub alive forever. ``watchdog_loop`` wakes every
``interval/8`` and measures how late each wake-up ran (the loop lag). ``WatchdogPacer`` turns
those observations into decisions: after a window of ``interval/2`` whose total lag stayed
within the limit (``interval/2``), ping; when the lag exceeds the limit, log ``event=loop_stall``,
skip the ping that was due and start a new window. A stall longer than half of WatchdogSec
therefore always costs the next ping; a loop that keeps stalling never pings, and systemd
restarts it, which is the point.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from hubd.core.errors import InvalidValueError

log = logging.getLogger(__name__)

TICKS_PER_PING = 4


class Verdict(StrEnum):
    """What the pacer decided at one wake-up of the watchdog loop."""

    WAIT = "wait"
    PING = "ping"
    STALL = "stall"


def notify_address(value: str | None) -> str | bytes | None:
    """The socket address named by a ``$NOTIFY_SOCKET`` value, or None if unusable.

    sd_notify(3): a path, or an abstract socket when the value starts with "@" (its first byte
    becomes NUL). Other forms (vsock:) cannot reach a hub's systemd and are refused.
    """
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    log.warning("event=sd_notify_unsupported notify_socket=%s", value)
    return None


class Notifier:
    """Tells systemd about the daemon's state; a no-op (logging at debug) outside systemd."""

    def __init__(self, notify_socket: str | None = None) -> None:
        """Talk to ``notify_socket``; by default to ``$NOTIFY_SOCKET`` ("" disables)."""
        if notify_socket is None:
            notify_socket = os.environ.get("NOTIFY_SOCKET")
        self._address = notify_address(notify_socket)
        self._sock: socket.socket | None = None
        self.sent = 0
        self.failed = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """A notifier for ``$NOTIFY_SOCKET`` of this process (or of the given environment)."""
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET"))

    @property
    def is_enabled(self) -> bool:
        """True when there is a systemd socket to talk to."""
        return self._address is not None

    def notify(self, *assignments: str) -> bool:
        """Send one datagram of ``KEY=value`` lines; True if systemd got it. Never raises."""
        message = "\n".join(assignments)
        if self._address is None:
            log.debug("event=sd_notify_skipped message=%s", message)
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)
            self._sock.sendto(message.encode(), self._address)
        except OSError as exc:
            # A full queue (EAGAIN) or a vanished socket must not take the daemon down; a lost
            # WATCHDOG=1 is what the watchdog is for, and the next one may get through.
            self.failed += 1
            log.warning("event=sd_notify_failed message=%s error=%s", message, exc)
            return False
        self.sent += 1
        log.debug("event=sd_notify message=%s", message)
        return True

    def ready(self, status: str | None = None) -> bool:
        """Startup (or a reload) is complete: READY=1, with a status line if given."""
        if status is None:
            return self.notify("READY=1")
        return self.notify("READY=1", _status(status))

    def status(self, text: str) -> bool:
        """A one-line status shown by ``systemctl status``."""
        return self.notify(_status(text))

    def stopping(self) -> bool:
        """A graceful stop has begun."""
        return self.notify("STOPPING=1")

    def reloading(self) -> bool:
        """A reload has begun; send ``ready()`` when it is done."""
        # sd_notify(3): RELOADING=1 carries MONOTONIC_USEC (required for Type=notify-reload).
        now_us = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={now_us}")

    def watchdog(self) -> bool:
        """The daemon is alive: WATCHDOG=1."""
        return self.notify("WATCHDOG=1")

    def extend_timeout(self, timeout_s: float) -> bool:
        """Ask for this much more time to finish starting or stopping."""
        return self.notify(f"EXTEND_TIMEOUT_USEC={max(0, round(timeout_s * 1e6))}")

    def close(self) -> None:
        """Release the socket."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _status(text: str) -> str:
    # One datagram line per assignment: a newline inside STATUS= would start a new assignment.
    return "STATUS=" + " ".join(text.split())


def watchdog_interval_s(environ: Mapping[str, str] | None = None,
                        pid: int | None = None) -> float | None:
    """WatchdogSec from ``$WATCHDOG_USEC``, or None when this process is not watched.

    sd_watchdog_enabled(3): if ``$WATCHDOG_PID`` is set it must be our pid, else the watchdog is
    meant for another process (our parent passed its environment down).
    """
    env = os.environ if environ is None else environ
    raw_usec = env.get("WATCHDOG_USEC")
    if not raw_usec:
        return None
    raw_pid = env.get("WATCHDOG_PID")
    try:
        usec = int(raw_usec)
        watched_pid = int(raw_pid) if raw_pid else None
    except ValueError:
        log.warning("event=watchdog_env_invalid watchdog_usec=%s watchdog_pid=%s", raw_usec,
                    raw_pid)
        return None
    if watched_pid is not None and watched_pid != (os.getpid() if pid is None else pid):
        return None
    if usec <= 0:
        return None
    return usec / 1e6


@dataclass(slots=True)
class WatchdogPacer:
    """Decides at each wake-up whether a ping is honest; pure, fed with loop times."""

    interval_s: float
    ticks: int = 0
    window_lag_s: float = 0.0
    pings: int = 0
    stalls: int = 0
    max_lag_s: float = 0.0
    last_stall_lag_s: float = 0.0

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise InvalidValueError(f"watchdog interval must be positive, not {self.interval_s}")

    @property
    def tick_s(self) -> float:
        """How often the loop is sampled."""
        return self.interval_s / 2 / TICKS_PER_PING

    @property
    def limit_s(self) -> float:
        """The most lag a window may accumulate and still earn its ping."""
        return self.interval_s / 2

    def on_wake(self, scheduled: float, now: float) -> Verdict:
        """The loop woke at ``now`` for a wake-up due at ``scheduled``."""
        lag = max(0.0, now - scheduled)
        self.max_lag_s = max(self.max_lag_s, lag)
        self.window_lag_s += lag
        if self.window_lag_s > self.limit_s:
            self.stalls += 1
            self.last_stall_lag_s = self.window_lag_s
            self._new_window()
            return Verdict.STALL
        self.ticks += 1
        if self.ticks < TICKS_PER_PING:
            return Verdict.WAIT
        self.pings += 1
        self._new_window()
        return Verdict.PING

    def _new_window(self) -> None:
        self.ticks = 0
        self.window_lag_s = 0.0


async def watchdog_loop(notifier: Notifier, interval_s: float, *,
                        pacer: WatchdogPacer | None = None) -> None:
    """Ping systemd's watchdog from this event loop while it stays responsive; runs until
    cancelled. ``interval_s`` is WatchdogSec (see ``watchdog_interval_s``); pass a pacer to
    read its counters."""
    loop = asyncio.get_running_loop()
    if pacer is None:
        pacer = WatchdogPacer(interval_s)
    elif pacer.interval_s != interval_s:
        raise InvalidValueError(
            f"pacer paces {pacer.interval_s} s, not the {interval_s} s asked for")
    # Starting this loop proves the loop runs: ping at once, systemd's timer is already going.
    notifier.watchdog()
    while True:
        scheduled = loop.time() + pacer.tick_s
        await asyncio.sleep(pacer.tick_s)
        verdict = pacer.on_wake(scheduled, loop.time())
        if verdict is Verdict.PING:
            notifier.watchdog()
        elif verdict is Verdict.STALL:
            log.warning("event=loop_stall lag_s=%.3f limit_s=%.3f ping=missed",
                        pacer.last_stall_lag_s, pacer.limit_s)
