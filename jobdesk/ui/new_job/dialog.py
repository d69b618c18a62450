"""The "New job" dialog: name, type, payload, target devices and schedule by pointing and clicking.

Everything that touches the database or reads a file (a firmware image may be 500 MB) goes
through the StoreGateway, so the window keeps painting while it works; everything else (the
schedule preview, the validation words) is a pure domain call and runs on every change.
The same JobService the CLI uses creates the job, so both paths obey the same rules.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from functools import partial
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from jobdesk.domain.rollout import RolloutPolicy
from jobdesk.domain.rules import ActionRefused
from jobdesk.domain.schedule import Schedule, ScheduleError, schedule_from_dict
from jobdesk.runtime.actions import JobRequest
from jobdesk.store.jobs import Conflict
from jobdesk.store.records import JobRecord
from jobdesk.ui.context import AppContext
from jobdesk.ui.gateway import StoreGateway, while_alive
from jobdesk.ui.new_job.device_picker import DevicePicker
from jobdesk.ui.new_job.payload_fields import PayloadFields
from jobdesk.ui.new_job.rollout_fields import RolloutFields
from jobdesk.ui.new_job.schedule_editor import ScheduleEditor
from jobdesk.ui.new_job.words import names_text, sentence


class NewJobDialog(QDialog):
    """Create a job, or duplicate one (``template``), with every input checked as it is typed.

    ``created`` carries the new JobRecord once the store has it; the dialog then closes.
    """

    created = Signal(object)

    def __init__(
        self,
        ctx: AppContext,
        gateway: StoreGateway,
        parent: QWidget | None = None,
        *,
        devices: Sequence[str] = (),
        template: JobRecord | None = None,
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._gateway = gateway
        self._busy = False
        self._busy_text = ""
        self._error: str | None = None  # the last create attempt's failure, in words
        self._schedule: Schedule | None = None
        self._schedule_problem: str | None = None
        self._rollout: RolloutPolicy | None = None
        self._rollout_problem: str | None = None

        self.setWindowTitle("Duplicate job" if template else "New job")
        self.setObjectName("newJobDialog")
        self._build(devices)
        self._wire()
        if template is not None:
            self._apply_template(template)
        self._payload.refresh_type()
        self._picker.load()

    # ---- public ---------------------------------------------------------------------------

    def request(self) -> JobRequest | None:
        """The request the form describes, or None while something is missing or wrong."""
        if self._problems():
            return None
        return self._build_request()

    def current_schedule(self) -> Schedule | None:
        """The schedule the form describes (None while the scheduled fields are invalid)."""
        return self._schedule

    def current_rollout(self) -> RolloutPolicy | None:
        """The rollout the form describes (None: all at once with no limit, or invalid)."""
        return self._rollout

    def problems(self) -> list[str]:
        """What still stops Create, in words (also shown in the "validation" label)."""
        return self._problems()

    # ---- building -------------------------------------------------------------------------

    def _build(self, devices: Sequence[str]) -> None:
        self._form = QWidget(self)
        columns = QHBoxLayout(self._form)
        columns.setContentsMargins(0, 0, 0, 0)
        left = QVBoxLayout()
        self._payload = PayloadFields(self._ctx.store, self._gateway, self)
        self._schedule_editor = ScheduleEditor(self._ctx, self)
        left.addWidget(self._payload)
        left.addWidget(self._schedule_editor, 1)
        columns.addLayout(left, 3)
        self._picker = DevicePicker(self._ctx, self._gateway, devices, self)
        columns.addWidget(self._picker, 2)

        self._validation = QLabel(self)
        self._validation.setObjectName("validation")
        self._validation.setWordWrap(True)
        self._validation.setTextFormat(Qt.TextFormat.PlainText)
        self._validation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._validation.setFrameShape(QFrame.Shape.StyledPanel)
        self._validation.setMinimumHeight(self.fontMetrics().lineSpacing() * 2 + 12)
        self._validation.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._validation.setContentsMargins(6, 4, 6, 4)

        self._create_button = QPushButton("&Create", self)
        self._create_button.setObjectName("createButton")
        self._create_button.setDefault(True)
        self._cancel_button = QPushButton("Cancel", self)
        self._cancel_button.setObjectName("cancelButton")
        self._check_button = QPushButton("Check de&vices…", self)
        self._check_button.setObjectName("checkDevices")
        self._check_button.setToolTip(
            "Read the chosen devices once and say which are ready, have nothing to do or "
            "are blocked; nothing is changed on them")
        buttons = QHBoxLayout()
        buttons.addWidget(self._validation, 1)
        buttons.addWidget(self._check_button, 0, Qt.AlignmentFlag.AlignBottom)
        buttons.addWidget(self._create_button, 0, Qt.AlignmentFlag.AlignBottom)
        buttons.addWidget(self._cancel_button, 0, Qt.AlignmentFlag.AlignBottom)

        self._rollout_box = RolloutFields(self)
        # The fields scroll inside a dialog of fixed size: a row that appears (a target
        # version, a file's checksum, a rollout error) or a long zone name must not make
        # the dialog jump under the pointer, and a 1024×640 screen must hold it.
        self._body = QWidget(self)
        body = QVBoxLayout(self._body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self._form, 1)
        body.addWidget(self._rollout_box)
        self._scroll = QScrollArea(self)
        self._scroll.setObjectName("newJobFields")
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setWidget(self._body)
        outer = QVBoxLayout(self)
        outer.addWidget(self._scroll, 1)
        outer.addLayout(buttons)
        self._sized = False

    def _wire(self) -> None:
        for part in (self._payload, self._schedule_editor, self._picker, self._rollout_box):
            part.changed.connect(self._refresh)
        self._create_button.clicked.connect(self._create)
        self._check_button.clicked.connect(self._check_devices)
        self._cancel_button.clicked.connect(self.reject)

    # ---- template -------------------------------------------------------------------------

    def _apply_template(self, template: JobRecord) -> None:
        """Prefill from an existing job: same type, payload and schedule, a new name."""
        self._payload.apply_template(template)
        if template.rollout and template.rollout.get("policy"):
            # An unreadable stored rollout: the person chooses anew.
            with contextlib.suppress(ActionRefused, ValueError, TypeError):
                self._rollout_box.set_policy(RolloutPolicy.from_dict(template.rollout["policy"]))
        try:
            schedule = schedule_from_dict(template.schedule)
        except ScheduleError:
            return  # keep the defaults; the person sets the schedule anew
        self._schedule_editor.set_schedule(schedule)

    # ---- the whole form ---------------------------------------------------------------------

    def _problems(self) -> list[str]:
        problems: list[str] = []
        if not self._payload.job_name():
            problems.append("Give the job a name")
        problems.extend(self._payload.problems())
        if self._picker.load_error:
            problems.append(self._picker.load_error)
        elif not self._picker.loaded:
            problems.append("Loading devices…")
        elif not self._picker.checked():
            problems.append("Choose at least one device")
        if self._schedule_problem:
            problems.append(self._schedule_problem)
        if self._rollout_problem:
            problems.append(self._rollout_problem)
        return problems

    @Slot()
    def _refresh(self) -> None:
        """Re-read every field: preview, counts, validation and Create."""
        self._schedule, self._schedule_problem = self._schedule_editor.refresh()
        self._picker.update_count()
        self._rollout, self._rollout_problem = self._rollout_box.read()
        self._rollout_box.update_view(len(self._picker.checked()) if self._picker.loaded else 0)
        problems = self._problems()
        if self._busy:
            text = self._busy_text
        elif self._error:
            text = self._error
        else:
            text = "\n".join(problems) if problems else "Ready to create."
        self._validation.setText(text)
        self._create_button.setEnabled(not problems and not self._busy)
        self._check_button.setEnabled(not self._check_problems() and not self._busy)

    def _build_request(self, *, replace: bool = False) -> JobRequest:
        assert self._schedule is not None  # only called once the form is valid
        return dataclasses.replace(self._target_request(), name=self._payload.job_name(),
                                   schedule=self._schedule, replace=replace,
                                   rollout=self._rollout)

    def _target_request(self) -> JobRequest:
        return self._payload.target_request(self._picker.checked())

    # ---- the pre-flight check ---------------------------------------------------------------

    def _check_problems(self) -> list[str]:
        """What stops a check: the payload and devices (a name and schedule are not needed)."""
        if not self._picker.loaded or not self._picker.checked():
            return ["Choose at least one device"]
        return self._payload.problems()

    def _check_devices(self) -> None:
        if self._check_problems():
            return
        from jobdesk.ui.check_dialog import CheckDialog

        self.check_dialog = CheckDialog(self._ctx, self._gateway, self._target_request(), self)
        self.check_dialog.dropBlocked.connect(self._picker.uncheck)
        self.check_dialog.open()

    # ---- creating -----------------------------------------------------------------------------

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self._busy_text = text
        self._form.setEnabled(not busy)
        self._rollout_box.setEnabled(not busy)
        self._refresh()

    def _create(self) -> None:
        """Ask the store for conflicts first (spec B5), then create; both off the UI thread."""
        if self._busy or self._problems():
            return
        request = self._build_request()
        self._error = None
        self._set_busy(True, "Looking for unfinished jobs on these devices…")
        service = self._ctx.service
        self._gateway.call(
            partial(service.conflicts, request),
            while_alive(self)(partial(self._on_conflicts, request)),
            while_alive(self)(self._on_create_failed),
        )

    def _on_conflicts(self, request: JobRequest, conflicts: list[Conflict]) -> None:
        if conflicts:
            if not self._confirm_replace(request, conflicts):
                self._error = (
                    "Not created: the older job keeps its tasks. Uncheck those devices, or "
                    "create again and choose to replace it."
                )
                self._set_busy(False)
                return
            request = dataclasses.replace(request, replace=True)
        self._busy_text = "Creating the job…"
        self._refresh()
        service = self._ctx.service
        self._gateway.call(
            partial(service.create, request),
            while_alive(self)(self._on_created),
            while_alive(self)(self._on_create_failed),
        )

    def _confirm_replace(self, request: JobRequest, conflicts: list[Conflict]) -> bool:
        lines = [
            f"• Job {c.job_id} “{c.job_name}” on {names_text(list(c.devices))}"
            for c in conflicts
        ]
        older = "job" if len(conflicts) == 1 else "jobs"
        text = (
            f"Unfinished {request.type.title.lower()} work exists on chosen devices:\n"
            + "\n".join(lines)
            + f"\n\nReplacing cancels those tasks of the older {older} (reason: replaced by the "
            "new job); a task running right now finishes its current step first. An older job "
            "with no task left open becomes Replaced.\n\nReplace and create the new job?"
        )
        answer = QMessageBox.question(
            self,
            "Replace unfinished work?",
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _on_created(self, record: JobRecord) -> None:
        self._busy = False
        if self._schedule is not None:
            self._schedule_editor.remember_zone(self._schedule)
        self.created.emit(record)
        self.accept()

    def _on_create_failed(self, message: str) -> None:
        self._error = f"Not created: {sentence(message)}"
        self._set_busy(False)

    # ---- size -------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        """Sized once, on the first show: room for every field the form can grow (two more
        lines than it has now), within the screen; the size then stays as it is."""
        if not self._sized:
            self._sized = True
            # Never narrower than the fields (they scroll only vertically), never so low
            # that less than the type and the first fields show.
            margins = self.layout().contentsMargins()
            scrollbar = self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent)
            self.setMinimumSize(
                self._body.minimumSizeHint().width() + scrollbar + margins.left()
                + margins.right(), 420)
            self.resize(self.sizeHint())
        super().showEvent(event)

    def sizeHint(self) -> QSize:
        """Every field without scrolling, two spare lines, bounded by the screen."""
        margins = self.layout().contentsMargins()
        spare_lines = 2 * self.fontMetrics().lineSpacing()
        scrollbar = self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent)
        body = self._body.sizeHint()
        buttons = self._create_button.sizeHint().height()
        wanted = QSize(
            body.width() + scrollbar + margins.left() + margins.right(),
            body.height() + spare_lines + max(buttons, self._validation.minimumHeight())
            + self.layout().spacing() + margins.top() + margins.bottom(),
        )
        screen = self.screen() if self.parentWidget() is None else \
            self.parentWidget().screen()
        if screen is not None:
            room = screen.availableGeometry().size() - QSize(16, 48)  # frame and title
            wanted = wanted.boundedTo(room)
        return wanted.expandedTo(self.minimumSizeHint())

    # ---- plumbing ---------------------------------------------------------------------------


    def closeEvent(self, event: Any) -> None:
        self._schedule_editor.stop()
        super().closeEvent(event)

    def done(self, result: int) -> None:
        self._schedule_editor.stop()
        self._payload.stop()
        super().done(result)
