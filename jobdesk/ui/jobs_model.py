"""The jobs table's model: ids in display order, rows fetched page by page, off the UI thread.

With a hundred thousand jobs the model holds a list of integers; it asks the store for the
rows the view paints (a page around them) and for the ids again when the filter, the sort
or the set of jobs changes. Live updates refetch only the rows the runtime reported, and a
new id list is applied as a layout change that keeps every persistent index (selection,
current row) on its job.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.schedule import schedule_from_dict
from jobdesk.domain.states import is_terminal_state
from jobdesk.domain.times import format_instant
from jobdesk.store import Store
from jobdesk.store.records import JobRecord
from jobdesk.ui import states
from jobdesk.ui.delegates import ProgressRole
from jobdesk.ui.gateway import StoreGateway
from jobdesk.ui.one_call import OneCallPerCell

PAGE = 200
CACHE_LIMIT = 5000
Index = QModelIndex | QPersistentModelIndex

COLUMNS: list[tuple[str, str]] = [
    ("Name", "name"),
    ("Type", "type"),
    ("State", "state"),
    ("Progress", "progress"),
    ("Schedule", "schedule"),
    ("Created", "created"),
    ("Next run", "next_run"),
    ("Expires", "expires"),
]
STATE_COLUMN = 2
PROGRESS_COLUMN = 3
JobIdRole = Qt.ItemDataRole.UserRole + 1
_SERVED = frozenset({
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.DecorationRole,
    Qt.ItemDataRole.BackgroundRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.AccessibleTextRole,
    JobIdRole,
    ProgressRole,
})


def next_run_text(record: JobRecord) -> str:
    """When the job's next attempt is due, the same words in the list and the detail.

    A finished job runs no more, whatever a stale `next_attempt_at` says; an open job with
    nothing due names no time (its tasks run now, or wait for a person)."""
    if is_terminal_state(record.state):
        return ""
    return format_instant(record.next_attempt_at)



_SUMMARIES: dict[str, str] = {}


def schedule_summary(schedule: dict[str, Any]) -> str:
    """Short words for the table ("Mon–Fri 22:00–04:00"); cached, schedules repeat a lot."""
    key = repr(sorted(schedule.items()))
    summary = _SUMMARIES.get(key)
    if summary is None:
        try:
            summary = schedule_from_dict(schedule).describe()
        except ValueError:
            summary = "?"
        if schedule.get("kind") == "fire-and-forget":
            summary = "Fire and forget"
        _SUMMARIES[key] = summary
    return summary


class JobsTableModel(OneCallPerCell, QAbstractTableModel):
    loaded = Signal()  # a new id list is in place (the first one, or after a change)
    failed = Signal(str)

    def __init__(self, store: Store, gateway: StoreGateway) -> None:
        super().__init__()
        self._store = store
        self._gateway = gateway
        self._ids: list[int] = []
        self._row_of: dict[int, int] = {}
        self._rows: OrderedDict[int, JobRecord] = OrderedDict()
        self._texts: dict[int, tuple[str, ...]] = {}  # display texts of cached rows
        self._requested: set[int] = set()  # page numbers asked for and not yet here
        self._generation = 0
        self.system: bool | None = False
        self.state: str | None = None
        self.search: str = ""
        self.sort_key = "created"
        self.descending = True
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(250)
        self._reload_timer.timeout.connect(self.reload)
        self._refresh_ids: set[int] = set()
        self._first_visible_row = 0
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(150)
        self._refresh_timer.timeout.connect(self._refresh_now)

    # --- Qt model interface ---------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0] if 0 <= section < len(COLUMNS) else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in _SERVED:  # Qt asks for many roles per cell at every paint
            return None
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        job_id = self._ids[index.row()]
        if role == JobIdRole:
            return job_id
        record = self._rows.get(job_id)
        if record is None:
            self._request_page(index.row() // PAGE)
            return "…" if role == Qt.ItemDataRole.DisplayRole and index.column() == 0 else None
        column = COLUMNS[index.column()][1]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            texts = self._texts.get(job_id)
            if texts is None:
                texts = self._texts[job_id] = tuple(self._display(record, c) for _, c in COLUMNS)
            return texts[index.column()]
        if role == Qt.ItemDataRole.DecorationRole and column == "state":
            return states.icon(record.state)
        if role == Qt.ItemDataRole.BackgroundRole and column == "state":
            return states.tint(record.state)
        if role == ProgressRole:
            return (record.progress_done, record.progress_total, record.state)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(record)
        return None

    @staticmethod
    def _display(record: JobRecord, column: str) -> str:
        if column == "name":
            return record.name
        if column == "type":
            try:
                return JobType(record.type).title
            except ValueError:
                return record.type
        if column == "state":
            return record.state
        if column == "progress":
            return f"{record.progress_done}/{record.progress_total}"
        if column == "schedule":
            return schedule_summary(record.schedule)
        if column == "created":
            return format_instant(record.created_at)
        if column == "next_run":
            return next_run_text(record)
        return format_instant(record.expires_at)

    @staticmethod
    def _tooltip(record: JobRecord) -> str:
        lines = [f"Job {record.id}: {record.name}", f"{record.state}, "
                 f"{record.progress_done} of {record.progress_total} tasks finished"]
        if record.system:
            lines.append("System job (made by jobdesk)")
        if record.rollout_reason and record.state == "Paused":
            lines.append(f"Rollout: {record.rollout_reason}")
        return "\n".join(lines)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting happens in the database; the view only says which column."""
        if not 0 <= column < len(COLUMNS):
            return
        self.sort_key = COLUMNS[column][1]
        self.descending = order == Qt.SortOrder.DescendingOrder
        self.reload()

    # --- public API -----------------------------------------------------------------

    def set_filter(self, *, system: bool | None = None, state: str | None = None,
                   search: str | None = None, show_system: bool | None = None) -> None:
        """Change what is listed. `show_system` lists user and system jobs together."""
        if show_system is not None:
            self.system = None if show_system else False
        if system is not None:
            self.system = system
        if state is not None:
            self.state = state or None
        if search is not None:
            self.search = search
        self.reload()

    def reload_soon(self) -> None:
        """The set of jobs may have changed (one was created): reload once things settle."""
        if not self._reload_timer.isActive():
            self._reload_timer.start()

    def reload(self) -> None:
        self._generation += 1
        generation = self._generation
        store, system, state = self._store, self.system, self.state
        search, sort, descending = self.search, self.sort_key, self.descending
        first_row = max(self._first_visible_row, 0)

        def load() -> tuple[list[int], dict[int, JobRecord]]:
            """The ids and, in the same trip, the rows of the page in view."""
            ids = store.jobs.ids(system=system, state=state, search=search or None,
                                 sort=sort, descending=descending)
            page = first_row // PAGE
            return ids, store.jobs.rows(ids[page * PAGE : (page + 1) * PAGE])

        self._gateway.call(
            load,
            lambda result: self._ids_arrived(generation, *result),
            self.failed.emit,
        )

    def refresh_jobs(self, job_ids: set[int] | list[int]) -> None:
        """The runtime changed these jobs: refetch the rows we hold, in one batch soon."""
        self._refresh_ids.update(job_ids)
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def job_id(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, job_id: int) -> int | None:
        return self._row_of.get(job_id)

    def record(self, job_id: int) -> JobRecord | None:
        return self._rows.get(job_id)

    def cached_records(self) -> list[JobRecord]:
        """The rows fetched so far (those in view and recently seen), not every job."""
        return list(self._rows.values())

    # --- loading --------------------------------------------------------------------

    def set_first_visible_row(self, row: int) -> None:
        """Where the view is scrolled: a reload brings that page along with the ids."""
        self._first_visible_row = row

    def _ids_arrived(self, generation: int, ids: list[int],
                     page_rows: dict[int, JobRecord]) -> None:
        if generation != self._generation:
            return  # a newer request is on its way
        for job_id, record in page_rows.items():
            self._rows[job_id] = record
            self._rows.move_to_end(job_id)
            self._texts.pop(job_id, None)
        if ids == self._ids:
            self._rows_arrived(generation, None, page_rows)
            self.loaded.emit()
            return
        self.layoutAboutToBeChanged.emit()
        old_persistent = self.persistentIndexList()
        old_ids = [self._ids[i.row()] if 0 <= i.row() < len(self._ids) else None
                   for i in old_persistent]
        self._ids = ids
        self._row_of = {job_id: row for row, job_id in enumerate(ids)}
        self._requested.clear()
        new_persistent = []
        for index, job_id in zip(old_persistent, old_ids, strict=True):
            row = self._row_of.get(job_id) if job_id is not None else None
            new_persistent.append(
                self.index(row, index.column()) if row is not None else QModelIndex()
            )
        self.changePersistentIndexList(old_persistent, new_persistent)
        self.layoutChanged.emit()
        self.loaded.emit()

    def _request_page(self, page: int) -> None:
        if page in self._requested:
            return
        self._requested.add(page)
        wanted = self._ids[page * PAGE : (page + 1) * PAGE]
        generation = self._generation
        store = self._store
        self._gateway.call(
            lambda: store.jobs.rows(wanted),
            lambda rows: self._rows_arrived(generation, page, rows),
            self.failed.emit,
        )

    def _rows_arrived(self, generation: int, page: int | None,
                      rows: dict[int, JobRecord]) -> None:
        if page is not None and generation == self._generation:
            self._requested.discard(page)
        changed_rows = []
        changed_cells: list[tuple[int, int]] = []
        for job_id, record in rows.items():
            previous = self._rows.get(job_id)
            self._rows[job_id] = record
            self._rows.move_to_end(job_id)
            shown = self._texts.pop(job_id, None)
            row = self._row_of.get(job_id)
            if row is None:
                continue
            if shown is None:
                changed_rows.append(row)
                continue
            # A row shown before: only the cells whose text changed are repainted (its
            # progress, mostly). Each cell repainted asks Python for its values, waiting for
            # the interpreter behind the runtime; a whole row was 9 cells at each refresh.
            texts = self._texts[job_id] = tuple(self._display(record, c) for _, c in COLUMNS)
            cells = [(row, column) for column, (old, new) in
                     enumerate(zip(shown, texts, strict=True)) if old != new]
            if not cells and previous is not None and previous.rollout_reason \
                    != record.rollout_reason:
                cells = [(row, STATE_COLUMN)]  # its tooltip, and whoever follows rollouts
            changed_cells += cells
        while len(self._rows) > CACHE_LIMIT:
            dropped, _ = self._rows.popitem(last=False)
            self._texts.pop(dropped, None)
        if changed_rows:
            first, last = min(changed_rows), max(changed_rows)
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))
        for row, column in changed_cells:
            cell = self.index(row, column)
            self.dataChanged.emit(cell, cell)
        if page is not None and generation != self._generation:
            self._requested.discard(page)

    def _refresh_now(self) -> None:
        ids = [i for i in self._refresh_ids if i in self._rows or i not in self._row_of]
        known = [i for i in ids if i in self._row_of]
        unknown = [i for i in ids if i not in self._row_of]
        self._refresh_ids.clear()
        if known:
            store = self._store
            self._gateway.call(lambda: store.jobs.rows(known),
                               lambda rows: self._rows_arrived(self._generation, None, rows),
                               self.failed.emit)
        # A job we do not list may now match the filter (its state changed), or be new.
        if unknown or self.state is not None or self.sort_key != "created":
            self.reload_soon()
