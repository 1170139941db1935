"""Sun times against published values (timeanddate.com / NOAA), within a minute."""

import datetime as dt

import pytest

from rules.sun import Observer, SunEvent, sun_time

LONDON = Observer(51.508, -0.1257)
UTC = dt.UTC


def _at(day: dt.date, hh: int, mm: int) -> float:
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("event", "day", "published"), [
    # London, 1 December 2015 (timeanddate.com): dawn 07:04, sunrise 07:43, sunset 15:55 UTC.
    (SunEvent.DAWN, dt.date(2015, 12, 1), (7, 4)),
    (SunEvent.SUNRISE, dt.date(2015, 12, 1), (7, 43)),
    (SunEvent.SUNSET, dt.date(2015, 12, 1), (15, 55)),
    # London, 20 June 2024: sunrise 04:43 BST, sunset 21:21 BST (03:43 and 20:21 UTC).
    (SunEvent.SUNRISE, dt.date(2024, 6, 20), (3, 43)),
    (SunEvent.SUNSET, dt.date(2024, 6, 20), (20, 21)),
])
def test_london_matches_published_times(event: SunEvent, day: dt.date,
                                        published: tuple[int, int]) -> None:
    computed = sun_time(event, day, LONDON)
    assert computed is not None
    assert abs(computed - _at(day, *published)) <= 60


def test_dusk_follows_sunset_and_dawn_precedes_sunrise() -> None:
    day = dt.date(2015, 12, 1)
    times = {e: sun_time(e, day, LONDON) for e in SunEvent}
    assert times[SunEvent.DAWN] < times[SunEvent.SUNRISE] < times[SunEvent.SUNSET]  # type: ignore[operator]
    assert 30 * 60 < times[SunEvent.DUSK] - times[SunEvent.SUNSET] < 50 * 60  # type: ignore[operator]


def test_polar_night_has_no_sunrise() -> None:
    tromso = Observer(69.65, 18.96)
    assert sun_time(SunEvent.SUNRISE, dt.date(2024, 12, 21), tromso) is None
    assert sun_time(SunEvent.SUNRISE, dt.date(2024, 3, 21), tromso) is not None


def test_elevation_brings_sunrise_earlier() -> None:
    day = dt.date(2024, 6, 20)
    low = sun_time(SunEvent.SUNRISE, day, LONDON)
    high = sun_time(SunEvent.SUNRISE, day, Observer(51.508, -0.1257, elevation_m=300))
    assert low is not None and high is not None
    assert 60 < low - high < 600


def test_east_of_greenwich_sunrise_falls_on_the_previous_utc_day() -> None:
    tokyo = Observer(35.68, 139.77)
    day = dt.date(2024, 6, 21)
    rise = sun_time(SunEvent.SUNRISE, day, tokyo)
    assert rise is not None
    # Tokyo sunrise ~04:25 JST = 19:25 UTC the day before (published: 04:25).
    assert abs(rise - _at(dt.date(2024, 6, 20), 19, 25)) <= 90
