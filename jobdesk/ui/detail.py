"""The detail pane of the selected job: Job, State, Job Tasks and Steps (spec A1).

Loading a job's detail is a query (a thousand tasks, seven thousand steps) and runs on the
store's worker thread; a newer selection supersedes an older request, whose answer is then
dropped. Live updates refetch the shown job and update the tables in place.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from html import escape

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from jobdesk.domain import lifecycle
from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.lifecycle import Action, JobView, TaskView
from jobdesk.domain.schedule import FireAndForget, schedule_from_dict
from jobdesk.domain.states import JobState, StepStatus, TaskState
from jobdesk.store.records import JobRecord, TaskRecord
from jobdesk.ui import states
from jobdesk.ui.context import AppContext
from jobdesk.ui.delegates import ProgressDelegate
from jobdesk.ui.extend_dialog import ExtendJobDialog
from jobdesk.ui.gateway import StoreGateway
from jobdesk.ui.jobs_model import local_time
from jobdesk.ui.report_export import ReportExport
from jobdesk.ui.rollout_bar import RolloutBar, batch_looks, batch_text
from jobdesk.ui.task_models import StepRow, StepsModel, TasksModel, step_rows
from jobdesk.ui.week_strip import WeekStrip, next_window_text

CHANGE_MARGIN = timedelta(seconds=5)


def _terminal(state: str) -> bool:
    try:
        return JobState(state).is_terminal
    except ValueError:
        return False


def _job_view(record: JobRecord) -> JobView:
    try:
        state = JobState(record.state)
    except ValueError:
        state = JobState.UNKNOWN
    return JobView(schedule=schedule_from_dict(record.schedule), expires_at=record.expires_at,
                   state=state, cancelled=record.cancelled_at is not None,
                   replaced=record.replaced_by is not None)


def _rollout_waits(record: JobRecord) -> bool:
    """Whether the job's rollout waits for a person now (what *Continue rollout* is for)."""
    view = (record.rollout or {}).get("view") or {}
    return view.get("waiting_for") is not None and not _terminal(record.state)


def _sentence(text: str) -> str:
    """Stored reasons start in lower case (the CLI puts them mid-sentence)."""
    return text[:1].upper() + text[1:]


def _task_view(task: TaskRecord | None) -> TaskView | None:
    state = _task_state(task.state) if task is not None else None
    if task is None or state is None:
        return None
    return TaskView(state=state, attempts=task.attempts,
                    cancel_requested=task.cancel_requested, reason=task.reason,
                    has_device=task.device_id is not None,
                    cancel_requested_at=task.cancel_requested_at)


def _step_status(step: StepRow | None) -> StepStatus | None:
    try:
        return StepStatus(step.status) if step is not None else None
    except ValueError:
        return None


def _task_state(state: str) -> TaskState | None:
    try:
        return TaskState(state)
    except ValueError:
        return None


def _table(model: TasksModel | StepsModel, name: str, *, sortable: bool) -> QTableView:
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    if sortable:
        view.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        view.setSortingEnabled(True)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(24)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft)
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    view.setWordWrap(False)
    return view


class DetailPane(QWidget):
    changed = Signal(object)  # job id: an action here changed it (the runtime should look)
    duplicateRequested = Signal(object)  # JobRecord with its tasks
    message = Signal(str)  # a short note for the status bar

    def __init__(self, ctx: AppContext, gateway: StoreGateway,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._gateway = gateway
        self._job_id: int | None = None
        self._record: JobRecord | None = None
        self._request = 0
        self._selected_task_id: int | None = None
        self._header_minute: datetime | None = None
        self._shown_version: object = None  # of the task whose steps are shown
        self._attempts_task_id: int | None = None  # whose attempts the chooser lists
        self._history: TaskRecord | None = None  # one task with every attempt's record
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(200)
        self._reload_timer.timeout.connect(self.reload)
        self.tasks_model = TasksModel()
        self.steps_model = StepsModel()
        self._build()
        self.show_job(None)

    # --- layout ---------------------------------------------------------------------

    def _build(self) -> None:
        self.placeholder = QLabel("Select a job to see its tasks and steps.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setObjectName("detailPlaceholder")

        job_box = QGroupBox("Job")
        job_layout = QVBoxLayout(job_box)
        self.name_label = QLabel()
        self.name_label.setObjectName("jobName")
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.name_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.name_label.setFont(font)
        self.type_label = QLabel()
        self.type_label.setObjectName("jobType")
        self.created_label = QLabel()
        self.created_label.setObjectName("jobCreated")
        facts = QHBoxLayout()
        facts.addWidget(self.type_label)
        facts.addSpacing(16)
        facts.addWidget(self.created_label)
        facts.addStretch(1)
        job_layout.addWidget(self.name_label)
        job_layout.addLayout(facts)

        state_box = QGroupBox("State")
        state_layout = QVBoxLayout(state_box)
        top = QHBoxLayout()
        self.state_icon = QLabel()
        self.state_label = QLabel()
        self.state_label.setObjectName("jobState")
        self.progress = QProgressBar()
        self.progress.setObjectName("jobProgress")
        self.progress.setFormat("%v/%m tasks finished")
        top.addWidget(self.state_icon)
        top.addWidget(self.state_label)
        top.addSpacing(12)
        top.addWidget(self.progress, 1)
        state_layout.addLayout(top)
        form = QFormLayout()
        self.schedule_label = QLabel()
        self.schedule_label.setObjectName("jobSchedule")
        self.schedule_label.setWordWrap(True)
        self.next_window_label = QLabel()
        self.next_window_label.setObjectName("nextWindow")
        self.expires_label = QLabel()
        self.expires_label.setObjectName("expiresAt")
        timing = QHBoxLayout()
        timing.addWidget(self.next_window_label)
        timing.addSpacing(16)
        timing.addWidget(QLabel("Expires At"))
        timing.addWidget(self.expires_label)
        timing.addStretch(1)
        form.addRow("Schedule", self.schedule_label)
        form.addRow("Next", timing)
        state_layout.addLayout(form)
        self.week_strip = WeekStrip()
        self.week_strip.setObjectName("weekStrip")
        self.week_strip.setMinimumHeight(64)
        self.week_strip.setMaximumHeight(84)
        state_layout.addWidget(self.week_strip)
        state_layout.addWidget(self._build_rollout_row())

        self.cancel_job_button = QPushButton("Cancel job…")
        self.cancel_job_button.setObjectName("cancelJob")
        self.cancel_job_button.clicked.connect(self.cancel_job)
        self.duplicate_button = QPushButton("Duplicate…")
        self.duplicate_button.setObjectName("duplicateJob")
        self.duplicate_button.clicked.connect(self._duplicate)
        self.extend_button = QPushButton("Extend…")
        self.extend_button.setObjectName("extendJob")
        self.extend_button.clicked.connect(self.extend_job)
        job_actions = QHBoxLayout()
        job_actions.addWidget(self.cancel_job_button)
        job_actions.addWidget(self.duplicate_button)
        job_actions.addWidget(self.extend_button)
        self.report_export = ReportExport(self._ctx, self._gateway, self)
        job_actions.addWidget(self.report_export.button())
        job_actions.addStretch(1)
        # *Continue rollout* is a job action like the others; why the rollout waits is
        # the line under its bar, there only while it waits, so the tasks keep their room.
        job_actions.addWidget(self.continue_button)
        state_layout.addLayout(job_actions)

        tasks_box = QGroupBox("Job Tasks")
        tasks_layout = QVBoxLayout(tasks_box)
        self.tasks_view = _table(self.tasks_model, "tasksView", sortable=True)
        self.tasks_view.setItemDelegateForColumn(TasksModel.progress_column,
                                                 ProgressDelegate(self.tasks_view))
        self.tasks_view.selectionModel().currentRowChanged.connect(self._task_selected)
        self.tasks_view.customContextMenuRequested.connect(self._tasks_menu)
        header = self.tasks_view.horizontalHeader()
        for column, width in enumerate((115, 115, 50, 90, 95, 105, 70, 62, 95)):
            header.resizeSection(column, width)
        # Which host works on a task matters only where several runtimes share the jobs.
        self.tasks_view.setColumnHidden(TasksModel.host_column, not self._ctx.store.is_postgres)
        # A task's batch only means something in a rollout (shown per job, _show_header).
        self.tasks_view.setColumnHidden(TasksModel.batch_column, True)
        tasks_layout.addWidget(self.tasks_view)
        task_actions = QHBoxLayout()
        self.retry_button = QPushButton("Retry now")
        self.retry_button.setObjectName("retryTask")
        self.retry_button.clicked.connect(self.retry_task)
        self.cancel_task_button = QPushButton("Cancel task…")
        self.cancel_task_button.setObjectName("cancelTask")
        self.cancel_task_button.clicked.connect(self.cancel_task)
        task_actions.addWidget(self.retry_button)
        task_actions.addWidget(self.cancel_task_button)
        task_actions.addStretch(1)
        tasks_layout.addLayout(task_actions)

        steps_box = QGroupBox("Steps")
        steps_layout = QVBoxLayout(steps_box)
        # B1: the latest attempt (and what the next one runs), or any earlier one.
        attempt_row = QHBoxLayout()
        attempt_row.addWidget(QLabel("Attempt:"))
        self.attempt_chooser = QComboBox()
        self.attempt_chooser.setObjectName("attemptChooser")
        self.attempt_chooser.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.attempt_chooser.activated.connect(self._attempt_chosen)
        attempt_row.addWidget(self.attempt_chooser)
        attempt_row.addStretch(1)
        steps_layout.addLayout(attempt_row)
        # Steps keep their order: it is the order they run in.
        self.steps_view = _table(self.steps_model, "stepsView", sortable=False)
        self.steps_view.customContextMenuRequested.connect(self._steps_menu)
        self.steps_view.selectionModel().currentRowChanged.connect(self._update_actions)
        self.steps_view.setWordWrap(True)
        header = self.steps_view.horizontalHeader()
        for column, width in enumerate((120, 180, 95, 95, 95, 300)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        steps_layout.addWidget(self.steps_view)
        self.fix_hint = QLabel()
        self.fix_hint.setObjectName("fixHint")
        self.fix_hint.setWordWrap(True)
        self.fix_hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        steps_layout.addWidget(self.fix_hint)
        step_actions = QHBoxLayout()
        self.skip_button = QPushButton("Skip step…")
        self.skip_button.setObjectName("skipStep")
        self.skip_button.clicked.connect(self.skip_step)
        step_actions.addWidget(self.skip_button)
        step_actions.addStretch(1)
        steps_layout.addLayout(step_actions)

        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addWidget(job_box)
        upper_layout.addWidget(state_box)
        self.sections = QSplitter(Qt.Orientation.Vertical)
        self.sections.setObjectName("detailSections")
        self.sections.addWidget(upper)
        self.sections.addWidget(tasks_box)
        self.sections.addWidget(steps_box)
        self.sections.setStretchFactor(0, 0)
        self.sections.setStretchFactor(1, 3)
        self.sections.setStretchFactor(2, 3)
        self.sections.setSizes([280, 200, 290])
        self.sections.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.addWidget(self.placeholder)
        layout.addWidget(self.sections)

    def _build_rollout_row(self) -> QWidget:
        """B8: the batches as a bar and, while the rollout waits for a person, why (the
        *Continue rollout* button joins the job's actions); hidden for a job without a
        rollout, so most jobs' State box does not change."""
        self.rollout_row = QWidget()
        self.rollout_row.setObjectName("rolloutRow")
        layout = QVBoxLayout(self.rollout_row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        bar_line = QHBoxLayout()
        bar_line.addWidget(QLabel("Rollout"))
        self.rollout_bar = RolloutBar()
        self.rollout_bar.setObjectName("rolloutBar")
        bar_line.addWidget(self.rollout_bar, 1)
        self.rollout_label = QLabel()
        self.rollout_label.setObjectName("rolloutBatch")
        bar_line.addWidget(self.rollout_label)
        layout.addLayout(bar_line)
        self.rollout_reason_label = QLabel()
        self.rollout_reason_label.setObjectName("rolloutReason")
        self.rollout_reason_label.setWordWrap(True)
        self.rollout_reason_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.rollout_reason_label.font()
        font.setBold(True)
        self.rollout_reason_label.setFont(font)
        self.continue_button = QPushButton("Continue rollout")
        self.continue_button.setObjectName("continueRollout")
        self.continue_button.clicked.connect(self.continue_rollout)
        layout.addWidget(self.rollout_reason_label)
        return self.rollout_row

    # --- loading --------------------------------------------------------------------

    @property
    def job_id(self) -> int | None:
        return self._job_id

    @property
    def record(self) -> JobRecord | None:
        return self._record

    def show_job(self, job_id: int | None) -> None:
        """Show another job (None: nothing selected)."""
        if job_id != self._job_id:
            self._selected_task_id = None
        self._job_id = job_id
        self.report_export.set_job(job_id)
        self.placeholder.setVisible(job_id is None)
        self.sections.setVisible(job_id is not None)
        if job_id is None:
            self._record = None
            self.tasks_model.set_records([])
            self.steps_model.set_records([])
            self._update_actions()
            return
        self.reload()

    def job_changed(self, job_id: int) -> None:
        """The runtime reported a change: refetch if it is the shown job (coalesced).

        A big job is refetched once a second at most: reading a thousand tasks five times a
        second would compete with the runtime for nothing a person can follow.
        """
        if job_id == self._job_id and not self._reload_timer.isActive():
            big = self.tasks_model.rowCount() > 100
            self._reload_timer.setInterval(1000 if big else 200)
            self._reload_timer.start()

    def reload(self) -> None:
        """Fetch the shown job: everything the first time, then only the tasks that moved.

        A margin before the newest change already seen covers a change committed a moment
        after a later one (two writers); fetching a task twice is harmless.
        """
        if self._job_id is None:
            return
        self._request += 1
        request, job_id, store = self._request, self._job_id, self._ctx.store
        known = self._record if self._record is not None and self._record.id == job_id else None
        since = None
        if known is not None and known.tasks:
            newest = max((t.updated_at for t in known.tasks if t.updated_at), default=None)
            since = newest - CHANGE_MARGIN if newest is not None else None

        def load() -> JobRecord:
            job, changed = store.jobs.detail_since(job_id, since)
            if known is None or since is None:
                return replace(job, tasks=tuple(changed))
            fresh = {task.id: task for task in changed}
            return replace(job, tasks=tuple(fresh.get(t.id, t) for t in known.tasks))

        self._gateway.call(
            load,
            lambda record: self._arrived(request, record),
            lambda error: self._failed(request, error),
        )

    def _failed(self, request: int, error: str) -> None:
        if request == self._request:
            self.message.emit(f"Could not load job {self._job_id}: {error}")

    def _arrived(self, request: int, record: JobRecord) -> None:
        if request != self._request:
            return  # a newer selection or refresh is on its way
        previous, self._record = self._record, record
        header_changed = previous is None or replace(previous, tasks=()) != replace(
            record, tasks=()
        )
        minute = self._ctx.clock.now().replace(second=0, microsecond=0)
        if header_changed or minute != self._header_minute:
            self._header_minute = minute
            self._show_header(record)
        self.tasks_model.set_records(record.tasks)
        self._restore_task_selection()
        self._update_actions()

    def _show_header(self, record: JobRecord) -> None:
        """Job and State sections: only when the job itself changed, or a minute passed."""
        self.name_label.setText(record.name + ("   (system job)" if record.system else ""))
        try:
            self.type_label.setText(JobType(record.type).title)
        except ValueError:
            self.type_label.setText(record.type)
        self.created_label.setText(f"job {record.id}, created {local_time(record.created_at)}")
        self.state_icon.setPixmap(states.pixmap(record.state, 18))
        self.state_label.setText(record.state)
        self.progress.setRange(0, max(record.progress_total, 1))
        self.progress.setValue(record.progress_done)
        now = self._ctx.clock.now()
        try:
            schedule = schedule_from_dict(record.schedule)
        except ValueError:
            schedule = None
        self.schedule_label.setText(schedule.describe() if schedule else "unreadable schedule")
        finished = _terminal(record.state)
        self.next_window_label.setText(
            "Finished" if finished else next_window_text(schedule, now)
        )
        self.expires_label.setText(local_time(record.expires_at))
        self.week_strip.set_schedule(schedule, now, record.expires_at)
        self._show_rollout(record, finished)

    def _show_rollout(self, record: JobRecord, finished: bool) -> None:
        """The bar and the words from the view the store keeps with the job (B8)."""
        view = (record.rollout or {}).get("view")
        self.rollout_row.setVisible(bool(view))
        self.tasks_view.setColumnHidden(TasksModel.batch_column, not view)
        self.continue_button.setVisible(bool(view) and not finished)
        if not view:
            self.rollout_reason_label.setVisible(False)
            return
        self.rollout_bar.set_looks(batch_looks(record.rollout, finished=finished))
        self.rollout_label.setText(batch_text(record.rollout, finished=finished))
        waiting = _rollout_waits(record)
        self.rollout_reason_label.setText(_sentence(record.rollout_reason or "")
                                          if waiting else "")
        self.rollout_reason_label.setVisible(waiting)

    def _restore_task_selection(self) -> None:
        if not self.tasks_model.rowCount():
            self.steps_model.set_records([])
            return
        row = None
        if self._selected_task_id is not None:
            row = self.tasks_model.row_of(self._selected_task_id)
        if row is None:
            row = self._first_interesting_task()
        selection = self.tasks_view.selectionModel()
        index = self.tasks_model.index(row, 0)
        if selection.currentIndex().row() != row:
            selection.setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
            QTimer.singleShot(0, lambda: self.tasks_view.scrollTo(index))
        else:
            task = self.tasks_model.record(row)
            if task is None or self.tasks_model.version(task) != self._shown_version:
                self._show_steps(task)

    def _first_interesting_task(self) -> int:
        """Open on the task a person most likely came for: failed, then running."""
        for wanted in (TaskState.FAILED, TaskState.RESCHEDULED, TaskState.RUNNING):
            for row in range(self.tasks_model.rowCount()):
                task = self.tasks_model.record(row)
                if task is not None and task.state == wanted.value:
                    return row
        return 0

    def _task_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        task = self.tasks_model.record(current.row())
        self._selected_task_id = task.id if task else None
        self._show_steps(task)
        self._update_actions()

    def _fill_attempts(self, task: TaskRecord | None) -> int | None:
        """The attempt chooser for this task; returns the attempt to show (None: latest).

        A person looking at an earlier attempt of the same task keeps looking at it while
        the runtime reports progress."""
        chosen = self.attempt_chooser.currentData() if task is not None and (
            task.id == self._attempts_task_id) else None
        self._attempts_task_id = task.id if task is not None else None
        chooser = self.attempt_chooser
        chooser.blockSignals(True)
        chooser.clear()
        latest = task.attempts if task else 0
        chooser.addItem(f"{latest} of {latest} (latest)" if latest else "none yet", None)
        for number in range(latest - 1, 0, -1):
            chooser.addItem(f"{number} of {latest}", number)
        index = chooser.findData(chosen) if chosen is not None else 0
        chooser.setCurrentIndex(max(index, 0))
        chooser.setEnabled(chooser.count() > 1)
        chooser.blockSignals(False)
        return chooser.currentData()

    def _fetch_history(self, task_id: int) -> None:
        store = self._ctx.store

        def arrived(full: TaskRecord) -> None:
            self._history = full
            selected = self.selected_task()
            if selected is not None and selected.id == task_id:
                self._show_steps(selected)

        self._gateway.call(lambda: store.jobs.task_record(task_id), arrived,
                           lambda error: self.message.emit(
                               f"Could not load the task's history: {error}"))

    def _attempt_chosen(self, _index: int) -> None:
        self._show_steps(self.selected_task())
        self._update_actions()

    def _show_steps(self, task: TaskRecord | None) -> None:
        self._shown_version = self.tasks_model.version(task) if task is not None else None
        attempt = self._fill_attempts(task)
        rows: list[StepRow] = []
        if task is not None and attempt is None:
            rows = step_rows(task)
        elif task is not None and attempt is not None:
            # An earlier attempt never changes once the next began: fetched once, off the
            # UI thread (the window reads only each task's latest attempt as it follows).
            full = self._history
            if full is not None and full.id == task.id and attempt < full.attempts:
                rows = step_rows(full, attempt)
            else:
                self._fetch_history(task.id)
        self.steps_model.set_records(rows)
        failed = [s for s in rows if s.status == "Failed"]
        if failed:
            step = failed[0]
            text = f"<b>{escape(step.name)} failed:</b> {escape(step.message or '')}"
            if step.fix_hint:
                text += f"<br><b>How to fix:</b> {escape(step.fix_hint)}"
            self.fix_hint.setText(text)
        else:
            self.fix_hint.setText("")
        if failed:
            row = self.steps_model.row_of(failed[0].id)
            if row is not None:
                self.steps_view.selectRow(row)
                index = self.steps_model.index(row, 0)
                # After the view has its rows laid out, bring the failed step into sight.
                QTimer.singleShot(0, lambda: self.steps_view.scrollTo(index))

    # --- actions --------------------------------------------------------------------

    def selected_task(self) -> TaskRecord | None:
        return self.tasks_model.record(self.tasks_view.currentIndex().row())

    def selected_step(self) -> StepRow | None:
        """The selected step of the task's plan; none while an earlier attempt is shown
        (what happened then cannot be skipped now)."""
        if self.attempt_chooser.currentData() is not None:
            return None
        return self.steps_model.record(self.steps_view.currentIndex().row())

    def _update_actions(self, *_: object) -> None:
        """Each button enabled when the domain allows its action now, else its refusal as
        the tooltip: the rules are asked, not repeated here."""
        record, task, step = self._record, self.selected_task(), self.selected_step()
        self.duplicate_button.setEnabled(record is not None and not record.system)
        if record is None:
            for button in (self.cancel_job_button, self.retry_button,
                           self.cancel_task_button, self.skip_button):
                button.setEnabled(False)
                button.setToolTip("select a job first")
            self.extend_button.setEnabled(False)
            self.extend_button.setToolTip("select a job first")
            self.continue_button.setEnabled(False)
            return
        waiting = _rollout_waits(record)
        self.continue_button.setEnabled(waiting)
        self.continue_button.setToolTip(
            "Let the rollout go on: start the next batch, or lift the pause after failures"
            if waiting else "The rollout is not waiting for anyone")
        actions = lifecycle.available_actions(
            _job_view(record), _task_view(task), _step_status(step), self._ctx.clock.now(),
            extension=self._ctx.settings.fire_and_forget_lifetime)
        for button, action in ((self.cancel_job_button, Action.CANCEL_JOB),
                               (self.retry_button, Action.RETRY_NOW),
                               (self.cancel_task_button, Action.CANCEL_TASK),
                               (self.skip_button, Action.SKIP_STEP)):
            refusal = actions[action]
            button.setEnabled(refusal is None)
            button.setToolTip(refusal or "")
        extend_refusal = actions[Action.EXTEND_JOB]
        self.extend_button.setEnabled(extend_refusal is None)
        self.extend_button.setToolTip(
            extend_refusal or "Give the job a later Expires At, so that its expired tasks "
            "can be retried")

    def _run(self, action: object, done_text: str) -> None:
        job_id = self._job_id

        def finished(_result: object) -> None:
            self.message.emit(done_text)
            if job_id is not None:
                self.changed.emit(job_id)
            self.reload()

        def failed(error: str) -> None:
            QMessageBox.warning(self, "jobdesk", error)
            self.reload()

        self._gateway.call(action, finished, failed)  # type: ignore[arg-type]

    def continue_rollout(self) -> None:
        """*Continue rollout* (B8): approve the next batch or lift the threshold's pause,
        off the UI thread like every action here; the pane then shows the new view."""
        record = self._record
        if record is None or not _rollout_waits(record):
            return
        service = self._ctx.service
        self._run(lambda: service.continue_rollout(record.id),
                  f"Rollout of job {record.id} continues")

    def cancel_job(self) -> None:
        record = self._record
        if record is None:
            return
        answer = QMessageBox.question(
            self, "Cancel job",
            f"Cancel “{record.name}”?\n\nTasks that wait will not run. A step running now on "
            "a device finishes first (a firmware flash or reboot is never cut short); no "
            "further step starts.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        service = self._ctx.service
        self._run(lambda: service.cancel_job(record.id), f"Job {record.id} cancelled")

    def cancel_task(self) -> None:
        task, record = self.selected_task(), self._record
        if task is None or record is None:
            return
        answer = QMessageBox.question(
            self, "Cancel task",
            f"Cancel the task of {task.device}?\n\nIf a step is running on the device it "
            "finishes first; no further step starts.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        service = self._ctx.service
        self._run(lambda: service.cancel_task(record.id, task.device),
                  f"Task of {task.device} cancelled")

    def retry_task(self) -> None:
        task, record = self.selected_task(), self._record
        if task is None or record is None:
            return
        extend = False
        if self._ctx.clock.now() >= record.expires_at:
            schedule = schedule_from_dict(record.schedule)
            if not isinstance(schedule, FireAndForget):
                QMessageBox.information(
                    self, "Retry",
                    "This job's date range is over. Give it a later end date with Extend…, "
                    "then retry.",
                )
                return
            minutes = self._ctx.settings.fire_and_forget_lifetime_s // 60
            answer = QMessageBox.question(
                self, "Retry",
                f"The job expired at {local_time(record.expires_at)}. Extend it by "
                f"{minutes} minutes from now and retry {task.device}?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            extend = True
        service = self._ctx.service
        self._run(lambda: service.retry_task(record.id, task.device, extend=extend),
                  f"{task.device} will be retried now")

    def extend_job(self) -> None:
        """*Extend…*: a later Expires At chosen in a dialog, saved off the UI thread like
        every action here; a refusal (the job was cancelled meanwhile) is shown in words.
        The dialog does not block, so the pane keeps following the job while it is open."""
        record = self._record
        if record is None:
            return
        dialog = ExtendJobDialog(_job_view(record), record.name, self._ctx.clock.now(),
                                 self._ctx.settings.fire_and_forget_lifetime, self)
        service = self._ctx.service

        def save() -> None:
            to, by = dialog.extension()
            self._run(lambda: service.extend_job(record.id, to=to, by=by),
                      f"Job {record.id} extended; retry its failed tasks to run them again")

        dialog.accepted.connect(save)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def skip_step(self) -> None:
        task, step, record = self.selected_task(), self.selected_step(), self._record
        if task is None or step is None or record is None:
            return
        answer = QMessageBox.question(
            self, "Skip step",
            f"Skip “{step.name}” on {task.device}?\n\nDo this only after doing this step by "
            "hand on the device. jobdesk will mark it Skipped and never run it for this "
            "task; the next attempt continues with the step after it.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        service = self._ctx.service
        self._run(lambda: service.skip_step(record.id, task.device, step.name),
                  f"{step.name} on {task.device} skipped; use Retry now to continue")

    def _duplicate(self) -> None:
        if self._record is not None:
            self.duplicateRequested.emit(self._record)

    def _tasks_menu(self, position: QPoint) -> None:
        menu = QMenu(self)
        menu.addAction("Retry now", self.retry_task).setEnabled(self.retry_button.isEnabled())
        menu.addAction("Cancel task…", self.cancel_task).setEnabled(
            self.cancel_task_button.isEnabled())
        menu.exec(self.tasks_view.viewport().mapToGlobal(position))

    def _steps_menu(self, position: QPoint) -> None:
        menu = QMenu(self)
        menu.addAction("Skip step…", self.skip_step).setEnabled(self.skip_button.isEnabled())
        menu.exec(self.steps_view.viewport().mapToGlobal(position))


__all__ = ["DetailPane"]
