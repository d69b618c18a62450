"""Progress painted by outcome: in the tables (a delegate) and in the detail pane (a bar).

A bar filled in one colour reads as "done, fine" whatever happened: thirteen cancelled
tasks of thirteen looked like a success. So a bar is drawn as segments, one per outcome,
each in its state's colour (`states.LOOK`), and what is still open stays empty.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QProgressBar, QStyle, QStyledItemDelegate, QWidget
from PySide6.QtWidgets import QStyleOptionViewItem as ViewItem

from jobdesk.ui import states

ProgressRole = Qt.ItemDataRole.UserRole + 2

Segment = tuple[int, str]  # how many, and the state whose colour they take


# What is still under way is drawn in the running colour, whatever wait it is in.
_LOOK = {"Scheduled": "Running", "Rescheduled": "Running"}


def segments_for(done: int, total: int, state: str) -> list[Segment]:
    """One row's progress (the jobs list, a task's steps): what is done, in the colour of
    how it ended or runs — green only when it succeeded."""
    return [(min(done, total), _LOOK.get(state, state))]


def paint_segments(painter: QPainter, rect: QRect, segments: Sequence[Segment], total: int,
                   text: str, palette: QPalette) -> None:
    """Segments left to right over an empty trough, the text centred on top."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    trough = QRectF(rect).adjusted(0.5, 0.5, -0.5, -0.5)
    painter.setPen(palette.color(QPalette.ColorRole.Mid))
    painter.setBrush(palette.color(QPalette.ColorRole.Base))
    painter.drawRect(trough)
    inner = QRectF(rect).adjusted(1, 1, -1, -1)
    left = inner.left()
    dark = False
    for count, state in segments:
        if count <= 0 or total <= 0:
            continue
        width = inner.width() * count / total
        fill = QColor(states.colour(state))
        fill.setAlpha(200)
        painter.fillRect(QRectF(left, inner.top(), width, inner.height()), fill)
        dark = dark or width > inner.width() / 2
        left += width
    painter.setPen(QColor("white") if dark else palette.color(QPalette.ColorRole.Text))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


class ProgressDelegate(QStyledItemDelegate):
    """Reads `(done, total, state)` from ProgressRole and draws it by outcome; no widget
    per row."""

    def paint(self, painter: QPainter, option: ViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        value = index.data(ProgressRole)
        if not value:
            super().paint(painter, option, index)
            return
        done, total, state = value
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        paint_segments(painter, option.rect.adjusted(3, 3, -3, -3),
                       segments_for(done, total, state), max(total, 1), f"{done}/{total}",
                       option.palette)


class OutcomeBar(QProgressBar):
    """The job's tasks as a bar of outcomes: succeeded, failed, cancelled or replaced, the
    open ones empty. `value()` stays the number finished, for whoever reads it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._segments: list[Segment] = []
        self._shown: tuple[list[Segment], int] | None = None  # what set_outcomes last showed
        self.setTextVisible(True)

    def set_outcomes(self, segments: Sequence[Segment], total: int) -> None:
        shown = [s for s in segments if s[0] > 0]
        if (shown, total) == self._shown:
            return  # nothing new: each call into Qt below waits for the interpreter
        self._segments, self._shown = shown, (shown, total)
        finished = sum(count for count, _ in self._segments)
        # QProgressBar.setValue repaints at once, not at the next paint: with the window
        # behind it (labels, the tasks table) that was up to 100 ms in one refresh while
        # the runtime held the interpreter. Updates off makes it wait for the one below.
        self.setUpdatesEnabled(False)
        try:
            self.setRange(0, max(total, 1))
            self.setValue(min(finished, max(total, 1)))
            words = ", ".join(f"{count} {state.lower()}" for count, state in self._segments)
            self.setFormat(f"{finished}/{total} finished" + (f": {words}" if words else ""))
            self.setToolTip(self.format())
        finally:
            self.setUpdatesEnabled(True)
        self.update()

    def outcomes(self) -> list[Segment]:
        return list(self._segments)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        text = self.format() if self.fontMetrics().horizontalAdvance(self.format()) < \
            self.width() - 8 else f"{self.value()}/{self.maximum()}"
        paint_segments(painter, self.rect(), self._segments, self.maximum(), text,
                       self.palette())
        painter.end()
