"""The main window: the jobs list and the detail pane side by side, the devices page.

The window owns the store gateway (database work off the UI thread) and hosts the runtime
(a QThread). Runtime events arrive as queued signals and are coalesced: the list refetches
the rows it shows, the detail pane the job it shows.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QPoint,
    QRect,
    QSettings,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStyle,
    QSystemTrayIcon,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from jobdesk.domain.states import JobState
from jobdesk.runtime.events import JobFinished, NeedsAttention, RuntimeStatus
from jobdesk.store.records import JobRecord
from jobdesk.ui import states
from jobdesk.ui.banner import Banner
from jobdesk.ui.columns import SAMPLE_TIME, fit_columns
from jobdesk.ui.context import AppContext
from jobdesk.ui.delegates import ProgressDelegate
from jobdesk.ui.detail import DetailPane
from jobdesk.ui.devices_view import DevicesView
from jobdesk.ui.elided import fix_size
from jobdesk.ui.gateway import StoreGateway
from jobdesk.ui.jobs_model import COLUMNS, PROGRESS_COLUMN, JobsTableModel
from jobdesk.ui.new_job import NewJobDialog
from jobdesk.ui.page_tabs import PageTabs
from jobdesk.ui.runtime_host import RuntimeHost

ALL_STATES = "All states"
PREFERRED = QSize(1400, 860)
MINIMUM = QSize(1024, 640)  # the smallest laptop screen the window is laid out for
# Room left for the window manager's title bar, so the frame fits the available screen.
FRAME_ALLOWANCE = 32
LIST_MINIMUM, LIST_MAXIMUM, LIST_SHARE = 400, 640, 0.38
NAME_ROOM = 110  # the least a job's name is given before an optional column is
# Shown when the list is wide enough, in this order of need; else from the header's menu.
OPTIONAL_COLUMNS = (3, 7, 4, 1, 5)  # Progress, Expires, Schedule, Type, Created
LIST_SAMPLES = {"Name": "Firmware 4.9.0 — pilot", "Type": "Certificate renewal",
                "State": "Partially Succeeded", "Progress": "13/13",
                "Schedule": "Mon–Fri 22:00–04:00", "Created": SAMPLE_TIME,
                "Next run": SAMPLE_TIME, "Expires": SAMPLE_TIME}


def fits(geometry: QRect, area: QRect) -> bool:
    """Whether a window of this geometry is on the available screen area and no wider or
    taller than it (a window manager's frame may shift it by a few pixels)."""
    return (geometry.width() <= area.width() and geometry.height() <= area.height()
            and area.contains(geometry.topLeft()))


RUNTIME_START_DELAY_MS = 500


class MainWindow(QMainWindow):
    closed = Signal()  # the window closed for good (the runtime has stopped)
    changedElsewhere = Signal()  # another process changed the shared database

    def __init__(
        self,
        ctx: AppContext,
        *,
        runtime: RuntimeHost | None = None,
        gateway: StoreGateway | None = None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.runtime = runtime
        self.gateway = gateway or StoreGateway(self, store=ctx.store, give_way=ctx.give_way)
        self.settings = settings
        self._closing = False
        self._first_load_done = False
        self._start_runtime_after_load = False
        self._selected_job: int | None = None
        self._splitter_kept = False  # a person moved it (or it was restored): left alone
        self._columns_chosen = False  # a person chose the list's columns: left alone
        self.setWindowTitle(f"jobdesk — {ctx.store.location.short_name}")
        self.setWindowIcon(states.icon("Running", 64))

        self.model = JobsTableModel(ctx.store, self.gateway)
        self.detail = DetailPane(ctx, self.gateway)
        self.devices = DevicesView(ctx, self.gateway)
        self._build_jobs_page()
        self._build_actions()
        self._build_status_bar()
        self.tray = self._make_tray()

        self.model.loaded.connect(self._after_load)
        self._waiting_rollouts: dict[int, str] = {}  # job id -> why its rollout waits
        self.model.loaded.connect(self._check_rollouts)
        self.model.dataChanged.connect(self._rows_changed)
        self.model.failed.connect(self.show_error)
        self.gateway.error.connect(self.show_error)
        self.gateway.reachable.connect(self._on_reachable)
        self.detail.changed.connect(self._job_touched)
        self.detail.duplicateRequested.connect(self.duplicate_job)
        self.detail.message.connect(self.statusBar().showMessage)
        self.detail.availabilityChanged.connect(self._follow_availability)
        self.devices.createJobRequested.connect(self.new_job_for)
        self.devices.showJobRequested.connect(
            lambda job_id: (self.pages.setCurrentIndex(0), self.select_job(job_id)))
        if runtime is not None:
            runtime.jobChanged.connect(self._on_job_changed)
            self.devices.follow(runtime)
            runtime.statusChanged.connect(self._on_status)
            runtime.needsAttention.connect(self._on_needs_attention)
            runtime.jobFinished.connect(self._on_job_finished)
            runtime.problem.connect(self._on_problem)
            runtime.storeStatus.connect(self._on_store_status)
            runtime.stopped.connect(self._on_runtime_stopped)
        self._status: RuntimeStatus | None = None
        self._status_timer = QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.setInterval(250)
        self._status_timer.timeout.connect(self._show_status)
        self._restore_layout()
        # Team mode: another laptop's change shows here within a second (debounced), and a
        # slow poll covers a notification lost in a reconnection.
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(300)
        self._refresh_timer.timeout.connect(self.refresh)
        self.changedElsewhere.connect(self._refresh_timer.start)
        self._stop_listening = ctx.store.listen(self.changedElsewhere.emit)
        if self._stop_listening is not None:
            self._poll = QTimer(self)
            self._poll.setInterval(30_000)
            self._poll.timeout.connect(self._refresh_timer.start)
            self._poll.start()
        if ctx.store.read_only is not None:
            reason = str(ctx.store.read_only)
            self.banner.set_notice(
                "store", f"{reason[:1].upper()}{reason[1:]}. Jobs are shown; nothing runs and "
                "nothing can be changed until jobdesk is started again where the database "
                "can be written."
            )
            self.runtime_label.setText("Runtime off (read-only database)")
        self.model.reload()

    # --- building -------------------------------------------------------------------

    def _build_jobs_page(self) -> None:
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Find jobs by name  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(150)
        self._search_timer.timeout.connect(self._apply_search)
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.state_filter = QComboBox()
        self.state_filter.setObjectName("stateFilter")
        self.state_filter.addItem(ALL_STATES)
        for state in JobState:
            self.state_filter.addItem(states.icon(state.value), state.value)
        self.state_filter.currentTextChanged.connect(self._apply_state)
        self.count_label = QLabel()
        self.count_label.setObjectName("jobCount")
        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.state_filter)
        bar.addWidget(self.count_label)

        self.table = QTableView()
        self.table.setObjectName("jobsView")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(5, Qt.SortOrder.DescendingOrder)
        self.table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft)
        # The name takes the room the other columns leave (elided, whole in its tooltip).
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setItemDelegateForColumn(PROGRESS_COLUMN, ProgressDelegate(self.table))
        fit_columns(self.table, LIST_SAMPLES)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setMinimumSectionSize(72)  # a name stays readable
        self.table.horizontalHeader().setContextMenuPolicy(
            Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.horizontalHeader().customContextMenuRequested.connect(self._header_menu)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

        self.empty = EmptyState()
        self.empty.hide()
        self.empty.import_button.clicked.connect(self._import_first_devices)
        self.empty.add_button.clicked.connect(self._add_first_device)
        self.empty.demo_button.clicked.connect(self._open_demo)
        self.empty.new_job_button.clicked.connect(self.new_job)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(bar)
        left_layout.addWidget(self.table, 1)
        left_layout.addWidget(self.empty, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("jobsSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.splitterMoved.connect(self._keep_splitter)

        self.pages = PageTabs()
        self.pages.setObjectName("pages")
        self.pages.addTab(self.splitter, "Jobs")
        self.pages.addTab(self.devices, "Devices")
        self.banner = Banner()
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(2)
        central_layout.addWidget(self.banner)
        central_layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)

    def _action(self, text: str, slot: Any, shortcut: str | QKeySequence.StandardKey | None = None,
                *, name: str, tip: str = "") -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({action.shortcut().toString()})" if shortcut else tip)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self.new_action = self._action("&New job…", self.new_job, "Ctrl+N", name="newJob",
                                       tip="Create a job")
        self.cancel_action = self._action("&Cancel job…", self.detail.cancel_job,
                                          "Ctrl+Shift+X", name="cancelJobAction",
                                          tip="Cancel the selected job")
        self.retry_action = self._action("&Retry now", self.detail.retry_task, "Ctrl+R",
                                         name="retryAction",
                                         tip="Retry the selected task now")
        self.duplicate_action = self._action("&Duplicate job…",
                                             lambda: self.duplicate_job(self.detail.record),
                                             "Ctrl+D", name="duplicateAction",
                                             tip="Create a copy of the selected job")
        self.find_action = self._action("&Find", self._focus_search, QKeySequence.StandardKey.Find,
                                        name="findAction", tip="Find jobs by name")
        self.system_action = QAction("Show &system jobs", self)
        self.system_action.setObjectName("systemAction")
        self.system_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.system_action.setStatusTip("Show the jobs jobdesk makes for itself")
        self.system_action.setCheckable(True)
        self.system_action.toggled.connect(self._apply_system)
        # In the toolbar and the Jobs menu: the list's filter bar keeps its room for search.
        self.show_system = self.system_action
        self.refresh_action = self._action("Re&fresh", self.refresh,
                                           QKeySequence.StandardKey.Refresh,
                                           name="refreshAction", tip="Read the jobs again")
        self.jobs_page_action = self._action("&Jobs", lambda: self.pages.setCurrentIndex(0),
                                             "Ctrl+1", name="jobsPage", tip="Show the jobs")
        self.devices_page_action = self._action("De&vices", lambda: self.pages.setCurrentIndex(1),
                                                "Ctrl+2", name="devicesPage",
                                                tip="Show the devices")
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit,
                                        name="quitAction", tip="Stop the runtime and quit")
        self.table.addActions([self.cancel_action, self.duplicate_action, self.retry_action])

        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addAction(self.devices.import_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        jobs_menu = menus.addMenu("&Jobs")
        for action in (self.new_action, self.duplicate_action, self.cancel_action,
                       self.retry_action):
            jobs_menu.addAction(action)
        jobs_menu.addAction(self.detail.report_export.action)
        jobs_menu.addSeparator()
        jobs_menu.addAction(self.find_action)
        jobs_menu.addAction(self.system_action)
        jobs_menu.addAction(self.refresh_action)
        devices_menu = menus.addMenu("&Devices")
        devices_menu.addAction(self.devices.add_action)
        devices_menu.addAction(self.devices.import_action)
        view_menu = menus.addMenu("&View")
        view_menu.addAction(self.jobs_page_action)
        view_menu.addAction(self.devices_page_action)
        help_menu = menus.addMenu("&Help")
        help_menu.addAction(self._action("&About jobdesk", self._about, name="aboutAction"))

        self.toolbar = self.addToolBar("Main")
        self.toolbar.setObjectName("mainToolbar")
        self.toolbar.setMovable(False)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.jobs_page_actions: list[QAction | None] = [
            self.new_action, self.duplicate_action, self.cancel_action, self.retry_action,
            self.refresh_action, None, self.system_action]
        self.pages.currentChanged.connect(self._show_page_actions)
        self._show_page_actions(self.pages.currentIndex())
        self._follow_availability(self.detail.availability)

    def page_actions(self, page: QWidget) -> list[QAction | None]:
        """The toolbar of a page (None: a separator). A page offers its own with a
        `page_actions()` method; the jobs page's are the window's job actions."""
        if page is self.splitter:
            return self.jobs_page_actions
        offered = getattr(page, "page_actions", None)
        return list(offered()) if callable(offered) else []

    def _show_page_actions(self, index: int) -> None:
        """The toolbar shows what fits the page in view, nothing of another page."""
        self.toolbar.clear()
        for action in self.page_actions(self.pages.widget(index)):
            if action is None:
                self.toolbar.addSeparator()
            else:
                self.toolbar.addAction(action)
        self.toolbar.setVisible(bool(self.toolbar.actions()))

    @Slot(object)
    def _follow_availability(self, availability: dict[str, str | None]) -> None:
        """The job actions of the menus and the toolbar, as the detail pane found them:
        enabled when the rules allow, else the refusal as tooltip (asked once, there)."""
        for action, name in ((self.cancel_action, "cancel_job"),
                             (self.retry_action, "retry"),
                             (self.duplicate_action, "duplicate")):
            refusal = availability.get(name)
            tip = refusal if refusal is not None else action.statusTip()
            tip = f"{tip[:1].upper()}{tip[1:]}"
            if action.isEnabled() == (refusal is None) and action.toolTip() == tip:
                continue  # each change is redrawn in the toolbar and the menus
            action.setEnabled(refusal is None)
            action.setToolTip(tip)

    def _build_status_bar(self) -> None:
        self.runtime_label = QLabel("Runtime starting…" if self.runtime else "Runtime off")
        self.runtime_label.setObjectName("runtimeState")
        self.work_label = QLabel()
        self.work_label.setObjectName("runtimeWork")
        self.db_label = QLabel(f"Database: {self.ctx.store.location}")
        self.db_label.setObjectName("databasePath")
        self.db_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A fixed size, as wide as the longest thing each says: a label of any other size
        # asks the status bar to lay itself out at each new text, and the status bar then
        # repaints all of itself, four times a second while devices run. A margin on the
        # left keeps a long message in the status bar from running into them.
        for label in (self.runtime_label, self.work_label, self.db_label):
            label.setContentsMargins(12, 0, 0, 0)
        fix_size(self.runtime_label, "Runtime off (read-only database)", "Runtime stopping…")
        fix_size(self.work_label, "8888 tasks on 8888 devices")
        bar = self.statusBar()
        bar.addPermanentWidget(self.runtime_label)
        bar.addPermanentWidget(self.work_label)
        bar.addPermanentWidget(self.db_label)

    def _make_tray(self) -> QSystemTrayIcon | None:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        tray = QSystemTrayIcon(self.windowIcon(), self)
        tray.setToolTip("jobdesk")
        tray.show()
        return tray

    # --- layout persistence ---------------------------------------------------------

    def _restore_layout(self) -> None:
        """Open within the screen: the saved geometry only when it fits the screen it is
        on now (a laptop undocked from a big monitor), else a size that fits."""
        self._fit_to_screen()
        if self.settings is None:
            return
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            before = self.geometry()
            if not self.restoreGeometry(geometry) or not fits(self.geometry(),
                                                              self._available()):
                self.setGeometry(before)
        state = self.settings.value("window/splitter")
        if isinstance(state, QByteArray) and self.splitter.restoreState(state):
            self._splitter_kept = True
        state = self.settings.value("window/sections")
        if isinstance(state, QByteArray) and self.detail.sections.restoreState(state):
            self.detail.keep_sections()
        header = self.settings.value("window/jobsHeader")
        if isinstance(header, QByteArray) and self.table.horizontalHeader().restoreState(header):
            self._columns_chosen = True

    def _available(self) -> QRect:
        screen = self.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry()

    def _fit_to_screen(self) -> None:
        """The preferred size, shrunk to the available screen (never taller or wider:
        at 1366×768 the status bar stays on screen); the minimum likewise."""
        area = self._available()
        room = area.adjusted(0, 0, 0, -FRAME_ALLOWANCE)
        self.setMinimumSize(min(MINIMUM.width(), room.width()),
                            min(MINIMUM.height(), room.height()))
        width = min(PREFERRED.width(), room.width())
        height = min(PREFERRED.height(), room.height())
        self.setGeometry(QStyle.alignedRect(Qt.LayoutDirection.LeftToRight,
                                            Qt.AlignmentFlag.AlignCenter,
                                            QSize(width, height), room))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if not self._splitter_kept:
            self._place_splitter()

    def _place_splitter(self) -> None:
        """The list as wide as a third of the window (its key columns), the detail the
        rest: on a laptop the detail needs the room, on a wide monitor both have it."""
        width = max(self.width(), 1)  # the splitter's own width lags behind on a resize
        left = max(LIST_MINIMUM, min(int(width * LIST_SHARE), LIST_MAXIMUM))
        self.splitter.setSizes([left, max(width - left, 1)])
        self._fit_list_columns(left)

    def _fit_list_columns(self, width: int) -> None:
        """Hide the list's less needed columns (they come back from the header's menu)
        where they would only push Next run and Expires off to the right."""
        if self._columns_chosen:
            return
        header = self.table.horizontalHeader()
        shown = NAME_ROOM + sum(header.sectionSize(c) for c in range(1, len(COLUMNS))
                                if c not in OPTIONAL_COLUMNS)
        for column in OPTIONAL_COLUMNS:
            self.table.setColumnHidden(column, False)
        for column in OPTIONAL_COLUMNS:
            fits_too = shown + header.sectionSize(column) <= width - 24
            self.table.setColumnHidden(column, not fits_too)
            if fits_too:
                shown += header.sectionSize(column)

    def _keep_splitter(self, *_: object) -> None:
        self._splitter_kept = True

    def _header_menu(self, position: QPoint) -> None:
        """Show or hide a list column; from then on the choice is kept."""
        menu = QMenu(self)
        for column, (title, _key) in enumerate(COLUMNS):
            action = menu.addAction(title)
            action.setCheckable(True)
            action.setChecked(not self.table.isColumnHidden(column))
            action.setEnabled(column != 0)
            action.toggled.connect(lambda on, c=column: self._choose_column(c, on))
        menu.exec(self.table.horizontalHeader().mapToGlobal(position))

    def _choose_column(self, column: int, shown: bool) -> None:
        self._columns_chosen = True
        self.table.setColumnHidden(column, not shown)

    def _save_layout(self) -> None:
        if self.settings is None:
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        # Moved by a person: kept; else they follow the screen the window opens on.
        if self._splitter_kept:
            self.settings.setValue("window/splitter", self.splitter.saveState())
        if self.detail.sections_kept:
            self.settings.setValue("window/sections", self.detail.sections.saveState())
        self.settings.setValue("window/jobsHeader", self.table.horizontalHeader().saveState())
        self.settings.sync()

    # --- jobs list ------------------------------------------------------------------

    def _apply_search(self) -> None:
        self.model.set_filter(search=self.search.text().strip())

    def _apply_state(self, text: str) -> None:
        self.model.set_filter(state="" if text == ALL_STATES else text)

    def _apply_system(self, checked: bool) -> None:
        self.model.set_filter(show_system=checked)

    def _focus_search(self) -> None:
        self.pages.setCurrentIndex(0)
        self.search.setFocus()
        self.search.selectAll()

    def refresh(self) -> None:
        self.model.reload()
        self.detail.reload()
        self.devices.reload()

    def start_runtime(self) -> None:
        """Start the runtime once the first rows are on screen.

        Its start-up (crash recovery, a sweep of unfinished jobs, system jobs) competes for
        the interpreter with the first query of the list; a person sees jobs first.
        """
        if self.runtime is None or self.runtime.running or self.ctx.store.read_only:
            return
        if self._first_load_done:
            self._start_runtime_now()
        else:
            self._start_runtime_after_load = True
            QTimer.singleShot(3000, self._start_runtime_now)

    def _start_runtime_now(self) -> None:
        if self.runtime is not None and not self.runtime.running and not self._closing:
            # Drawn now, while the interpreter is free, not at the first task that turns
            # Running while the runtime holds it (~12 ms for all of them).
            states.prepare_looks()
            self.runtime.start()

    def _after_load(self) -> None:
        if not self._first_load_done:
            self._first_load_done = True
            if self._start_runtime_after_load:
                # After the first rows are painted, not during: starting hundreds of
                # connections competes with the first paint for the interpreter.
                QTimer.singleShot(RUNTIME_START_DELAY_MS, self._start_runtime_now)
        rows = self.model.rowCount()
        filtered = bool(self.search.text().strip()) or self.state_filter.currentIndex() > 0
        self.count_label.setText(f"{rows:,} job{'s' if rows != 1 else ''}")
        empty = rows == 0
        self.table.setVisible(not empty)
        self.empty.setVisible(empty)
        if empty:
            if filtered:
                self.empty.show_no_match()
            else:
                store = self.ctx.store
                self.gateway.call(lambda: store.devices.count(), self.empty.show_welcome)
        # Keep the detail pane on the selected job when it moved; when the filter or the
        # search left it out, the pane follows the list and shows nothing.
        if self._selected_job is not None:
            row = self.model.row_of(self._selected_job)
            current = self.table.currentIndex().row()
            if row is None and filtered:
                self._selected_job = None
                self.table.clearSelection()
                self.detail.show_job(None)
            elif row is not None and row != current:
                self.table.selectRow(row)

    # --- rollouts waiting for a person -------------------------------------------------

    def _rows_changed(self, first: Any, last: Any, *_: Any) -> None:
        ids = (self.model.job_id(row) for row in range(first.row(), last.row() + 1))
        self._check_rollouts([i for i in ids if i is not None])

    def _check_rollouts(self, job_ids: list[int] | None = None) -> None:
        """Say once when a rollout starts waiting for a person (B8: Paused with a reason):
        a tray message where there is a tray, the status bar always; the tray's tooltip
        keeps the count. Only rows the list has fetched are looked at, which are those a
        person sees and those the runtime reported as changed."""
        if job_ids is None:
            records = self.model.cached_records()
        else:
            records = [r for r in map(self.model.record, job_ids) if r is not None]
        news: list[JobRecord] = []
        for record in records:
            reason = record.rollout_reason if record.state == JobState.PAUSED.value else None
            if reason is None:
                self._waiting_rollouts.pop(record.id, None)
            elif self._waiting_rollouts.get(record.id) != reason:
                self._waiting_rollouts[record.id] = reason
                news.append(record)
        if news:
            first = news[0]
            title = ("A rollout waits for you" if len(news) == 1
                     else f"{len(news)} rollouts wait for you")
            text = f"Job {first.id} “{first.name}”: {first.rollout_reason}"
            if len(news) > 1:
                text += f" (and {len(news) - 1} more)"
            self.notify(title, text + ". Continue it in the job's State box.")
        if self.tray is not None:
            count = len(self._waiting_rollouts)
            self.tray.setToolTip(
                "jobdesk" if not count else
                f"jobdesk — {count} rollout{'s' if count != 1 else ''} wait"
                f"{'s' if count == 1 else ''} for a person")

    def _scrolled(self, _value: int) -> None:
        self.model.set_first_visible_row(self.table.rowAt(0))

    def _row_changed(self, current: Any, _previous: Any) -> None:
        job_id = self.model.job_id(current.row()) if current.isValid() else None
        if job_id is None:
            return
        if job_id != self._selected_job:
            self._selected_job = job_id
            self.detail.show_job(job_id)

    def select_job(self, job_id: int) -> None:
        """Select a job in the list (after creating it, say) and show it."""
        self._selected_job = job_id
        self.detail.show_job(job_id)
        row = self.model.row_of(job_id)
        if row is not None:
            self.table.selectRow(row)

    # --- first run ------------------------------------------------------------------

    def _import_first_devices(self) -> None:
        self.pages.setCurrentIndex(1)
        self.devices.import_csv()

    def _add_first_device(self) -> None:
        self.pages.setCurrentIndex(1)
        self.devices.add_device()

    def _open_demo(self) -> None:
        """The demo runs as a program of its own, on its own temporary database."""
        from jobdesk.ui.demo import launch_demo

        try:
            launch_demo()
        except OSError as error:
            self.show_error(f"Could not start the demo: {error}")
        else:
            self.statusBar().showMessage("Opening the demo in a new window…", 8000)

    # --- actions --------------------------------------------------------------------

    def new_job(self) -> None:
        self.new_job_for([])

    def new_job_for(self, devices: list[str]) -> None:
        dialog = NewJobDialog(self.ctx, self.gateway, self, devices=devices)
        dialog.created.connect(self._job_created)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.new_job_dialog = dialog

    def duplicate_job(self, record: JobRecord | None) -> None:
        if record is None or record.system:
            return
        devices = [t.device for t in record.tasks]
        dialog = NewJobDialog(self.ctx, self.gateway, self, devices=devices, template=record)
        dialog.created.connect(self._job_created)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.new_job_dialog = dialog

    @Slot(object)
    def _job_created(self, record: JobRecord) -> None:
        self.pages.setCurrentIndex(0)
        self._selected_job = record.id
        self.detail.show_job(record.id)
        self.model.reload()
        self._job_touched(record.id)
        self.statusBar().showMessage(f"Created job {record.id}: {record.name}", 5000)

    def _job_touched(self, job_id: int) -> None:
        """A person changed a job here: wake the runtime, refresh the row."""
        if self.runtime is not None:
            self.runtime.wake()
        self.model.refresh_jobs([job_id])

    @Slot(str)
    def _on_reachable(self, problem: str) -> None:
        self.banner.set_notice(
            "connection",
            f"{problem[:1].upper()}{problem[1:]}; retrying. What is shown may be out of "
            "date until the database answers again." if problem else None,
        )
        if not problem:
            self._refresh_timer.start()  # notifications sent meanwhile were lost

    def show_error(self, message: str) -> None:
        if self.banner.notice("connection") is not None:
            return  # the banner says it already; no dialog per failed query
        log_hint = f"\n\nDetails are in the log: {self.ctx.log_path}" if self.ctx.log_path else ""
        QMessageBox.warning(self, "jobdesk", f"{message}{log_hint}")

    def _about(self) -> None:
        from jobdesk import __version__

        QMessageBox.about(
            self, "About jobdesk",
            f"<b>jobdesk {__version__}</b><p>Jobs for fleets of industrial routers.</p>"
            f"<p>Database: {self.ctx.store.location}<br>Log: {self.ctx.log_path or '-'}</p>",
        )

    # --- runtime events -------------------------------------------------------------

    @Slot(object)
    def _on_job_changed(self, job_id: int) -> None:
        self.model.refresh_jobs([job_id])
        self.detail.job_changed(job_id)

    @Slot(object)
    def _on_job_finished(self, event: JobFinished) -> None:
        if event.system:
            return  # the application's own housekeeping: no need to disturb anyone
        self.notify(f"{event.name}: {event.state}",
                    f"Job {event.job_id} finished: {event.done}/{event.total} tasks.",
                    warning=event.state != JobState.SUCCEEDED.value)

    @Slot(object)
    def _on_needs_attention(self, event: NeedsAttention) -> None:
        self.notify(f"{event.device} needs a person",
                    f"Job {event.job_id}, step {event.step}: {event.message}", warning=True)

    def notify(self, title: str, text: str, *, warning: bool = False) -> None:
        """A tray message where there is a tray; the status bar always."""
        self.statusBar().showMessage(f"{title} — {text}", 10000)
        if self.tray is not None:
            icon = (QSystemTrayIcon.MessageIcon.Warning if warning
                    else QSystemTrayIcon.MessageIcon.Information)
            self.tray.showMessage(title, text, icon, 8000)
        self.last_notification = (title, text)

    @Slot(object)
    def _on_status(self, status: RuntimeStatus) -> None:
        """Status arrives with every attempt; the labels follow four times a second."""
        self._status = status
        if not self._status_timer.isActive():
            self._status_timer.start()

    def _show_status(self) -> None:
        status = self._status
        if status is None:
            return
        labels = {"starting": "starting…", "running": "running", "stopping": "stopping…",
                  "stopped": "stopped"}
        self.runtime_label.setText(f"Runtime {labels.get(status.state, status.state)}")
        self.work_label.setText(
            f"{status.running_tasks} task{'s' if status.running_tasks != 1 else ''} "
            f"on {status.busy_devices} device{'s' if status.busy_devices != 1 else ''}"
        )
        if self._closing and status.running_tasks:
            self.statusBar().showMessage(
                f"Closing: waiting for {status.running_tasks} running step(s) to finish on "
                "their devices…"
            )

    @Slot(object)
    def _on_store_status(self, problem: str | None) -> None:
        """The database stopped (or resumed) taking writes: a banner while it lasts."""
        self.banner.set_notice(
            "store",
            f"The database cannot be written: {problem}. Running steps finish on their "
            "devices, nothing new starts, and every outcome is saved once writing works "
            "again." if problem else None,
        )

    def show_profile_problems(self, problems: list[str]) -> None:
        self.banner.set_notice("profiles", "\n".join(
            f"Device profiles: {problem}." for problem in problems) or None)

    @Slot(str)
    def _on_problem(self, message: str) -> None:
        self.statusBar().showMessage(f"Runtime problem: {message}", 15000)

    @Slot(str)
    def _on_runtime_stopped(self, error: str) -> None:
        self.runtime_label.setText("Runtime stopped")
        if error and not self._closing:
            self.show_error(f"The runtime stopped: {error}")
        if self._closing:
            self.close()

    def event(self, event: QEvent) -> bool:
        """A repaint of the window (Qt paints all that changed in one pass, delegates and
        the week strip in Python) happens with the runtime paused, as results are shown."""
        if event.type() == QEvent.Type.UpdateRequest:
            with self.ctx.give_way.window_busy():
                return super().event(event)
        return super().event(event)

    # --- closing --------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.runtime is not None and self.runtime.running:
            if not self._closing:
                self._closing = True
                self._save_layout()
                running = self.runtime.last_status.running_tasks if self.runtime.last_status \
                    else 0
                self.statusBar().showMessage(
                    "Closing: letting running steps finish on their devices…"
                    if running else "Closing…"
                )
                self.runtime.stop()
            event.ignore()
            return
        if not self._closing:
            self._save_layout()
        self._closing = True  # a runtime not started yet stays unstarted
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        self.gateway.stop()
        if self.tray is not None:
            self.tray.hide()
        event.accept()
        self.closed.emit()


class EmptyState(QWidget):
    """What an empty jobs list shows instead of a blank table: where to begin."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.text = QLabel()
        self.text.setObjectName("emptyText")
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)
        self.import_button = QPushButton("Import devices from CSV…")
        self.import_button.setObjectName("welcomeImport")
        self.add_button = QPushButton("Add a device…")
        self.add_button.setObjectName("welcomeAdd")
        self.demo_button = QPushButton("Open the demo")
        self.demo_button.setObjectName("welcomeDemo")
        self.new_job_button = QPushButton("New job…")
        self.new_job_button.setObjectName("welcomeNewJob")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.new_job_button, self.import_button, self.add_button,
                       self.demo_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.text)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addStretch(2)
        self.show_welcome(0)

    def show_welcome(self, devices: int) -> None:
        if devices == 0:
            self.text.setText(
                "<h2>Welcome to jobdesk</h2><p>jobdesk rolls configuration, firmware, "
                "certificates, reboots and commands out to your routers, inside maintenance "
                "windows, and shows device by device what happened.</p><p>Start by bringing "
                "in your devices, or look around a simulated fleet in the demo.</p>"
            )
        else:
            self.text.setText(
                f"<h2>No jobs yet</h2><p>{devices} device{'s' if devices != 1 else ''} in "
                "the inventory. Create a job to roll a change out to them.</p>"
            )
        self.new_job_button.setVisible(devices > 0)
        self.import_button.setVisible(devices == 0)
        self.add_button.setVisible(devices == 0)
        self.demo_button.setVisible(devices == 0)

    def show_no_match(self) -> None:
        self.text.setText("<p>No job matches the search and the filter.</p>")
        for button in (self.new_job_button, self.import_button, self.add_button,
                       self.demo_button):
            button.hide()

