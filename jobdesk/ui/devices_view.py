"""The devices page: the inventory's table, its filter and the actions that change it.

Every store read or write and every file read goes through the `StoreGateway`, so the
window never waits on the database or the disk; results come back as callbacks on the
UI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPoint,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from jobdesk.domain.inventory import DeviceInput
from jobdesk.runtime.actions import remove_device
from jobdesk.runtime.inventory_file import ImportResult, import_inventory
from jobdesk.store.devices import DeviceError
from jobdesk.store.records import DeviceRecord
from jobdesk.ui.context import AppContext
from jobdesk.ui.device_dialog import DeviceDialog
from jobdesk.ui.devices_model import Column, DevicesModel
from jobdesk.ui.file_dialogs import choose_file
from jobdesk.ui.gateway import StoreGateway
from jobdesk.ui.import_report import ImportReportDialog, plural


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
            text = plural(total, "device") if shown == total else f"{shown} of {total} shown"
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
            f"Remove {plural(len(names), 'device')} from the inventory: {listed}?\n\n"
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
                    text += f" Removed {plural(len(removed), 'device')}."
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
