"""The detail pane of the selected job: Job, State, Job Tasks and Steps (spec A1).

Loading a job's detail is a query (a thousand tasks, seven thousand steps) and runs on the
store's worker thread; a newer selection supersedes an older request, whose answer is then
dropped. Live updates refetch the shown job and update the tables in place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from html import escape

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from jobdesk.domain import lifecycle
from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.lifecycle import Action, JobView, TaskView
from jobdesk.domain.schedule import FireAndForget, Schedule, Scheduled, schedule_from_dict
from jobdesk.domain.states import JobState, StepStatus, TaskState, is_terminal_state
from jobdesk.domain.times import format_instant
from jobdesk.store.records import JobRecord, TaskRecord
from jobdesk.ui import states
from jobdesk.ui.columns import SAMPLE_TIME, fit_columns
from jobdesk.ui.context import AppContext
from jobdesk.ui.delegates import OutcomeBar, ProgressDelegate, segments_for
from jobdesk.ui.elided import ElidedLabel, fix_size
from jobdesk.ui.extend_dialog import ExtendJobDialog
from jobdesk.ui.gateway import Failure, StoreGateway
from jobdesk.ui.jobs_model import next_run_text
from jobdesk.ui.report_export import ReportExport
from jobdesk.ui.rollout_bar import RolloutBar, batch_looks, batch_text
from jobdesk.ui.task_models import (
    RecordTableView,
    StepRow,
    StepsModel,
    TasksModel,
    step_rows,
)
from jobdesk.ui.week_strip import WeekStrip, next_window_text
from jobdesk.ui.words import sentence

CHANGE_MARGIN = timedelta(seconds=5)
TASK_ROWS = 8  # rows the tasks table shows by default (a laptop screen's worth)
STEP_ROWS = 3  # the least the steps table keeps before the tasks give way
ACTION_TIPS: dict[str, str] = {
    "cancel_job": "Cancel the job: waiting tasks do not run, running steps finish first",
    "duplicate": "Create a new job like this one",
    "extend": "Give the job a later Expires At, so that its expired tasks can be retried",
    "continue": "Let the rollout go on: start the next batch, or lift the pause after "
                "failures",
    "retry": "Run the selected task again now (or at the next window)",
    "cancel_task": "Cancel the selected task",
    "skip": "Mark the selected step done by hand; the next attempt goes on after it",
}



def _job_view(record: JobRecord) -> JobView:
    try:
        state = JobState(record.state)
    except ValueError:
        state = JobState.UNKNOWN
    return JobView(schedule=schedule_from_dict(record.schedule), expires_at=record.expires_at,
                   state=state, cancelled=record.cancelled_at is not None,
                   replaced=record.replaced_by is not None)


@dataclass(frozen=True)
class _Arrival:
    """A refresh of the shown job, prepared on the store's thread.

    `on` is the record it was read on top of (None: read whole) and `changed` the tasks
    read again since; the window's thread then replaces only those rows, not a thousand.
    The outcome counts and what the header shows are worked out there too.
    """

    record: JobRecord
    on: JobRecord | None
    changed: Sequence[TaskRecord]
    outcomes: Counter[str]
    header: JobRecord  # the job without what the header does not show (tasks, progress)

    @classmethod
    def of(cls, record: JobRecord, *, on: JobRecord | None = None,
           changed: Sequence[TaskRecord] = ()) -> _Arrival:
        return cls(record, on, changed, Counter(task.state for task in record.tasks),
                   replace(record, tasks=(), progress_done=0, progress_total=0))


def _rollout_waits(record: JobRecord) -> bool:
    """Whether the job's rollout waits for a person now (what *Continue rollout* is for)."""
    view = (record.rollout or {}).get("view") or {}
    return view.get("waiting_for") is not None and not is_terminal_state(record.state)


def _next_run(record: JobRecord, finished: bool) -> str:
    """The same words as the jobs list's Next run, with what a blank there means."""
    if finished:
        return "none (finished)"
    text = next_run_text(record)
    if text:
        return text
    if record.state == JobState.PAUSED.value:
        return "when a person continues the rollout"
    return "now" if record.state == JobState.RUNNING.value else "not planned"


def _expires_text(record: JobRecord, schedule: Schedule | None, now: datetime) -> str:
    """Expires At on the laptop's clock and, for a job in another zone, in the job's."""
    text = format_instant(record.expires_at, now=now)
    if isinstance(schedule, Scheduled):
        in_zone = format_instant(record.expires_at, zone=schedule.zone, now=now)
        if in_zone != text:
            text += f" · {in_zone} {schedule.tz}"
    return text


def _table_height(view: QTableView, rows: int) -> int:
    """The height at which a table shows its header and `rows` rows (and its scroll bar)."""
    return (view.horizontalHeader().sizeHint().height() + 2 * view.frameWidth()
            + view.horizontalScrollBar().sizeHint().height()
            + rows * view.verticalHeader().defaultSectionSize())


def _chrome(box: QWidget, *parts: QWidget) -> int:
    """What a section needs besides `parts`: its title line, spacing and margins."""
    return box.sizeHint().height() - sum(part.sizeHint().height() for part in parts) + 4


def _section(name: str, title: QHBoxLayout, table: QTableView, *below: QWidget) -> QWidget:
    """A section of the pane: its title line (with its actions), its table, what follows."""
    box = QWidget()
    box.setObjectName(name)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 2, 0, 0)
    layout.setSpacing(2)
    layout.addLayout(title)
    layout.addWidget(table, 1)
    for widget in below:
        layout.addWidget(widget)
    return box


def _button(text: str, name: str, slot: object) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.clicked.connect(slot)
    return button


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


def _section_title(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


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
    view = RecordTableView()
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
    # {action: None or why not}: what may be done with the shown job now (ACTION_TIPS keys)
    availabilityChanged = Signal(object)

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
        self._header: JobRecord | None = None  # what the header shows now (`_Arrival.header`)
        self._header_shape: tuple[object, ...] | None = None  # see `_show_rollout`
        self._shown_version: object = None  # of the task whose steps are shown
        self._attempts_listed: tuple[int, int] | None = None  # (task id, attempts) listed
        self._fix_hint_text = ""  # what the fix hint under the steps shows
        self._history: TaskRecord | None = None  # one task with every attempt's record
        self.availability: dict[str, str | None] = dict.fromkeys(ACTION_TIPS,
                                                                 "select a job first")
        self._buttons_set = False  # the buttons follow `availability` once set the first time
        self.sections_kept = False  # a person moved the sections (or they were restored)
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
        """Job and State (spec A1) as one compact header, then Job Tasks and Steps in a
        vertical splitter: on a 1366×768 laptop the tasks keep eight rows and the failed
        step its message and fix hint. Each section's actions sit on its title line, so no
        row of buttons takes a table's room; long lines are shortened, never wrapped."""
        self.placeholder = QLabel("Select a job to see its tasks and steps.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setObjectName("detailPlaceholder")
        self.sections = QSplitter(Qt.Orientation.Vertical)
        self.sections.setObjectName("detailSections")
        self.sections.addWidget(self._build_header())
        self.sections.addWidget(self._build_tasks())
        self.sections.addWidget(self._build_steps())
        self.sections.setStretchFactor(0, 0)
        self.sections.setStretchFactor(1, 3)
        self.sections.setStretchFactor(2, 2)
        self.sections.setChildrenCollapsible(False)
        self.sections.setHandleWidth(6)
        self.sections.splitterMoved.connect(self.keep_sections)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.addWidget(self.placeholder)
        layout.addWidget(self.sections)

    def keep_sections(self, *_: object) -> None:
        """From now on the sections keep the sizes a person gave them."""
        self.sections_kept = True

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.place_sections()

    def place_sections(self) -> None:
        """The header as tall as it needs, the tasks room for `TASK_ROWS` rows, the steps
        the rest; on a short screen the tasks give way until the steps keep
        `STEP_ROWS` rows and the fix hint. The current task and step stay in view."""
        if not self.sections_kept:
            total = self.height() - 2 * self.sections.handleWidth()
            header = self.sections.widget(0).sizeHint().height()
            tasks_box, steps_box = self.sections.widget(1), self.sections.widget(2)
            tasks = _table_height(self.tasks_view, TASK_ROWS) + _chrome(tasks_box,
                                                                        self.tasks_view)
            steps = (_table_height(self.steps_view, STEP_ROWS)
                     + _chrome(steps_box, self.steps_view, self.fix_hint)
                     + 2 * self.fix_hint.fontMetrics().lineSpacing() + 6)
            tasks = max(min(tasks, total - header - steps), _table_height(self.tasks_view, 2))
            self.sections.setSizes([header, tasks, max(total - header - tasks, 1)])
        for view in (self.tasks_view, self.steps_view):
            if view.currentIndex().isValid():
                view.scrollTo(view.currentIndex())

    def _build_header(self) -> QWidget:
        header = QWidget()
        header.setObjectName("jobHeader")
        self.name_label = ElidedLabel()
        self.name_label.setObjectName("jobName")
        font = self.name_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.name_label.setFont(font)
        self.type_label = QLabel()
        self.type_label.setObjectName("jobType")
        self.created_label = ElidedLabel()
        self.created_label.setObjectName("jobCreated")
        self.state_icon = QLabel()
        self.state_icon.setFixedSize(states.HEADER_SIZE, states.HEADER_SIZE)
        self._icon_state = ""
        self.state_label = QLabel()
        self.state_label.setObjectName("jobState")
        # As wide as the longest state: a job that changes state moves nothing beside it
        # (a moved widget repaints, and with it much of the window, while devices run).
        fix_size(self.state_label, *JobState)
        self.progress = OutcomeBar()
        self.progress.setObjectName("jobProgress")
        self.schedule_label = ElidedLabel()
        self.schedule_label.setObjectName("jobSchedule")
        self.next_run_label = ElidedLabel()
        self.next_run_label.setObjectName("nextRun")
        self.next_window_label = ElidedLabel()
        self.next_window_label.setObjectName("nextWindow")
        self.expires_label = ElidedLabel()
        self.expires_label.setObjectName("expiresAt")

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(3)
        title = QHBoxLayout()
        title.setSpacing(12)
        title.addWidget(self.name_label, 3)
        title.addWidget(self.type_label)
        title.addWidget(self.created_label, 2)
        state = QHBoxLayout()
        state.addWidget(self.state_icon)
        state.addWidget(self.state_label)
        state.addWidget(self.progress, 1)
        grid.addLayout(title, 0, 0, 1, 4)
        grid.addWidget(_caption("State"), 1, 0)
        grid.addLayout(state, 1, 1, 1, 3)
        grid.addWidget(_caption("Schedule"), 2, 0)
        grid.addWidget(self.schedule_label, 2, 1, 1, 3)
        grid.addWidget(_caption("Next run"), 3, 0)
        grid.addWidget(self.next_run_label, 3, 1)
        grid.addWidget(_caption("Expires"), 3, 2)
        grid.addWidget(self.expires_label, 3, 3)
        grid.addWidget(_caption("Window"), 4, 0)
        grid.addWidget(self.next_window_label, 4, 1, 1, 3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)

        self.week_strip = WeekStrip()
        self.week_strip.setObjectName("weekStrip")
        self.week_strip.setFixedHeight(56)

        self.cancel_job_button = _button("Cancel job…", "cancelJob", self.cancel_job)
        self.duplicate_button = _button("Duplicate…", "duplicateJob", self._duplicate)
        self.extend_button = _button("Extend…", "extendJob", self.extend_job)
        rollout_row = self._build_rollout_row()
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

        layout = QVBoxLayout(header)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(4)
        layout.addLayout(grid)
        layout.addWidget(self.week_strip)
        layout.addWidget(rollout_row)
        layout.addLayout(job_actions)
        header.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        return header

    def _build_tasks(self) -> QWidget:
        self.tasks_view = _table(self.tasks_model, "tasksView", sortable=True)
        self.tasks_view.setItemDelegateForColumn(TasksModel.progress_column,
                                                 ProgressDelegate(self.tasks_view))
        self.tasks_view.selectionModel().currentRowChanged.connect(self._task_selected)
        self.tasks_view.customContextMenuRequested.connect(self._tasks_menu)
        fit_columns(self.tasks_view, {"Device": "sim-000-north", "State": "Partially Succeeded",
                                      "Last triggered": SAMPLE_TIME, "Current step":
                                      "verify-version", "Steps": "7/7", "Attempts": "12",
                                      "Next attempt": SAMPLE_TIME, "Batch": "10", "Host":
                                      "laptop-01"})
        # Which host works on a task matters only where several runtimes share the jobs.
        self.tasks_view.setColumnHidden(TasksModel.host_column, not self._ctx.store.is_postgres)
        # A task's batch only means something in a rollout (shown per job, _show_header).
        self.tasks_view.setColumnHidden(TasksModel.batch_column, True)
        self.retry_button = _button("Retry now", "retryTask", self.retry_task)
        self.cancel_task_button = _button("Cancel task…", "cancelTask", self.cancel_task)
        title = QHBoxLayout()
        title.addWidget(_section_title("Job Tasks"))
        title.addStretch(1)
        title.addWidget(self.retry_button)
        title.addWidget(self.cancel_task_button)
        return _section("tasksSection", title, self.tasks_view)

    def _build_steps(self) -> QWidget:
        # B1: the latest attempt (and what the next one runs), or any earlier one.
        self.attempt_chooser = QComboBox()
        self.attempt_chooser.setObjectName("attemptChooser")
        # One width whatever it lists ("none yet", "12 of 12 (latest)"): a chooser that
        # grew when a task started moved its row, and a move repaints much of the window.
        self.attempt_chooser.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.attempt_chooser.setMinimumContentsLength(len("12 of 12 (latest)"))
        self.attempt_chooser.activated.connect(self._attempt_chosen)
        self.skip_button = _button("Skip step…", "skipStep", self.skip_step)
        title = QHBoxLayout()
        title.addWidget(_section_title("Steps"))
        title.addSpacing(12)
        title.addWidget(QLabel("Attempt:"))
        title.addWidget(self.attempt_chooser)
        title.addStretch(1)
        title.addWidget(self.skip_button)
        # Steps keep their order: it is the order they run in.
        self.steps_view = _table(self.steps_model, "stepsView", sortable=False)
        self.steps_view.customContextMenuRequested.connect(self._steps_menu)
        self.steps_view.selectionModel().currentRowChanged.connect(self._update_actions)
        fit_columns(self.steps_view, {"Step": "verify-fingerprint", "Status":
                                      "Completed, runs again", "Attempt": "earlier",
                                      "Started": SAMPLE_TIME, "Finished": SAMPLE_TIME,
                                      "Message": "x" * 28})
        self.fix_hint = QLabel()
        self.fix_hint.setObjectName("fixHint")
        self.fix_hint.setWordWrap(True)
        self.fix_hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        hint_policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        hint_policy.setHeightForWidth(True)
        self.fix_hint.setSizePolicy(hint_policy)
        return _section("stepsSection", title, self.steps_view, self.fix_hint)

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
        self.continue_button = _button("Continue rollout", "continueRollout", self.continue_rollout)
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
        self.place_sections()
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

        def load() -> _Arrival:
            # All of it on the store's thread: the window's thread only shows the result.
            since = None
            if known is not None and known.tasks:
                newest = max((t.updated_at for t in known.tasks if t.updated_at), default=None)
                since = newest - CHANGE_MARGIN if newest is not None else None
            job, changed = store.jobs.detail_since(job_id, since)
            if known is None or since is None:
                return _Arrival.of(replace(job, tasks=tuple(changed)))
            fresh = {task.id: task for task in changed}
            tasks = tuple(fresh.pop(t.id, t) for t in known.tasks)
            if fresh:  # tasks the job did not have before: read it whole
                job, every = store.jobs.detail_since(job_id, None)
                return _Arrival.of(replace(job, tasks=tuple(every)))
            return _Arrival.of(replace(job, tasks=tasks), on=known, changed=changed)

        self._gateway.call(
            load,
            lambda arrival: self._arrived(request, arrival),
            lambda error: self._failed(request, error),
        )

    def _failed(self, request: int, error: str) -> None:
        if request == self._request:
            self.message.emit(f"Could not load job {self._job_id}: {error}")

    def _arrived(self, request: int, arrival: _Arrival) -> None:
        if request != self._request:
            return  # a newer selection or refresh is on its way
        previous, record = self._record, arrival.record
        self._record = record
        header_changed = previous is None or arrival.header != self._header
        self._header = arrival.header
        minute = self._ctx.clock.now().replace(second=0, microsecond=0)
        if header_changed or minute != self._header_minute:
            self._header_minute = minute
            self._show_header(record)
        self._show_progress(record, arrival.outcomes)
        if arrival.on is None or arrival.on is not previous \
                or not self.tasks_model.replace_records(arrival.changed):
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
        now = self._ctx.clock.now()
        self.created_label.setText(
            f"job {record.id}, created {format_instant(record.created_at, now=now)}")
        if record.state != self._icon_state:  # a new picture lays the header out again
            self._icon_state = record.state
            self.state_icon.setPixmap(states.pixmap(record.state, states.HEADER_SIZE))
        self.state_label.setText(record.state)
        try:
            schedule = schedule_from_dict(record.schedule)
        except ValueError:
            schedule = None
        self.schedule_label.setText(schedule.describe() if schedule else "unreadable schedule")
        finished = is_terminal_state(record.state)
        self.next_run_label.setText(_next_run(record, finished))
        if finished:
            self.next_window_label.setText("Finished: no further runs")
        else:
            self.next_window_label.setText(next_window_text(schedule, now))
        self.expires_label.setText(_expires_text(record, schedule, now))
        self.week_strip.set_schedule(schedule, now, record.expires_at, finished=finished)
        shape = self._show_rollout(record, finished)
        if shape != self._header_shape:  # the rollout's lines come and go with the job
            self._header_shape = shape
            self.place_sections()

    def _show_progress(self, record: JobRecord, counts: Counter[str]) -> None:
        """The tasks by outcome: a cancelled job's bar is grey, not a blue "done"."""
        if not record.tasks:
            self.progress.set_outcomes(
                segments_for(record.progress_done, record.progress_total, record.state),
                record.progress_total)
            return
        cancelled_look = "Replaced" if record.replaced_by is not None else "Cancelled"
        self.progress.set_outcomes([
            (counts[TaskState.SUCCEEDED.value], "Succeeded"),
            (counts[TaskState.FAILED.value], "Failed"),
            (counts[TaskState.CANCELLED.value], cancelled_look),
        ], len(record.tasks))

    def _show_rollout(self, record: JobRecord, finished: bool) -> tuple[object, ...]:
        """The bar and the words from the view the store keeps with the job (B8).

        Returns what decides the header's height (which lines show, the reason's words),
        so the sections are placed again only when it changes."""
        view = (record.rollout or {}).get("view")
        self.rollout_row.setVisible(bool(view))
        self.tasks_view.setColumnHidden(TasksModel.batch_column, not view)
        self.continue_button.setVisible(bool(view) and not finished)
        if not view:
            self.rollout_reason_label.setVisible(False)
            return (record.id, False)
        self.rollout_bar.set_looks(batch_looks(record.rollout, finished=finished))
        self.rollout_label.setText(batch_text(record.rollout, finished=finished))
        waiting = _rollout_waits(record)
        reason = sentence(record.rollout_reason or "") if waiting else ""
        self.rollout_reason_label.setText(reason)
        self.rollout_reason_label.setVisible(waiting)
        return (record.id, True, waiting, reason)

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
        chooser = self.attempt_chooser
        listed = (task.id, task.attempts) if task is not None else None
        if listed is not None and listed == self._attempts_listed:
            # The same task with the same attempts: the list stands (refilling it, ten
            # calls into Qt and a relayout, ran every second for a followed running task).
            return chooser.currentData()
        same_task = listed is not None and self._attempts_listed is not None \
            and listed[0] == self._attempts_listed[0]
        chosen = chooser.currentData() if same_task else None
        self._attempts_listed = listed
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
        else:
            text = ""
        if text != self._fix_hint_text:
            self._fix_hint_text = text
            self.fix_hint.setText(text)
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
        """Each action enabled when the domain allows it now, else its refusal as the
        tooltip: the rules are asked here, once, and the buttons, the context menus and
        the window's menu entries all follow `availability` (see `availabilityChanged`)."""
        availability = self._availability()
        if availability == self.availability and self._buttons_set:
            return  # a refresh that changed nothing a person can do: no calls into Qt
        # Only the buttons whose answer changed: a job that starts running changes one or
        # two of seven, and each call into Qt waits for the interpreter behind the runtime.
        shown = self.availability if self._buttons_set else {}
        self.availability, self._buttons_set = availability, True
        for name, button in self._buttons().items():
            refusal = availability[name]
            if name in shown and shown[name] == refusal:
                continue
            button.setEnabled(refusal is None)
            button.setToolTip(refusal if refusal is not None else ACTION_TIPS[name])
        self.availabilityChanged.emit(dict(availability))

    def _buttons(self) -> dict[str, QPushButton]:
        return {"cancel_job": self.cancel_job_button, "duplicate": self.duplicate_button,
                "extend": self.extend_button, "continue": self.continue_button,
                "retry": self.retry_button, "cancel_task": self.cancel_task_button,
                "skip": self.skip_button}

    def _availability(self) -> dict[str, str | None]:
        """Per action, None when it may be taken now, else why not (in words)."""
        record, task, step = self._record, self.selected_task(), self.selected_step()
        if record is None:
            return dict.fromkeys(ACTION_TIPS, "select a job first")
        actions = lifecycle.available_actions(
            _job_view(record), _task_view(task), _step_status(step), self._ctx.clock.now(),
            extension=self._ctx.settings.fire_and_forget_lifetime,
            step_name=step.name if step is not None else None)
        if task is not None and step is None and self.attempt_chooser.currentData() is not None:
            actions[Action.SKIP_STEP] = "an earlier attempt is shown; choose the latest"
        return {
            "cancel_job": actions[Action.CANCEL_JOB],
            "duplicate": "system jobs are made by jobdesk itself" if record.system else None,
            "extend": actions[Action.EXTEND_JOB],
            "continue": None if _rollout_waits(record) else "the rollout is not waiting "
            "for anyone",
            "retry": actions[Action.RETRY_NOW],
            "cancel_task": actions[Action.CANCEL_TASK],
            "skip": actions[Action.SKIP_STEP],
        }

    def _run(self, action: object, done_text: str) -> None:
        job_id = self._job_id

        def finished(_result: object) -> None:
            self.message.emit(done_text)
            if job_id is not None:
                self.changed.emit(job_id)
            self.reload()

        def failed(error: Failure) -> None:
            # A refusal (the job was cancelled meanwhile) is the rules' answer, not a fault.
            if error.refused:
                QMessageBox.information(self, "Not possible", sentence(error) + ".")
            else:
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
                f"The job expired at {format_instant(record.expires_at)}. Extend it by "
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
