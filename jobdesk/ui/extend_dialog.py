"""*Extend…*: give a job a later *Expires At* (spec B5), chosen in a small dialog.

A scheduled job ends with its date range, so it is given a new last date (a calendar);
a fire-and-forget job is given more time (a number and a unit). The dialog shows, as the
person chooses, the *Expires At* that would result or why it cannot be, asking the same
domain rule the store applies when the change is saved: the store decides again then,
since the job may have changed meanwhile.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from jobdesk.domain import lifecycle
from jobdesk.domain.lifecycle import JobView
from jobdesk.domain.rules import ActionRefused
from jobdesk.domain.schedule import Scheduled
from jobdesk.domain.times import format_instant
from jobdesk.ui.words import sentence

# The units a fire-and-forget job can be extended by, largest last.
UNITS: tuple[tuple[str, timedelta], ...] = (
    ("minutes", timedelta(minutes=1)),
    ("hours", timedelta(hours=1)),
    ("days", timedelta(days=1)),
)


def _amount_and_unit(duration: timedelta) -> tuple[int, int]:
    """The largest unit that holds `duration` whole, and how many of it (30 min, 2 h)."""
    for index in reversed(range(len(UNITS))):
        count, rest = divmod(duration, UNITS[index][1])
        if count and not rest:
            return int(count), index
    return max(1, int(duration / UNITS[0][1])), 0


class ExtendJobDialog(QDialog):
    """The new end of one job: `extension()` gives (to, by) for `JobService.extend_job`."""

    def __init__(self, job: JobView, title: str, now: datetime, lifetime: timedelta,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("extendJobDialog")
        self.setWindowTitle(f"Extend “{title}”")
        self.setMinimumWidth(380)
        self._job = job
        self._now = now
        self.end_date: QDateEdit | None = None
        self.amount: QSpinBox | None = None
        self.unit: QComboBox | None = None

        intro = QLabel(
            f"Expires At: {format_instant(job.expires_at, now=now)}. Tasks that failed because "
            "the job expired stay Failed: retry them afterwards."
        )
        intro.setWordWrap(True)
        form = QFormLayout()
        if isinstance(job.schedule, Scheduled):
            schedule = job.schedule
            today = now.astimezone(ZoneInfo(schedule.tz)).date()
            # A week past the later of today and the current end: a first choice that is
            # usually allowed; the preview says so either way.
            suggested = max(schedule.end_date, today) + timedelta(days=7)
            self.end_date = QDateEdit(self)
            self.end_date.setObjectName("extendEndDate")
            self.end_date.setCalendarPopup(True)
            self.end_date.setDisplayFormat("yyyy-MM-dd")  # ISO: 03/04 can never be misread
            self.end_date.setDate(QDate(suggested.year, suggested.month, suggested.day))
            self.end_date.dateChanged.connect(self._update)
            form.addRow(f"Last day ({schedule.tz})", self.end_date)
        else:
            count, unit = _amount_and_unit(lifetime)
            self.amount = QSpinBox(self)
            self.amount.setObjectName("extendAmount")
            self.amount.setRange(1, 9999)
            self.amount.setValue(count)
            self.unit = QComboBox(self)
            self.unit.setObjectName("extendUnit")
            self.unit.addItems([name for name, _ in UNITS])
            self.unit.setCurrentIndex(unit)
            self.amount.valueChanged.connect(self._update)
            self.unit.currentIndexChanged.connect(self._update)
            longer = QHBoxLayout()
            longer.addWidget(self.amount)
            longer.addWidget(self.unit)
            longer.addStretch(1)
            form.addRow("Longer by", longer)
        self.preview = QLabel()
        self.preview.setObjectName("extendPreview")
        self.preview.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Extend")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.preview)
        layout.addWidget(self.buttons)
        self._update()

    def extension(self) -> tuple[date | None, timedelta | None]:
        """What the person chose: a new last date (scheduled) or a duration (fire and
        forget), as `JobService.extend_job(to=..., by=...)` takes them."""
        if self.end_date is not None:
            chosen = self.end_date.date()
            return date(chosen.year(), chosen.month(), chosen.day()), None
        assert self.amount is not None and self.unit is not None
        return None, self.amount.value() * UNITS[self.unit.currentIndex()][1]

    def _update(self, *_: object) -> None:
        """The *Expires At* the choice gives, or why it is refused (Extend disabled)."""
        to, by = self.extension()
        try:
            extended = lifecycle.extend(self._job, self._now, to=to, by=by)
        except ActionRefused as refused:
            self.preview.setText(sentence(str(refused)) + ".")
            self.ok_button.setEnabled(False)
            return
        text = f"New Expires At: {format_instant(extended.expires_at, now=self._now)}"
        if isinstance(extended.schedule, Scheduled):
            zone = extended.schedule.tz
            in_zone = format_instant(extended.expires_at, zone=ZoneInfo(zone), now=self._now)
            if in_zone != text.removeprefix("New Expires At: "):
                text += f" ({in_zone} {zone})"
        self.preview.setText(text)
        self.ok_button.setEnabled(True)


__all__ = ["ExtendJobDialog"]
