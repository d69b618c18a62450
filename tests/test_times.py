"""The one time format people see: zone always named, year only when it is not current."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from jobdesk.domain.times import format_instant, format_span

ZURICH = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_current_year_is_left_out_and_zone_is_named() -> None:
    value = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
    assert format_instant(value, now=NOW, zone=ZURICH) == "01 Dec 22:00 CET"
    assert format_instant(value, now=NOW, zone=UTC) == "01 Dec 21:00 UTC"


def test_another_year_is_written_out() -> None:
    value = datetime(2027, 1, 2, 8, 30, tzinfo=UTC)
    assert format_instant(value, now=NOW, zone=UTC) == "02 Jan 2027 08:30 UTC"


def test_new_years_eve_is_judged_in_the_shown_zone() -> None:
    # 23:30 UTC on 31 Dec is already next year in Zurich: the year is then shown.
    now = datetime(2026, 12, 31, 23, 15, tzinfo=UTC)  # already 2027 in Zurich
    value = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert format_instant(value, now=now, zone=UTC) == "31 Dec 23:30 UTC"
    assert format_instant(value, now=now, zone=ZURICH) == "01 Jan 00:30 CET"
    earlier = datetime(2026, 12, 31, 22, 0, tzinfo=UTC)  # still 2026 in Zurich
    assert format_instant(value, now=earlier, zone=ZURICH) == "01 Jan 2027 00:30 CET"


def test_summer_time_abbreviation_and_seconds() -> None:
    value = datetime(2026, 7, 1, 10, 0, 5, tzinfo=UTC)
    assert format_instant(value, now=NOW, zone=ZURICH, seconds=True) == "01 Jul 12:00:05 CEST"


def test_none_is_an_empty_cell_and_naive_is_utc() -> None:
    assert format_instant(None) == ""
    assert format_instant(datetime(2026, 3, 1, 9, 0), now=NOW, zone=UTC) == "01 Mar 09:00 UTC"


def test_window_in_job_zone_and_here_when_they_differ() -> None:
    start = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
    end = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    shown = format_span(start, end, zone=ZURICH, zone_name="Europe/Zurich", now=NOW, here=UTC)
    assert shown == "Tue 01 Dec 22:00–04:00 (+1 day) Europe/Zurich · 21:00–03:00 (+1 day) UTC here"
    same = format_span(start, end, zone=ZURICH, zone_name="Europe/Zurich", now=NOW, here=ZURICH)
    assert "here" not in same


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)))
def test_every_instant_names_its_zone_and_a_year_only_when_needed(value: datetime) -> None:
    value = value.replace(tzinfo=UTC)
    text = format_instant(value, now=NOW, zone=ZURICH)
    assert text.endswith((" CET", " CEST")) or text.split()[-1].startswith(("+", "-", "L"))
    local_year = value.astimezone(ZURICH).year
    assert (str(local_year) in text.split()) == (local_year != 2026)
