"""The device inventory in the window: a sortable, filterable table and its actions.

The model holds plain `DeviceRecord`s and sorts and filters them itself: a proxy model
would call back into Python for every comparison, and the inventory can hold a few
thousand routers. Every store read or write and every file read goes through the
`StoreGateway`, so the window never waits on the database or the disk; results come
back as callbacks on the UI thread.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from functools import cache, partial
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRectF,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QGuiApplication,
    QIcon,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from jobdesk.domain.inventory import DeviceInput
from jobdesk.runtime.actions import remove_device
from jobdesk.runtime.inventory_file import ImportResult, import_inventory
from jobdesk.store.devices import DeviceError
from jobdesk.store.records import DeviceRecord
from jobdesk.ui import states
from jobdesk.ui.context import AppContext
from jobdesk.ui.device_dialog import DeviceDialog
from jobdesk.ui.file_dialogs import choose_file
from jobdesk.ui.gateway import StoreGateway

Index = QModelIndex | QPersistentModelIndex

RECORD_ROLE = int(Qt.ItemDataRole.UserRole) + 1
"""`data(index, RECORD_ROLE)` is the row's `DeviceRecord`, for callers that need all of it."""

TIME_FORMAT = "%Y-%m-%d %H:%M"


class Column(IntEnum):
    NAME = 0
    ADDRESS = 1
    PROFILE = 2
    MODEL = 3
    FIRMWARE = 4
    LAST_SEEN = 5
    CERTIFICATE = 6
    TAGS = 7


HEADERS = {
    Column.NAME: "Name",
    Column.ADDRESS: "Address",
    Column.PROFILE: "Profile",
    Column.MODEL: "Model",
    Column.FIRMWARE: "Firmware",
    Column.LAST_SEEN: "Last seen",
    Column.CERTIFICATE: "Certificate expires",
    Column.TAGS: "Tags",
}

# Expiry looks: text colour, cell tint. The text always says it too (never colour alone).
_EXPIRED = ("#b91c1c", "#fee2e2")
_EXPIRING = ("#92400e", "#fef3c7")


def local_time(value: datetime | None) -> str:
    """An instant in the laptop's local time, to the minute: what people compare to a clock."""
    return value.astimezone().strftime(TIME_FORMAT) if value is not None else ""


def address(record: DeviceRecord) -> str:
    """host:port, with an IPv6 address in brackets so the port stays readable."""
    host = record.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{record.port}"


def _natural(text: str) -> tuple[Any, ...]:
    """Sort key where "router-9" comes before "router-10" and 10.0.0.9 before 10.0.0.10."""
    parts = re.split(r"(\d+)", text.lower())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def expiry_note(expires: datetime | None, now: datetime, warn_before: timedelta) -> str | None:
    """Words for a certificate that has expired or expires within `warn_before`, else None."""
    if expires is None:
        return None
    left = expires - now
    if left <= timedelta(0):
        ago = -left
        return f"expired {ago.days} d ago" if ago.days >= 1 else "expired today"
    if left > warn_before:
        return None
    if left.days >= 1:
        return f"expires in {left.days} d"
    hours = max(1, int(left.total_seconds() // 3600))
    return f"expires in {hours} h"


@cache
def _warning_icon(size: int = 16) -> QIcon:
    """An amber triangle with "!": a shape, not only a colour, for "expires soon"."""
    image = QPixmap(size, size)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = float(size)
    path = QPainterPath(QPointF(s / 2, s * 0.06))
    path.lineTo(s * 0.96, s * 0.92)
    path.lineTo(s * 0.04, s * 0.92)
    path.closeSubpath()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#d97706"))
    painter.drawPath(path)
    painter.setBrush(QColor("white"))
    painter.drawRect(QRectF(s * 0.45, s * 0.34, s * 0.1, s * 0.32))
    painter.drawEllipse(QPointF(s / 2, s * 0.78), s * 0.06, s * 0.06)
    painter.end()
    return QIcon(image)


_SORT_KEYS: dict[Column, Callable[[DeviceRecord], Any]] = {
    Column.NAME: lambda r: _natural(r.name),
    Column.ADDRESS: lambda r: (_natural(r.host), r.port),
    Column.PROFILE: lambda r: r.profile.lower(),
    Column.MODEL: lambda r: r.model.lower() if r.model else None,
    Column.FIRMWARE: lambda r: _natural(r.firmware) if r.firmware else None,
    Column.LAST_SEEN: lambda r: r.last_seen_at,
    Column.CERTIFICATE: lambda r: r.cert_expires_at,
    Column.TAGS: lambda r: tuple(t.lower() for t in r.tags) or None,
}


class DevicesModel(QAbstractTableModel):
    """The inventory as a table; sorting and filtering happen here, in plain Python lists.

    `set_devices` replaces the rows in place (dataChanged) when the visible devices are the
    same ones in the same order, which is what a periodic refresh gives, so selection and
    scroll position survive; otherwise it resets, and the view re-selects by name.
    """

    def __init__(
        self,
        now: Callable[[], datetime] | None = None,
        warn_before: timedelta = timedelta(days=30),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._now = now or (lambda: datetime.now(UTC))
        self._warn_before = warn_before
        self._all: list[DeviceRecord] = []  # sorted
        self._rows: list[DeviceRecord] = []  # sorted and filtered: what the view shows
        self._haystacks: dict[str, str] = {}
        self._words: list[str] = []
        self._sort_column = Column.NAME
        self._sort_order = Qt.SortOrder.AscendingOrder

    # --- the data -----------------------------------------------------------------------

    def set_devices(self, records: Iterable[DeviceRecord]) -> None:
        records = list(records)
        haystacks = {r.name: self._haystack(r) for r in records}
        new_all = self._sorted(records)
        new_rows = [r for r in new_all if self._matches(haystacks[r.name])]
        if [r.name for r in new_rows] == [r.name for r in self._rows]:
            self._all, self._rows, self._haystacks = new_all, new_rows, haystacks
            if new_rows:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(len(new_rows) - 1, len(Column) - 1)
                )
            return
        self.beginResetModel()
        self._all, self._rows, self._haystacks = new_all, new_rows, haystacks
        self.endResetModel()

    def set_filter(self, text: str) -> None:
        """Show only devices whose name, address, tags or model contain every word typed."""
        words = text.lower().split()
        if words == self._words:
            return
        self.beginResetModel()
        self._words = words
        self._rows = [r for r in self._all if self._matches(self._haystacks[r.name])]
        self.endResetModel()

    def devices(self) -> list[DeviceRecord]:
        """Every device loaded, shown or filtered out."""
        return list(self._all)

    def total_count(self) -> int:
        return len(self._all)

    def record(self, row: int) -> DeviceRecord:
        return self._rows[row]

    def row_of(self, name: str) -> int | None:
        for row, record in enumerate(self._rows):
            if record.name == name:
                return row
        return None

    @staticmethod
    def _haystack(record: DeviceRecord) -> str:
        return " ".join(
            [record.name, address(record), record.model or "", *record.tags]
        ).lower()

    def _matches(self, haystack: str) -> bool:
        return all(word in haystack for word in self._words)

    # --- sorting ------------------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in the model; the view's selection follows its devices to their new rows."""
        if not 0 <= column < len(Column):
            return
        self._sort_column, self._sort_order = Column(column), order
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        kept = [(self._rows[i.row()].name, i.column()) for i in persistent]
        self._all = self._sorted(self._all)
        self._rows = [r for r in self._all if self._matches(self._haystacks[r.name])]
        rows = {r.name: row for row, r in enumerate(self._rows)}
        self.changePersistentIndexList(
            persistent, [self.index(rows[name], column) for name, column in kept]
        )
        self.layoutChanged.emit()

    def _sorted(self, records: Sequence[DeviceRecord]) -> list[DeviceRecord]:
        """Sorted by the chosen column, ties by name; devices without a value go last."""
        key = _SORT_KEYS[self._sort_column]
        by_name = sorted(records, key=lambda r: _natural(r.name))
        present = [r for r in by_name if key(r) is not None]
        missing = [r for r in by_name if key(r) is None]
        descending = self._sort_order == Qt.SortOrder.DescendingOrder
        present.sort(key=key, reverse=descending)  # stable: ties stay in name order
        return present + missing

    # --- Qt's side ----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        if role == Qt.ItemDataRole.ToolTipRole and section == Column.CERTIFICATE:
            days = self._warn_before.days
            return f"Marked when the certificate has expired or expires within {days} days."
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        record = self._rows[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(record, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._details(record)
        if role == RECORD_ROLE:
            return record
        if column == Column.CERTIFICATE and role in (
            Qt.ItemDataRole.DecorationRole,
            Qt.ItemDataRole.ForegroundRole,
            Qt.ItemDataRole.BackgroundRole,
        ):
            return self._certificate_look(record, role)
        return None

    def _text(self, record: DeviceRecord, column: Column) -> str:
        if column == Column.NAME:
            return record.name
        if column == Column.ADDRESS:
            return address(record)
        if column == Column.PROFILE:
            return record.profile
        if column == Column.MODEL:
            return record.model or ""
        if column == Column.FIRMWARE:
            return record.firmware or ""
        if column == Column.LAST_SEEN:
            return local_time(record.last_seen_at) if record.last_seen_at else "never"
        if column == Column.CERTIFICATE:
            note = expiry_note(record.cert_expires_at, self._now(), self._warn_before)
            when = local_time(record.cert_expires_at)
            return f"{when} · {note}" if note else when
        return ", ".join(record.tags)

    def _certificate_look(self, record: DeviceRecord, role: int) -> Any:
        expires = record.cert_expires_at
        if expires is None:
            return None
        left = expires - self._now()
        if left > self._warn_before:
            return None
        expired = left <= timedelta(0)
        if role == Qt.ItemDataRole.DecorationRole:
            return states.icon("Failed") if expired else _warning_icon()
        text, tint = _EXPIRED if expired else _EXPIRING
        return QBrush(QColor(text if role == Qt.ItemDataRole.ForegroundRole else tint))

    def _details(self, record: DeviceRecord) -> str:
        """Everything known about the device, for the tooltip of any of its cells."""
        note = expiry_note(record.cert_expires_at, self._now(), self._warn_before)
        certificate = local_time(record.cert_expires_at) or "unknown"
        if note:
            certificate += f" ({note})"
        lines = [
            f"{record.name}  —  {record.user}@{address(record)}",
            f"Profile: {record.profile}",
            f"Key file: {record.key_path or 'default'}",
            f"Model: {record.model or 'unknown'}   Serial: {record.serial or 'unknown'}",
            f"Firmware: {record.firmware or 'unknown'}",
            f"Last seen: {local_time(record.last_seen_at) or 'never'}",
            f"Info updated: {local_time(record.info_updated_at) or 'never'}",
            f"Certificate expires: {certificate}",
        ]
        if record.cert_fingerprint:
            lines.append(f"Certificate fingerprint: {record.cert_fingerprint}")
        lines.append(f"Tags: {', '.join(record.tags) or 'none'}")
        return "\n".join(lines)


# --- CSV import ----------------------------------------------------------------------------


def _plural(count: int, word: str) -> str:
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
                f"Imported {result.file_name}: {_plural(result.added, 'device')} added, "
                f"{result.updated} updated."
            )
            if result.rejected:
                text += (
                    f" {_plural(len(result.rejected), 'line')} rejected and not imported; "
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


# --- the view ------------------------------------------------------------------------------


class DevicesView(QWidget):
    """The inventory page: filter, table, and the actions that change the inventory."""

    createJobRequested = Signal(object)  # list[str]: the selected device names, in view order
    devicesChanged = Signal()  # the inventory changed here (added, edited, removed, imported)

    def __init__(
        self, context: AppContext, gateway: StoreGateway, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._gateway = gateway
        self._kept_names: list[str] = []
        self._kept_current: tuple[str, int] | None = None
        self._select_after_load: list[str] | None = None
        self._loaded_once = False
        self._loading = False
        self.dialog: DeviceDialog | None = None
        self.import_report: ImportReportDialog | None = None

        self.model = DevicesModel(context.clock.now, context.settings.cert_renew_before, self)

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("deviceFilter")
        self.filter_edit.setPlaceholderText("Filter by name, address, tag or model")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.model.set_filter)
        self.count_label = QLabel("Loading devices…")
        self.count_label.setObjectName("deviceCount")

        self.add_action = QAction("Add…", self)
        self.add_action.setToolTip("Add one device")
        self.add_action.triggered.connect(self.add_device)
        self.edit_action = QAction("Edit…", self)
        self.edit_action.setToolTip("Change the selected device's address, login and tags")
        self.edit_action.triggered.connect(self.edit_selected)
        self.remove_action = QAction("Remove…", self)
        self.remove_action.setToolTip("Remove the selected devices (their job history is kept)")
        self.remove_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.remove_action.triggered.connect(self.remove_selected)
        self.import_action = QAction("Import CSV…", self)
        self.import_action.setToolTip(
            "Add or update devices from a CSV file with the header "
            "name,host,port,user,profile,tags"
        )
        self.import_action.triggered.connect(self.import_csv)
        self.create_job_action = QAction("Create job…", self)
        self.create_job_action.setToolTip("Create a job for the selected devices")
        self.create_job_action.triggered.connect(self.request_job)
        find = QAction("Find", self)
        find.setShortcut(QKeySequence(QKeySequence.StandardKey.Find))
        find.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.triggered.connect(self._focus_filter)
        self.addActions([self.remove_action, find])

        self.filter_edit.setMinimumWidth(240)
        self.filter_edit.setMaximumWidth(420)
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.count_label)
        top.addStretch(1)
        for group in (
            (self.add_action, self.edit_action, self.remove_action),
            (self.import_action,),
            (self.create_job_action,),
        ):
            for action in group:
                # Toolbar convention drops the "…" from iconText; these buttons open
                # dialogs, so keep it.
                action.setIconText(action.text())
                button = QToolButton()
                button.setDefaultAction(action)
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
                top.addWidget(button)
            top.addSpacing(8)

        self.message_frame = QFrame()
        self.message_frame.setObjectName("deviceMessage")
        self.message_frame.setFrameShape(QFrame.Shape.StyledPanel)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        dismiss = QToolButton()
        dismiss.setText("Dismiss")
        dismiss.clicked.connect(self.message_frame.hide)
        message_row = QHBoxLayout(self.message_frame)
        message_row.setContentsMargins(8, 4, 4, 4)
        message_row.addWidget(self.message_label, 1)
        message_row.addWidget(dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self.message_frame.hide()

        self.table = QTableView()
        self.table.setObjectName("devicesTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSortIndicator(Column.NAME, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_context_menu)
        self.table.doubleClicked.connect(self._on_double_click)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        # Connected after setModel, so these run after the view's own reset handling.
        self.model.modelAboutToBeReset.connect(self._remember_selection)
        self.model.modelReset.connect(self._restore_selection)
        self.model.modelReset.connect(self._update_actions)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message_frame)
        layout.addWidget(self.table, 1)
        self._update_actions()

    # --- loading --------------------------------------------------------------------------

    def reload(self) -> None:
        """Load the inventory in the background; the table keeps its selection by name."""
        self._loading = True
        self._gateway.call(
            self._context.store.devices.list, self._guard(self._on_loaded),
            self._guard(self._on_load_failed),
        )

    def _guard(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        """A gateway callback that does nothing once this widget has been deleted."""

        def guarded(value: Any) -> None:
            if shiboken6.isValid(self):
                callback(value)

        return guarded

    def _on_loaded(self, records: list[DeviceRecord]) -> None:
        self._loading = False
        self.model.set_devices(records)
        if self._select_after_load is not None:
            self.select_names(self._select_after_load)
            self._select_after_load = None
        if not self._loaded_once and records:
            self._loaded_once = True
            self._fit_columns()
        self._update_actions()

    def _on_load_failed(self, message: str) -> None:
        self._loading = False
        self.show_message(f"The devices could not be loaded: {message}", error=True)
        self._update_actions()

    def _fit_columns(self) -> None:
        """Size columns to their contents once; after that the user's widths are kept."""
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        for column in Column:
            if column != Column.TAGS:
                width = header.sectionSize(column) + 16
                header.resizeSection(column, min(width, 320))

    # --- selection ------------------------------------------------------------------------

    def selected_names(self) -> list[str]:
        """The selected devices' names, top to bottom as shown."""
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [self.model.record(row).name for row in rows]

    def select_names(
        self, names: Iterable[str], current: str | None = None, column: int = 0
    ) -> None:
        """Select these devices (those shown); the current row goes to `current` or the first."""
        wanted = set(names)
        rows = [row for row in range(self.model.rowCount()) if self.model.record(row).name
                in wanted]
        selection = QItemSelection()
        last = self.model.columnCount() - 1
        start = previous = None
        for row in [*rows, None]:
            if start is not None and (row is None or row != previous + 1):
                selection.select(self.model.index(start, 0), self.model.index(previous, last))
                start = None
            if row is not None and start is None:
                start = row
            previous = row
        flags = (
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows
        )
        selection_model = self.table.selectionModel()
        selection_model.select(selection, flags)
        current_row = self.model.row_of(current) if current else None
        if current_row is None and rows:
            current_row = rows[0]
        if current_row is not None:
            index = self.model.index(current_row, column)
            selection_model.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
            self.table.scrollTo(index)

    @Slot()
    def _remember_selection(self) -> None:
        self._kept_names = self.selected_names()
        current = self.table.currentIndex()
        self._kept_current = (
            (self.model.record(current.row()).name, current.column())
            if current.isValid() else None
        )

    @Slot()
    def _restore_selection(self) -> None:
        if self._kept_names:
            current, column = self._kept_current or (None, 0)
            self.select_names(self._kept_names, current, column)

    @Slot()
    def _update_actions(self) -> None:
        count = len(self.table.selectionModel().selectedRows())
        self.edit_action.setEnabled(count == 1)
        self.remove_action.setEnabled(count >= 1)
        self.create_job_action.setEnabled(count >= 1)
        shown, total = self.model.rowCount(), self.model.total_count()
        if total == 0:
            text = (
                "Loading devices…" if self._loading and not self._loaded_once
                else "No devices yet: add one or import a CSV inventory"
            )
        else:
            text = _plural(total, "device") if shown == total else f"{shown} of {total} shown"
            if count:
                text += f" · {count} selected"
        self.count_label.setText(text)

    # --- messages -------------------------------------------------------------------------

    def show_message(self, text: str, *, error: bool = False) -> None:
        """A line above the table; refusals stay until dismissed or replaced."""
        self.message_label.setText(text)
        self.message_frame.setStyleSheet(
            "#deviceMessage { background: #fee2e2; color: #7f1d1d; }" if error
            else "#deviceMessage { background: #e0f2fe; color: #0c4a6e; }"
        )
        self.message_label.setStyleSheet("color: #7f1d1d;" if error else "color: #0c4a6e;")
        self.message_frame.show()

    def message(self) -> str:
        """The text above the table, or "" when none is shown."""
        return self.message_label.text() if not self.message_frame.isHidden() else ""

    # --- actions --------------------------------------------------------------------------

    @Slot()
    def add_device(self) -> None:
        taken = [r.name for r in self.model.devices()]
        self._open_dialog(DeviceDialog(taken_names=taken, profiles=self._context.profile_names(),
                                       defer_accept=True, parent=self))

    @Slot()
    def edit_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if len(rows) != 1:
            return
        record = self.model.record(rows[0].row())
        self._open_dialog(DeviceDialog(record, profiles=self._context.profile_names(),
                                       defer_accept=True, parent=self))

    def _open_dialog(self, dialog: DeviceDialog) -> None:
        """Open it without blocking; saving happens off the UI thread, then it closes."""
        if self.dialog is not None and shiboken6.isValid(self.dialog):
            self.dialog.close()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.submitted.connect(partial(self._save, dialog))
        dialog.finished.connect(self._forget_dialog)
        self.dialog = dialog
        dialog.open()

    @Slot()
    def _forget_dialog(self) -> None:
        self.dialog = None

    def _save(self, dialog: DeviceDialog, device: DeviceInput) -> None:
        """Add or update in the background; the dialog closes on success, else says why."""
        devices = self._context.store.devices
        editing = dialog.editing
        now = self._context.clock.now()

        def work() -> DeviceRecord:
            return devices.update(device) if editing else devices.add(device, now)

        def done(record: DeviceRecord) -> None:
            if shiboken6.isValid(dialog):
                dialog.accept()
            self.show_message(f"{'Saved' if editing else 'Added'} {record.name}.")
            self._changed([record.name])

        def failed(message: str) -> None:
            if shiboken6.isValid(dialog):
                dialog.show_error(message)
            else:
                self.show_message(f"{device.name} was not saved: {message}", error=True)

        self._gateway.call(work, self._guard(done), self._guard(failed))

    @Slot()
    def remove_selected(self) -> None:
        names = self.selected_names()
        if not names:
            return
        listed = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10
                                           else "")
        answer = QMessageBox.question(
            self,
            "Remove devices",
            f"Remove {_plural(len(names), 'device')} from the inventory: {listed}?\n\n"
            "Finished job history is kept. A device with open tasks is not removed.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        store, data_dir = self._context.store, self._context.data_dir

        def work() -> tuple[list[str], list[str]]:
            removed, refused = [], []
            for name in names:  # one transaction each: a refusal keeps the others
                try:
                    remove_device(store, data_dir, name)
                    removed.append(name)
                except DeviceError as error:
                    refused.append(str(error))
            return removed, refused

        def done(result: tuple[list[str], list[str]]) -> None:
            removed, refused = result
            if refused:
                text = "Not removed: " + "; ".join(refused) + "."
                if removed:
                    text += f" Removed {_plural(len(removed), 'device')}."
                self.show_message(text, error=True)
            else:
                self.show_message(f"Removed {', '.join(removed)}.")
            if removed:
                self._changed(None)

        self._gateway.call(work, self._guard(done), self._guard(self._on_write_failed))

    @Slot()
    def import_csv(self) -> None:
        """Choose an inventory file; the import starts once one is chosen."""
        self.file_dialog = choose_file(
            self, "Import inventory", "", "CSV files (*.csv *.txt);;All files (*)",
            self.import_file,
        )

    @Slot(str)
    def import_file(self, path: str) -> None:
        if not path:
            return
        store = self._context.store
        profiles = self._context.profile_names()
        now = self._context.clock.now()
        file_path = Path(path)
        self.import_action.setEnabled(False)
        self.show_message(f"Importing {file_path.name}…")

        def done(result: ImportResult) -> None:
            self.import_action.setEnabled(True)
            self.message_frame.hide()
            self._show_import_report(result)
            if result.added or result.updated:
                self._changed(None)

        def failed(message: str) -> None:
            self.import_action.setEnabled(True)
            self._on_write_failed(message)

        self._gateway.call(
            lambda: import_inventory(file_path, store, profiles, now), self._guard(done),
            self._guard(failed),
        )

    def _show_import_report(self, result: ImportResult) -> None:
        report = ImportReportDialog(result, self)
        report.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        report.finished.connect(self._forget_report)
        self.import_report = report
        report.open()

    @Slot()
    def _forget_report(self) -> None:
        self.import_report = None

    @Slot()
    def request_job(self) -> None:
        names = self.selected_names()
        if names:
            self.createJobRequested.emit(names)

    def _on_write_failed(self, message: str) -> None:
        self.show_message(f"The inventory was not changed: {message}", error=True)

    def _changed(self, select: list[str] | None) -> None:
        self._select_after_load = select
        self.reload()
        self.devicesChanged.emit()

    # --- small things ---------------------------------------------------------------------

    def context_menu(self) -> QMenu:
        """The table's context menu: the same actions as the buttons, job first."""
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction(self.create_job_action)
        menu.addSeparator()
        menu.addActions([self.add_action, self.edit_action, self.remove_action])
        menu.addSeparator()
        menu.addAction(self.import_action)
        return menu

    @Slot(QPoint)
    def _show_context_menu(self, position: QPoint) -> None:
        self.context_menu().popup(self.table.viewport().mapToGlobal(position))

    @Slot(QModelIndex)
    def _on_double_click(self, index: QModelIndex) -> None:
        if index.isValid():
            self.edit_selected()

    @Slot()
    def _focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()
