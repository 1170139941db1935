"""Sunrise, sunset, civil dawn and dusk, computed on the hub (NOAA solar calculator equations).

The equations are those of NOAA's Solar Calculator (after Jean Meeus, *Astronomical Algorithms*):
the sun's declination and the equation of time at a Julian century, then the hour angle at which
the sun's centre reaches a zenith angle. Sunrise and sunset use 90.833° (34' of refraction plus a
16' solar semi-diameter), dawn and dusk the civil 96°. An observer above the horizon sees the sun
earlier: the horizon dips by ``2.076 * sqrt(elevation_m)`` arc minutes. Pure functions; times are
epoch seconds (UTC). Accurate to well under a minute between latitudes ±65°.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass
from enum import StrEnum


class SunEvent(StrEnum):
    """The moments of the sun rules can use."""

    DAWN = "dawn"
    SUNRISE = "sunrise"
    SUNSET = "sunset"
    DUSK = "dusk"


@dataclass(frozen=True, slots=True)
class Observer:
    """Where the hub is: degrees north and east, metres above the horizon it sees."""

    latitude: float
    longitude: float
    elevation_m: float = 0.0


_ZENITH_DEG = {
    SunEvent.DAWN: 96.0,
    SunEvent.SUNRISE: 90.833,
    SunEvent.SUNSET: 90.833,
    SunEvent.DUSK: 96.0,
}
_IS_MORNING = {SunEvent.DAWN: True, SunEvent.SUNRISE: True, SunEvent.SUNSET: False,
               SunEvent.DUSK: False}


def _julian_day(day: dt.date) -> float:
    """The Julian day at 0h UTC of a calendar date."""
    return calendar.timegm(day.timetuple()) / 86400.0 + 2440587.5


def _declination_and_eot(julian_day: float) -> tuple[float, float]:
    """The sun's declination (radians) and the equation of time (minutes) at a Julian day."""
    t = (julian_day - 2451545.0) / 36525.0
    mean_long = math.radians((280.46646 + t * (36000.76983 + t * 0.0003032)) % 360.0)
    mean_anom = math.radians(357.52911 + t * (35999.05029 - 0.0001537 * t))
    ecc = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    centre = (math.sin(mean_anom) * (1.914602 - t * (0.004817 + 0.000014 * t))
              + math.sin(2 * mean_anom) * (0.019993 - 0.000101 * t)
              + math.sin(3 * mean_anom) * 0.000289)
    omega = math.radians(125.04 - 1934.136 * t)
    apparent_long = math.radians(math.degrees(mean_long) + centre - 0.00569
                                 - 0.00478 * math.sin(omega))
    mean_obliquity = 23.0 + (26.0 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813)))
                             / 60.0) / 60.0
    obliquity = math.radians(mean_obliquity + 0.00256 * math.cos(omega))
    declination = math.asin(math.sin(obliquity) * math.sin(apparent_long))
    y = math.tan(obliquity / 2) ** 2
    eot_rad = (y * math.sin(2 * mean_long) - 2 * ecc * math.sin(mean_anom)
               + 4 * ecc * y * math.sin(mean_anom) * math.cos(2 * mean_long)
               - 0.5 * y * y * math.sin(4 * mean_long) - 1.25 * ecc * ecc * math.sin(2 * mean_anom))
    return declination, 4.0 * math.degrees(eot_rad)


def _hour_angle_deg(latitude: float, declination: float, zenith_deg: float) -> float | None:
    """The hour angle at which the sun reaches the zenith angle, or None if it never does."""
    lat = math.radians(latitude)
    cos_h = ((math.cos(math.radians(zenith_deg)) - math.sin(lat) * math.sin(declination))
             / (math.cos(lat) * math.cos(declination)))
    if not -1.0 <= cos_h <= 1.0:
        return None  # polar day or night: the sun stays above or below that angle all day
    return math.degrees(math.acos(cos_h))


def sun_time(event: SunEvent, day: dt.date, observer: Observer) -> float | None:
    """When the event happens on that calendar day at the observer (epoch seconds), or None."""
    zenith = _ZENITH_DEG[event] + 2.076 * math.sqrt(max(observer.elevation_m, 0.0)) / 60.0
    sign = -1.0 if _IS_MORNING[event] else 1.0
    jd0 = _julian_day(day)
    minutes = 720.0 - 4.0 * observer.longitude  # first guess: solar noon, minutes after 0h UTC
    # Iterate: the sun's position is taken at the moment found by the previous pass (NOAA).
    for _ in range(3):
        declination, eot = _declination_and_eot(jd0 + minutes / 1440.0)
        hour_angle = _hour_angle_deg(observer.latitude, declination, zenith)
        if hour_angle is None:
            return None
        minutes = 720.0 - 4.0 * (observer.longitude - sign * hour_angle) - eot
    return calendar.timegm(day.timetuple()) + minutes * 60.0

