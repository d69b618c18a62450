"""The job's name, type and payload (file, command, target version) in the New-job dialog.

A chosen file (a firmware image may be 500 MB) is hashed and checked on the store's
worker thread; the fields show its checksum once known and say what is wrong otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from jobdesk.domain.jobtypes import JOB_TYPES, JobType
from jobdesk.domain.payloads import PayloadError, parse_snippet
from jobdesk.runtime.actions import MAX_SNIPPET_BYTES, JobRequest, file_sha256
from jobdesk.store import Store
from jobdesk.store.records import JobRecord
from jobdesk.ui.file_dialogs import choose_file
from jobdesk.ui.gateway import StoreGateway, while_alive
from jobdesk.ui.new_job.words import sentence

_FILE_LABELS = {
    JobType.CONFIG_UPDATE: ("Snippet &file:", "Choose the snippet file"),
    JobType.FIRMWARE_UPDATE: ("Firmware &image:", "Choose the firmware file"),
    JobType.COMMAND: ("Script (optional):", "Choose the script file"),
}


@dataclass(frozen=True)
class FileCheck:
    """What the dialog learns about a chosen file, off the UI thread."""

    path: str
    sha256: str
    size: int
    snippet_error: str | None  # why it is not a valid configuration snippet, if it is not


def check_file(text: str, store: Store) -> FileCheck:
    """Hash a chosen file and test whether it parses as a snippet (worker thread)."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise PayloadError(f"no such file: {text}; choose an existing file")
    if store.is_database_file(path):
        raise PayloadError(f"{path.name} is jobdesk's own database; choose the payload file")
    size = path.stat().st_size
    snippet_error: str | None = None
    if size > MAX_SNIPPET_BYTES:
        snippet_error = f"{path.name} is too large for a configuration snippet"
    else:
        try:
            parse_snippet(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            snippet_error = f"{path.name} is not UTF-8 text; a snippet is lines of key = value"
        except PayloadError as error:
            snippet_error = f"{path.name}: {error}"
    return FileCheck(text, file_sha256(path), size, snippet_error)


class PayloadFields(QGroupBox):
    """The "Job" box: name, type and the fields that type needs; `changed` on every edit."""

    changed = Signal()

    def __init__(self, store: Store, gateway: StoreGateway, parent: QWidget | None = None
                 ) -> None:
        super().__init__("Job", parent)
        self._store = store
        self._gateway = gateway
        self._file_check: FileCheck | None = None
        self._file_error: tuple[str, str] | None = None  # (path, message)
        self._file_pending: str | None = None
        self._build()
        self._file_timer = QTimer(self)
        self._file_timer.setSingleShot(True)
        self._file_timer.setInterval(400)  # typing a path: hash once the typing pauses
        self._wire()

    def _build(self) -> None:
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._job_form = form

        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("name")
        self.name_edit.setPlaceholderText("e.g. NTP servers, plant Zurich")
        form.addRow("&Name:", self.name_edit)

        self._type = QComboBox(self)
        self._type.setObjectName("type")
        for job_type in JobType:
            self._type.addItem(job_type.title, job_type)
        form.addRow("&Type:", self._type)

        file_row = QWidget(self)
        file_layout = QHBoxLayout(file_row)
        file_layout.setContentsMargins(0, 0, 0, 0)
        self._file = QLineEdit(file_row)
        self._file.setObjectName("file")
        self._file.setPlaceholderText("Path of the file to send")
        self._file.setClearButtonEnabled(True)
        self._browse = QPushButton("&Browse…", file_row)
        self._browse.setObjectName("fileBrowse")
        file_layout.addWidget(self._file, 1)
        file_layout.addWidget(self._browse)
        self._file_row = file_row
        self._file_label = QLabel("&File:", self)
        self._file_label.setBuddy(self._file)
        form.addRow(self._file_label, file_row)

        self._checksum = QLabel(self)
        self._checksum.setObjectName("fileChecksum")
        self._checksum.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._checksum.setWordWrap(True)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(self.font().pointSizeF() - 1, 7.0))
        self._checksum.setFont(mono)
        form.addRow("", self._checksum)

        self._command = QLineEdit(self)
        self._command.setObjectName("command")
        self._command.setPlaceholderText("e.g. /usr/sbin/service ntpd restart")
        form.addRow("Co&mmand:", self._command)

        self._version = QLineEdit(self)
        self._version.setObjectName("version")
        self._version.setPlaceholderText("Version the devices must run afterwards, e.g. 7.4.2")
        form.addRow("Target &version:", self._version)

    def _wire(self) -> None:
        self.name_edit.textChanged.connect(self._emit_changed)
        self._type.currentIndexChanged.connect(self._on_type_changed)
        self._file.textChanged.connect(self._on_file_edited)
        self._file.editingFinished.connect(self._check_file_now)
        self._file_timer.timeout.connect(self._check_file_now)
        self._browse.clicked.connect(self._browse_file)
        self._command.textChanged.connect(self._emit_changed)
        self._version.textChanged.connect(self._emit_changed)

    # ---- what the fields hold -------------------------------------------------------------

    def job_name(self) -> str:
        return self.name_edit.text().strip()

    def job_type(self) -> JobType:
        return JobType(self._type.currentData())

    def problems(self) -> list[str]:
        """What is missing or wrong in the payload, in words (the name is not included)."""
        job_type = self.job_type()
        spec = JOB_TYPES[job_type]
        problems: list[str] = []
        path = self._file.text().strip()
        if spec.needs_file or spec.optional_file:
            if not path:
                if spec.needs_file:
                    problems.append(_FILE_LABELS[job_type][1])
            elif self._file_error is not None and self._file_error[0] == path:
                problems.append(sentence(self._file_error[1]))
            elif self._file_check is None or self._file_check.path != path:
                problems.append("Checking the file…")
            elif job_type is JobType.CONFIG_UPDATE and self._file_check.snippet_error:
                problems.append(sentence(self._file_check.snippet_error))
        if spec.needs_command and not self._command.text().strip() and not path:
            problems.append("Give the command to run, or choose a script")
        if spec.needs_version and not self._version.text().strip():
            problems.append("Give the target version")
        return problems

    def target_request(self, devices: list[str]) -> JobRequest:
        """Type, devices and payload (what a pre-flight check needs)."""
        job_type = self.job_type()
        spec = JOB_TYPES[job_type]
        path = self._file.text().strip()
        uses_file = spec.needs_file or spec.optional_file
        return JobRequest(
            name="pre-flight check",
            type=job_type,
            devices=devices,
            file=Path(path) if uses_file and path else None,
            command=(self._command.text().strip() or None) if spec.needs_command else None,
            version=(self._version.text().strip() or None) if spec.needs_version else None,
        )

    def apply_template(self, template: JobRecord) -> None:
        """Prefill from an existing job: same type and payload, a new name."""
        self.name_edit.setText(f"Copy of {template.name}")
        try:
            job_type = JobType(template.type)
        except ValueError:
            job_type = None
        if job_type is not None:
            self._type.setCurrentIndex(self._type.findData(job_type))
        payload = template.payload
        if payload.get("file"):
            self._file.setText(str(payload["file"]))
            self._check_file_now()
        if payload.get("command"):
            self._command.setText(str(payload["command"]))
        if payload.get("version"):
            self._version.setText(str(payload["version"]))

    def stop(self) -> None:
        """The dialog closes: no checksum starts after that."""
        self._file_timer.stop()

    # ---- reacting ---------------------------------------------------------------------------

    @Slot()
    def _emit_changed(self) -> None:
        self._update_checksum()
        self.changed.emit()

    @Slot()
    def _on_type_changed(self) -> None:
        job_type = self.job_type()
        spec = JOB_TYPES[job_type]
        uses_file = spec.needs_file or spec.optional_file
        if uses_file:
            self._file_label.setText(_FILE_LABELS[job_type][0])
        for widget, visible in (
            (self._file_row, uses_file),
            (self._command, spec.needs_command),
            (self._version, spec.needs_version),
        ):
            self._job_form.setRowVisible(widget, visible)
            widget.setEnabled(visible)
        self._emit_changed()

    def refresh_type(self) -> None:
        """Show the rows the current type needs (once built, and after a template)."""
        self._on_type_changed()

    def _browse_file(self) -> None:
        label, _ = _FILE_LABELS.get(self.job_type(), ("File", ""))
        title = label.replace("&", "").rstrip(":")
        start = self._file.text().strip() or str(Path.home())
        self.file_dialog = choose_file(self, f"Choose the {title.lower()}", start,
                                       "All files (*)", self._file_chosen)

    @Slot(str)
    def _file_chosen(self, chosen: str) -> None:
        if chosen:
            self._file.setText(chosen)
            self._check_file_now()

    def _on_file_edited(self) -> None:
        self._file_check = None
        self._file_error = None
        self._file_timer.start()
        self._emit_changed()

    def _check_file_now(self) -> None:
        """Hash the file named in the field on the worker thread (once per distinct path)."""
        self._file_timer.stop()
        text = self._file.text().strip()
        if not text or text == self._file_pending:
            return
        if self._file_check is not None and self._file_check.path == text:
            return
        self._file_pending = text
        self._emit_changed()
        self._gateway.call(
            partial(check_file, text, self._store),
            while_alive(self)(self._on_file_checked),
            while_alive(self)(partial(self._on_file_failed, text)),
        )

    def _on_file_checked(self, result: FileCheck) -> None:
        if self._file_pending == result.path:
            self._file_pending = None
        if result.path == self._file.text().strip():
            self._file_check = result
            self._file_error = None
        self._emit_changed()

    def _on_file_failed(self, path: str, message: str) -> None:
        if self._file_pending == path:
            self._file_pending = None
        if path == self._file.text().strip():
            self._file_error = (path, message)
        self._emit_changed()

    def _update_checksum(self) -> None:
        path = self._file.text().strip()
        spec = JOB_TYPES[self.job_type()]
        # The row only takes room once there is something to say about a file.
        self._job_form.setRowVisible(
            self._checksum, bool(path) and (spec.needs_file or spec.optional_file)
        )
        if not path:
            self._checksum.setText("")
        elif self._file_error is not None and self._file_error[0] == path:
            self._checksum.setText("No checksum: the file cannot be read")
        elif self._file_check is not None and self._file_check.path == path:
            size = self._file_check.size
            self._checksum.setText(f"{size:,} bytes, SHA-256:\n{self._file_check.sha256}")
        else:
            self._checksum.setText("Computing the checksum…")

