"""A seven-day picture of a job's schedule, and the one-line "next window" text.

Engineers agree maintenance windows in the plant's local time; a strip of the coming week in
that zone shows at a glance whether "Mon–Fri 22:00–04:00" really means the nights they think.
The new-job dialog and the job detail pane both use it, so all drawing and wording lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import islice
from zoneinfo import ZoneInfo

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from jobdesk.domain import times
from jobdesk.domain.schedule import (
    WEEKDAY_NAMES,
    FireAndForget,
    Schedule,
    Scheduled,
    Window,
    local_zone_name,
)

__all__ = [
    "ACCENT",
    "WeekStrip",
    "format_instant",
    "format_window",
    "next_window_text",
]

ACCENT = QColor("#2563eb")
"""The one colour the strip adds to the palette: time in which the job may run."""

DAYS = 7
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY = timedelta(days=1)


def _day_name(day: date) -> str:
    return WEEKDAY_NAMES[day.weekday()].capitalize()


def _hhmm(moment: datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def format_instant(instant: datetime, tz: str, *, now: datetime | None = None) -> str:
    """"04 Dec 22:00 CET" in ``tz``: the one format of `domain.times`, in a job's zone."""
    return times.format_instant(instant, zone=ZoneInfo(tz), now=now)


def _date_text(local: datetime) -> str:
    """"Fri 04 Dec" of a local time; English names on purpose (not the OS locale), so the
    words match the CLI and the spec whatever language the laptop is set to."""
    return f"{_day_name(local.date())} {local.day:02d} {_MONTHS[local.month - 1]}"


def format_window(window: Window, tz: str, *, whole_day: bool = False) -> str:
    """"Fri 04 Dec 22:00–04:00": a window closes within a day of opening, so the close needs
    no date.  A window of a whole-day schedule (``whole_day``) reads "Fri 04 Dec all day
    (00:00–00:00)": its two equal times alone would look like a window of no length."""
    opens = window.opens.astimezone(ZoneInfo(tz))
    closes = window.closes.astimezone(ZoneInfo(tz))
    if whole_day:
        return f"{_date_text(opens)} all day ({_hhmm(opens)}–{_hhmm(closes)})"
    return f"{_date_text(opens)} {_hhmm(opens)}–{_hhmm(closes)}"


def _here(instant: datetime, zone: tzinfo, here: tzinfo | None) -> str:
    """" · 21:00 UTC here" when the laptop's clock reads otherwise than the job's zone."""
    laptop = here if here is not None else times.local_zone()
    if instant.astimezone(laptop).utcoffset() == instant.astimezone(zone).utcoffset():
        return ""
    local = instant.astimezone(laptop)
    return f" · {_hhmm(local)} {times.zone_label(local)} here"


def next_window_text(schedule: Schedule | None, now: datetime, *,
                     here: tzinfo | None = None) -> str:
    """One line for people: when may this job run next, in the schedule's own zone (the
    one agreed with the customer) and, where it differs, in the laptop's (`here`)."""
    if schedule is None:
        return "No schedule"
    if isinstance(schedule, FireAndForget):
        return "Runs at once"
    upcoming = next(schedule.windows(after=now), None)
    if upcoming is None:
        return "No window left"
    if upcoming.opens <= now and schedule.whole_day:
        # Whole days on consecutive weekdays join: say when the stretch ends, not "00:00".
        until = schedule.open_until(now) or upcoming.closes
        return (f"Open all day now, until {format_instant(until, schedule.tz, now=now)}"
                f"{_here(until, schedule.zone, here)}")
    if upcoming.opens <= now:
        closes = upcoming.closes.astimezone(schedule.zone)
        return (f"Window open now, closes {_hhmm(closes)} {schedule.tz}"
                f"{_here(upcoming.closes, schedule.zone, here)}")
    if schedule.whole_day:
        text = format_window(upcoming, schedule.tz, whole_day=True)
        return f"Next window: {text} {schedule.tz}"
    return "Next window: " + times.format_span(
        upcoming.opens, upcoming.closes, zone=schedule.zone, zone_name=schedule.tz, now=now,
        here=here)


@dataclass(frozen=True)
class _Span:
    """A stretch of the timeline to paint, in widget x coordinates."""

    left: float
    right: float
    window: Window | None


class WeekStrip(QWidget):
    """Seven day columns from today; windows as blocks, a line at *now*, the past greyed.

    Time runs left to right as one continuous line (each column one local day), so a window
    that crosses midnight is a single block reaching into the next column, as people say it.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._schedule: Schedule | None = None
        self._now: datetime | None = None
        self._expires_at: datetime | None = None
        self._finished = False
        self._tz = local_zone_name()
        self._day0 = date.today()
        self._key: tuple[object, ...] | None = None
        self._picture: QPixmap | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(False)
        self.setAccessibleName("Week overview of the schedule")

    # ---- API ----------------------------------------------------------------------------

    def set_schedule(
        self, schedule: Schedule | None, now: datetime, expires_at: datetime | None = None,
        *, finished: bool = False,
    ) -> None:
        """Show ``schedule`` for the seven local days starting with today's.

        ``expires_at`` is only needed for fire-and-forget (its bar ends there); a scheduled job
        carries its own end. A ``finished`` job runs no more: only the windows already gone
        are drawn (grey), so the strip never promises a run that will not happen.
        """
        # The picture changes with the schedule, and with the clock only minute by minute:
        # the detail pane refreshes often while a job runs, and painting is not free.
        key = (schedule, now.replace(second=0, microsecond=0), expires_at, finished)
        if key == self._key:
            return
        self._key = key
        self._finished = finished
        self._schedule = schedule
        self._now = now
        self._expires_at = expires_at
        self._tz = schedule.tz if isinstance(schedule, Scheduled) else local_zone_name()
        self._day0 = now.astimezone(ZoneInfo(self._tz)).date()
        self._picture = None
        self.setToolTip("")
        self.update()

    def schedule(self) -> Schedule | None:
        return self._schedule

    def zone_name(self) -> str:
        """The zone whose days the columns show."""
        return self._tz

    def day_labels(self) -> list[str]:
        """The column headings, "Tue 1" ...: also what a test or screen reader can check."""
        days = [self._day0 + offset * _DAY for offset in range(DAYS)]
        return [f"{_day_name(day)} {day.day}" for day in days]

    def timeline_rect(self) -> QRectF:
        """The area below the day labels where time is drawn."""
        header = QFontMetrics(self._header_font(bold=True)).height() + 6
        return QRectF(self.rect()).adjusted(1, header, -1, -2)

    def x_for(self, instant: datetime) -> float:
        """Widget x of an instant (clamped to the strip), by local wall-clock time per day."""
        body = self.timeline_rect()
        local = instant.astimezone(ZoneInfo(self._tz))
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        days = (local.date() - self._day0).days + seconds / 86400
        days = min(max(days, 0.0), float(DAYS))
        return body.left() + days * body.width() / DAYS

    # ---- Qt -----------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(420, 90)

    def minimumSizeHint(self) -> QSize:
        return QSize(240, 60)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self._tooltip_at(event.position().x())
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def paintEvent(self, event: object) -> None:
        """Paint from a picture drawn once per change: repaints cost one copy."""
        ratio = self.devicePixelRatioF()
        size = self.size() * ratio
        if self._picture is None or self._picture.size() != size:
            self._picture = QPixmap(size)
            self._picture.setDevicePixelRatio(ratio)
            self._picture.fill(Qt.GlobalColor.transparent)
            drawing = QPainter(self._picture)
            try:
                self._paint(drawing)
            finally:
                drawing.end()
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._picture)
        painter.end()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange):
            self._picture = None
        super().changeEvent(event)

    # ---- drawing ------------------------------------------------------------------------

    def _header_font(self, *, bold: bool) -> QFont:
        font = QFont(self.font())
        font.setBold(bold)
        return font

    def _spans(self) -> list[_Span]:
        """What to fill in accent: the windows in view, or the fire-and-forget bar."""
        if self._now is None or self._schedule is None:
            return []
        if isinstance(self._schedule, FireAndForget):
            if self._finished:
                return []
            end = self._expires_at or self._now
            return [_Span(self.x_for(self._now), self.x_for(end), None)]
        zone = ZoneInfo(self._tz)
        start = datetime.combine(self._day0, time(0), tzinfo=zone)
        end = datetime.combine(self._day0 + DAYS * _DAY, time(0), tzinfo=zone)
        spans = []
        # One window opens per day, so 7 days hold at most 8 (one may open the day before).
        for window in islice(self._schedule.windows(after=start), DAYS + 2):
            if window.opens >= end or (self._finished and window.opens >= self._now):
                break
            closes = min(window.closes, self._now) if self._finished else window.closes
            spans.append(_Span(self.x_for(window.opens), self.x_for(closes), window))
        return spans

    def _tooltip_at(self, x: float) -> str:
        for span in self._spans():
            if span.left - 2 <= x <= span.right + 2:
                if span.window is None:
                    return "Runs at once, retries until it expires"
                whole_day = isinstance(self._schedule, Scheduled) and self._schedule.whole_day
                text = format_window(span.window, self._tz, whole_day=whole_day)
                return f"{text} {self._tz}"
        return ""

    def _paint(self, painter: QPainter) -> None:
        palette = self.palette()
        body = self.timeline_rect()
        column = body.width() / DAYS
        painter.fillRect(body, palette.color(QPalette.ColorRole.Base))

        if self._schedule is None or self._now is None:
            self._paint_frame(painter, body, column, labels=self._now is not None)
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(body, Qt.AlignmentFlag.AlignCenter, "No schedule")
            return

        now_x = self.x_for(self._now)
        past = QRectF(body.left(), body.top(), now_x - body.left(), body.height())
        grey = palette.color(QPalette.ColorRole.Mid)
        faded = QColor(grey)
        faded.setAlpha(70)
        painter.fillRect(past, faded)

        spans = self._spans()
        fire_and_forget = isinstance(self._schedule, FireAndForget)
        if fire_and_forget:
            bar_height = max(8.0, body.height() * 0.3)
            top = body.center().y() - bar_height / 2
        else:
            top = body.top() + 3
            bar_height = body.height() - 6
        for span in spans:
            least = 2.0 if span.window is not None else 5.0  # 30 min is ~1 px at 420 px
            block = QRectF(span.left, top, max(span.right - span.left, least), bar_height)
            painter.fillRect(block, ACCENT)
            if block.left() < now_x:  # the part already gone is greyed like the rest of the past
                gone = QRectF(block.left(), top, min(now_x, block.right()) - block.left(),
                              bar_height)
                painter.fillRect(gone, grey)

        self._paint_frame(painter, body, column, labels=True)

        # The marker: a line in the text colour with a small notch on top, so it reads on both
        # light and dark palettes and over a block.
        marker = QPen(palette.color(QPalette.ColorRole.WindowText), 2)
        painter.setPen(marker)
        painter.drawLine(QPointF(now_x, body.top() - 3), QPointF(now_x, body.bottom()))

        painter.setPen(palette.color(QPalette.ColorRole.Text))
        if fire_and_forget and not self._finished:
            right = max((s.right for s in spans), default=now_x) + 6
            text_box = QRectF(right, body.top(), body.right() - right - 4, body.height())
            painter.drawText(text_box, Qt.AlignmentFlag.AlignVCenter, "runs at once")
        elif self._finished:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(body, Qt.AlignmentFlag.AlignCenter, "Finished: no further runs")
        elif not spans:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(body, Qt.AlignmentFlag.AlignCenter, "No window in these 7 days")

    def _paint_frame(self, painter: QPainter, body: QRectF, column: float, *, labels: bool) -> None:
        """Day separators, 6-hour ticks, the outline and the day labels."""
        palette = self.palette()
        tick = QColor(palette.color(QPalette.ColorRole.Mid))
        tick.setAlpha(90)
        painter.setPen(QPen(tick, 1, Qt.PenStyle.DotLine))
        for day in range(DAYS):
            for quarter in (1, 2, 3):
                x = body.left() + (day + quarter / 4) * column
                painter.drawLine(QPointF(x, body.top()), QPointF(x, body.bottom()))
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        for day in range(1, DAYS):
            x = body.left() + day * column
            painter.drawLine(QPointF(x, body.top() - 4), QPointF(x, body.bottom()))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(body)
        if not labels:
            return
        painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        for day, text in enumerate(self.day_labels()):
            painter.setFont(self._header_font(bold=day == 0))
            cell = QRectF(body.left() + day * column, 0, column, body.top() - 2)
            painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, text)
        painter.setFont(self.font())
