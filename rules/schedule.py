"""Local time at the hub's place: wall clock with DST, sun events, next firing of time triggers.

All times are epoch seconds. A time trigger fires at the first instant its local time is reached
on an allowed weekday. DST (zoneinfo): a time skipped when clocks go forward (02:30 on the spring
day in Europe) fires at the same offset past the jump (03:30, zoneinfo's fold=0 reading); a time
that happens twice when clocks go back fires once, at its first occurrence. Pure; no asyncio.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hubd.core.errors import ConfigError
from rules.model import SunTrigger, TimeTrigger
from rules.sun import Observer, SunEvent, sun_time

_SEARCH_DAYS = 370  # a year and a bit: enough for weekday filters and polar nights


class Place:
    """The hub's time zone and position; caches sun times per (event, date)."""

    def __init__(self, timezone: str, observer: Observer) -> None:
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"unknown time zone {timezone!r}", key="hub.timezone") from exc
        self.observer = observer
        self._sun_cache: dict[tuple[SunEvent, dt.date], float | None] = {}

    def local(self, ts: float) -> dt.datetime:
        """The local date and time at an instant."""
        return dt.datetime.fromtimestamp(ts, self.tz)

    def at(self, day: dt.date, time: dt.time) -> float:
        """The instant a local date and time names (the first one if it happens twice)."""
        return dt.datetime.combine(day, time, self.tz).timestamp()

    def sun(self, event: SunEvent, day: dt.date) -> float | None:
        """When the sun event happens on that local date, or None (polar day or night)."""
        key = (event, day)
        if key not in self._sun_cache:
            if len(self._sun_cache) > 4096:
                self._sun_cache.clear()
            self._sun_cache[key] = sun_time(event, day, self.observer)
        return self._sun_cache[key]

    def next_fire(self, trigger: TimeTrigger | SunTrigger, after_ts: float) -> float | None:
        """The first instant strictly after ``after_ts`` at which the trigger fires, or None."""
        start = self.local(after_ts).date() - dt.timedelta(days=1)
        for n in range(_SEARCH_DAYS):
            day = start + dt.timedelta(days=n)
            if trigger.weekdays and day.weekday() not in trigger.weekdays:
                continue
            ts = self._on_day(trigger, day)
            if ts is not None and ts > after_ts:
                return ts
        return None

    def _on_day(self, trigger: TimeTrigger | SunTrigger, day: dt.date) -> float | None:
        if isinstance(trigger, TimeTrigger):
            return self.at(day, trigger.at)
        ts = self.sun(trigger.event, day)
        return None if ts is None else ts + trigger.offset_s

    def last_fire(self, trigger: TimeTrigger | SunTrigger, after_ts: float, until_ts: float
                  ) -> float | None:
        """The latest firing in (after_ts, until_ts], or None (for catching up after a stop)."""
        latest = None
        ts = self.next_fire(trigger, after_ts)
        while ts is not None and ts <= until_ts:
            latest = ts
            ts = self.next_fire(trigger, ts)
        return latest
