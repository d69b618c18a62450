"""Models of the detail pane: a job's tasks (one per device) and a task's steps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QTableView

from jobdesk.domain import lifecycle
from jobdesk.domain.states import StepStatus
from jobdesk.domain.times import format_instant
from jobdesk.store.records import TaskRecord
from jobdesk.ui import states


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


# What a cell holds besides its text: nothing can be edited, dragged or dropped.
CELL_FLAGS = (Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
              | Qt.ItemFlag.ItemNeverHasChildren)


class RecordTableModel(QStandardItemModel, Generic[Row]):
    """A table of records keyed by id whose cells are kept in Qt's own storage.

    Why Qt's storage: the runtime runs Python on its own thread, so every call Qt makes
    from the window's thread into Python first waits for the interpreter lock behind it.
    A model answering `data()` in Python made each visible cell of each paint such a wait
    (two calls a cell at best: `index` and `multiData`), and with 200 devices at once the
    repaint of a task table was the window's longest stall. Here the records are turned
    into cell texts once, when they arrive (in one stretch of Python), and Qt paints from
    its `QStandardItem`s without entering Python at all. Only cells whose value changed
    are written, so the views repaint just those.

    The records stay the source of truth (`record`, `row_of`, the sort): rows are updated
    in place (dataChanged) rather than reset while the same records return, which keeps
    the selection and the scroll position while the runtime reports progress.
    """

    columns: Sequence[tuple[str, Callable[[Any], Any]]] = ()
    state_column: int | None = None

    def __init__(self) -> None:
        super().__init__(0, len(self.columns))
        self.setHorizontalHeaderLabels([title for title, _ in self.columns])
        self._records: list[Row] = []
        self._rows: dict[Any, int] = {}  # record id -> row
        # Per row: its cells (kept, so an update needs no index; None until first shown),
        # the values they show and the record those came from.
        self._cells: list[list[QStandardItem] | None] = []
        self._shown: list[tuple[Any, ...]] = []
        self._written: list[Row | None] = []
        self._band: tuple[int, int] | None = None  # rows kept written; None: all of them
        self._sort: tuple[int, Qt.SortOrder] | None = None

    def record(self, row: int) -> Row | None:
        return self._records[row] if 0 <= row < len(self._records) else None

    def row_of(self, record_id: int) -> int | None:
        return self._rows.get(record_id)

    def show_band(self, first: int, last: int) -> None:
        """A view shows rows `first`..`last`: keep those and a screenful either side
        written; the others are written when they come near the screen.

        Why: 200 devices at once move most of a big job's tasks every second, and turning
        a task into its cells' texts costs ~50 µs of Python on the window's thread; a view
        that shows 25 of 500 rows should not pay for the other 475.
        """
        span = max(last - first + 1, 1)
        self._band = (max(first - span, 0), last + span)
        self._write_band()

    def set_records(self, records: Sequence[Row]) -> None:
        records = list(records)
        if self._replace_in_place(records):
            return
        if self._sort is not None:
            records = self._sorted(records, *self._sort)
        if [r.id for r in records] == [r.id for r in self._records]:
            # Only the cells that changed are written: a thousand-task job refreshed while
            # a few tasks move repaints those few cells, not the whole visible table.
            version = self.version
            self._put([(row, new) for row, (old, new) in enumerate(
                zip(self._records, records, strict=True)) if version(old) != version(new)])
            return
        self.beginResetModel()
        self.blockSignals(True)  # the reset tells the views; no signal per row or cell
        try:
            self._adopt(records)
            self._fit_rows(len(records))
            self._write_band()
        finally:
            self.blockSignals(False)
        self.endResetModel()

    def replace_records(self, records: Sequence[Row]) -> bool:
        """Put these records in place of the shown ones with the same ids, the rest kept.

        The detail pane's common refresh: it knows which tasks it read again, so a
        thousand-task job whose tasks move a few at a time costs the window's thread a
        look at those few, not at every row (it runs while the runtime's thread wants the
        interpreter too). Returns False (nothing touched) when one is not shown or would
        move to another row under the sort.
        """
        key = self._sorted_by()
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

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorts the records (Qt's own sort of the cells would part them from the records)
        and writes the cells that now show another value."""
        if not 0 <= column < len(self.columns):
            return
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        ids = [self._records[i.row()].id for i in before]
        self.blockSignals(True)  # layoutChanged repaints the views
        try:
            self._adopt(self._sorted(self._records, column, order))
            self._write_band()
        finally:
            self.blockSignals(False)
        rows = self._rows
        self.changePersistentIndexList(
            before, [self.index(rows[i], p.column()) for i, p in zip(ids, before, strict=True)]
        )
        self.layoutChanged.emit()

    def version(self, record: Row) -> Any:
        """What tells whether a record changed since it was shown (the record itself)."""
        return record

    def look(self, record: Row) -> str:
        """The state whose colour and icon the state column shows."""
        return str(self.columns[self.state_column or 0][1](record))

    def _adopt(self, records: list[Row]) -> None:
        self._records = records
        self._rows = {r.id: n for n, r in enumerate(records)}

    def _replace_in_place(self, records: list[Row]) -> bool:
        """`set_records` when the same rows come back, a few of them changed, none moving:
        an identity check per row instead of a sort and a comparison of every row.
        Returns False (nothing touched) when a row would appear, vanish or move.
        """
        if len(records) != len(self._records) or len(self._rows) != len(self._records):
            return False
        key = self._sorted_by()
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
        """Adopt new records for rows that keep their place; write the changed cells of
        those near the screen (each write tells the views which cell to repaint)."""
        version, near, written = self.version, self._band_rows(), self._written
        for row, new in replaced:
            old = self._records[row]
            self._records[row] = new
            if version(old) == version(new):
                if written[row] is old:
                    written[row] = new  # the same values: nothing to write, now or later
            elif row in near:
                self._show(row, new)

    def write_all(self) -> None:
        """Write every row whose cells show another record (for a search of the cells)."""
        self._write_rows(range(len(self._records)))

    def _write_band(self) -> None:
        """Write the rows near the screen whose cells show another record."""
        self._write_rows(self._band_rows())

    def _band_rows(self) -> range:
        """The rows kept written: those near the screen (all of them until a view says)."""
        if self._band is None:
            return range(len(self._records))
        return range(self._band[0], min(self._band[1] + 1, len(self._records)))

    def _write_rows(self, rows: range) -> None:
        records, written = self._records, self._written
        for row in rows:
            if written[row] is not records[row]:
                self._show(row, records[row])

    def _fit_rows(self, count: int) -> None:
        """As many rows as records; a row's cells are made when it is first written."""
        self.setRowCount(count)
        extra = count - len(self._cells)
        if extra < 0:
            del self._cells[count:], self._shown[count:], self._written[count:]
        else:
            self._cells.extend([None] * extra)
            self._shown.extend([(_NOT_SHOWN,) * (len(self.columns) + 1)] * extra)
            self._written.extend([None] * extra)

    def _show(self, row: int, record: Row) -> None:
        """Write the record's values into the row's cells that show something else."""
        cells, shown = self._cells[row], self._shown[row]
        if cells is None:
            cells = self._cells[row] = [QStandardItem() for _ in self.columns]
            for column, cell in enumerate(cells):
                cell.setFlags(CELL_FLAGS)
                self.setItem(row, column, cell)
        look = self.look(record) if self.state_column is not None else None
        values = (*(getter(record) for _, getter in self.columns), look)
        self._written[row] = record
        if values == shown:
            return
        for column, value in enumerate(values[:-1]):
            if value != shown[column]:
                text = cell_text(value)
                cells[column].setText(text)
                cells[column].setToolTip(text)  # the whole text where a column cuts it
        if look != shown[-1] and self.state_column is not None:
            cell = cells[self.state_column]
            cell.setIcon(states.icon(look))
            cell.setBackground(states.tint(look))
        self._shown[row] = values

    def _sorted(self, records: list[Row], column: int, order: Qt.SortOrder) -> list[Row]:
        key = self._sort_key(column)
        return sorted(records, key=key, reverse=order == Qt.SortOrder.DescendingOrder)

    def _sorted_by(self) -> Callable[[Row], Any] | None:
        """The value the rows are sorted by (None: unsorted). A record whose value did not
        change keeps its row; comparing the plain value spares a sort key per record."""
        return self.columns[self._sort[0]][1] if self._sort is not None else None

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


# A value no getter returns: a new row's cells are written whatever its record holds.
_NOT_SHOWN = object()


class RecordTableView(QTableView):
    """A table view that tells its `RecordTableModel` which rows are on screen, so the
    model writes those rows' cells first and the rest only when they scroll near."""

    def __init__(self) -> None:
        super().__init__()
        # Read-only: a row not yet written has no cells, and Qt takes a missing cell for
        # an editable one.
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._tell_band)  # before the scrolled rows are painted
        bar.rangeChanged.connect(self._tell_band)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._tell_band()

    def keyboardSearch(self, search: str) -> None:
        """Typing a device's name jumps to it, wherever its row is: every row written."""
        model = self.model()
        if isinstance(model, RecordTableModel):
            model.write_all()
        super().keyboardSearch(search)

    def _tell_band(self, *_changed: int) -> None:
        model = self.model()
        if not isinstance(model, RecordTableModel):
            return
        height = self.viewport().height()
        if model.rowCount() == 0:  # as many rows as would fit, for the first records
            model.show_band(0, height // self.verticalHeader().defaultSectionSize())
            return
        first = max(self.rowAt(0), 0)
        last = self.rowAt(height - 1) if height > 0 else first  # -1: below the last row
        model.show_band(first, last if last >= 0 else model.rowCount() - 1)


def cell_text(value: Any) -> str:
    """What a cell shows: progress as "done/total", nothing for None."""
    if isinstance(value, tuple):
        return f"{value[0]}/{value[1]}"
    return "" if value is None else str(value)


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
