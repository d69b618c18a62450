"""Table models that answer Qt in one call into Python per cell, not nine.

Why: the runtime runs Python on its own thread, so every call Qt makes from the window's
thread into Python first waits for the interpreter lock (up to the interpreter's switch
interval, 5 ms, when the runtime is busy). Painting a table asks each visible cell for its
index (`QAbstractTableModel::index` checks it against `rowCount` and `columnCount`, two
calls into Python) and for seven roles (font, alignment, colours, check state, icon,
text), so a 20-row, 9-column view made ~1,600 such waits per paint while 200 devices ran:
the window's worst stalls. Qt 6's delegates ask for all of a cell's roles at once
(`multiData`) and an index can be made without the check's calls; with both, a cell costs
two calls.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QModelRoleData,
    QModelRoleDataSpan,
    QPersistentModelIndex,
)

Index = QModelIndex | QPersistentModelIndex


class OneCallPerCell:
    """Mix into a flat `QAbstractTableModel` (before it) that implements `data()`."""

    def multiData(self, index: Index, roles: QModelRoleDataSpan | QModelRoleData) -> None:
        answer = self.data  # type: ignore[attr-defined]
        if isinstance(roles, QModelRoleData):
            roles.setData(answer(index, roles.role()))
            return
        for role_data in roles:
            role_data.setData(answer(index, role_data.role()))

    def index(self, row: int, column: int,
              parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008 - Qt's signature
        if (parent.isValid() or row < 0 or column < 0
                or row >= self.rowCount() or column >= self.columnCount()):  # type: ignore[attr-defined]
            return QModelIndex()
        return self.createIndex(row, column)  # type: ignore[attr-defined,no-any-return]

