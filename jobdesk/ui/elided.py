"""A one-line label that shortens its text with "…" to the room it has, the whole text in
its tooltip.

On a 1366×768 laptop a job's schedule or a window in two zones is longer than the detail
pane is wide; wrapping pushed the buttons over the week strip and a plain label clipped the
text mid-word. Shortened with an ellipsis it keeps its one line and says where more is.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


def fix_size(label: QLabel, *texts: str) -> None:
    """Give a label that changes its text the size of the longest of ``texts``, for good.

    Qt lays a widget's parent out again at each change of its text unless the widget's
    least and greatest sizes are equal, and the parent then repaints all of itself: the
    status bar did, four times a second while devices ran."""
    margins = label.contentsMargins()
    width = max(label.fontMetrics().horizontalAdvance(text) for text in texts)
    label.setFixedSize(width + margins.left() + margins.right() + 2 * label.margin() + 2,
                       label.sizeHint().height())


class ElidedLabel(QLabel):
    """`text()` is the whole text; what is painted fits the width."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self._tip = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setText(text)

    def setText(self, text: str) -> None:
        if text == self._full:
            return  # the detail pane sets its labels at each change of the job; most stay
        self._full = text
        super().setText(text)
        self._update_tooltip()
        self.update()

    def text(self) -> str:
        return self._full

    def setToolTip(self, tip: str) -> None:
        """A tooltip of its own (kept); the whole text is added while it is shortened."""
        self._tip = tip
        self._update_tooltip()

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self._full) > self.contentsRect().width()

    def shown_text(self) -> str:
        """What is painted now."""
        return self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight,
                                             self.contentsRect().width())

    def minimumSizeHint(self) -> QSize:
        return QSize(40, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(min(hint.width(), 600), hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_tooltip()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setFont(self.font())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(), int(self.alignment() | Qt.AlignmentFlag.AlignVCenter),
                         self.shown_text())
        painter.end()

    def _update_tooltip(self) -> None:
        parts = [self._full] if self._full and self.is_elided() else []
        if self._tip:
            parts.append(self._tip)
        super().setToolTip("\n".join(parts))
