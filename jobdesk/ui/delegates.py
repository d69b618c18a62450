"""Painting helpers for the tables: a drawn progress bar with its `done/total` text."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionProgressBar
from PySide6.QtWidgets import QStyleOptionViewItem as ViewItem

ProgressRole = Qt.ItemDataRole.UserRole + 2


class ProgressDelegate(QStyledItemDelegate):
    """Reads `(done, total)` from ProgressRole and draws it as a bar; no widget per row."""

    def paint(self, painter: QPainter, option: ViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        value = index.data(ProgressRole)
        if not value:
            super().paint(painter, option, index)
            return
        done, total = value
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(3, 3, -3, -3)
        bar.minimum = 0
        bar.maximum = max(total, 1)
        bar.progress = min(done, max(total, 1))
        bar.text = f"{done}/{total}"
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        bar.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)
