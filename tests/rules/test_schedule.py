"""Next firing of time and sun triggers in local time, across DST changes."""

import datetime as dt

from rules.model import Loc, SunEvent, SunTrigger, TimeTrigger
from rules.schedule import Place
from rules.sun import Observer

L = Loc("t.yaml", 1, "")
BERLIN = Place("Europe/Berlin", Observer(52.52, 13.405))
UTC = dt.UTC


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
         second: int = 0) -> float:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


def _fires(trigger: TimeTrigger | SunTrigger, start: float, n: int) -> list[dt.datetime]:
    out, ts = [], start
    for _ in range(n):
        nxt = BERLIN.next_fire(trigger, ts)
        assert nxt is not None
        out.append(dt.datetime.fromtimestamp(nxt, UTC))
        ts = nxt
    return out


def test_daily_time_keeps_local_time_across_spring_forward() -> None:
    seven = TimeTrigger(L, "0", dt.time(7, 0))
    # 2024-03-31: Europe/Berlin goes from UTC+1 to UTC+2 at 02:00 local.
    fires = _fires(seven, _utc(2024, 3, 29, 12), 3)
    assert fires == [dt.datetime(2024, 3, 30, 6, tzinfo=UTC),
                     dt.datetime(2024, 3, 31, 5, tzinfo=UTC),
                     dt.datetime(2024, 4, 1, 5, tzinfo=UTC)]


def test_skipped_time_fires_once_after_the_jump() -> None:
    half_two = TimeTrigger(L, "0", dt.time(2, 30))
    fires = _fires(half_two, _utc(2024, 3, 30, 12), 2)
    # 02:30 does not exist on 31 March: it fires at 03:30 CEST (01:30 UTC), once.
    assert fires == [dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
                     dt.datetime(2024, 4, 1, 0, 30, tzinfo=UTC)]


def test_repeated_time_fires_once_when_clocks_go_back() -> None:
    half_two = TimeTrigger(L, "0", dt.time(2, 30))
    # 2024-10-27: 02:30 happens twice (CEST, then CET). Fire at the first only.
    fires = _fires(half_two, _utc(2024, 10, 26, 12), 2)
    assert fires == [dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC),
                     dt.datetime(2024, 10, 28, 1, 30, tzinfo=UTC)]


def test_weekdays_filter_on_local_date() -> None:
    monday_late = TimeTrigger(L, "0", dt.time(23, 30), frozenset({0}))
    fires = _fires(monday_late, _utc(2024, 6, 1), 2)  # a Saturday
    # Monday 23:30 CEST = Monday 21:30 UTC.
    assert fires == [dt.datetime(2024, 6, 3, 21, 30, tzinfo=UTC),
                     dt.datetime(2024, 6, 10, 21, 30, tzinfo=UTC)]


def test_sun_trigger_with_offset() -> None:
    before_sunset = SunTrigger(L, "0", SunEvent.SUNSET, -1800.0)
    (first,) = _fires(before_sunset, _utc(2024, 6, 21, 0), 1)
    # Berlin sunset on 21 June 2024 is 21:33 CEST (19:33 UTC); 30 minutes before: 19:03 UTC.
    assert abs(first - dt.datetime(2024, 6, 21, 19, 3, tzinfo=UTC)) < dt.timedelta(minutes=1)


def test_last_fire_finds_the_latest_missed_occurrence() -> None:
    seven = TimeTrigger(L, "0", dt.time(7, 0))
    last = BERLIN.last_fire(seven, _utc(2024, 6, 1, 12), _utc(2024, 6, 3, 5, 2))
    assert last == _utc(2024, 6, 3, 5, 0)
    assert BERLIN.last_fire(seven, _utc(2024, 6, 3, 5, 1), _utc(2024, 6, 3, 5, 2)) is None
