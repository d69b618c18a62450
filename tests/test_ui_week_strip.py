"""The week strip paints windows where they are, and the next-window line says it in words."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from PySide6.QtGui import QColor, QImage

from jobdesk.domain.schedule import FireAndForget, Scheduled
from jobdesk.ui.week_strip import ACCENT, WeekStrip, format_window, next_window_text
from tests.conftest import START

ZURICH = "Europe/Zurich"


def nights(weekdays: frozenset[int] = frozenset(range(5)), *, days: int = 13) -> Scheduled:
    return Scheduled(
        date(2026, 12, 1), date(2026, 12, 1) + timedelta(days=days), time(22, 0), time(4, 0),
        weekdays, ZURICH,
    )


def whole_days(weekdays: frozenset[int] = frozenset(range(5)), opens: time = time(0)) -> Scheduled:
    """00:00-00:00 (or another ``from == to``) from Tue 1 to Mon 14 December."""
    return Scheduled(date(2026, 12, 1), date(2026, 12, 14), opens, opens, weekdays, ZURICH)


def zurich(day: int, hour: int, minute: int = 0) -> datetime:
    """A December 2026 wall time in Zurich (UTC+1 then), as UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - timedelta(hours=1)


def shown(qtbot: Any, schedule: Any, now: datetime, expires_at: Any = None) -> WeekStrip:
    strip = WeekStrip()
    qtbot.addWidget(strip)
    strip.resize(strip.sizeHint())
    strip.set_schedule(schedule, now, expires_at)
    strip.show()
    return strip


def colour_at(strip: WeekStrip, image: QImage, instant: datetime) -> QColor:
    x = int(strip.x_for(instant))
    y = int(strip.timeline_rect().center().y())
    return image.pixelColor(x, y)


def test_columns_start_today_in_the_schedule_zone(qtbot: Any) -> None:
    strip = shown(qtbot, nights(), START)
    assert strip.day_labels() == ["Tue 1", "Wed 2", "Thu 3", "Fri 4", "Sat 5", "Sun 6", "Mon 7"]
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # already Wednesday in Zurich
    strip.set_schedule(nights(), late)
    assert strip.day_labels()[0] == "Wed 2"
    assert strip.sizeHint().width() == 420 and strip.sizeHint().height() == 90


def test_windows_are_painted_in_the_accent_and_cross_midnight(qtbot: Any) -> None:
    strip = shown(qtbot, nights(), START)
    image = strip.grab().toImage()
    assert not image.isNull() and image.width() >= 420
    assert colour_at(strip, image, zurich(1, 23)) == ACCENT  # Tue 22:00-04:00 ...
    assert colour_at(strip, image, zurich(2, 2)) == ACCENT  # ... reaches into Wednesday
    assert colour_at(strip, image, zurich(2, 12)) != ACCENT  # midday: no window
    assert colour_at(strip, image, zurich(5, 23)) != ACCENT  # Saturday is not chosen


def test_the_past_is_greyed(qtbot: Any) -> None:
    now = zurich(2, 10)  # Wednesday 10:00: Tuesday night's window is over
    strip = shown(qtbot, nights(), now)
    image = strip.grab().toImage()
    assert colour_at(strip, image, zurich(2, 2)) != ACCENT
    assert colour_at(strip, image, zurich(2, 23)) == ACCENT


def test_resizing_scales_the_timeline(qtbot: Any) -> None:
    strip = shown(qtbot, nights(), START)
    strip.resize(900, 140)
    image = strip.grab().toImage()
    assert image.width() == 900
    assert strip.x_for(zurich(8, 0)) == pytest.approx(strip.timeline_rect().right())
    assert colour_at(strip, image, zurich(3, 23, 30)) == ACCENT


def test_fire_and_forget_is_a_bar_from_now(qtbot: Any) -> None:
    strip = shown(qtbot, FireAndForget(), START, START + timedelta(hours=6))
    image = strip.grab().toImage()
    assert colour_at(strip, image, START + timedelta(hours=3)) == ACCENT
    assert colour_at(strip, image, START + timedelta(hours=12)) != ACCENT


def test_no_schedule_is_an_empty_strip(qtbot: Any) -> None:
    strip = shown(qtbot, None, START)
    image = strip.grab().toImage()
    assert not image.isNull()
    accent = ACCENT.rgb()
    assert all(
        image.pixel(x, y) != accent
        for x in range(0, image.width(), 3)
        for y in range(0, image.height(), 3)
    )


def test_tooltip_names_the_window(qtbot: Any) -> None:
    strip = shown(qtbot, nights(), START)
    text = strip._tooltip_at(strip.x_for(zurich(1, 23)))
    assert text == "Tue 01 Dec 22:00–04:00 Europe/Zurich"


@pytest.mark.parametrize(
    ("schedule", "now", "expected"),
    [
        (None, START, "No schedule"),
        (FireAndForget(), START, "Runs at once"),
        (nights(frozenset({4})), START, "Next window: Fri 04 Dec 22:00–04:00 (+1 day) Europe/Zurich"
         " · 21:00–03:00 (+1 day) UTC here"),
        (nights(), zurich(2, 1), "Window open now, closes 04:00 Europe/Zurich · 03:00 UTC here"),
        (nights(days=0), zurich(2, 5), "No window left"),
        # Whole days: the consecutive days join, so it stays open until Saturday begins.
        (whole_days(), zurich(2, 1), "Open all day now, until 05 Dec 00:00 CET · 23:00 UTC here"),
        (whole_days(frozenset(range(7))), zurich(2, 1),
         "Open all day now, until 15 Dec 00:00 CET · 23:00 UTC here"),
        (whole_days(), zurich(5, 1),
         "Next window: Mon 07 Dec all day (00:00–00:00) Europe/Zurich"),
    ],
)
def test_next_window_text(schedule: Any, now: datetime, expected: str) -> None:
    assert next_window_text(schedule, now, here=UTC) == expected


def test_format_window_uses_the_zone() -> None:
    window = next(nights().windows(after=START))
    assert format_window(window, ZURICH) == "Tue 01 Dec 22:00–04:00"
    assert format_window(window, "UTC") == "Tue 01 Dec 21:00–03:00"


def test_whole_days_are_one_unbroken_block(qtbot: Any) -> None:
    strip = shown(qtbot, whole_days(), START)  # Tuesday 10:00 in Zurich
    image = strip.grab().toImage()
    # Wednesday to Friday, and either side of the midnights between them (the grid lines at
    # midnight and every six hours are drawn over the blocks, so probe beside them).
    for day in (2, 3, 4):
        for hour in (1, 5, 7, 11, 13, 17, 19, 23):
            assert colour_at(strip, image, zurich(day, hour)) == ACCENT, (day, hour)
    assert colour_at(strip, image, zurich(5, 12)) != ACCENT  # Saturday is not chosen
    assert colour_at(strip, image, zurich(7, 12)) == ACCENT  # Monday is
    text = strip._tooltip_at(strip.x_for(zurich(3, 12)))
    assert text == "Thu 03 Dec all day (00:00–00:00) Europe/Zurich"


def test_format_window_of_a_whole_day() -> None:
    window = next(whole_days(opens=time(8)).windows(after=START))
    assert format_window(window, ZURICH, whole_day=True) == "Tue 01 Dec all day (08:00–08:00)"
    assert format_window(window, ZURICH) == "Tue 01 Dec 08:00–08:00"  # what it used to say


def test_a_finished_job_draws_no_future_window(qtbot: Any) -> None:
    strip = WeekStrip()
    qtbot.addWidget(strip)
    strip.resize(700, 84)
    strip.set_schedule(nights(), zurich(3, 12), finished=True)
    strip.show()
    image = strip.grab().toImage()
    # Tonight and the nights after would run if the job had not ended: nothing is drawn.
    for day in (3, 4, 5):
        assert colour_at(strip, image, zurich(day, 23)) != ACCENT, day
    assert strip._tooltip_at(strip.x_for(zurich(4, 23))) == ""
