"""*Export report…*: the selected job's report to a file, for the customer or the next shift.

One action (in the Jobs menu and as a button in the detail pane) opens a small dialog:
a format, a file name, Export. The report is made on the store's worker thread through
the gateway, so a large job never freezes the window; what went wrong (a folder that
cannot be written) is said in the dialog, which stays open to try another place.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from jobdesk.domain.schedule import local_zone_name
from jobdesk.runtime.report_formats import SUFFIXES, export_report
from jobdesk.ui.context import AppContext
from jobdesk.ui.file_dialogs import NameOnlyIconProvider
from jobdesk.ui.gateway import StoreGateway

FORMAT_NAMES = {
    "html": "HTML — opens in a browser, prints on A4",
    "csv": "CSV — for a spreadsheet",
    "json": "JSON — for scripts",
}
NO_JOB = "Select a job first: the report is of one job"


class ReportExport(QObject):
    """The *Export report…* action of the job shown in the detail pane."""

    def __init__(self, ctx: AppContext, gateway: StoreGateway, parent: QWidget) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._gateway = gateway
        self._parent = parent
        self._job_id: int | None = None
        self.dialog: ReportDialog | None = None
        self.action = QAction("Export &report…", parent)
        self.action.setObjectName("exportReport")
        self.action.setShortcut("Ctrl+E")
        self.action.setStatusTip("Save the job's report: summary, devices and steps")
        self.action.triggered.connect(self.open_dialog)
        self.set_job(None)

    def button(self) -> QPushButton:
        """A push button that follows the action (text, enabled state, tooltip)."""
        button = QPushButton(self.action.text().replace("&", ""))
        button.setObjectName("exportReportButton")
        button.clicked.connect(self.action.trigger)
        self.action.changed.connect(lambda: (button.setEnabled(self.action.isEnabled()),
                                             button.setToolTip(self.action.toolTip())))
        button.setEnabled(self.action.isEnabled())
        button.setToolTip(self.action.toolTip())
        return button

    def set_job(self, job_id: int | None) -> None:
        """The job a report would be of (None: nothing selected, nothing to export)."""
        self._job_id = job_id
        self.action.setEnabled(job_id is not None)
        self.action.setToolTip(
            NO_JOB if job_id is None else f"Save the report of job {job_id} (Ctrl+E)")

    def open_dialog(self) -> None:
        if self._job_id is None:
            return
        self.dialog = ReportDialog(self._ctx, self._gateway, self._job_id, self._parent)
        self.dialog.open()


class ReportDialog(QDialog):
    def __init__(self, ctx: AppContext, gateway: StoreGateway, job_id: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reportDialog")
        self.setWindowTitle(f"Export the report of job {job_id}")
        self._ctx = ctx
        self._gateway = gateway
        self._job_id = job_id
        self.written: Path | None = None

        self.format = QComboBox()
        self.format.setObjectName("reportFormat")
        for key, text in FORMAT_NAMES.items():
            self.format.addItem(text, key)
        self.format.currentIndexChanged.connect(self._format_changed)
        documents = Path(QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation) or Path.home())
        folder = documents if documents.is_dir() else Path.home()  # no Documents on servers
        self.path = QLineEdit(str(folder / f"job-{job_id}-report.html"))
        self.path.setObjectName("reportPath")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        where = QHBoxLayout()
        where.addWidget(self.path, 1)
        where.addWidget(browse)
        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("File", where)
        self.status = QLabel()
        self.status.setObjectName("reportStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton(
            "Export", QDialogButtonBox.ButtonRole.ApplyRole)
        self.export_button.setObjectName("exportButton")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.export)
        self.open_button = self.buttons.addButton(
            "Open", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.setObjectName("openReport")
        self.open_button.setEnabled(False)
        self.open_button.setToolTip("Export the report first")
        self.open_button.clicked.connect(self._open_written)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)

    @property
    def chosen_format(self) -> str:
        return str(self.format.currentData())

    def _format_changed(self) -> None:
        """The file name follows the format, so an HTML report never ends in .csv."""
        text = self.path.text().strip()
        if text:
            self.path.setText(str(Path(text).with_suffix(SUFFIXES[self.chosen_format])))

    def _browse(self) -> None:
        dialog = QFileDialog(self, "Save the report as", self.path.text())
        dialog.setObjectName("reportFileDialog")
        # Qt's own dialog with name-only icons: it must never open the database's files.
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setIconProvider(NameOnlyIconProvider())
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(SUFFIXES[self.chosen_format].lstrip("."))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.path.setText)
        dialog.open()

    def export(self) -> None:
        text = self.path.text().strip()
        if not text:
            self.status.setText("Name the file to write the report to.")
            return
        path = Path(text).expanduser()
        if not path.parent.is_dir():
            self.status.setText(f"There is no folder {path.parent}: choose another place.")
            return
        fmt = self.chosen_format
        store, job_id, now, zone = (self._ctx.store, self._job_id, self._ctx.clock.now(),
                                    local_zone_name())
        self.export_button.setEnabled(False)
        self.status.setText("Writing the report…")
        self._gateway.call(
            lambda: export_report(store, job_id, fmt, path, now=now, zone_name=zone),
            self._written, self._failed)

    def _written(self, path: Path) -> None:
        self.written = path
        self.export_button.setEnabled(True)
        self.open_button.setEnabled(True)
        self.open_button.setToolTip(f"Open {path.name} with this laptop's program for it")
        self.status.setText(f"Report written to {path}")

    def _failed(self, message: str) -> None:
        self.export_button.setEnabled(True)
        self.status.setText(f"The report was not written: {message}")

    def _open_written(self) -> None:
        if self.written is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.written)))
