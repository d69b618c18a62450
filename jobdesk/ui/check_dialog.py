"""*Check devices…*: the pre-flight check of the job the New-job dialog describes.

The same verdicts as `jobdesk check`, in a table: device, verdict, reason (the fix hint as
the reason's tooltip). Preparing the check reads the inventory, so it goes through the
store's gateway; the check itself talks to devices for up to its timeout, so it runs on a
thread of its own with its own asyncio loop and driver (never the store's worker, which the
window needs meanwhile). The worker touches no widget: its result comes back by a queued
signal to a slot of this dialog. *Drop blocked devices* hands the blocked names to the
New-job dialog, which unticks them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QThread,
    Signal,
    Slot,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from jobdesk.domain.preflight import DeviceVerdict, Verdict, summary
from jobdesk.runtime.actions import JobRequest
from jobdesk.runtime.driver import DeviceDriver
from jobdesk.runtime.preflight import CheckPlan, check_devices, plan_check
from jobdesk.settings import Settings
from jobdesk.ui.context import AppContext
from jobdesk.ui.gateway import StoreGateway, while_alive

__all__ = ["CheckDialog", "VerdictModel"]

_HEADERS = ("Device", "Verdict", "Reason")
_COLOURS = {Verdict.READY: "#2e7d32", Verdict.SKIP: "#616161", Verdict.BLOCKED: "#c62828"}
_Index = QModelIndex | QPersistentModelIndex


class VerdictModel(QAbstractTableModel):
    """The verdicts, one row per device, in device-name order (as the check returns them)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[DeviceVerdict] = []

    def set_verdicts(self, verdicts: Sequence[DeviceVerdict]) -> None:
        self.beginResetModel()
        self._rows = list(verdicts)
        self.endResetModel()

    def verdicts(self) -> list[DeviceVerdict]:
        return list(self._rows)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return _HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.device, row.verdict.value, row.reason)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.fix_hint or row.reason
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return QBrush(QColor(_COLOURS[row.verdict]))
        return None


class _CheckWorker(QObject):
    """Runs one check on its thread's own loop; `cancel` may be called from any thread."""

    finished = Signal(object)  # list[DeviceVerdict]
    failed = Signal(str)

    def __init__(self, plan: CheckPlan, settings: Settings, now: datetime,
                 make_driver: Callable[[], DeviceDriver]) -> None:
        super().__init__()
        self._plan = plan
        self._settings = settings
        self._now = now
        self._make_driver = make_driver
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[list[DeviceVerdict]] | None = None
        self._cancelled = False

    @Slot()
    def run(self) -> None:
        try:
            verdicts = asyncio.run(self._main())
        except asyncio.CancelledError:
            self.failed.emit("the check was stopped")
            return
        except Exception as error:  # shown in the dialog, in words
            self.failed.emit(str(error) or type(error).__name__)
            return
        self.finished.emit(verdicts)

    async def _main(self) -> list[DeviceVerdict]:
        driver = self._make_driver()
        try:
            with self._lock:
                if self._cancelled:
                    raise asyncio.CancelledError
                self._loop = asyncio.get_running_loop()
                self._task = asyncio.ensure_future(check_devices(
                    driver, self._plan, now=self._now,
                    renew_before=self._settings.cert_renew_before,
                    max_parallel=self._settings.max_parallel_devices))
            return await self._task
        finally:
            with self._lock:
                self._loop = None
            await driver.aclose()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._loop is not None and self._task is not None:
                self._loop.call_soon_threadsafe(self._task.cancel)


def default_driver(ctx: AppContext) -> Callable[[], DeviceDriver]:
    """A driver of the check's own (its trust store read afresh), as settings name it."""
    if ctx.driver_factory is not None:
        return ctx.driver_factory
    from jobdesk.runtime.loader import load_driver

    return partial(load_driver, ctx.settings, ctx.data_dir, ctx.profiles_dir)


class CheckDialog(QDialog):
    """Checks the request's devices once, shows the verdicts, can drop the blocked ones."""

    dropBlocked = Signal(object)  # the blocked devices' names (list[str])

    def __init__(self, ctx: AppContext, gateway: StoreGateway, request: JobRequest,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("checkDialog")
        self.setWindowTitle("Check devices")
        self._ctx = ctx
        self._thread: QThread | None = None
        self._worker: _CheckWorker | None = None

        self._status = QLabel("Reading the devices from the inventory…", self)
        self._status.setObjectName("checkStatus")
        self._status.setWordWrap(True)
        self.model = VerdictModel(self)
        self._table = QTableView(self)
        self._table.setObjectName("checkTable")
        self._table.setModel(self.model)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setWordWrap(False)
        self._table.verticalHeader().setVisible(False)
        header = self._table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self._drop = QPushButton("&Drop blocked devices", self)
        self._drop.setObjectName("dropBlocked")
        self._drop.setToolTip("Untick the blocked devices in the new job")
        self._drop.setEnabled(False)
        self._close = QPushButton("Close", self)
        self._close.setObjectName("closeCheck")
        buttons = QHBoxLayout()
        buttons.addWidget(self._status, 1)
        buttons.addWidget(self._drop)
        buttons.addWidget(self._close)
        layout = QVBoxLayout(self)
        layout.addWidget(self._table, 1)
        layout.addLayout(buttons)
        self.resize(760, 420)

        self._drop.clicked.connect(self._drop_blocked)
        self._close.clicked.connect(self.reject)
        gateway.call(partial(plan_check, ctx.store, request),
                     while_alive(self)(self._on_planned), while_alive(self)(self._on_failed))

    # ---- the check ------------------------------------------------------------------------

    def _on_planned(self, plan: CheckPlan) -> None:
        count = len(plan.devices)
        cap = self._ctx.settings.max_parallel_devices
        self._status.setText(f"Checking {count} device(s), {min(cap, count)} at a time; "
                             "nothing is changed on them…")
        self._thread = QThread(self)
        self._thread.setObjectName("jobdesk-check")
        self._worker = _CheckWorker(plan, self._ctx.settings, self._ctx.clock.now(),
                                    default_driver(self._ctx))
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.finished.connect(self._on_checked)
        self._worker.failed.connect(self._on_failed)
        self._thread.finished.connect(self._worker.deleteLater)
        self._thread.start()

    @Slot(object)
    def _on_checked(self, verdicts: list[DeviceVerdict]) -> None:
        self._end_thread()
        self.model.set_verdicts(verdicts)
        blocked = self.blocked()
        self._status.setText(summary(verdicts) + (
            ". Hover a row for what to do." if blocked else ". Nothing is blocked."))
        self._drop.setEnabled(bool(blocked))

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._end_thread()
        self._status.setText(f"The check did not run: {message}")

    def blocked(self) -> list[str]:
        return [v.device for v in self.model.verdicts() if v.verdict is Verdict.BLOCKED]

    def _drop_blocked(self) -> None:
        names = self.blocked()
        if names:
            self.dropBlocked.emit(names)
            self._drop.setEnabled(False)
            self._status.setText(f"Dropped {len(names)} blocked device(s) from the job.")

    # ---- plumbing ---------------------------------------------------------------------------

    def _end_thread(self) -> None:
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
            self._thread = None
            self._worker = None


    def done(self, result: int) -> None:
        """Closing stops a running check (connections are cancelled) before the dialog goes."""
        if self._worker is not None:
            self._worker.cancel()
        self._end_thread()
        super().done(result)
