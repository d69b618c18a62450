"""A device's history: the jobs that touched it, newest first, with what happened to it.

When a router misbehaves the first question is "what did we do to it lately?"; this
answers it without searching every job. Double-clicking a job shows it on the jobs page.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.times import format_instant
from jobdesk.store.devices import DeviceHistoryEntry
from jobdesk.ui import states

HEADERS = ("Job", "Name", "Type", "Job state", "This device", "Attempts", "Created",
           "Last attempt", "Reason")
_JOB_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1


def _type_title(value: str) -> str:
    try:
        return JobType(value).title
    except ValueError:
        return value


class DeviceHistoryDialog(QDialog):
    """Opens at once saying it is reading; `set_entries` fills it from the worker's answer."""

    jobRequested = Signal(int)

    def __init__(self, device: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.setWindowTitle(f"History of {device}")
        self.summary = QLabel(f"Reading the jobs that touched {device}…")
        self.summary.setObjectName("historySummary")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName("historyTable")
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setStretchLastSection(True)
        self.table.itemDoubleClicked.connect(self._on_double_click)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(900, 420)

    def set_entries(self, entries: Sequence[DeviceHistoryEntry]) -> None:
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            cells = (
                str(entry.job_id),
                entry.job_name + (" (system)" if entry.system else ""),
                _type_title(entry.job_type),
                entry.job_state,
                entry.task_state,
                str(entry.attempts),
                format_instant(entry.created_at),
                format_instant(entry.last_triggered_at),
                entry.reason or "",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(_JOB_ID_ROLE, entry.job_id)
                item.setToolTip(text)
                if column in (3, 4):
                    item.setIcon(states.icon(text))
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        count = len(entries)
        self.summary.setText(
            f"{count} job{'s' if count != 1 else ''} touched {self.device}, newest first; "
            "double-click one to show it." if count
            else f"No job has touched {self.device} yet."
        )

    def show_error(self, message: str) -> None:
        self.summary.setText(f"The history could not be read: {message}")
        self.summary.setStyleSheet("color: #b91c1c;")

    def entry_count(self) -> int:
        return self.table.rowCount()

    @Slot(QTableWidgetItem)
    def _on_double_click(self, item: QTableWidgetItem) -> None:
        self.jobRequested.emit(int(item.data(_JOB_ID_ROLE)))
        self.accept()
