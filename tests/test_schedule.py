"""Tests for jobdesk.domain.schedule: example cases for the rules people will check by hand,
and Hypothesis properties that hammer the daylight-saving corners nobody checks by hand."""

from __future__ import annotations

import itertools
import json
import sys
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from jobdesk.domain import schedule as schedule_module
from jobdesk.domain.schedule import (
    DEFAULT_LIFETIME,
    WEEKDAY_NAMES,
    FireAndForget,
    Scheduled,
    ScheduleError,
    Window,
    local_zone_name,
    schedule_from_dict,
)

ZURICH = "Europe/Zurich"
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
WEEKDAYS = frozenset({MON, TUE, WED, THU, FRI})
EVERY_DAY = frozenset(range(7))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)


def scheduled(
    start: date,
    end: date,
    window: tuple[time, time],
    weekdays: frozenset[int] = EVERY_DAY,
    tz: str = ZURICH,
) -> Scheduled:
    return Scheduled(start, end, window[0], window[1], weekdays, tz)


def offset_change_instant(zone: str, day: date) -> datetime:
    """The single UTC instant on a local day at which the zone's offset changes (test oracle,
    found by a plain minute-by-minute scan, independent of the module's bisection)."""
    tz = ZoneInfo(zone)
    instant = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    previous = instant.astimezone(tz).utcoffset()
    for _ in range(24 * 60 + 1):
        instant += timedelta(minutes=1)
        offset = instant.astimezone(tz).utcoffset()
        if offset != previous:
            return instant
    raise AssertionError(f"no offset change in {zone} on {day}")


# ------------------------------------------------------------------------------------------
# Plain examples: a Mon–Fri night window in winter
# ------------------------------------------------------------------------------------------


@pytest.fixture
def night_shift() -> Scheduled:
    return Scheduled.parse("2026-12-01", "2026-12-31", "22:00-04:00", "mon-fri", ZURICH)


def test_mon_fri_night_window_first_and_last(night_shift: Scheduled) -> None:
    # 2026-12-01 is a Tuesday; Zurich is UTC+1 in winter.
    assert night_shift.crosses_midnight
    assert night_shift.first_window() == Window(utc(2026, 12, 1, 21), utc(2026, 12, 2, 3))
    # The end date's window (Thu 31 Dec) closes on the day after the end date.
    assert night_shift.last_window() == Window(utc(2026, 12, 31, 21), utc(2027, 1, 1, 3))
    windows = list(night_shift.windows())
    assert len(windows) == 23  # weekdays in December 2026 from the 1st (Tue) to the 31st (Thu)
    assert windows[0] == night_shift.first_window()
    assert windows[-1] == night_shift.last_window()


def test_crossing_window_belongs_to_its_opening_day(night_shift: Scheduled) -> None:
    # Friday 4 Dec opens 22:00 and closes Saturday 04:00: Saturday 02:00 is still Friday's window.
    friday_window = Window(utc(2026, 12, 4, 21), utc(2026, 12, 5, 3))
    assert night_shift.window_at(local(ZURICH, 2026, 12, 5, 2)) == friday_window
    assert night_shift.is_open(local(ZURICH, 2026, 12, 5, 3, 59))
    assert not night_shift.is_open(local(ZURICH, 2026, 12, 5, 4))  # half-open interval
    # Saturday 22:00 is not a window (Saturday is not chosen) ...
    assert not night_shift.is_open(local(ZURICH, 2026, 12, 5, 22, 30))
    # ... and neither is Monday 02:00 (that would be Sunday's window).
    assert not night_shift.is_open(local(ZURICH, 2026, 12, 7, 2))
    # Monday 22:00 opens Monday's window.
    assert night_shift.is_open(local(ZURICH, 2026, 12, 7, 22))


def test_next_opening(night_shift: Scheduled) -> None:
    saturday_noon = local(ZURICH, 2026, 12, 5, 12)
    assert night_shift.next_opening(saturday_noon) == utc(2026, 12, 7, 21)
    inside = local(ZURICH, 2026, 12, 8, 1)
    assert night_shift.next_opening(inside) == inside
    before_everything = utc(2026, 1, 1)
    assert night_shift.next_opening(before_everything) == utc(2026, 12, 1, 21)
    assert night_shift.next_opening(utc(2027, 1, 1, 3)) is None
    assert night_shift.next_opening(utc(2027, 1, 1, 2, 59)) == utc(2027, 1, 1, 2, 59)


def test_expires_at_is_close_of_last_window(night_shift: Scheduled) -> None:
    assert night_shift.expires_at() == utc(2027, 1, 1, 3)
    # Same call shape as FireAndForget; the arguments are ignored.
    assert night_shift.expires_at(utc(2026, 11, 1), timedelta(minutes=5)) == utc(2027, 1, 1, 3)
    assert night_shift.expires_at().tzinfo is UTC


def test_windows_after_starts_late_and_includes_open_window(night_shift: Scheduled) -> None:
    after = local(ZURICH, 2026, 12, 9, 2)  # inside Tuesday 8 Dec's window
    upcoming = list(night_shift.windows(after=after))
    assert upcoming[0] == Window(utc(2026, 12, 8, 21), utc(2026, 12, 9, 3))
    assert upcoming == [w for w in night_shift.windows() if w.closes > after]
    assert list(night_shift.windows(after=utc(2027, 1, 1, 3))) == []


def test_windows_are_lazy_for_long_ranges() -> None:
    decades = scheduled(date(2026, 1, 1), date(2090, 12, 31), (time(1), time(2)))
    iterator = decades.windows()
    assert next(iterator).opens == utc(2026, 1, 1, 0)
    assert decades.last_window().closes == utc(2090, 12, 31, 1)


def test_extreme_instants_do_not_overflow(night_shift: Scheduled) -> None:
    far_past = datetime.min.replace(tzinfo=UTC)
    far_future = datetime.max.replace(tzinfo=UTC)
    assert night_shift.next_opening(far_past) == utc(2026, 12, 1, 21)
    assert night_shift.next_opening(far_future) is None
    assert not night_shift.is_open(far_future)
    assert not night_shift.is_open(far_past)


def test_non_crossing_window() -> None:
    sched = Scheduled.parse("2026-06-01", "2026-06-07", "08:00-12:30", "sat,sun", "UTC")
    assert not sched.crosses_midnight
    assert list(sched.windows()) == [
        Window(utc(2026, 6, 6, 8), utc(2026, 6, 6, 12, 30)),
        Window(utc(2026, 6, 7, 8), utc(2026, 6, 7, 12, 30)),
    ]


def test_instants_in_other_zones_are_compared_as_instants(night_shift: Scheduled) -> None:
    new_york_evening = local("America/New_York", 2026, 12, 8, 17)  # 23:00 in Zurich
    assert night_shift.is_open(new_york_evening)
    assert night_shift.window_at(new_york_evening) == Window(
        utc(2026, 12, 8, 21), utc(2026, 12, 9, 3)
    )


# ------------------------------------------------------------------------------------------
# Daylight saving time
# ------------------------------------------------------------------------------------------


def test_zurich_dates_are_what_the_tests_assume() -> None:
    assert offset_change_instant(ZURICH, date(2026, 3, 29)) == utc(2026, 3, 29, 1)
    assert offset_change_instant(ZURICH, date(2026, 10, 25)) == utc(2026, 10, 25, 1)


def test_zurich_spring_forward_start_in_gap_moves_to_transition() -> None:
    # 2026-03-29 02:30 does not exist in Zurich: the clock jumps 02:00 -> 03:00 (01:00 UTC).
    sched = scheduled(date(2026, 3, 29), date(2026, 3, 29), (time(2, 30), time(5)), {SUN})
    window = sched.first_window()
    assert window.opens == utc(2026, 3, 29, 1)
    assert window.opens.astimezone(ZoneInfo(ZURICH)).time() == time(3)
    assert window.closes == utc(2026, 3, 29, 3)  # 05:00 CEST


def test_zurich_spring_forward_close_in_gap_moves_to_transition() -> None:
    sched = scheduled(date(2026, 3, 29), date(2026, 3, 29), (time(1), time(2, 30)), {SUN})
    assert sched.first_window() == Window(utc(2026, 3, 29, 0), utc(2026, 3, 29, 1))


def test_zurich_crossing_window_closing_in_gap() -> None:
    # Saturday 22:00 -> Sunday 02:30, which does not exist: it closes at 03:00 CEST.
    sched = scheduled(date(2026, 3, 28), date(2026, 3, 28), (time(22), time(2, 30)), {SAT})
    assert sched.first_window() == Window(utc(2026, 3, 28, 21), utc(2026, 3, 29, 1))


def test_zurich_window_entirely_in_gap_is_skipped_that_day() -> None:
    sched = scheduled(date(2026, 3, 28), date(2026, 3, 30), (time(2, 10), time(2, 50)))
    opening_days = [w.opens.astimezone(ZoneInfo(ZURICH)).date() for w in sched.windows()]
    assert opening_days == [date(2026, 3, 28), date(2026, 3, 30)]


def test_zurich_window_entirely_in_gap_alone_is_refused() -> None:
    with pytest.raises(ScheduleError, match="daylight-saving"):
        scheduled(date(2026, 3, 29), date(2026, 3, 29), (time(2, 10), time(2, 50)))


def test_zurich_fall_back_takes_first_occurrence() -> None:
    # 2026-10-25 02:30 happens twice in Zurich (CEST, then CET); the first is 00:30 UTC.
    sched = scheduled(date(2026, 10, 25), date(2026, 10, 25), (time(2, 30), time(4)), {SUN})
    window = sched.first_window()
    assert window.opens == local(ZURICH, 2026, 10, 25, 2, 30, fold=0).astimezone(UTC)
    assert window.opens == utc(2026, 10, 25, 0, 30)
    assert window.closes == utc(2026, 10, 25, 3)  # 04:00 CET
    # Nominal 1.5 h plus the 1 h shift; never more.
    assert window.closes - window.opens == timedelta(hours=2, minutes=30)


def test_zurich_fall_back_ambiguous_close_takes_first_occurrence() -> None:
    sched = scheduled(date(2026, 10, 25), date(2026, 10, 25), (time(1), time(2, 30)), {SUN})
    assert sched.first_window() == Window(utc(2026, 10, 24, 23), utc(2026, 10, 25, 0, 30))


def test_new_york_spring_forward() -> None:
    assert offset_change_instant("America/New_York", date(2026, 3, 8)) == utc(2026, 3, 8, 7)
    sched = scheduled(
        date(2026, 3, 8), date(2026, 3, 8), (time(2, 15), time(3, 30)), {SUN}, "America/New_York"
    )
    # 02:15 does not exist; 03:00 EDT = 07:00 UTC.
    assert sched.first_window() == Window(utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 30))


def test_new_york_fall_back() -> None:
    assert offset_change_instant("America/New_York", date(2026, 11, 1)) == utc(2026, 11, 1, 6)
    sched = scheduled(
        date(2026, 11, 1), date(2026, 11, 1), (time(1, 30), time(2, 30)), {SUN}, "America/New_York"
    )
    # 01:30 EDT (first occurrence) = 05:30 UTC; 02:30 EST = 07:30 UTC.
    assert sched.first_window() == Window(utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 7, 30))


def test_lord_howe_dates_are_what_the_tests_assume() -> None:
    tz = ZoneInfo("Australia/Lord_Howe")
    spring = offset_change_instant("Australia/Lord_Howe", date(2026, 10, 4))
    assert spring == utc(2026, 10, 3, 15, 30)
    assert (spring - timedelta(seconds=1)).astimezone(tz).utcoffset() == timedelta(hours=10.5)
    assert spring.astimezone(tz).utcoffset() == timedelta(hours=11)
    assert spring.astimezone(tz).time() == time(2, 30)  # 02:00 -> 02:30
    autumn = offset_change_instant("Australia/Lord_Howe", date(2026, 4, 5))
    assert autumn == utc(2026, 4, 4, 15)
    assert (autumn - timedelta(seconds=1)).astimezone(tz).utcoffset() == timedelta(hours=11)
    assert autumn.astimezone(tz).utcoffset() == timedelta(hours=10.5)
    assert autumn.astimezone(tz).time() == time(1, 30)  # 02:00 -> 01:30


def test_lord_howe_spring_forward_half_hour_gap() -> None:
    sched = scheduled(
        date(2026, 10, 4),
        date(2026, 10, 4),
        (time(2, 10), time(3)),
        {SUN},
        "Australia/Lord_Howe",
    )
    # 02:10 does not exist; the first existing instant is 02:30 (+11:00) = 15:30 UTC the day before.
    assert sched.first_window() == Window(utc(2026, 10, 3, 15, 30), utc(2026, 10, 3, 16))


def test_lord_howe_fall_back_half_hour_overlap() -> None:
    sched = scheduled(
        date(2026, 4, 5),
        date(2026, 4, 5),
        (time(1, 40), time(2, 10)),
        {SUN},
        "Australia/Lord_Howe",
    )
    window = sched.first_window()
    # 01:40 first occurrence (+11:00) = 14:40 UTC; 02:10 (+10:30) = 15:40 UTC.
    assert window == Window(utc(2026, 4, 4, 14, 40), utc(2026, 4, 4, 15, 40))
    assert window.closes - window.opens == timedelta(minutes=30) + timedelta(minutes=30)


def test_overlapping_windows_are_clamped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real tzdata cannot make windows overlap under these rules, so fake a resolver that does:
    the close must then be clamped to the next opening."""
    real = schedule_module._resolve_local

    def stretched(day: date, wall_time: time, zone: ZoneInfo) -> datetime:
        instant = real(day, wall_time, zone)
        if day == date(2026, 6, 2) and wall_time == time(4):
            return instant + timedelta(hours=20)  # would run past Tuesday's 22:00 opening
        return instant

    monkeypatch.setattr(schedule_module, "_resolve_local", stretched)
    sched = scheduled(date(2026, 6, 1), date(2026, 6, 3), (time(22), time(4)), tz="UTC")
    assert list(sched.windows()) == [
        Window(utc(2026, 6, 1, 22), utc(2026, 6, 2, 22)),
        Window(utc(2026, 6, 2, 22), utc(2026, 6, 3, 4)),
        Window(utc(2026, 6, 3, 22), utc(2026, 6, 4, 4)),
    ]


# ------------------------------------------------------------------------------------------
# Whole-day windows: from == to (spec B2)
# ------------------------------------------------------------------------------------------


def test_whole_day_mon_fri_opens_monday_and_closes_saturday() -> None:
    # 2026-11-30 is a Monday; Zurich is UTC+1 in winter.
    sched = Scheduled.parse("2026-11-30", "2026-12-13", "00:00-00:00", "mon-fri", ZURICH)
    assert sched.whole_day and sched.crosses_midnight
    assert sched.nominal_length == timedelta(hours=24)
    monday, saturday = local(ZURICH, 2026, 11, 30), local(ZURICH, 2026, 12, 5)
    assert sched.first_window() == Window(monday, local(ZURICH, 2026, 12, 1))
    assert not sched.is_open(monday - timedelta(microseconds=1))
    assert sched.next_opening(monday - timedelta(hours=5)) == monday
    # Open without a break from Monday 00:00 to Saturday 00:00, the midnights included ...
    probe = monday
    while probe < saturday:
        assert sched.is_open(probe), probe
        assert sched.next_opening(probe) == probe
        probe += timedelta(minutes=30)
    for day in (1, 2, 3, 4):  # Tuesday to Friday: one day's window hands over to the next
        midnight = local(ZURICH, 2026, 12, day)
        assert sched.window_at(midnight - timedelta(microseconds=1)).closes == midnight
        assert sched.window_at(midnight).opens == midnight
    assert sched.open_until(local(ZURICH, 2026, 12, 2, 13)) == saturday
    # ... then closed over the weekend; the next Monday opens again.
    assert not sched.is_open(saturday)
    assert not sched.is_open(local(ZURICH, 2026, 12, 6, 23, 59))
    assert sched.open_until(saturday) is None
    assert sched.next_opening(saturday) == local(ZURICH, 2026, 12, 7)
    assert len(list(sched.windows())) == 10
    assert sched.expires_at() == local(ZURICH, 2026, 12, 12) == utc(2026, 12, 11, 23)


def test_whole_day_from_eight_runs_until_eight_the_next_day() -> None:
    sched = Scheduled.parse("2026-12-02", "2026-12-09", "08:00-08:00", "wed", ZURICH)
    assert list(sched.windows()) == [
        Window(local(ZURICH, 2026, 12, 2, 8), local(ZURICH, 2026, 12, 3, 8)),
        Window(local(ZURICH, 2026, 12, 9, 8), local(ZURICH, 2026, 12, 10, 8)),
    ]
    assert not sched.is_open(local(ZURICH, 2026, 12, 2, 7, 59))
    assert sched.is_open(local(ZURICH, 2026, 12, 3, 7, 59))  # Thursday morning is Wednesday's
    assert not sched.is_open(local(ZURICH, 2026, 12, 3, 8))
    assert sched.open_until(local(ZURICH, 2026, 12, 2, 8)) == local(ZURICH, 2026, 12, 3, 8)


def test_whole_day_every_day_is_one_stretch() -> None:
    sched = scheduled(date(2026, 12, 1), date(2026, 12, 31), (time(0), time(0)))
    windows = list(sched.windows())
    assert len(windows) == 31
    for earlier, later in itertools.pairwise(windows):
        assert earlier.closes == later.opens  # joined: no gap, no overlap
    assert windows[0].opens == local(ZURICH, 2026, 12, 1)
    assert sched.expires_at() == local(ZURICH, 2027, 1, 1)
    assert sched.open_until(local(ZURICH, 2026, 12, 7, 3)) == local(ZURICH, 2027, 1, 1)


def test_whole_day_over_zurich_spring_forward() -> None:
    # 02:30 does not exist on Sunday 29 March: Saturday's day ends, and Sunday's begins, at
    # 03:00 CEST (01:00 UTC). Both last 23.5 h.
    sched = scheduled(date(2026, 3, 28), date(2026, 3, 29), (time(2, 30), time(2, 30)))
    assert list(sched.windows()) == [
        Window(utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1)),
        Window(utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)),
    ]


def test_whole_day_over_zurich_fall_back() -> None:
    # 02:30 happens twice on Sunday 25 October: Sunday's day opens at the first one (CEST) and
    # lasts until Monday 02:30 CET: 25 h, the nominal day plus the one-hour shift, no more.
    sched = scheduled(date(2026, 10, 24), date(2026, 10, 25), (time(2, 30), time(2, 30)))
    assert list(sched.windows()) == [
        Window(utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30)),
        Window(utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)),
    ]


def test_whole_day_over_lord_howe_half_hour_fall_back() -> None:
    # 01:45 happens twice on 5 April 2026 (02:00 +11:00 -> 01:30 +10:30): the day opens at the
    # first one (14:45 UTC the day before) and lasts 24.5 h, until 01:45 +10:30 on 6 April.
    sched = scheduled(
        date(2026, 4, 5), date(2026, 4, 5), (time(1, 45), time(1, 45)), {SUN},
        "Australia/Lord_Howe",
    )
    assert sched.first_window() == Window(utc(2026, 4, 4, 14, 45), utc(2026, 4, 5, 15, 15))


# ------------------------------------------------------------------------------------------
# Validation: refused with a message that says what to change
# ------------------------------------------------------------------------------------------


def test_end_before_start_is_refused() -> None:
    with pytest.raises(ScheduleError, match="end date 2026-11-30 is before start date") as err:
        Scheduled.parse("2026-12-01", "2026-11-30", "22:00-04:00", "mon", ZURICH)
    assert "make the end date" in str(err.value)


def test_empty_weekday_set_is_refused() -> None:
    with pytest.raises(ScheduleError, match="choose at least one"):
        scheduled(date(2026, 12, 1), date(2026, 12, 31), (time(22), time(4)), frozenset())
    with pytest.raises(ScheduleError, match="choose at least one"):
        Scheduled.parse("2026-12-01", "2026-12-31", "22:00-04:00", " , ", ZURICH)


def test_range_without_window_is_refused_naming_covered_weekdays() -> None:
    with pytest.raises(ScheduleError) as err:
        Scheduled.parse("2026-12-01", "2026-12-02", "22:00-04:00", "sat", ZURICH)
    message = str(err.value)
    assert "cover only tue, wed" in message
    assert "runs on sat" in message
    assert "widen the date range or choose one of tue, wed" in message


def test_unknown_zone_is_refused_with_suggestion() -> None:
    with pytest.raises(ScheduleError) as err:
        Scheduled.parse("2026-12-01", "2026-12-31", "22:00-04:00", "mon", "Europe/Zurch")
    assert str(err.value) == (
        "unknown time zone 'Europe/Zurch'; use an IANA name such as Europe/Zurich"
    )
    for bad in ("", "Nowhere/Atlantis", "../etc/passwd", "Europe"):
        with pytest.raises(ScheduleError, match="use an IANA name such as"):
            scheduled(date(2026, 12, 1), date(2026, 12, 31), (time(22), time(4)), tz=bad)


@pytest.mark.parametrize("window", ["22-04", "22:00", "22:00-04", "2200-0400", "", "a:bc-d:ef"])
def test_malformed_window_is_refused(window: str) -> None:
    with pytest.raises(ScheduleError, match="window must look like HH:MM-HH:MM"):
        Scheduled.parse("2026-12-01", "2026-12-31", window, "mon", ZURICH)


@pytest.mark.parametrize("window", ["24:00-04:00", "22:60-04:00"])
def test_out_of_range_window_time_is_refused(window: str) -> None:
    with pytest.raises(ScheduleError, match="hours 00-23 and minutes 00-59"):
        Scheduled.parse("2026-12-01", "2026-12-31", window, "mon", ZURICH)


def test_unknown_weekday_is_refused() -> None:
    with pytest.raises(ScheduleError) as err:
        Scheduled.parse("2026-12-01", "2026-12-31", "22:00-04:00", "mon,mun", ZURICH)
    assert str(err.value) == "unknown weekday 'mun'; use mon,tue,wed,thu,fri,sat,sun"
    with pytest.raises(ScheduleError, match="must look like mon-fri"):
        Scheduled.parse("2026-12-01", "2026-12-31", "22:00-04:00", "mon-wed-fri", ZURICH)


@pytest.mark.parametrize("text", ["2026/12/01", "01.12.2026", "2026-12-1", "tomorrow", ""])
def test_malformed_date_is_refused(text: str) -> None:
    with pytest.raises(ScheduleError, match="YYYY-MM-DD"):
        Scheduled.parse(text, "2026-12-31", "22:00-04:00", "mon", ZURICH)


def test_impossible_date_is_refused() -> None:
    with pytest.raises(ScheduleError, match="does not exist in the calendar; use YYYY-MM-DD"):
        Scheduled.parse("2026-12-01", "2026-02-30", "22:00-04:00", "mon", ZURICH)


def test_constructor_type_errors_are_schedule_errors() -> None:
    with pytest.raises(ScheduleError, match="whole minutes"):
        scheduled(date(2026, 12, 1), date(2026, 12, 31), (time(22, 0, 30), time(4)))
    with pytest.raises(ScheduleError, match="must be a date"):
        Scheduled(datetime(2026, 12, 1), date(2026, 12, 31), time(22), time(4), EVERY_DAY, "UTC")
    with pytest.raises(ScheduleError, match="not a day number"):
        scheduled(date(2026, 12, 1), date(2026, 12, 31), (time(22), time(4)), frozenset({7}))
    with pytest.raises(ScheduleError, match="out of range"):
        scheduled(date(1, 1, 1), date(2026, 12, 31), (time(22), time(4)))


def test_weekdays_given_as_a_set_are_stored_as_frozenset() -> None:
    plain_set: Any = {0, 4}  # callers may hand in a set; it must still hash and compare
    sched = Scheduled(date(2026, 12, 1), date(2026, 12, 31), time(22), time(4), plain_set, "UTC")
    assert sched.weekdays == frozenset({MON, FRI})
    assert isinstance(sched.weekdays, frozenset)
    assert hash(sched) == hash(
        scheduled(sched.start_date, sched.end_date, (time(22), time(4)), frozenset({0, 4}), "UTC")
    )


def test_schedule_error_is_a_value_error() -> None:
    assert issubclass(ScheduleError, ValueError)


@pytest.mark.parametrize("method", ["is_open", "window_at", "next_opening"])
def test_naive_instants_are_refused(night_shift: Scheduled, method: str) -> None:
    naive = datetime(2026, 12, 8, 23)
    with pytest.raises(ValueError, match="timezone-aware"):
        getattr(night_shift, method)(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        getattr(FireAndForget(), method)(naive)


def test_naive_instants_are_refused_elsewhere(night_shift: Scheduled) -> None:
    naive = datetime(2026, 12, 8, 23)
    with pytest.raises(ValueError, match="timezone-aware"):
        night_shift.windows(after=naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        FireAndForget().expires_at(naive, DEFAULT_LIFETIME)
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(naive, utc(2026, 12, 9))


def test_window_invariants() -> None:
    with pytest.raises(ValueError, match="close after it opens"):
        Window(utc(2026, 1, 1, 1), utc(2026, 1, 1, 1))
    zurich_window = Window(local(ZURICH, 2026, 1, 1, 22), local(ZURICH, 2026, 1, 2, 4))
    assert zurich_window.opens.tzinfo is UTC
    assert zurich_window == Window(utc(2026, 1, 1, 21), utc(2026, 1, 2, 3))
    assert utc(2026, 1, 1, 21) in zurich_window
    assert utc(2026, 1, 2, 3) not in zurich_window


# ------------------------------------------------------------------------------------------
# Parsing, serialisation and description
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon-Fri", {MON, TUE, WED, THU, FRI}),
        (" mon , sat ", {MON, SAT}),
        ("MON,tue,Fri", {MON, TUE, FRI}),
        ("mon - wed, sun", {MON, TUE, WED, SUN}),
        ("fri-mon", {FRI, SAT, SUN, MON}),
        ("sun-sat", set(range(7))),
        ("monday,Friday", {MON, FRI}),
        ("mon,,fri,", {MON, FRI}),
        ("tue-tue", {TUE}),
    ],
)
def test_parse_weekdays(text: str, expected: set[int]) -> None:
    sched = Scheduled.parse("2026-12-01", "2026-12-31", "22:00-04:00", text, ZURICH)
    assert sched.weekdays == frozenset(expected)


def test_parse_tolerates_spaces_and_en_dash() -> None:
    sched = Scheduled.parse(" 2026-12-01 ", "2026-12-31", " 9:05 – 17:30 ", "mon", " UTC ")
    assert sched == Scheduled(
        date(2026, 12, 1), date(2026, 12, 31), time(9, 5), time(17, 30), frozenset({MON}), "UTC"
    )


def test_to_dict(night_shift: Scheduled) -> None:
    sched = Scheduled.parse("2026-12-01", "2026-12-31", "22:00-04:00", "fri,mon", ZURICH)
    assert sched.to_dict() == {
        "kind": "scheduled",
        "from": "2026-12-01",
        "to": "2026-12-31",
        "window": "22:00-04:00",
        "weekdays": ["mon", "fri"],
        "tz": "Europe/Zurich",
    }
    assert FireAndForget().to_dict() == {"kind": "fire-and-forget"}


@pytest.mark.parametrize(
    "sched",
    [
        FireAndForget(),
        Scheduled.parse("2026-12-01", "2026-12-31", "22:00-04:00", "mon-fri", ZURICH),
        Scheduled.parse("2025-03-01", "2025-03-01", "00:05-23:55", "sat", "Asia/Kolkata"),
        Scheduled.parse("2026-12-01", "2026-12-31", "00:00-00:00", "mon-fri", ZURICH),
    ],
)
def test_dict_round_trip(sched: FireAndForget | Scheduled) -> None:
    stored = json.loads(json.dumps(sched.to_dict()))
    assert schedule_from_dict(stored) == sched
    assert schedule_from_dict(stored).kind == sched.kind


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("scheduled", "must be a mapping"),
        ({}, "unknown schedule kind None"),
        ({"kind": "cron"}, "unknown schedule kind 'cron'"),
        ({"kind": "scheduled", "from": "2026-12-01"}, "lacks to, window, weekdays, tz"),
        (
            {
                "kind": "scheduled",
                "from": "2026-12-01",
                "to": "2026-12-31",
                "window": "22:00-04:00",
                "weekdays": [0, 4],
                "tz": ZURICH,
            },
            "weekdays must be names",
        ),
        (
            {
                "kind": "scheduled",
                "from": 20261201,
                "to": "2026-12-31",
                "window": "22:00-04:00",
                "weekdays": ["mon"],
                "tz": ZURICH,
            },
            "YYYY-MM-DD",
        ),
        (
            {
                "kind": "scheduled",
                "from": "2026-12-01",
                "to": "2026-12-31",
                "window": "22:00-04:00",
                "weekdays": ["mon"],
                "tz": None,
            },
            "IANA name",
        ),
    ],
)
def test_schedule_from_dict_refuses_bad_data(data: object, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        schedule_from_dict(data)  # type: ignore[arg-type]


def test_schedule_from_dict_accepts_weekday_string() -> None:
    data = {
        "kind": "scheduled",
        "from": "2026-12-01",
        "to": "2026-12-31",
        "window": "22:00-04:00",
        "weekdays": "mon-fri",
        "tz": ZURICH,
    }
    assert schedule_from_dict(data).weekdays == WEEKDAYS  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("weekdays", "window", "expected"),
    [
        (
            "mon,fri",
            "22:00-04:00",
            "Mon, Fri 22:00–04:00 (next day), Europe/Zurich, from 2026-12-01 to 2026-12-31",
        ),
        (
            "mon-fri",
            "22:00-04:00",
            "Mon–Fri 22:00–04:00 (next day), Europe/Zurich, from 2026-12-01 to 2026-12-31",
        ),
        (
            "mon-sun",
            "08:00-12:00",
            "every day 08:00–12:00, Europe/Zurich, from 2026-12-01 to 2026-12-31",
        ),
        (
            "sat,sun",
            "08:00-12:00",
            "Sat, Sun 08:00–12:00, Europe/Zurich, from 2026-12-01 to 2026-12-31",
        ),
        (
            "mon,wed-fri,sun",
            "08:00-12:00",
            "Mon, Wed–Fri, Sun 08:00–12:00, Europe/Zurich, from 2026-12-01 to 2026-12-31",
        ),
        (
            "fri-mon",
            "23:30-00:15",
            "Mon, Fri–Sun 23:30–00:15 (next day), Europe/Zurich, from 2026-12-01 to 2026-12-31",
        ),
        (
            "mon-fri",
            "00:00-00:00",
            "Mon–Fri all day (00:00–00:00), Europe/Zurich, from 2026-12-01 to 2026-12-31",
        ),
        (
            "mon-sun",
            "08:00-08:00",
            "every day all day (08:00–08:00 next day), Europe/Zurich, from 2026-12-01 to "
            "2026-12-31",
        ),
    ],
)
def test_describe(weekdays: str, window: str, expected: str) -> None:
    sched = Scheduled.parse("2026-12-01", "2026-12-31", window, weekdays, ZURICH)
    assert sched.describe() == expected


def test_describe_single_day() -> None:
    sched = Scheduled.parse("2026-12-04", "2026-12-04", "22:00-04:00", "fri", ZURICH)
    assert sched.describe() == "Fri 22:00–04:00 (next day), Europe/Zurich, on 2026-12-04"


# ------------------------------------------------------------------------------------------
# Fire and forget
# ------------------------------------------------------------------------------------------


def test_fire_and_forget() -> None:
    job = FireAndForget()
    now = utc(2026, 12, 1, 12)
    assert job.kind == "fire-and-forget"
    assert job.is_open(now)
    assert job.window_at(now) is None
    assert job.next_opening(now) == now
    assert job.expires_at(now, DEFAULT_LIFETIME) == utc(2026, 12, 1, 12, 30)
    assert job.expires_at(local(ZURICH, 2026, 12, 1, 13), timedelta(hours=2)) == utc(
        2026, 12, 1, 14
    )
    assert job.describe() == "Fire and forget: runs at once, retries until it expires"
    with pytest.raises(ScheduleError, match="lifetime must be a positive duration"):
        job.expires_at(now, timedelta(0))


# ------------------------------------------------------------------------------------------
# local_zone_name
# ------------------------------------------------------------------------------------------


def test_local_zone_name_is_loadable() -> None:
    ZoneInfo(local_zone_name())


def test_local_zone_name_without_tzlocal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tzlocal", None)  # makes the import fail
    assert local_zone_name() == "UTC"


def test_local_zone_name_when_tzlocal_gives_nothing_useful(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tzlocal

    monkeypatch.setattr(tzlocal, "get_localzone_name", lambda: None)
    assert local_zone_name() == "UTC"
    monkeypatch.setattr(tzlocal, "get_localzone_name", lambda: "Not/AZone")
    assert local_zone_name() == "UTC"
    monkeypatch.setattr(tzlocal, "get_localzone_name", lambda: "America/New_York")
    assert local_zone_name() == "America/New_York"


# ------------------------------------------------------------------------------------------
# Hypothesis properties
# ------------------------------------------------------------------------------------------

ZONES = ["Europe/Zurich", "America/New_York", "Australia/Lord_Howe", "UTC", "Asia/Kolkata"]


def _transition_days(zone: str) -> list[date]:
    """Local dates in 2025–2028 on which the zone changes its offset (all of them change at
    night, so comparing consecutive noons finds them)."""
    tz = ZoneInfo(zone)
    days: list[date] = []
    day = date(2025, 1, 1)
    previous = datetime.combine(day, time(12), tzinfo=tz).utcoffset()
    while day < date(2029, 1, 1):
        day += timedelta(days=1)
        offset = datetime.combine(day, time(12), tzinfo=tz).utcoffset()
        if offset != previous:
            days.append(day)
        previous = offset
    return days


# (zone, day) pairs on which the zone changes its offset, so generated input hits them often.
DST_DAYS = [(zone, day) for zone in ZONES for day in _transition_days(zone)]
assert len(DST_DAYS) == 3 * 4 * 2  # Zurich, New York, Lord Howe; two changes a year

# Bias window times towards the hours in which the transitions happen.
hours = st.one_of(st.integers(min_value=0, max_value=23), st.sampled_from([1, 2, 3]))
minutes = st.one_of(st.integers(min_value=0, max_value=59), st.sampled_from([0, 10, 30, 45]))
window_times = st.builds(time, hours, minutes)
weekday_sets = st.frozensets(st.integers(min_value=0, max_value=6), min_size=1)

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,  # keep the source tree clean; failures still print their example
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)


@st.composite
def schedule_inputs(draw: st.DrawFn) -> tuple[date, date, time, time, frozenset[int], str]:
    """Random schedules, half of them aimed at a DST change: the range contains (and often
    starts or ends on) a transition day of the chosen zone, that day's weekday is chosen, and
    the window is often short so that it can fall entirely into a gap (the "window does not
    occur that day" case), or a whole day (``to == from``), so every property below holds for
    whole days too."""
    weekdays = draw(weekday_sets)
    if draw(st.booleans()):
        start = draw(st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)))
        end = start + timedelta(days=draw(st.integers(min_value=0, max_value=60)))
        zone = draw(st.sampled_from(ZONES))
    else:
        zone, dst_day = draw(st.sampled_from(DST_DAYS))
        days_around = st.one_of(st.just(0), st.integers(min_value=0, max_value=10))
        start = dst_day - timedelta(days=draw(days_around))
        end = dst_day + timedelta(days=draw(days_around))
        weekdays |= {dst_day.weekday()}
    window_start = draw(window_times)
    shape = draw(st.sampled_from(["any", "short", "whole day"]))
    if shape == "any":
        window_end = draw(window_times)
    elif shape == "short":
        shift = timedelta(minutes=draw(st.integers(min_value=1, max_value=45)))
        window_end = (datetime.combine(date.min, window_start) + shift).time()
    else:
        window_end = window_start
    return start, end, window_start, window_end, weekdays, zone


def oracle_resolve(day: date, wall_time: time, zone: ZoneInfo) -> datetime:
    """Independent reading of a local wall time: the earliest UTC instant whose local clock
    shows it, or, if no instant does (a gap), the earliest instant after which the clock has
    passed it (found by a plain minute scan)."""
    naive = datetime.combine(day, wall_time)
    readings = [naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
    existing = [t for t in readings if t.astimezone(zone).replace(tzinfo=None) == naive]
    if existing:
        return min(existing)
    instant = min(readings)
    while instant.astimezone(zone).replace(tzinfo=None) < naive:
        instant += timedelta(minutes=1)
    return instant


def oracle_windows(
    start: date, end: date, opens: time, closes: time, weekdays: frozenset[int], tz: str
) -> dict[date, tuple[datetime, datetime]]:
    """Unclamped window per opening date, leaving out the ones DST collapses."""
    zone = ZoneInfo(tz)
    result: dict[date, tuple[datetime, datetime]] = {}
    day = start
    while day <= end:
        if day.weekday() in weekdays:
            close_day = day + timedelta(days=1) if closes <= opens else day
            window = oracle_resolve(day, opens, zone), oracle_resolve(close_day, closes, zone)
            if window[1] > window[0]:
                result[day] = window
        day += timedelta(days=1)
    return result


def nominal_length(opens: time, closes: time) -> timedelta:
    length = datetime.combine(date.min, closes) - datetime.combine(date.min, opens)
    return length if length > timedelta(0) else length + timedelta(days=1)


@PROPERTY_SETTINGS
@given(schedule_inputs())
def test_property_rejected_exactly_when_no_window_exists(
    inputs: tuple[date, date, time, time, frozenset[int], str],
) -> None:
    expected = oracle_windows(*inputs)
    try:
        Scheduled(*inputs)
    except ScheduleError as err:
        assert not expected, f"refused although windows exist: {err}"
    else:
        assert expected, "accepted although the range contains no window"


@PROPERTY_SETTINGS
@given(schedule_inputs())
def test_property_windows(inputs: tuple[date, date, time, time, frozenset[int], str]) -> None:
    start, end, window_start, window_end, weekdays, tz = inputs
    expected = oracle_windows(*inputs)
    assume(expected)
    sched = Scheduled(*inputs)
    zone = ZoneInfo(tz)
    windows = list(sched.windows())

    assert windows, "a valid schedule has at least one window"
    # Strictly increasing and never overlapping.
    for earlier, later in itertools.pairwise(windows):
        assert earlier.closes <= later.opens
        assert earlier.opens < later.opens
    opening_days = [w.opens.astimezone(zone).date() for w in windows]
    # At most one window opens per local date.
    assert len(set(opening_days)) == len(opening_days)
    # Exactly the oracle's windows, on chosen weekdays inside the date range.
    assert opening_days == sorted(expected)
    nominal = nominal_length(window_start, window_end)
    for day, window in zip(opening_days, windows, strict=True):
        assert start <= day <= end
        assert day.weekday() in weekdays
        assert window.opens.tzinfo is UTC
        assert window.closes.tzinfo is UTC
        assert window.opens == expected[day][0]
        assert window.closes <= expected[day][1]
        length = window.closes - window.opens
        assert length > timedelta(0)
        # At most the nominal length plus the day's DST shift (never more than one hour here).
        shift = abs(
            window.opens.astimezone(zone).utcoffset() - window.closes.astimezone(zone).utcoffset()
        )
        assert shift <= timedelta(hours=1)
        assert length <= nominal + shift

    assert sched.first_window() == windows[0]
    assert sched.last_window() == windows[-1]
    assert sched.expires_at() == windows[-1].closes


@PROPERTY_SETTINGS
@given(
    schedule_inputs(),
    st.lists(st.floats(min_value=-0.05, max_value=1.05), min_size=1, max_size=10),
)
def test_property_queries_agree_with_window_list(
    inputs: tuple[date, date, time, time, frozenset[int], str], fractions: list[float]
) -> None:
    assume(oracle_windows(*inputs))
    sched = Scheduled(*inputs)
    windows = list(sched.windows())
    span_start = windows[0].opens - timedelta(days=1)
    span = windows[-1].closes + timedelta(days=1) - span_start
    probes = [span_start + span * fraction for fraction in fractions]
    # The boundaries are where off-by-one errors live.
    for window in windows[:3] + windows[-3:]:
        probes += [window.opens, window.closes, window.closes - timedelta(microseconds=1)]
    for probe in probes:
        containing = [w for w in windows if w.opens <= probe < w.closes]
        assert len(containing) <= 1
        expected_window = containing[0] if containing else None
        assert sched.window_at(probe) == expected_window
        assert sched.is_open(probe) == (expected_window is not None)

        opening = sched.next_opening(probe)
        later = [w for w in windows if w.opens > probe]
        if expected_window is not None:
            assert opening == probe
        elif later:
            assert opening == later[0].opens
        else:
            assert opening is None
        if opening is not None:
            assert opening >= probe
        assert (opening is None) == (probe >= windows[-1].closes)

        assert list(sched.windows(after=probe)) == [w for w in windows if w.closes > probe]
        # The same instant seen from another zone is the same instant.
        elsewhere = probe.astimezone(ZoneInfo("Pacific/Kiritimati"))
        assert sched.window_at(elsewhere) == expected_window


@PROPERTY_SETTINGS
@given(schedule_inputs())
def test_property_dict_round_trip(
    inputs: tuple[date, date, time, time, frozenset[int], str],
) -> None:
    assume(oracle_windows(*inputs))
    sched = Scheduled(*inputs)
    assert schedule_from_dict(json.loads(json.dumps(sched.to_dict()))) == sched
    assert sched.to_dict()["weekdays"] == [WEEKDAY_NAMES[d] for d in sorted(sched.weekdays)]


# ---- whole days (to == from) --------------------------------------------------------------

WholeDayInputs = tuple[date, date, time, time, frozenset[int], str]


@st.composite
def whole_day_inputs(draw: st.DrawFn, every_day: bool = False) -> WholeDayInputs:
    """Whole-day schedules (``to == from``) in zones with one-hour and half-hour DST shifts and
    without DST; half of them span a DST change of their zone, with the days around it chosen
    (so a window opens, closes or runs through the change)."""
    weekdays = EVERY_DAY if every_day else draw(weekday_sets)
    if draw(st.booleans()):
        zone = draw(st.sampled_from(ZONES))
        start = draw(st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)))
        end = start + timedelta(days=draw(st.integers(min_value=0, max_value=30)))
    else:
        zone, dst_day = draw(st.sampled_from(DST_DAYS))
        start = dst_day - timedelta(days=draw(st.integers(min_value=0, max_value=8)))
        end = dst_day + timedelta(days=draw(st.integers(min_value=0, max_value=8)))
        before = dst_day - timedelta(days=1)
        weekdays |= {dst_day.weekday()} | ({before.weekday()} if before >= start else set())
    opens = draw(window_times)
    return start, end, opens, opens, frozenset(weekdays), zone


def whole_day_oracle(inputs: WholeDayInputs) -> list[tuple[datetime, datetime]]:
    """The windows as spec B2 words them, read independently of the module: one per chosen
    day in the range, opening at ``from`` that day and closing at ``from`` the next day."""
    start, end, opens, _, weekdays, tz = inputs
    zone = ZoneInfo(tz)
    windows = []
    day = start
    while day <= end:
        if day.weekday() in weekdays:
            windows.append(
                (oracle_resolve(day, opens, zone), oracle_resolve(day + timedelta(days=1), opens,
                                                                   zone))
            )
        day += timedelta(days=1)
    return windows


def whole_day_probes(
    inputs: WholeDayInputs, windows: list[tuple[datetime, datetime]], fractions: list[float]
) -> list[datetime]:
    """Instants to ask about: spread over the range and two days either side, every window's
    ends (and just before them), and every offset change of the zone in the range."""
    start, end, _, _, _, tz = inputs
    first = windows[0][0] - timedelta(days=2)
    span = windows[-1][1] + timedelta(days=2) - first
    probes = [first + span * fraction for fraction in fractions]
    tiny = timedelta(microseconds=1)
    for opens, closes in windows:
        probes += [opens, opens - tiny, closes, closes - tiny]
    for zone, day in DST_DAYS:
        if zone == tz and start - timedelta(days=1) <= day <= end + timedelta(days=1):
            change = offset_change_instant(zone, day)
            probes += [change - tiny, change, change + tiny]
    return probes


def dst_spread(zone: ZoneInfo, opens: datetime, closes: datetime) -> timedelta:
    """How far the zone's offset moves at or inside ``[opens, closes]``: 0 on a plain day."""
    tiny = timedelta(microseconds=1)
    offsets = [t.astimezone(zone).utcoffset() for t in (opens - tiny, opens, closes - tiny, closes)]
    return max(offsets) - min(offsets)


fraction_lists = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=12)


@PROPERTY_SETTINGS
@given(whole_day_inputs(), fraction_lists)
def test_property_whole_day_is_open_exactly_inside_a_day_from_from(
    inputs: WholeDayInputs, fractions: list[float]
) -> None:
    expected = whole_day_oracle(inputs)
    assume(expected)
    sched = Scheduled(*inputs)
    zone = ZoneInfo(inputs[5])
    assert sched.whole_day
    for opens, closes in expected:
        # 24 h, give or take the DST shift of that day; a shift is at most an hour here.
        spread = dst_spread(zone, opens, closes)
        assert spread <= timedelta(hours=1)
        assert timedelta(hours=24) - spread <= closes - opens <= timedelta(hours=24) + spread
    for probe in whole_day_probes(inputs, expected, fractions):
        containing = [w for w in expected if w[0] <= probe < w[1]]
        assert len(containing) <= 1, "the oracle's days overlap"
        assert sched.is_open(probe) == bool(containing), probe
        window = sched.window_at(probe)
        if containing:
            assert window == Window(*containing[0])
            assert sched.next_opening(probe) == probe
        else:
            assert window is None
            assert sched.open_until(probe) is None


@PROPERTY_SETTINGS
@given(whole_day_inputs(every_day=True), fraction_lists)
def test_property_whole_day_every_day_is_always_open_within_the_range(
    inputs: WholeDayInputs, fractions: list[float]
) -> None:
    start, end, opens, _, _, tz = inputs
    sched = Scheduled(*inputs)
    zone = ZoneInfo(tz)
    first = oracle_resolve(start, opens, zone)
    last = oracle_resolve(end + timedelta(days=1), opens, zone)
    assert sched.first_window().opens == first
    assert sched.expires_at() == last
    tiny = timedelta(microseconds=1)
    assert not sched.is_open(first - tiny)
    assert not sched.is_open(last)
    expected = whole_day_oracle(inputs)
    for probe in whole_day_probes(inputs, expected, fractions):
        if first <= probe < last:
            assert sched.is_open(probe), probe
            assert sched.next_opening(probe) == probe
            assert sched.open_until(probe) == last
        else:
            assert not sched.is_open(probe), probe


@PROPERTY_SETTINGS
@given(whole_day_inputs())
def test_property_whole_days_open_once_a_day_and_join_without_a_gap(
    inputs: WholeDayInputs,
) -> None:
    start, end, _, _, weekdays, tz = inputs
    chosen = [
        start + timedelta(days=offset)
        for offset in range((end - start).days + 1)
        if (start + timedelta(days=offset)).weekday() in weekdays
    ]
    assume(chosen)
    sched = Scheduled(*inputs)
    zone = ZoneInfo(tz)
    windows = list(sched.windows())
    opening_days = [w.opens.astimezone(zone).date() for w in windows]
    # One window per chosen day, none twice on a day.
    assert opening_days == chosen
    for (earlier, later), (day, next_day) in zip(
        itertools.pairwise(windows), itertools.pairwise(opening_days), strict=True
    ):
        if next_day - day == timedelta(days=1):
            assert earlier.closes == later.opens  # joined: no gap, no double opening
            assert sched.window_at(earlier.closes) == later
        else:
            assert earlier.closes < later.opens  # a day off: closed in between
            assert not sched.is_open(earlier.closes)
            assert sched.next_opening(earlier.closes) == later.opens
    # A stretch of joined days is open until its last day closes.
    for index, window in enumerate(windows):
        stretch_end = window.closes
        for later in windows[index + 1:]:
            if later.opens != stretch_end:
                break
            stretch_end = later.closes
        assert sched.open_until(window.opens) == stretch_end
