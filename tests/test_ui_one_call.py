"""A table answering in one call per cell looks exactly like one answering role by role."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QTableView

from jobdesk.ui.one_call import OneCallPerCell
from jobdesk.ui.states import icon

Index = QModelIndex | QPersistentModelIndex


class RoleByRole(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 12

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 4

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        self.calls += 1
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return f"r{row} c{column}"
        if role == Qt.ItemDataRole.DecorationRole and column == 1:
            return icon("Failed" if row % 2 else "Succeeded")
        if role == Qt.ItemDataRole.BackgroundRole and column == 1:
            return QColor("#fee2e2")
        return None


class OneCall(OneCallPerCell, RoleByRole):
    pass


def _painted(qtbot: Any, model: QAbstractTableModel) -> QImage:
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(500, 400)
    view.show()
    qtbot.waitExposed(view)
    return view.grab().toImage()


def test_the_same_pixels_as_role_by_role(qtbot: Any) -> None:
    plain, fast = RoleByRole(), OneCall()
    assert _painted(qtbot, plain) == _painted(qtbot, fast)
    assert fast.calls > 0  # the answers came from data(), through multiData


def test_indexes_outside_the_table_are_invalid(qtbot: Any) -> None:
    model = OneCall()
    assert model.index(11, 3).isValid()
    assert not model.index(12, 0).isValid() and not model.index(0, 4).isValid()
    assert not model.index(-1, 0).isValid()
    assert not model.index(0, 0, model.index(0, 0)).isValid()
