"""Time as an injectable dependency: the real clock for the daemon, a manual one for tests."""

from __future__ import annotations

from time import monotonic as _monotonic
from time import time as _time
from typing import Protocol

from hubd.core.errors import InvalidValueError


class Clock(Protocol):
    """Where hubd reads the time; never call time.time() on the hot path of testable code."""

    def time(self) -> float:
        """Wall-clock seconds since the epoch (for timestamps, time triggers, persistence)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for latencies and deadlines)."""
        ...


class SystemClock:
    """The machine's clocks: the ``time`` module's own functions, so that reading the clock on
    the hot path (a fired rule reads it five times) costs no Python call of ours."""

    time = staticmethod(_time)
    monotonic = staticmethod(_monotonic)


class ManualClock:
    """A clock that moves only when told to; wall and monotonic time advance together."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._wall = start
        self._mono = 1000.0

    def time(self) -> float:
        """The simulated wall-clock time."""
        return self._wall

    def monotonic(self) -> float:
        """The simulated monotonic time."""
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        if seconds < 0:
            raise InvalidValueError("a clock does not go backwards")
        self._wall += seconds
        self._mono += seconds

    def set_time(self, wall: float) -> None:
        """Jump the wall clock (as NTP may); monotonic time moves by the same amount if forward."""
        if wall > self._wall:
            self._mono += wall - self._wall
        self._wall = wall
