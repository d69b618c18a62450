"""Adding, editing and importing devices, for every place in the window that offers it.

The devices page and the New-job dialog (when there are no devices yet) both let a
person add a device or import a CSV inventory; this object does it the same way for
both: the device dialog (with the password going to the keyring), the file chooser, the
save or import on the store's worker thread, and the import report.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QWidget

from jobdesk.devices.secrets import SecretStore
from jobdesk.domain.inventory import DeviceInput
from jobdesk.runtime.inventory_file import ImportResult, import_inventory
from jobdesk.store.records import DeviceRecord
from jobdesk.ui.context import AppContext
from jobdesk.ui.device_dialog import DeviceDialog
from jobdesk.ui.file_dialogs import choose_file
from jobdesk.ui.gateway import StoreGateway, while_alive
from jobdesk.ui.import_report import ImportReportDialog

_IMPORT_FILTER = "CSV files (*.csv *.txt);;All files (*)"


def _password_place(backend: str) -> str:
    return "the system keyring" if backend == "keyring" else backend.removeprefix("file ")


class InventoryEditor(QObject):
    """Opens the dialogs over `parent` and saves off the UI thread.

    `changed(names)` follows every stored change (names to select, or None after an
    import); `message(text, error)` says what happened; `importing(bool)` brackets an
    import so its button can wait.
    """

    changed = Signal(object)  # list[str] | None
    message = Signal(str, bool)
    importing = Signal(bool)

    def __init__(self, context: AppContext, gateway: StoreGateway, parent: QWidget) -> None:
        super().__init__(parent)
        self._context = context
        self._gateway = gateway
        self._parent = parent
        # gateway replies are dropped once this editor or its window is gone
        self._alive = while_alive(self, self._parent)
        self.dialog: DeviceDialog | None = None
        self.import_report: ImportReportDialog | None = None

    # --- one device ---------------------------------------------------------------------

    def add_device(self, taken: Sequence[str]) -> None:
        self._open_dialog(DeviceDialog(taken_names=taken,
                                       profiles=self._context.profile_names(),
                                       defer_accept=True, parent=self._parent))

    def edit_device(self, record: DeviceRecord) -> None:
        self._open_dialog(DeviceDialog(record, profiles=self._context.profile_names(),
                                       defer_accept=True, parent=self._parent))

    def _open_dialog(self, dialog: DeviceDialog) -> None:
        """Open it without blocking; saving happens off the UI thread, then it closes."""
        if self.dialog is not None and shiboken6.isValid(self.dialog):
            self.dialog.close()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.submitted.connect(partial(self._save, dialog))
        dialog.finished.connect(self._forget_dialog)
        self.dialog = dialog
        dialog.open()
        data_dir = self._context.data_dir
        # Finding the keyring may ask the desktop's secret service: not on the UI thread.
        self._gateway.call(lambda: SecretStore(data_dir).backend,
                           self._alive(partial(self._say_password_store, dialog)),
                           lambda _message: None)

    @staticmethod
    def _say_password_store(dialog: DeviceDialog, backend: str) -> None:
        if shiboken6.isValid(dialog):
            dialog.set_password_store(backend)

    @Slot()
    def _forget_dialog(self) -> None:
        self.dialog = None

    def _save(self, dialog: DeviceDialog, device: DeviceInput) -> None:
        """Add or update in the background; the dialog closes on success, else says why."""
        devices = self._context.store.devices
        data_dir = self._context.data_dir
        editing = dialog.editing
        password = dialog.password()
        now = self._context.clock.now()

        def work() -> tuple[DeviceRecord, str | None]:
            record = devices.update(device) if editing else devices.add(device, now)
            if password is None:
                return record, None
            secrets = SecretStore(data_dir)
            secrets.set_password(record.name, password)
            return record, secrets.backend

        def done(result: tuple[DeviceRecord, str | None]) -> None:
            record, backend = result
            if shiboken6.isValid(dialog):
                dialog.accept()
            text = f"{'Saved' if editing else 'Added'} {record.name}."
            if backend is not None:
                text += f" Its password is kept in {_password_place(backend)}."
            self.message.emit(text, False)
            self.changed.emit([record.name])

        def failed(message: str) -> None:
            if shiboken6.isValid(dialog):
                dialog.show_error(message)
            else:
                self.message.emit(f"{device.name} was not saved: {message}", True)

        self._gateway.call(work, self._alive(done), self._alive(failed))

    # --- an inventory file --------------------------------------------------------------

    def import_csv(self) -> None:
        """Choose an inventory file; the import starts once one is chosen."""
        self.file_dialog = choose_file(self._parent, "Import inventory", "", _IMPORT_FILTER,
                                       self.import_file)

    @Slot(str)
    def import_file(self, path: str) -> None:
        if not path:
            return
        store = self._context.store
        profiles = self._context.profile_names()
        now = self._context.clock.now()
        file_path = Path(path)
        self.importing.emit(True)
        self.message.emit(f"Importing {file_path.name}…", False)

        def done(result: ImportResult) -> None:
            self.importing.emit(False)
            self.message.emit("", False)
            self._show_import_report(result)
            if result.added or result.updated:
                self.changed.emit(None)

        def failed(message: str) -> None:
            self.importing.emit(False)
            self.message.emit(f"The inventory was not changed: {message}", True)

        self._gateway.call(
            lambda: import_inventory(file_path, store, profiles, now), self._alive(done),
            self._alive(failed),
        )

    def _show_import_report(self, result: ImportResult) -> None:
        report = ImportReportDialog(result, self._parent)
        report.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        report.finished.connect(self._forget_report)
        self.import_report = report
        report.open()

    @Slot()
    def _forget_report(self) -> None:
        self.import_report = None

