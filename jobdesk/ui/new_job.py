"""The "New job" dialog: name, type, payload, target devices and schedule by pointing and clicking.

Everything that touches the database or reads a file (a firmware image may be 500 MB) goes
through the StoreGateway, so the window keeps painting while it works; everything else (the
schedule preview, the validation words) is a pure domain call and runs on every change.
The same JobService the CLI uses creates the job, so both paths obey the same rules.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import shiboken6
from PySide6.QtCore import QDate, QSortFilterProxyModel, Qt, QTime, QTimer, Signal, Slot
from PySide6.QtGui import QFontDatabase, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSpinBox,
    QTimeEdit,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from jobdesk.domain.jobtypes import JOB_TYPES, JobType
from jobdesk.domain.payloads import PayloadError, parse_snippet
from jobdesk.domain.rollout import (
    AbortAction,
    BatchSize,
    RolloutPolicy,
    batch_sizes,
    parse_batches,
)
from jobdesk.domain.rules import ActionRefused
from jobdesk.domain.schedule import (
    WEEKDAY_NAMES,
    FireAndForget,
    Schedule,
    Scheduled,
    ScheduleError,
    local_zone_name,
    schedule_from_dict,
)
from jobdesk.runtime.actions import MAX_SNIPPET_BYTES, JobRequest, file_sha256
from jobdesk.store import Store
from jobdesk.store.jobs import Conflict
from jobdesk.store.records import DeviceRecord, JobRecord
from jobdesk.ui.context import AppContext
from jobdesk.ui.file_dialogs import choose_file
from jobdesk.ui.gateway import StoreGateway
from jobdesk.ui.week_strip import WeekStrip, format_instant, format_window

__all__ = ["ROLLOUT_PRESETS", "FileCheck", "NewJobDialog", "batches_preview", "preview_lines"]

PREVIEW_WINDOWS = 5
_TAGS_ROLE = Qt.ItemDataRole.UserRole + 1
_FILE_LABELS = {
    JobType.CONFIG_UPDATE: ("Snippet &file:", "Choose the snippet file"),
    JobType.FIRMWARE_UPDATE: ("Firmware &image:", "Choose the firmware file"),
    JobType.COMMAND: ("Script (optional):", "Choose the script file"),
}
_LIST_NAMES_MAX = 8
# Rollout presets (B8): what the combo says, and the batches as `--batches` writes them
# (None: no batches, every task may start at once; "": the person types the sizes).
ROLLOUT_PRESETS: tuple[tuple[str, str | None], ...] = (
    ("All at once", None),
    ("One device first, then the rest", "1,100%"),
    ("1, then 10 %, then the rest", "1,10%,100%"),
    ("Custom…", ""),
)
_CUSTOM = len(ROLLOUT_PRESETS) - 1
_PREVIEW_BATCHES_MAX = 8
# Palette roles only, so a checked day reads as "on" in light and dark themes alike; set per
# button so the date edits' calendar popups keep their own look.
_WEEKDAY_STYLE = (
    "QToolButton { border: 1px solid palette(mid); border-radius: 3px; padding: 2px 6px;"
    " background: palette(base); }"
    "QToolButton:checked { background: palette(highlight); color: palette(highlighted-text);"
    " border-color: palette(highlight); }"
    "QToolButton:disabled { color: palette(mid); }"
    "QToolButton:checked:disabled { background: palette(midlight); color: palette(dark);"
    " border-color: palette(mid); }"
)


# ------------------------------------------------------------------------------------------
# Work done on the store's worker thread (module functions: they touch no widget)
# ------------------------------------------------------------------------------------------


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


def _read_devices(store: Store) -> tuple[list[DeviceRecord], list[str]]:
    return store.devices.list(), store.devices.tags()


# ------------------------------------------------------------------------------------------
# Small pure helpers
# ------------------------------------------------------------------------------------------


def preview_lines(schedule: Scheduled, now: datetime, count: int = PREVIEW_WINDOWS) -> list[str]:
    """The next windows as the preview lists them, in the schedule's zone."""
    lines = []
    for window in islice(schedule.windows(after=now), count):
        text = format_window(window, schedule.tz, whole_day=schedule.whole_day)
        lines.append(f"{text}  (open now)" if window.opens <= now else text)
    return lines


def _window_note(opens: QTime, closes: QTime) -> str:
    """The words beside the window's times: equal times are a whole day (spec B2), which
    "closes the next day" would hide; read from the fields, so it shows even while another
    field makes the schedule invalid."""
    if opens == closes == QTime(0, 0):
        return "all day"
    if opens == closes:
        return f"all day (24 h from {opens.toString('HH:mm')})"
    return "closes the next day" if closes < opens else ""


def _sentence(message: str) -> str:
    """Domain messages start in lower case (they also end up mid-sentence in the CLI)."""
    return message[:1].upper() + message[1:] if message else message


def _duration_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % 60 == 0 and minutes >= 60:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def batches_preview(batches: Sequence[BatchSize] | None, devices: int) -> str:
    """The line under the rollout's batches: how the devices chosen now would be split
    ("12 devices in 3 batches: 1 · 2 · 9"), so a percentage is seen as a device count."""
    if devices == 0:
        return "Choose devices to see the batches"
    noun = "device" if devices == 1 else "devices"
    if not batches:
        return f"{devices} {noun}, all at once"
    sizes = batch_sizes(batches, devices)
    shown = [str(size) for size in sizes]
    if len(shown) > _PREVIEW_BATCHES_MAX:
        shown = [*shown[:_PREVIEW_BATCHES_MAX - 2], "…", shown[-1]]
    count = len(sizes)
    return f"{devices} {noun} in {count} batch{'es' if count != 1 else ''}: " + " · ".join(shown)


def _names_text(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_LIST_NAMES_MAX])
    more = len(names) - _LIST_NAMES_MAX
    return f"{shown} and {more} more" if more > 0 else shown


# ------------------------------------------------------------------------------------------
# The dialog
# ------------------------------------------------------------------------------------------


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
        self._wanted: set[str] = set(devices)
        self._checked: set[str] = set()
        self._missing: list[str] = []
        self._devices_loaded = False
        self._load_error: str | None = None
        self._bulk = False
        self._file_check: FileCheck | None = None
        self._file_error: tuple[str, str] | None = None  # (path, message)
        self._file_pending: str | None = None
        self._busy = False
        self._busy_text = ""
        self._error: str | None = None  # the last create attempt's failure, in words
        self._schedule: Schedule | None = None
        self._schedule_problem: str | None = None
        self._rollout: RolloutPolicy | None = None
        self._rollout_problem: str | None = None

        self.setWindowTitle("Duplicate job" if template else "New job")
        self.setObjectName("newJobDialog")
        self._build()
        self._wire()
        if template is not None:
            self._apply_template(template)
        self._on_type_changed()
        self._load_devices()

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

    def _build(self) -> None:
        self._form = QWidget(self)
        columns = QHBoxLayout(self._form)
        columns.setContentsMargins(0, 0, 0, 0)
        left = QVBoxLayout()
        left.addWidget(self._build_job_box())
        left.addWidget(self._build_schedule_box(), 1)
        columns.addLayout(left, 3)
        columns.addWidget(self._build_devices_box(), 2)

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

        outer = QVBoxLayout(self)
        outer.addWidget(self._form, 1)
        outer.addWidget(self._build_rollout_box())
        outer.addLayout(buttons)

        self._file_timer = QTimer(self)
        self._file_timer.setSingleShot(True)
        self._file_timer.setInterval(400)  # typing a path: hash once the typing pauses
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(30_000)  # "open now" and the marker move with time

    def _build_job_box(self) -> QGroupBox:
        box = QGroupBox("Job", self)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._job_form = form

        self._name = QLineEdit(box)
        self._name.setObjectName("name")
        self._name.setPlaceholderText("e.g. NTP servers, plant Zurich")
        form.addRow("&Name:", self._name)

        self._type = QComboBox(box)
        self._type.setObjectName("type")
        for job_type in JobType:
            self._type.addItem(job_type.title, job_type)
        form.addRow("&Type:", self._type)

        file_row = QWidget(box)
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
        self._file_label = QLabel("&File:", box)
        self._file_label.setBuddy(self._file)
        form.addRow(self._file_label, file_row)

        self._checksum = QLabel(box)
        self._checksum.setObjectName("fileChecksum")
        self._checksum.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._checksum.setWordWrap(True)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(self.font().pointSizeF() - 1, 7.0))
        self._checksum.setFont(mono)
        form.addRow("", self._checksum)

        self._command = QLineEdit(box)
        self._command.setObjectName("command")
        self._command.setPlaceholderText("e.g. /usr/sbin/service ntpd restart")
        form.addRow("Co&mmand:", self._command)

        self._version = QLineEdit(box)
        self._version.setObjectName("version")
        self._version.setPlaceholderText("Version the devices must run afterwards, e.g. 7.4.2")
        form.addRow("Target &version:", self._version)
        return box

    def _build_schedule_box(self) -> QGroupBox:
        box = QGroupBox("Schedule", self)
        layout = QVBoxLayout(box)

        kinds = QHBoxLayout()
        self._fire = QRadioButton("&Fire and forget (run at once)", box)
        self._fire.setObjectName("fireAndForget")
        self._scheduled = QRadioButton("&Scheduled (maintenance windows)", box)
        self._scheduled.setObjectName("scheduled")
        self._kind_group = QButtonGroup(box)
        self._kind_group.addButton(self._fire)
        self._kind_group.addButton(self._scheduled)
        self._fire.setChecked(True)
        kinds.addWidget(self._fire)
        kinds.addWidget(self._scheduled)
        kinds.addStretch(1)
        layout.addLayout(kinds)

        self._schedule_fields = QWidget(box)
        grid = QGridLayout(self._schedule_fields)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setColumnStretch(4, 1)

        zone_name = local_zone_name()
        today = self._ctx.clock.now().astimezone(_zone(zone_name)).date()
        self._date_from = self._date_edit("dateFrom", today)
        self._date_to = self._date_edit("dateTo", today + timedelta(days=13))
        self._add_grid_row(grid, 0, "&Dates:", self._date_from, "to", self._date_to)

        self._time_from = self._time_edit("timeFrom", time(22, 0))
        self._time_to = self._time_edit("timeTo", time(4, 0))
        self._add_grid_row(grid, 1, "&Window:", self._time_from, "to", self._time_to)
        self._midnight = QLabel("", self._schedule_fields)
        self._midnight.setObjectName("windowNote")
        grid.addWidget(self._midnight, 1, 4)

        days = QHBoxLayout()
        days.setSpacing(2)
        self._weekdays: list[QToolButton] = []
        for index, name in enumerate(WEEKDAY_NAMES):
            button = QToolButton(self._schedule_fields)
            button.setObjectName(f"weekday_{name}")
            button.setText(name.capitalize())
            button.setCheckable(True)
            button.setChecked(index < 5)
            button.setMinimumWidth(40)
            button.setToolTip(f"Windows open on {name.capitalize()}")
            button.setStyleSheet(_WEEKDAY_STYLE)
            self._weekdays.append(button)
            days.addWidget(button)
        days.addStretch(1)
        weekday_label = QLabel("Week&days:", self._schedule_fields)
        weekday_label.setBuddy(self._weekdays[0])
        grid.addWidget(weekday_label, 2, 0)
        grid.addLayout(days, 2, 1, 1, 4)

        self._zone = QComboBox(self._schedule_fields)
        self._zone.setObjectName("timeZone")
        self._zone.setEditable(True)
        self._zone.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self._zone.addItems(sorted(available_timezones()))
        self._zone.setMaxVisibleItems(16)
        completer = QCompleter(self._zone.model(), self._zone)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self._zone.setCompleter(completer)
        self._zone.setCurrentText(zone_name)
        self._zone.setToolTip("The plant's time zone: windows are read in it")
        zone_label = QLabel("Time &zone:", self._schedule_fields)
        zone_label.setBuddy(self._zone)
        grid.addWidget(zone_label, 3, 0)
        grid.addWidget(self._zone, 3, 1, 1, 4)
        layout.addWidget(self._schedule_fields)

        self._strip = WeekStrip(box)
        self._strip.setObjectName("weekStrip")
        layout.addWidget(self._strip)

        self._preview = QLabel(box)
        self._preview.setObjectName("preview")
        self._preview.setTextFormat(Qt.TextFormat.PlainText)
        self._preview.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self._preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._preview.setWordWrap(True)
        # Room for a heading and five windows, so the dialog does not jump as fields change.
        self._preview.setMinimumHeight(self.fontMetrics().lineSpacing() * (PREVIEW_WINDOWS + 1))
        layout.addWidget(self._preview)

        self._expires = QLabel(box)
        self._expires.setObjectName("expiresAt")
        self._expires.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self._expires.font()
        font.setBold(True)
        self._expires.setFont(font)
        layout.addWidget(self._expires)
        layout.addStretch(1)
        return box

    def _date_edit(self, name: str, value: date) -> QDateEdit:
        edit = QDateEdit(self)
        edit.setObjectName(name)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")  # ISO: 03/04 can never be misread
        edit.setDate(QDate(value.year, value.month, value.day))
        return edit

    def _time_edit(self, name: str, value: time) -> QTimeEdit:
        edit = QTimeEdit(self)
        edit.setObjectName(name)
        edit.setDisplayFormat("HH:mm")
        edit.setTime(QTime(value.hour, value.minute))
        return edit

    @staticmethod
    def _add_grid_row(
        grid: QGridLayout, row: int, label: str, first: QWidget, middle: str, second: QWidget
    ) -> None:
        caption = QLabel(label)
        caption.setBuddy(first)
        grid.addWidget(caption, row, 0)
        grid.addWidget(first, row, 1)
        grid.addWidget(QLabel(middle), row, 2)
        grid.addWidget(second, row, 3)

    def _build_devices_box(self) -> QGroupBox:
        box = QGroupBox("Target devices", self)
        layout = QVBoxLayout(box)

        self._filter = QLineEdit(box)
        self._filter.setObjectName("deviceFilter")
        self._filter.setPlaceholderText("Filter by name, address or tag")
        self._filter.setClearButtonEnabled(True)
        layout.addWidget(self._filter)

        self._model = QStandardItemModel(0, 3, self)
        self._model.setHorizontalHeaderLabels(["Device", "Address", "Tags"])
        self._proxy = QSortFilterProxyModel(self)
        self._proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._proxy.setFilterKeyColumn(-1)  # match name, address and tags alike
        self._proxy.setSourceModel(self._model)

        self._list = QTreeView(box)
        self._list.setObjectName("deviceList")
        self._list.setModel(self._proxy)
        self._list.setRootIsDecorated(False)
        self._list.setUniformRowHeights(True)  # constant cost per row for big fleets
        self._list.setAlternatingRowColors(True)
        self._list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self._list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._list.setMinimumWidth(320)
        header = self._list.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self._list, 1)

        tags = QHBoxLayout()
        self._tag_picker = QComboBox(box)
        self._tag_picker.setObjectName("tagPicker")
        self._tag_picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._tag_picker.setMinimumContentsLength(10)
        self._tag_picker.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._select_tag = QPushButton("Check &all with tag", box)
        self._select_tag.setObjectName("selectTag")
        tag_label = QLabel("Ta&g:", box)
        tag_label.setBuddy(self._tag_picker)
        tags.addWidget(tag_label)
        tags.addWidget(self._tag_picker, 1)
        tags.addWidget(self._select_tag)
        layout.addLayout(tags)

        counts = QHBoxLayout()
        self._count = QLabel("Loading devices…", box)
        self._count.setObjectName("deviceCount")
        self._count.setWordWrap(True)
        self._check_shown = QPushButton("Check s&hown", box)
        self._check_shown.setObjectName("checkShown")
        self._check_shown.setToolTip("Check every device the filter shows")
        self._clear = QPushButton("C&lear", box)
        self._clear.setObjectName("clearDevices")
        self._clear.setToolTip("Uncheck every device")
        counts.addWidget(self._count, 1)
        counts.addWidget(self._check_shown)
        counts.addWidget(self._clear)
        layout.addLayout(counts)
        return box

    def _build_rollout_box(self) -> QWidget:
        """B8 in two lines: how the devices are split into batches, and what that means for
        the devices chosen now; approval, the failure threshold and the limits fold away
        behind a button. No group box (its title and frame cost 35 pixels): with the options
        open the dialog still fits a 768-pixel-high screen under a title bar and a panel."""
        box = QWidget(self)
        box.setObjectName("rolloutBox")
        self._rollout_box = box
        layout = QVBoxLayout(box)
        margin = self.style().pixelMetric(self.style().PixelMetric.PM_LayoutLeftMargin)
        layout.setContentsMargins(margin, 0, margin, 0)
        layout.setSpacing(4)

        top = QHBoxLayout()
        self._preset = QComboBox(box)
        self._preset.setObjectName("rolloutPreset")
        for text, sizes in ROLLOUT_PRESETS:
            self._preset.addItem(text, sizes)
        self._preset.setToolTip("Batches start one after the other, in device-name order; "
                                "the next starts when each task of the current one has "
                                "finished or failed once")
        preset_label = QLabel("&Rollout:", box)
        preset_label.setBuddy(self._preset)
        self._sizes = QLineEdit(box)
        self._sizes.setObjectName("rolloutSizes")
        self._sizes.setPlaceholderText("e.g. 1,5,25%")
        self._sizes.setToolTip("Tasks per batch, counts or percentages of the devices, the "
                               "last one repeating: 1,10%,25%")
        self._sizes.setMinimumWidth(120)
        self._sizes.setMaximumWidth(180)
        self._batch_preview = QLabel(box)
        self._batch_preview.setObjectName("rolloutPreview")
        self._batch_preview.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        # Never wider than the dialog already is: a long custom rollout must not widen it.
        self._batch_preview.setSizePolicy(QSizePolicy.Policy.Ignored,
                                          QSizePolicy.Policy.Preferred)
        self._more = QToolButton(box)
        self._more.setObjectName("rolloutMore")
        self._more.setCheckable(True)
        self._more.setAutoRaise(True)
        self._more.setArrowType(Qt.ArrowType.RightArrow)
        self._more.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._more.setToolTip("Approval after each batch, a stop on failures, and limits")
        top.addWidget(preset_label)
        top.addWidget(self._preset)
        top.addWidget(self._sizes)
        top.addStretch(1)
        top.addWidget(self._more)
        layout.addLayout(top)
        layout.addWidget(self._batch_preview)

        self._sizes_error = QLabel(box)
        self._sizes_error.setObjectName("rolloutError")
        self._sizes_error.setWordWrap(True)
        self._sizes_error.setTextFormat(Qt.TextFormat.PlainText)
        self._sizes_error.setStyleSheet("color: #b91c1c;")  # readable on light and dark
        layout.addWidget(self._sizes_error)

        self._rollout_options = QWidget(box)
        self._rollout_options.setObjectName("rolloutOptions")
        options = QVBoxLayout(self._rollout_options)
        options.setContentsMargins(0, 0, 0, 0)
        options.setSpacing(2)
        self._approve = QCheckBox("Wait for my a&pproval after each batch", box)
        self._approve.setObjectName("rolloutApprove")
        options.addLayout(_row(self._approve))

        self._abort = QCheckBox("Stop wh&en more than", box)
        self._abort.setObjectName("rolloutAbort")
        self._abort_above = self._spin("rolloutAbortAbove", 0, 99, 20, " %")
        self._abort_min = self._spin("rolloutAbortMin", 1, 100_000, 1)
        self._abort_action = QComboBox(box)
        self._abort_action.setObjectName("rolloutAbortAction")
        self._abort_action.addItem("Pause", AbortAction.PAUSE.value)
        self._abort_action.addItem("Cancel the rest", AbortAction.CANCEL.value)
        self._abort_action.setToolTip("Pause: nothing new starts until you continue. Cancel "
                                      "the rest: tasks not started yet are cancelled")
        options.addLayout(_row(
            self._abort, self._abort_above, "of attempted devices fail, after at least",
            self._abort_min, "attempted, then", self._abort_action))

        self._rate = QCheckBox("At most", box)
        self._rate.setObjectName("rolloutRate")
        self._rate_value = self._spin("rolloutRateValue", 1, 100_000, 10)
        self._concurrent = QCheckBox("At most", box)
        self._concurrent.setObjectName("rolloutConcurrent")
        self._concurrent_value = self._spin("rolloutConcurrentValue", 1, 100_000, 5)
        self._attempts = QCheckBox("Give &up after", box)
        self._attempts.setObjectName("rolloutAttempts")
        self._attempts_value = self._spin("rolloutAttemptsValue", 1, 1000, 3)
        self._attempts.setToolTip("Without it, a failed task is retried until the job expires")
        options.addLayout(_row(
            self._rate, self._rate_value, "starts per minute", 16,
            self._concurrent, self._concurrent_value, "at once", 16,
            self._attempts, self._attempts_value, "failed attempts"))
        layout.addWidget(self._rollout_options)
        self._rollout_options.setVisible(False)
        self._rollout_switches = (self._abort, self._rate, self._concurrent, self._attempts)
        return box

    def _spin(self, name: str, low: int, high: int, value: int, suffix: str = "") -> QSpinBox:
        spin = QSpinBox(self)
        spin.setObjectName(name)
        spin.setRange(low, high)
        spin.setValue(value)
        spin.setSuffix(suffix)
        return spin

    def _wire(self) -> None:
        self._name.textChanged.connect(self._refresh)
        self._type.currentIndexChanged.connect(self._on_type_changed)
        self._file.textChanged.connect(self._on_file_edited)
        self._file.editingFinished.connect(self._check_file_now)
        self._file_timer.timeout.connect(self._check_file_now)
        self._browse.clicked.connect(self._browse_file)
        self._command.textChanged.connect(self._refresh)
        self._version.textChanged.connect(self._refresh)

        self._filter.textChanged.connect(self._on_filter)
        self._model.itemChanged.connect(self._on_item_changed)
        self._select_tag.clicked.connect(self._check_tag)
        self._check_shown.clicked.connect(self._check_visible)
        self._clear.clicked.connect(self._uncheck_all)

        self._kind_group.buttonToggled.connect(self._on_kind_toggled)
        self._date_from.dateChanged.connect(self._refresh)
        self._date_to.dateChanged.connect(self._refresh)
        self._time_from.timeChanged.connect(self._refresh)
        self._time_to.timeChanged.connect(self._refresh)
        for button in self._weekdays:
            button.toggled.connect(self._refresh)
        self._zone.currentTextChanged.connect(self._refresh)
        self._clock_timer.timeout.connect(self._refresh)

        self._create_button.clicked.connect(self._create)
        self._check_button.clicked.connect(self._check_devices)
        self._cancel_button.clicked.connect(self.reject)
        self._wire_rollout()

    def _wire_rollout(self) -> None:
        self._preset.currentIndexChanged.connect(self._refresh)
        self._sizes.textChanged.connect(self._refresh)
        self._more.toggled.connect(self._on_more_toggled)
        for switch in (self._approve, *self._rollout_switches):
            switch.toggled.connect(self._refresh)
        for spin in (self._abort_above, self._abort_min, self._rate_value,
                     self._concurrent_value, self._attempts_value):
            spin.valueChanged.connect(self._refresh)
        self._abort_action.currentIndexChanged.connect(self._refresh)

    # ---- template -------------------------------------------------------------------------

    def _apply_template(self, template: JobRecord) -> None:
        """Prefill from an existing job: same type, payload and schedule, a new name."""
        self._name.setText(f"Copy of {template.name}")
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
        if template.rollout and template.rollout.get("policy"):
            # An unreadable stored rollout: the person chooses anew.
            with contextlib.suppress(ActionRefused, ValueError, TypeError):
                self._set_rollout_fields(RolloutPolicy.from_dict(template.rollout["policy"]))
        try:
            schedule = schedule_from_dict(template.schedule)
        except ScheduleError:
            return  # keep the defaults; the person sets the schedule anew
        if isinstance(schedule, Scheduled):
            self._set_schedule_fields(schedule)
        else:
            self._fire.setChecked(True)

    def _set_schedule_fields(self, schedule: Scheduled) -> None:
        self._scheduled.setChecked(True)
        for edit, day in ((self._date_from, schedule.start_date),
                          (self._date_to, schedule.end_date)):
            edit.setDate(QDate(day.year, day.month, day.day))
        for edit, moment in ((self._time_from, schedule.window_start),
                             (self._time_to, schedule.window_end)):
            edit.setTime(QTime(moment.hour, moment.minute))
        for index, button in enumerate(self._weekdays):
            button.setChecked(index in schedule.weekdays)
        self._zone.setCurrentText(schedule.tz)

    # ---- payload ----------------------------------------------------------------------------

    def _job_type(self) -> JobType:
        return JobType(self._type.currentData())

    def _on_type_changed(self) -> None:
        job_type = self._job_type()
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
        self._refresh()

    def _browse_file(self) -> None:
        label, _ = _FILE_LABELS.get(self._job_type(), ("File", ""))
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
        self._refresh()

    def _check_file_now(self) -> None:
        """Hash the file named in the field on the worker thread (once per distinct path)."""
        self._file_timer.stop()
        text = self._file.text().strip()
        if not text or text == self._file_pending:
            return
        if self._file_check is not None and self._file_check.path == text:
            return
        self._file_pending = text
        self._refresh()
        self._gateway.call(
            partial(check_file, text, self._ctx.store),
            self._alive(self._on_file_checked),
            self._alive(partial(self._on_file_failed, text)),
        )

    def _on_file_checked(self, result: FileCheck) -> None:
        if self._file_pending == result.path:
            self._file_pending = None
        if result.path == self._file.text().strip():
            self._file_check = result
            self._file_error = None
        self._refresh()

    def _on_file_failed(self, path: str, message: str) -> None:
        if self._file_pending == path:
            self._file_pending = None
        if path == self._file.text().strip():
            self._file_error = (path, message)
        self._refresh()

    # ---- devices --------------------------------------------------------------------------

    def _load_devices(self) -> None:
        self._gateway.call(
            partial(_read_devices, self._ctx.store),
            self._alive(self._on_devices_loaded),
            self._alive(self._on_devices_failed),
        )

    def _on_devices_loaded(self, result: tuple[list[DeviceRecord], list[str]]) -> None:
        devices, tags = result
        model = QStandardItemModel(0, 3, self)
        model.setHorizontalHeaderLabels(["Device", "Address", "Tags"])
        known: set[str] = set()
        for device in devices:
            known.add(device.name)
            name = QStandardItem(device.name)
            name.setCheckable(True)
            name.setEditable(False)
            name.setData(device.tags, _TAGS_ROLE)
            if device.name in self._wanted:
                name.setCheckState(Qt.CheckState.Checked)
                self._checked.add(device.name)
            address = QStandardItem(
                device.host if device.port == 22 else f"{device.host}:{device.port}"
            )
            address.setEditable(False)
            tag_item = QStandardItem(", ".join(device.tags))
            tag_item.setEditable(False)
            model.appendRow([name, address, tag_item])
        # Filled while detached, then swapped in: one reset instead of a signal per row.
        old = self._model
        self._model = model
        self._model.itemChanged.connect(self._on_item_changed)
        self._proxy.setSourceModel(model)
        old.deleteLater()
        self._missing = sorted(self._wanted - known)
        self._tag_picker.clear()
        self._tag_picker.addItems(tags)
        self._devices_loaded = True
        self._refresh()

    def _on_devices_failed(self, message: str) -> None:
        self._load_error = f"Could not read the devices: {message}"
        self._refresh()

    def _on_filter(self, text: str) -> None:
        self._proxy.setFilterFixedString(text.strip())

    def _on_item_changed(self, item: QStandardItem) -> None:
        if item.column() != 0:
            return
        if item.checkState() == Qt.CheckState.Checked:
            self._checked.add(item.text())
        else:
            self._checked.discard(item.text())
        if not self._bulk:
            self._refresh()

    def _set_checked(self, rows: Sequence[int], state: Qt.CheckState) -> None:
        """Check or uncheck many rows, refreshing the form once rather than per row."""
        self._bulk = True
        try:
            for row in rows:
                item = self._model.item(row, 0)
                if item is not None and item.checkState() != state:
                    item.setCheckState(state)
        finally:
            self._bulk = False
        self._refresh()

    def _check_tag(self) -> None:
        tag = self._tag_picker.currentText()
        if not tag:
            return
        rows = [
            row
            for row in range(self._model.rowCount())
            if tag in (self._model.item(row, 0).data(_TAGS_ROLE) or ())
        ]
        self._set_checked(rows, Qt.CheckState.Checked)

    def _check_visible(self) -> None:
        rows = [
            self._proxy.mapToSource(self._proxy.index(row, 0)).row()
            for row in range(self._proxy.rowCount())
        ]
        self._set_checked(rows, Qt.CheckState.Checked)

    def _uncheck_all(self) -> None:
        self._set_checked(range(self._model.rowCount()), Qt.CheckState.Unchecked)

    # ---- schedule ---------------------------------------------------------------------------

    def _on_kind_toggled(self) -> None:
        self._refresh()

    def _read_schedule(self) -> tuple[Schedule | None, str | None]:
        """The schedule from the fields, or the reason (in words) it cannot be built."""
        if self._fire.isChecked():
            return FireAndForget(), None
        start = self._date_from.date().toPython()
        end = self._date_to.date().toPython()
        opens = self._time_from.time()
        closes = self._time_to.time()
        days = frozenset(i for i, button in enumerate(self._weekdays) if button.isChecked())
        zone = self._zone.currentText().strip()
        try:
            schedule = Scheduled(
                start, end, time(opens.hour(), opens.minute()),
                time(closes.hour(), closes.minute()), days, zone,
            )
        except ScheduleError as error:
            return None, _sentence(str(error))
        if next(schedule.windows(after=self._ctx.clock.now()), None) is None:
            last = schedule.last_window().closes
            return schedule, (
                f"Every window of this schedule is over (the last closed "
                f"{format_instant(last, schedule.tz)}); choose an end date from today on"
            )
        return schedule, None

    # ---- rollout ------------------------------------------------------------------------------

    def _on_more_toggled(self, shown: bool) -> None:
        self._more.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self._rollout_options.setVisible(shown)
        self._refresh()

    def _batches_text(self) -> str | None:
        """The batches as `--batches` writes them; None for "All at once"."""
        if self._preset.currentIndex() == _CUSTOM:
            return self._sizes.text()
        data = self._preset.currentData()
        return str(data) if data else None

    def _read_batches(self) -> tuple[tuple[BatchSize, ...], str | None]:
        text = self._batches_text()
        if text is None:
            return (), None
        if not text.strip():
            return (), "Give the rollout's batch sizes, e.g. 1,10%,100%"
        try:
            return parse_batches(text), None
        except ActionRefused as error:
            return (), _sentence(str(error))

    def _read_rollout(self) -> tuple[RolloutPolicy | None, str | None]:
        """The rollout from the fields, or why (in words) there is none. A form left at
        "All at once" with nothing ticked gives None: the job runs as before (B1–B7)."""
        batches, problem = self._read_batches()
        if problem is not None:
            return None, problem
        abort = self._abort.isChecked()
        try:
            policy = RolloutPolicy(
                batches=batches,
                approve=bool(batches) and self._approve.isChecked(),
                abort_above=float(self._abort_above.value()) if abort else None,
                abort_min=self._abort_min.value() if abort else 1,
                abort_action=AbortAction(self._abort_action.currentData()) if abort
                else AbortAction.PAUSE,
                max_per_minute=self._rate_value.value() if self._rate.isChecked() else None,
                max_concurrent=(self._concurrent_value.value()
                                if self._concurrent.isChecked() else None),
                max_attempts=(self._attempts_value.value()
                              if self._attempts.isChecked() else None),
            )
        except ActionRefused as error:
            return None, _sentence(str(error))
        return (None if policy.is_default else policy), None

    def _update_rollout(self) -> None:
        custom = self._preset.currentIndex() == _CUSTOM
        self._sizes.setVisible(custom)
        batches, problem = self._read_batches()
        self._sizes_error.setText(problem if custom and problem else "")
        self._sizes_error.setVisible(custom and problem is not None)
        count = len(self._checked) if self._devices_loaded else 0
        preview = "" if problem else batches_preview(batches, count)
        self._batch_preview.setText(preview)
        self._batch_preview.setToolTip(preview)
        self._batch_preview.setVisible(problem is None)
        has_batches = self._batches_text() is not None
        self._approve.setEnabled(has_batches)
        self._approve.setToolTip("" if has_batches else
                                 "Approval is given per batch: choose batches first")
        for switch, values in ((self._abort, (self._abort_above, self._abort_min,
                                              self._abort_action)),
                               (self._rate, (self._rate_value,)),
                               (self._concurrent, (self._concurrent_value,)),
                               (self._attempts, (self._attempts_value,))):
            for widget in values:
                widget.setEnabled(switch.isChecked())
        on = sum(switch.isChecked() for switch in self._rollout_switches) + int(
            has_batches and self._approve.isChecked())
        # Folded away, the options still say whether any is on: none is forgotten.
        self._more.setText("Approval and limits" + (f" ({on} on)" if on else ""))

    def _set_rollout_fields(self, policy: RolloutPolicy) -> None:
        """A duplicated job keeps its rollout: preset (or the sizes), options, limits."""
        text = ",".join(str(size) for size in policy.batches) or None
        index = next((i for i, (_, sizes) in enumerate(ROLLOUT_PRESETS) if sizes == text),
                     _CUSTOM)
        self._preset.setCurrentIndex(index)
        if index == _CUSTOM:
            self._sizes.setText(text or "")
        self._approve.setChecked(policy.approve)
        self._abort.setChecked(policy.abort_above is not None)
        if policy.abort_above is not None:
            self._abort_above.setValue(round(policy.abort_above))
            self._abort_min.setValue(policy.abort_min)
            self._abort_action.setCurrentIndex(
                self._abort_action.findData(policy.abort_action.value))
        for switch, spin, value in ((self._rate, self._rate_value, policy.max_per_minute),
                                    (self._concurrent, self._concurrent_value,
                                     policy.max_concurrent),
                                    (self._attempts, self._attempts_value,
                                     policy.max_attempts)):
            switch.setChecked(value is not None)
            if value is not None:
                spin.setValue(value)

    # ---- the whole form ---------------------------------------------------------------------

    def _payload_problems(self) -> list[str]:
        job_type = self._job_type()
        spec = JOB_TYPES[job_type]
        problems: list[str] = []
        path = self._file.text().strip()
        if spec.needs_file or spec.optional_file:
            if not path:
                if spec.needs_file:
                    problems.append(_FILE_LABELS[job_type][1])
            elif self._file_error is not None and self._file_error[0] == path:
                problems.append(_sentence(self._file_error[1]))
            elif self._file_check is None or self._file_check.path != path:
                problems.append("Checking the file…")
            elif job_type is JobType.CONFIG_UPDATE and self._file_check.snippet_error:
                problems.append(_sentence(self._file_check.snippet_error))
        if spec.needs_command and not self._command.text().strip() and not path:
            problems.append("Give the command to run, or choose a script")
        if spec.needs_version and not self._version.text().strip():
            problems.append("Give the target version")
        return problems

    def _problems(self) -> list[str]:
        problems: list[str] = []
        if not self._name.text().strip():
            problems.append("Give the job a name")
        problems.extend(self._payload_problems())
        if self._load_error:
            problems.append(self._load_error)
        elif not self._devices_loaded:
            problems.append("Loading devices…")
        elif not self._checked:
            problems.append("Choose at least one device")
        if self._schedule_problem:
            problems.append(self._schedule_problem)
        if self._rollout_problem:
            problems.append(self._rollout_problem)
        return problems

    def _refresh(self) -> None:
        """Re-read every field: preview, counts, checksum line, validation and Create."""
        schedule, self._schedule_problem = self._read_schedule()
        self._schedule = schedule
        self._schedule_fields.setEnabled(self._scheduled.isChecked())
        self._update_preview(schedule)
        self._update_checksum()
        self._update_count()
        self._rollout, self._rollout_problem = self._read_rollout()
        self._update_rollout()
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

    def _update_preview(self, schedule: Schedule | None) -> None:
        now = self._ctx.clock.now()
        self._midnight.setText(_window_note(self._time_from.time(), self._time_to.time()))
        if isinstance(schedule, FireAndForget):
            lifetime = self._ctx.settings.fire_and_forget_lifetime
            expires = schedule.expires_at(now, lifetime)
            retry = _duration_text(self._ctx.settings.retry_interval)
            self._strip.set_schedule(schedule, now, expires)
            self._preview.setText(
                f"Runs as soon as it is created; a failed task is retried every {retry} "
                "until the job expires."
            )
            zone = local_zone_name()
            self._expires.setText(
                f"Expires at: {format_instant(expires, zone)} ({zone}), "
                f"{_duration_text(lifetime)} after creation"
            )
            return
        if schedule is None:
            self._strip.set_schedule(None, now)
            self._preview.setText("Fix the schedule to see its windows.")
            self._expires.setText("Expires at: —")
            return
        self._strip.set_schedule(schedule, now)
        lines = preview_lines(schedule, now)
        heading = f"Next windows ({schedule.tz}):" if lines else "No window left."
        self._preview.setText("\n".join([heading, *lines]))
        self._expires.setText(
            f"Expires at: {format_instant(schedule.expires_at(), schedule.tz)} ({schedule.tz}), "
            "when the last window closes"
        )

    def _update_checksum(self) -> None:
        path = self._file.text().strip()
        spec = JOB_TYPES[self._job_type()]
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

    def _update_count(self) -> None:
        if self._load_error:
            self._count.setText(self._load_error)
            return
        if not self._devices_loaded:
            self._count.setText("Loading devices…")
            return
        text = f"{len(self._checked)} of {self._model.rowCount()} selected"
        if self._missing:
            text += f"; no longer in the inventory: {_names_text(self._missing)}"
        self._count.setText(text)
        self._select_tag.setEnabled(self._tag_picker.count() > 0)

    def _build_request(self, *, replace: bool = False) -> JobRequest:
        assert self._schedule is not None  # only called once the form is valid
        return dataclasses.replace(self._target_request(), name=self._name.text().strip(),
                                   schedule=self._schedule, replace=replace,
                                   rollout=self._rollout)

    def _target_request(self) -> JobRequest:
        """Type, devices and payload from the form (what a pre-flight check needs)."""
        job_type = self._job_type()
        spec = JOB_TYPES[job_type]
        path = self._file.text().strip()
        uses_file = spec.needs_file or spec.optional_file
        return JobRequest(
            name="pre-flight check",
            type=job_type,
            devices=sorted(self._checked),
            file=Path(path) if uses_file and path else None,
            command=(self._command.text().strip() or None) if spec.needs_command else None,
            version=(self._version.text().strip() or None) if spec.needs_version else None,
        )

    # ---- the pre-flight check ---------------------------------------------------------------

    def _check_problems(self) -> list[str]:
        """What stops a check: the payload and devices (a name and schedule are not needed)."""
        if not self._devices_loaded or not self._checked:
            return ["Choose at least one device"]
        return self._payload_problems()

    def _check_devices(self) -> None:
        if self._check_problems():
            return
        from jobdesk.ui.check_dialog import CheckDialog

        self.check_dialog = CheckDialog(self._ctx, self._gateway, self._target_request(), self)
        self.check_dialog.dropBlocked.connect(self._drop_devices)
        self.check_dialog.open()

    @Slot(object)
    def _drop_devices(self, names: list[str]) -> None:
        """Untick the devices a check found blocked."""
        dropped = set(names)
        rows = [row for row in range(self._model.rowCount())
                if self._model.item(row, 0).text() in dropped]
        self._set_checked(rows, Qt.CheckState.Unchecked)

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
            self._alive(partial(self._on_conflicts, request)),
            self._alive(self._on_create_failed),
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
            self._alive(self._on_created),
            self._alive(self._on_create_failed),
        )

    def _confirm_replace(self, request: JobRequest, conflicts: list[Conflict]) -> bool:
        lines = [
            f"• Job {c.job_id} “{c.job_name}” on {_names_text(list(c.devices))}"
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
        self.created.emit(record)
        self.accept()

    def _on_create_failed(self, message: str) -> None:
        self._error = f"Not created: {_sentence(message)}"
        self._set_busy(False)

    # ---- plumbing ---------------------------------------------------------------------------

    def _alive(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        """Wrap a gateway callback so a reply arriving after the dialog was deleted is dropped."""

        def guarded(value: Any) -> None:
            if shiboken6.isValid(self):
                callback(value)

        return guarded

    def closeEvent(self, event: Any) -> None:
        self._clock_timer.stop()
        super().closeEvent(event)

    def done(self, result: int) -> None:
        self._clock_timer.stop()
        self._file_timer.stop()
        super().done(result)


def _row(*parts: QWidget | str | int) -> QHBoxLayout:
    """One line of the rollout's options: widgets, words between them, spacing (an int)."""
    row = QHBoxLayout()
    row.setSpacing(6)
    for part in parts:
        if isinstance(part, int):
            row.addSpacing(part)
        else:
            row.addWidget(QLabel(part) if isinstance(part, str) else part)
    row.addStretch(1)
    return row


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, OSError):
        return ZoneInfo("UTC")
