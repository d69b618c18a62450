"""What an inventory import did, shown to the person who started it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from jobdesk.runtime.inventory_file import ImportResult


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class ImportReportDialog(QDialog):
    """What an import did, with each rejected line, its number and its problem."""

    def __init__(self, result: ImportResult, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result = result
        self.setWindowTitle("Inventory import")
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setObjectName("summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        self.rejected_table = QTableWidget(len(result.rejected), 3)
        self.rejected_table.setObjectName("rejected")
        self.rejected_table.setHorizontalHeaderLabels(["Line", "Problem", "Text"])
        self.rejected_table.verticalHeader().hide()
        self.rejected_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.rejected_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.rejected_table.setWordWrap(True)  # a problem is a sentence: show all of it
        for row, line in enumerate(result.rejected):
            number = QTableWidgetItem()
            number.setData(Qt.ItemDataRole.DisplayRole, line.line)
            self.rejected_table.setItem(row, 0, number)
            problem = QTableWidgetItem(line.problem)
            problem.setToolTip(line.problem)
            self.rejected_table.setItem(row, 1, problem)
            self.rejected_table.setItem(row, 2, QTableWidgetItem(line.text))
        header = self.rejected_table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setStretchLastSection(True)
        self.rejected_table.setColumnWidth(0, 56)
        self.rejected_table.setColumnWidth(1, 440)
        self.rejected_table.resizeRowsToContents()
        layout.addWidget(self.rejected_table, 1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        if result.rejected:
            copy = QPushButton("Copy rejected lines")
            copy.setToolTip("Copy the rejected lines and their problems, to fix them elsewhere")
            copy.clicked.connect(self._copy)
            buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        layout.addWidget(buttons)

        if result.error is not None:
            self.summary.setText(f"Nothing was imported from {result.file_name}: {result.error}")
            self.summary.setStyleSheet("color: #b91c1c;")
            self.rejected_table.hide()
            self.resize(520, 140)
        else:
            text = (
                f"Imported {result.file_name}: {plural(result.added, 'device')} added, "
                f"{result.updated} updated."
            )
            if result.rejected:
                text += (
                    f" {plural(len(result.rejected), 'line')} rejected and not imported; "
                    "fix them and import the file again (devices already there are only "
                    "updated):"
                )
            else:
                self.rejected_table.hide()
            self.summary.setText(text)
            self.resize(820, 420 if result.rejected else 140)

    @Slot()
    def _copy(self) -> None:
        text = "\n".join(f"line {r.line}: {r.problem}\t{r.text}" for r in self.result.rejected)
        QGuiApplication.clipboard().setText(text)
