"""The devices page: the inventory's table, its filter and the actions that change it.

Every store read or write and every file read goes through the `StoreGateway`, so the
window never waits on the database or the disk; results come back as callbacks on the
UI thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPoint,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QHideEvent, QKeySequence, QShowEvent
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

from jobdesk.runtime.actions import remove_device
from jobdesk.store.devices import DeviceError
from jobdesk.store.records import DeviceRecord
from jobdesk.ui.context import AppContext
from jobdesk.ui.device_dialog import DeviceDialog
from jobdesk.ui.device_history import DeviceHistoryDialog
from jobdesk.ui.devices_model import Column, DevicesModel
from jobdesk.ui.gateway import StoreGateway, while_alive
from jobdesk.ui.import_report import ImportReportDialog, plural
from jobdesk.ui.inventory_editor import InventoryEditor
from jobdesk.ui.runtime_host import RuntimeHost


class DevicesPage(QWidget):
    """The inventory page: filter, table, and the actions that change the inventory."""

    createJobRequested = Signal(object)  # list[str]: the selected device names, in view order
    devicesChanged = Signal()  # the inventory changed here (added, edited, removed, imported)
    showJobRequested = Signal(int)  # a job picked in a device's history: show it

    # Device reports arrive in bursts (a fleet's info refresh): one reload per burst.
    SETTLE_MS = 300

    def __init__(
        self, context: AppContext, gateway: StoreGateway, parent: QWidget | None = None,
        *, poll_ms: int = 10_000,
    ) -> None:
        """`poll_ms`: while the page is on screen it reads the inventory again this often,
        so a change made elsewhere (`jobdesk devices import` in a terminal) shows without
        Refresh; the runtime's device reports and this page's own changes show at once."""
        super().__init__(parent)
        self._context = context
        self._gateway = gateway
        self._kept_names: list[str] = []
        self._kept_current: tuple[str, int] | None = None
        self._select_after_load: list[str] | None = None
        self._loaded_once = False
        self._loading = False
        self._stale = True  # the table may be behind the store: read it when next shown
        self.editor = InventoryEditor(context, gateway, self)
        self.editor.changed.connect(self._changed)
        self.editor.message.connect(self._on_editor_message)
        self.editor.importing.connect(lambda busy: self.import_action.setEnabled(not busy))
        self.history: DeviceHistoryDialog | None = None
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(self.SETTLE_MS)
        self._settle.timeout.connect(self._reload_if_shown)
        self._poll = QTimer(self)
        self._poll.setInterval(poll_ms)
        self._poll.timeout.connect(self._reload_if_shown)

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
        self.refresh_action = QAction("Refresh", self)
        self.refresh_action.setToolTip("Read the inventory again")
        self.refresh_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        self.refresh_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.refresh_action.triggered.connect(self.reload)
        self.history_action = QAction("History…", self)
        self.history_action.setToolTip("The jobs that touched the selected device")
        self.history_action.triggered.connect(self.show_history)
        find = QAction("Find", self)
        find.setShortcut(QKeySequence(QKeySequence.StandardKey.Find))
        find.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.triggered.connect(self._focus_filter)
        self.addActions([self.remove_action, self.refresh_action, find])

        self.filter_edit.setMinimumWidth(240)
        self.filter_edit.setMaximumWidth(420)
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.count_label)
        top.addStretch(1)
        # The actions themselves are in the window's toolbar while this page is current
        # (`page_actions`), in the context menu and in the Devices menu: buttons here as
        # well would make the page wider than a 1024-pixel screen.
        for action in self.page_actions():
            action.setIconText(action.text())  # a toolbar keeps the "…" of a dialog

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

    # --- following the store --------------------------------------------------------------

    def page_actions(self) -> list[QAction]:
        """What this page offers, in toolbar order, for the window to show while the page is
        current; each is enabled only when it can act on the selection."""
        return [self.add_action, self.edit_action, self.remove_action, self.import_action,
                self.refresh_action, self.history_action, self.create_job_action]

    def follow(self, runtime: RuntimeHost) -> None:
        """Redraw a device when it reports itself (model, firmware, last seen) to a job."""
        runtime.deviceChanged.connect(self.device_changed)

    @Slot(object)
    def device_changed(self, _device_id: object = None) -> None:
        """Something about the devices changed in the store: read it again soon if shown,
        else when the page is next shown."""
        self._stale = True
        if self.isVisible():
            self._settle.start()

    def showEvent(self, event: QShowEvent) -> None:
        """Each show reads the inventory (in the background): the first loads it, later
        ones catch up on changes made while the page was hidden."""
        super().showEvent(event)
        self._poll.start()
        if not self._loading:  # a device added in the New-job dialog, say
            self.reload()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._poll.stop()

    @Slot()
    def _reload_if_shown(self) -> None:
        if self.isVisible() and not self._loading:
            self.reload()

    # --- loading --------------------------------------------------------------------------

    def reload(self) -> None:
        """Load the inventory in the background; the table keeps its selection by name."""
        self._stale = False
        self._loading = True
        self._gateway.call(
            self._context.store.devices.list, while_alive(self)(self._on_loaded),
            while_alive(self)(self._on_load_failed),
        )


    def _on_loaded(self, records: list[DeviceRecord]) -> None:
        self._loading = False
        if self._stale and self.isVisible():
            self._settle.start()  # a change arrived while this read was under way
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
        one = "" if count == 1 else "Select one device first"
        some = "" if count else "Select devices first"
        for action, refusal in ((self.edit_action, one), (self.history_action, one),
                                (self.remove_action, some), (self.create_job_action, some)):
            _offer(action, refusal)
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
        self.editor.add_device([r.name for r in self.model.devices()])

    @Slot()
    def edit_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if len(rows) == 1:
            self.editor.edit_device(self.model.record(rows[0].row()))

    @property
    def dialog(self) -> DeviceDialog | None:
        """The add/edit dialog while it is open."""
        return self.editor.dialog

    @property
    def import_report(self) -> ImportReportDialog | None:
        """The last import's report while it is open."""
        return self.editor.import_report

    @property
    def file_dialog(self) -> Any:
        """The inventory file chooser while it is open."""
        return getattr(self.editor, "file_dialog", None)

    def _on_editor_message(self, text: str, error: bool) -> None:
        if text:
            self.show_message(text, error=error)
        else:
            self.message_frame.hide()

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

        self._gateway.call(work, while_alive(self)(done), while_alive(self)(self._on_write_failed))

    @Slot()
    def import_csv(self) -> None:
        """Choose an inventory file; the import starts once one is chosen."""
        self.editor.import_csv()

    @Slot(str)
    def import_file(self, path: str) -> None:
        self.editor.import_file(path)

    @Slot()
    def request_job(self) -> None:
        names = self.selected_names()
        if names:
            self.createJobRequested.emit(names)

    @Slot()
    def show_history(self) -> None:
        """The jobs that touched the selected device, newest first, read off the UI thread."""
        names = self.selected_names()
        if len(names) != 1:
            return
        if self.history is not None and shiboken6.isValid(self.history):
            self.history.close()
        dialog = DeviceHistoryDialog(names[0], self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.jobRequested.connect(self.showJobRequested)
        dialog.finished.connect(self._forget_history)
        self.history = dialog
        dialog.open()
        devices = self._context.store.devices
        self._gateway.call(partial(devices.history, names[0]),
                           while_alive(self)(partial(self._show_history_rows, dialog)),
                           while_alive(self)(partial(self._history_failed, dialog)))

    @staticmethod
    def _show_history_rows(dialog: DeviceHistoryDialog, entries: list[Any]) -> None:
        if shiboken6.isValid(dialog):
            dialog.set_entries(entries)

    @staticmethod
    def _history_failed(dialog: DeviceHistoryDialog, message: str) -> None:
        if shiboken6.isValid(dialog):
            dialog.show_error(message)

    @Slot()
    def _forget_history(self) -> None:
        self.history = None

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
        menu.addAction(self.history_action)
        menu.addSeparator()
        menu.addActions([self.import_action, self.refresh_action])
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


def _offer(action: QAction, refusal: str) -> None:
    """Enable an action, or disable it with the reason as its tooltip (its own tooltip,
    kept in its status tip, comes back once it is enabled)."""
    if not action.statusTip():
        action.setStatusTip(action.toolTip())
    action.setEnabled(not refusal)
    action.setToolTip(refusal or action.statusTip())


DevicesView = DevicesPage  # the name the window has imported so far
