"""When a job runs, by pointing and clicking: at once, or in maintenance windows.

The preview (the next windows, the week strip, when the job expires) is a pure domain
call and is redrawn on every change, so a person sees what a field does as it is set.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, Qt, QTime, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDateEdit,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QTimeEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from jobdesk.domain.schedule import (
    WEEKDAY_NAMES,
    FireAndForget,
    Schedule,
    Scheduled,
    ScheduleError,
    local_zone_name,
)
from jobdesk.ui.context import AppContext
from jobdesk.ui.new_job.words import duration_text, sentence
from jobdesk.ui.new_job.zone_picker import RecentZones, ZonePicker
from jobdesk.ui.week_strip import WeekStrip, format_instant, format_window

PREVIEW_WINDOWS = 5
# Palette roles only, so a checked day reads as "on" in light and dark themes alike; set per
# button so the date edits' calendar popups keep their own look.
_WEEKDAY_STYLE = (
    "QToolButton { border: 1px solid palette(mid); border-radius: 3px; padding: 2px 6px;"
    " background: palette(base); }"
    "QToolButton:checked { background: palette(highlight); color: palette(highlighted-text);"
    " border-color: palette(highlight); }"
    "QToolButton:disabled { color: palette(mid); }"
    "QToolButton:checked:disabled { background: palette(midlight); color: palette(dark);"
    " border-color: palette(mid); }"
)


def preview_lines(schedule: Scheduled, now: datetime, count: int = PREVIEW_WINDOWS) -> list[str]:
    """The next windows as the preview lists them, in the schedule's zone."""
    lines = []
    for window in islice(schedule.windows(after=now), count):
        text = format_window(window, schedule.tz, whole_day=schedule.whole_day)
        lines.append(f"{text}  (open now)" if window.opens <= now else text)
    return lines


def _window_note(opens: QTime, closes: QTime) -> str:
    """The words beside the window's times: equal times are a whole day (spec B2), which
    "closes the next day" would hide; read from the fields, so it shows even while another
    field makes the schedule invalid."""
    if opens == closes == QTime(0, 0):
        return "all day"
    if opens == closes:
        return f"all day (24 h from {opens.toString('HH:mm')})"
    return "closes the next day" if closes < opens else ""


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, OSError):
        return ZoneInfo("UTC")


class ScheduleEditor(QGroupBox):
    """The "Schedule" box; `changed` on every edit, `refresh()` reads and previews it."""

    changed = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Schedule", parent)
        self._ctx = ctx
        self._recent = RecentZones(ctx.config_path)
        self._build()
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(30_000)  # "open now" and the marker move with time
        self._wire()

    def _build(self) -> None:
        layout = QVBoxLayout(self)

        kinds = QHBoxLayout()
        self._fire = QRadioButton("&Fire and forget (run at once)", self)
        self._fire.setObjectName("fireAndForget")
        self._scheduled = QRadioButton("&Scheduled (maintenance windows)", self)
        self._scheduled.setObjectName("scheduled")
        self._kind_group = QButtonGroup(self)
        self._kind_group.addButton(self._fire)
        self._kind_group.addButton(self._scheduled)
        self._fire.setChecked(True)
        kinds.addWidget(self._fire)
        kinds.addWidget(self._scheduled)
        kinds.addStretch(1)
        layout.addLayout(kinds)

        self._schedule_fields = QWidget(self)
        grid = QGridLayout(self._schedule_fields)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setColumnStretch(4, 1)

        zone_name = local_zone_name()
        today = self._ctx.clock.now().astimezone(_zone(zone_name)).date()
        self._date_from = self._date_edit("dateFrom", today)
        self._date_to = self._date_edit("dateTo", today + timedelta(days=13))
        self._add_grid_row(grid, 0, "&Dates:", self._date_from, "to", self._date_to)

        self._time_from = self._time_edit("timeFrom", time(22, 0))
        self._time_to = self._time_edit("timeTo", time(4, 0))
        self._add_grid_row(grid, 1, "&Window:", self._time_from, "to", self._time_to)
        self._midnight = QLabel("", self._schedule_fields)
        self._midnight.setObjectName("windowNote")
        grid.addWidget(self._midnight, 1, 4)

        days = QHBoxLayout()
        days.setSpacing(2)
        self._weekdays: list[QToolButton] = []
        for index, name in enumerate(WEEKDAY_NAMES):
            button = QToolButton(self._schedule_fields)
            button.setObjectName(f"weekday_{name}")
            button.setText(name.capitalize())
            button.setCheckable(True)
            button.setChecked(index < 5)
            button.setMinimumWidth(40)
            button.setToolTip(f"Windows open on {name.capitalize()}")
            button.setStyleSheet(_WEEKDAY_STYLE)
            self._weekdays.append(button)
            days.addWidget(button)
        days.addStretch(1)
        weekday_label = QLabel("Week&days:", self._schedule_fields)
        weekday_label.setBuddy(self._weekdays[0])
        grid.addWidget(weekday_label, 2, 0)
        grid.addLayout(days, 2, 1, 1, 4)

        self._zone = ZonePicker(zone_name, self._recent.zones(), self._schedule_fields)
        self._zone.setObjectName("timeZone")
        zone_label = QLabel("Time &zone:", self._schedule_fields)
        zone_label.setBuddy(self._zone)
        grid.addWidget(zone_label, 3, 0)
        grid.addWidget(self._zone, 3, 1, 1, 4)
        layout.addWidget(self._schedule_fields)
        # Its own wrapping line: beside the dates it would widen the dialog.
        self._start_note = QLabel("", self)
        self._start_note.setObjectName("startNote")
        self._start_note.setWordWrap(True)
        self._start_note.setStyleSheet("color: #92400e;")  # amber: a warning, not an error
        self._start_note.hide()
        layout.addWidget(self._start_note)

        self._strip = WeekStrip(self)
        self._strip.setObjectName("weekStrip")
        layout.addWidget(self._strip)

        self._preview = QLabel(self)
        self._preview.setObjectName("preview")
        self._preview.setTextFormat(Qt.TextFormat.PlainText)
        self._preview.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self._preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._preview.setWordWrap(True)
        # Room for a heading and five windows, so the dialog does not jump as fields change.
        self._preview.setMinimumHeight(self.fontMetrics().lineSpacing() * (PREVIEW_WINDOWS + 1))
        layout.addWidget(self._preview)

        self._expires = QLabel(self)
        self._expires.setObjectName("expiresAt")
        self._expires.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._expires.setWordWrap(True)  # a long zone name wraps instead of widening
        font = self._expires.font()
        font.setBold(True)
        self._expires.setFont(font)
        layout.addWidget(self._expires)
        layout.addStretch(1)

    def _date_edit(self, name: str, value: date) -> QDateEdit:
        edit = QDateEdit(self)
        edit.setObjectName(name)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")  # ISO: 03/04 can never be misread
        edit.setDate(QDate(value.year, value.month, value.day))
        return edit

    def _time_edit(self, name: str, value: time) -> QTimeEdit:
        edit = QTimeEdit(self)
        edit.setObjectName(name)
        edit.setDisplayFormat("HH:mm")
        edit.setTime(QTime(value.hour, value.minute))
        return edit

    @staticmethod
    def _add_grid_row(
        grid: QGridLayout, row: int, label: str, first: QWidget, middle: str, second: QWidget
    ) -> None:
        caption = QLabel(label)
        caption.setBuddy(first)
        grid.addWidget(caption, row, 0)
        grid.addWidget(first, row, 1)
        grid.addWidget(QLabel(middle), row, 2)
        grid.addWidget(second, row, 3)

    def _wire(self) -> None:
        self._kind_group.buttonToggled.connect(self.changed)
        self._date_from.dateChanged.connect(self.changed)
        self._date_to.dateChanged.connect(self.changed)
        self._time_from.timeChanged.connect(self.changed)
        self._time_to.timeChanged.connect(self.changed)
        for button in self._weekdays:
            button.toggled.connect(self.changed)
        self._zone.currentTextChanged.connect(self.changed)
        self._clock_timer.timeout.connect(self.changed)

    # ---- public -------------------------------------------------------------------------

    def set_schedule(self, schedule: Schedule) -> None:
        """Show a stored schedule in the fields (a duplicated job keeps its windows)."""
        if not isinstance(schedule, Scheduled):
            self._fire.setChecked(True)
            return
        self._scheduled.setChecked(True)
        for edit, day in ((self._date_from, schedule.start_date),
                          (self._date_to, schedule.end_date)):
            edit.setDate(QDate(day.year, day.month, day.day))
        for edit, moment in ((self._time_from, schedule.window_start),
                             (self._time_to, schedule.window_end)):
            edit.setTime(QTime(moment.hour, moment.minute))
        for index, button in enumerate(self._weekdays):
            button.setChecked(index in schedule.weekdays)
        self._zone.setCurrentText(schedule.tz)

    def refresh(self) -> tuple[Schedule | None, str | None]:
        """Read the fields, redraw the preview; the schedule, or why there is none."""
        schedule, problem = self._read()
        self._schedule_fields.setEnabled(self._scheduled.isChecked())
        self._start_note.setText("" if problem else self._start_warning(schedule))
        self._start_note.setVisible(bool(self._start_note.text()))
        self._start_note.setToolTip(self._start_note.text() and (
            "Allowed: the job runs in the windows still to come; the days already past "
            "are skipped, not made up"))
        self._update_preview(schedule)
        return schedule, problem

    def stop(self) -> None:
        self._clock_timer.stop()

    def remember_zone(self, schedule: Schedule) -> None:
        """A job was created: its zone comes first in the picker next time."""
        if isinstance(schedule, Scheduled):
            self._recent.remember(schedule.tz)

    # ---- reading --------------------------------------------------------------------------

    def _start_warning(self, schedule: Schedule | None) -> str:
        """Words for a start date before today in the job's zone. The spec sets no rule
        against it (windows already over are simply never used), so it is allowed, but a
        date picked a month off by mistake must be seen."""
        if not isinstance(schedule, Scheduled):
            return ""
        today = self._ctx.clock.now().astimezone(_zone(schedule.tz)).date()
        if schedule.start_date >= today:
            return ""
        return ("The start date is in the past: the job runs in the windows from today on; "
                "days already past are skipped.")

    def _read(self) -> tuple[Schedule | None, str | None]:
        """The schedule from the fields, or the reason (in words) it cannot be built."""
        if self._fire.isChecked():
            return FireAndForget(), None
        start = self._date_from.date().toPython()
        end = self._date_to.date().toPython()
        opens = self._time_from.time()
        closes = self._time_to.time()
        days = frozenset(i for i, button in enumerate(self._weekdays) if button.isChecked())
        zone = self._zone.currentText().strip()
        try:
            schedule = Scheduled(
                start, end, time(opens.hour(), opens.minute()),
                time(closes.hour(), closes.minute()), days, zone,
            )
        except ScheduleError as error:
            return None, sentence(str(error))
        if next(schedule.windows(after=self._ctx.clock.now()), None) is None:
            last = schedule.last_window().closes
            return schedule, (
                f"Every window of this schedule is over (the last closed "
                f"{format_instant(last, schedule.tz)}); choose an end date from today on"
            )
        return schedule, None

    def _update_preview(self, schedule: Schedule | None) -> None:
        now = self._ctx.clock.now()
        self._midnight.setText(_window_note(self._time_from.time(), self._time_to.time()))
        if isinstance(schedule, FireAndForget):
            lifetime = self._ctx.settings.fire_and_forget_lifetime
            expires = schedule.expires_at(now, lifetime)
            retry = duration_text(self._ctx.settings.retry_interval)
            self._strip.set_schedule(schedule, now, expires)
            self._preview.setText(
                f"Runs as soon as it is created; a failed task is retried every {retry} "
                "until the job expires."
            )
            zone = local_zone_name()
            self._expires.setText(
                f"Expires at: {format_instant(expires, zone)} ({zone}), "
                f"{duration_text(lifetime)} after creation"
            )
            return
        if schedule is None:
            self._strip.set_schedule(None, now)
            self._preview.setText("Fix the schedule to see its windows.")
            self._expires.setText("Expires at: —")
            return
        self._strip.set_schedule(schedule, now)
        lines = preview_lines(schedule, now)
        heading = f"Next windows ({schedule.tz}):" if lines else "No window left."
        self._preview.setText("\n".join([heading, *lines]))
        self._expires.setText(
            f"Expires at: {format_instant(schedule.expires_at(), schedule.tz)} ({schedule.tz}), "
            "when the last window closes"
        )
