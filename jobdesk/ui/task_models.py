"""Models of the detail pane: a job's tasks (one per device) and a task's steps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from jobdesk.domain import lifecycle
from jobdesk.domain.states import StepStatus
from jobdesk.domain.times import format_instant
from jobdesk.store.records import TaskRecord
from jobdesk.ui import states
from jobdesk.ui.delegates import ProgressRole
from jobdesk.ui.one_call import OneCallPerCell

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class StepRow:
    """A step as the detail pane shows it: from the task's plan (the latest attempt and
    what the next one does) or from one earlier attempt's record (spec B1)."""

    id: int  # the step's id: one row per step in either view
    name: str
    status: str  # the stored status (what the rules are asked about)
    label: str  # what a person reads ("Not run", "Completed, runs again")
    started_at: datetime | None
    skipped_at: datetime | None
    completed_at: datetime | None
    message: str | None
    fix_hint: str | None  # only where a step failed: elsewhere it is noise
    attempt: int | None = None  # which attempt the times are of (None: it has not run)
    earlier: bool = False  # done in an attempt before the latest one

    @property
    def attempt_text(self) -> str:
        if self.attempt is None:
            return "earlier" if self.earlier else ""
        return str(self.attempt)

    @property
    def finished_at(self) -> datetime | None:
        return self.completed_at or self.skipped_at


def step_rows(task: TaskRecord, attempt: int | None = None) -> list[StepRow]:
    """The rows of the steps table: the plan (`attempt` None) or one attempt's record.

    In the plan, a step's times are those of the attempt that ran it last: a step the
    latest attempt did not reach shows no time (a Pending step once started in an earlier
    attempt is not "started" now), and each row says which attempt its times are of."""
    if attempt is None:
        latest = {run.step_id: run for run in task.runs if run.attempt == task.attempts}
        rows = []
        for step, label in zip(task.steps, task.step_labels(), strict=True):
            run = latest.get(step.id)
            pending = step.status == StepStatus.PENDING.value
            if run is not None and not pending:
                times = (run.started_at, run.skipped_at, run.completed_at)
            elif pending:
                times = (None, None, None)
            else:
                times = (step.started_at, step.skipped_at, step.completed_at)
            rows.append(StepRow(
                step.id, step.name, step.status, label, *times,
                step.message if not pending else None,
                step.fix_hint if step.status == StepStatus.FAILED.value else None,
                attempt=run.attempt if run is not None and not pending else None,
                earlier=run is None and not pending and step.started_at is not None))
        return rows
    hints = {step.id: step.fix_hint for step in task.steps}
    return [
        StepRow(run.step_id, run.name, run.status, run.status, run.started_at, run.skipped_at,
                run.completed_at, run.message,
                hints.get(run.step_id) if run.status == StepStatus.FAILED.value else None,
                attempt=number)
        for number, runs in task.attempts_history() if number == attempt for run in runs
    ]


Row = TypeVar("Row", TaskRecord, StepRow)


_SERVED = frozenset({
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.DecorationRole,
    Qt.ItemDataRole.BackgroundRole,
    ProgressRole,
})
# Above this many runs of changed rows, one dataChanged spans them all (see `_announce`).
MAX_SIGNALLED_RUNS = 8


class RecordTableModel(OneCallPerCell, QAbstractTableModel, Generic[Row]):
    """A small table of records keyed by id, updated in place when the same rows return.

    Updating in place (dataChanged) rather than resetting keeps the selection and the scroll
    position while the runtime reports progress many times a second.
    """

    columns: Sequence[tuple[str, Callable[[Any], Any]]] = ()
    state_column: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self._records: list[Row] = []
        self._rows: dict[Any, int] = {}  # record id -> row
        self._values: list[tuple[Any, ...] | None] = []  # per row, computed when first shown
        self._sort: tuple[int, Qt.SortOrder] | None = None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section][0] if 0 <= section < len(self.columns) else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Qt asks for many roles per cell at every paint, from C++: answer the ones we do
        # not serve at once, and the others from values computed once per row.
        if role not in _SERVED:
            return None
        row = index.row()
        if not 0 <= row < len(self._records):
            return None
        values = self._values[row]
        if values is None:
            record = self._records[row]
            values = self._values[row] = tuple(getter(record) for _, getter in self.columns)
        value = values[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if isinstance(value, tuple):
                return f"{value[0]}/{value[1]}"
            return "" if value is None else str(value)
        if role == ProgressRole:
            return value if isinstance(value, tuple) else None
        if index.column() == self.state_column:
            look = self.look(self._records[row])
            if role == Qt.ItemDataRole.DecorationRole:
                return states.icon(look)
            return states.tint(look)
        return None

    def record(self, row: int) -> Row | None:
        return self._records[row] if 0 <= row < len(self._records) else None

    def row_of(self, record_id: int) -> int | None:
        return self._rows.get(record_id)

    def set_records(self, records: Sequence[Row]) -> None:
        records = list(records)
        if self._replace_in_place(records):
            return
        if self._sort is not None:
            records = self._sorted(records, *self._sort)
        if [r.id for r in records] == [r.id for r in self._records]:
            # Only rows that changed are announced: a thousand-task job refreshed while a
            # few tasks move repaints those few rows, not the whole visible table.
            version = self.version
            changed = [row for row, (old, new) in enumerate(zip(self._records, records,
                                                               strict=True))
                       if version(old) != version(new)]
            self._adopt(records)
            for row in changed:
                self._values[row] = None
            self._announce(changed)
            return
        self.beginResetModel()
        self._adopt(records)
        self._values = [None] * len(records)
        self.endResetModel()

    def _adopt(self, records: list[Row]) -> None:
        self._records = records
        self._rows = {r.id: n for n, r in enumerate(records)}

    def _announce(self, changed_rows: list[int]) -> None:
        """dataChanged for the rows given (ascending): one signal per run of rows while
        there are few runs, else one signal from the first changed row to the last.

        Why the bound: each signal is a call into Qt that hands the interpreter lock back
        and waits for it again, behind the runtime's thread. With 200 devices at once a
        second's refresh changes ~150 scattered tasks, and one signal per run cost 12 ms of
        the window's thread (2 ms as one signal). The view repaints only the visible part
        of a range, so a wide one costs at most one viewport's repaint.
        """
        if not changed_rows:
            return
        runs = _runs(changed_rows)
        if len(runs) > MAX_SIGNALLED_RUNS:
            runs = [(runs[0][0], runs[-1][1])]
        last_column = len(self.columns) - 1
        for first, last in runs:
            self.dataChanged.emit(self.index(first, 0), self.index(last, last_column))

    def replace_records(self, records: Sequence[Row]) -> bool:
        """Put these records in place of the shown ones with the same ids, the rest kept.

        The detail pane's common refresh: it knows which tasks it read again, so a
        thousand-task job whose tasks move a few at a time costs the window's thread a
        look at those few, not at every row (it runs while the runtime's thread wants the
        interpreter too). Returns False (nothing touched) when one is not shown or would
        move to another row under the sort.
        """
        key = self._sort_key(self._sort[0]) if self._sort is not None else None
        replaced: list[tuple[int, Row]] = []
        for new in records:
            row = self._rows.get(new.id)
            if row is None:
                return False
            old = self._records[row]
            if old is not new:
                if key is not None and key(old) != key(new):
                    return False
                replaced.append((row, new))
        self._put(replaced)
        return True

    def _replace_in_place(self, records: list[Row]) -> bool:
        """`set_records` when the same rows come back, a few of them changed, none moving:
        an identity check per row instead of a sort and a comparison of every row.
        Returns False (nothing touched) when a row would appear, vanish or move.
        """
        if len(records) != len(self._records) or len(self._rows) != len(self._records):
            return False
        key = self._sort_key(self._sort[0]) if self._sort is not None else None
        replaced: list[tuple[int, Row]] = []
        seen: set[int] = set()
        for position, new in enumerate(records):
            row = self._rows.get(new.id)
            if row is None or row in seen or (key is None and row != position):
                return False  # a new row, a repeated one, or (unsorted) one that moved
            seen.add(row)
            old = self._records[row]
            if old is new:
                continue
            if key is not None and key(old) != key(new):
                return False
            replaced.append((row, new))
        self._put(replaced)
        return True

    def _put(self, replaced: list[tuple[int, Row]]) -> None:
        """Adopt new records for rows that keep their place; announce those that changed."""
        version = self.version
        changed = []
        for row, new in replaced:
            if version(self._records[row]) != version(new):
                self._values[row] = None
                changed.append(row)
            self._records[row] = new
        self._announce(sorted(changed))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        ids = [self._records[i.row()].id for i in before]
        self._adopt(self._sorted(self._records, column, order))
        self._values = [None] * len(self._records)
        rows = self._rows
        self.changePersistentIndexList(
            before, [self.index(rows[i], p.column()) for i, p in zip(ids, before, strict=True)]
        )
        self.layoutChanged.emit()

    def _sorted(self, records: list[Row], column: int, order: Qt.SortOrder) -> list[Row]:
        key = self._sort_key(column)
        return sorted(records, key=key, reverse=order == Qt.SortOrder.DescendingOrder)

    def _sort_key(self, column: int) -> Callable[[Row], tuple[bool, Any]]:
        getter = self.columns[column][1]

        def key(record: Row) -> tuple[bool, Any]:
            value = getter(record)
            if isinstance(value, tuple):  # progress: sort by the finished share
                value = value[0] / value[1] if value[1] else 0.0
            if value is None:
                return (True, "")  # empty cells last
            return (False, value if isinstance(value, (int, float)) else str(value))

        return key

    def version(self, record: Row) -> Any:
        """What tells whether a record changed since it was shown (the record itself)."""
        return record

    def look(self, record: Row) -> str:
        """The state whose colour and icon the state column shows."""
        return str(self.columns[self.state_column or 0][1](record))


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Consecutive rows as (first, last) ranges: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][1] == row - 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


def _step_progress(task: TaskRecord) -> tuple[int, int, str]:
    progress = task.step_progress
    return (progress.done, progress.total, task.state)


class TasksModel(RecordTableModel[TaskRecord]):
    columns = (
        ("Device", lambda t: t.device),
        ("State", lambda t: t.state),
        ("Batch", lambda t: t.batch),  # its rollout batch (B8); hidden without a rollout
        ("Host", lambda t: t.driven_by),  # which runtime's host works on it (team mode)
        ("Last triggered", lambda t: format_instant(t.last_triggered_at)),
        ("Current step", lambda t: t.current_step),
        ("Steps", _step_progress),
        ("Attempts", lambda t: t.attempts),
        ("Next attempt", lambda t: format_instant(t.next_attempt_at)),
        ("Reason", lambda t: t.reason),
    )
    state_column = 1
    batch_column = 2
    host_column = 3
    progress_column = 6

    def version(self, record: TaskRecord) -> Any:
        """Every change of a task or its steps moves its `updated_at`: comparing it is enough
        (and much cheaper than comparing a thousand tasks field by field)."""
        return (record.updated_at, record.state, record.cancel_requested) \
            if record.updated_at is not None else record


class StepsModel(RecordTableModel[StepRow]):
    columns = (
        ("Step", lambda s: s.name),
        ("Status", lambda s: s.label),
        ("Attempt", lambda s: s.attempt_text),
        ("Started", lambda s: format_instant(s.started_at)),
        ("Finished", lambda s: format_instant(s.finished_at)),
        ("Message", lambda s: s.message),
        ("Fix hint", lambda s: s.fix_hint),
    )
    state_column = 1

    def look(self, record: StepRow) -> str:
        # "Completed, runs again" looks Completed; "Not run" looks like nothing happened.
        return lifecycle.NOT_RUN if record.label == lifecycle.NOT_RUN else record.status
