"""The New-job dialog, driven through its real widgets against a real store.

Every store read, write and file checksum goes through the gateway's worker thread, so the
tests wait for the callbacks with qtbot.waitUntil / waitSignal. Message boxes are patched.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDate, QModelIndex, Qt, QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTimeEdit,
    QToolButton,
    QTreeView,
    QWidget,
)

from jobdesk.domain.inventory import make_device
from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.rollout import RolloutPolicy, parse_batches
from jobdesk.domain.rules import ActionRefused
from jobdesk.domain.schedule import WEEKDAY_NAMES, Scheduled, local_zone_name
from jobdesk.runtime.actions import JobRequest, JobService, file_sha256
from jobdesk.ui.context import AppContext
from jobdesk.ui.gateway import StoreGateway
from jobdesk.ui.new_job import NewJobDialog
from jobdesk.ui.week_strip import WeekStrip, format_instant, format_window
from tests.conftest import START

WAIT_MS = 5000
ZURICH = "Europe/Zurich"


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def add_devices(ctx: AppContext) -> None:
    for name, tags in (
        ("rtr-001", ("plant-a", "north")),
        ("rtr-002", ("plant-a",)),
        ("rtr-003", ("plant-b",)),
        ("sw-001", ("plant-b",)),
    ):
        ctx.store.devices.add(make_device(name, "127.0.0.1", tags=tags), ctx.clock.now())


def child(dialog: QWidget, kind: type, name: str) -> Any:
    widget = dialog.findChild(kind, name)
    assert widget is not None, f"no {kind.__name__} named {name!r}"
    return widget


def open_dialog(qtbot: Any, ctx: AppContext, gateway: StoreGateway, **kwargs: Any) -> NewJobDialog:
    dialog = NewJobDialog(ctx, gateway, **kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: " of " in child(dialog, QLabel, "deviceCount").text(), timeout=WAIT_MS)
    return dialog


def choose_type(dialog: NewJobDialog, job_type: JobType) -> None:
    combo = child(dialog, QComboBox, "type")
    combo.setCurrentIndex(combo.findText(job_type.title))
    assert combo.currentText() == job_type.title


def device_row(dialog: NewJobDialog, name: str) -> QModelIndex:
    view = child(dialog, QTreeView, "deviceList")
    model = view.model()
    for row in range(model.rowCount()):
        index = model.index(row, 0)
        if index.data() == name:
            return index
    raise AssertionError(f"{name} is not shown")


def toggle_device(qtbot: Any, dialog: NewJobDialog, name: str) -> None:
    """Tick a device the way a keyboard user does: make it current, press Space."""
    view = child(dialog, QTreeView, "deviceList")
    view.setFocus()
    view.setCurrentIndex(device_row(dialog, name))
    qtbot.keyClick(view, Qt.Key.Key_Space)


def checked_devices(dialog: NewJobDialog) -> set[str]:
    model = child(dialog, QTreeView, "deviceList").model()
    return {
        model.index(row, 0).data()
        for row in range(model.rowCount())
        if model.index(row, 0).data(Qt.ItemDataRole.CheckStateRole)
        == Qt.CheckState.Checked.value
    }


def set_schedule(
    qtbot: Any,
    dialog: NewJobDialog,
    start: date,
    end: date,
    opens: time,
    closes: time,
    weekdays: set[int],
    tz: str = ZURICH,
) -> None:
    qtbot.mouseClick(child(dialog, QRadioButton, "scheduled"), Qt.MouseButton.LeftButton)
    child(dialog, QDateEdit, "dateFrom").setDate(QDate(start.year, start.month, start.day))
    child(dialog, QDateEdit, "dateTo").setDate(QDate(end.year, end.month, end.day))
    child(dialog, QTimeEdit, "timeFrom").setTime(QTime(opens.hour, opens.minute))
    child(dialog, QTimeEdit, "timeTo").setTime(QTime(closes.hour, closes.minute))
    for index, name in enumerate(WEEKDAY_NAMES):
        button = child(dialog, QToolButton, f"weekday_{name}")
        if button.isChecked() != (index in weekdays):
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert button.isChecked() == (index in weekdays)
    zone = child(dialog, QComboBox, "timeZone")
    zone.setEditText(tz)  # typing opens the completer popup, which offscreen Qt warns about
    assert zone.currentText() == tz


def validation(dialog: NewJobDialog) -> str:
    return child(dialog, QLabel, "validation").text()


def create_button(dialog: NewJobDialog) -> QPushButton:
    return child(dialog, QPushButton, "createButton")


@pytest.fixture
def ctx(app_context: AppContext) -> AppContext:
    add_devices(app_context)
    return app_context


@pytest.fixture
def reboot_dialog(qtbot: Any, ctx: AppContext, gateway: StoreGateway) -> NewJobDialog:
    """A dialog filled in for a valid scheduled reboot of rtr-003."""
    dialog = open_dialog(qtbot, ctx, gateway)
    qtbot.keyClicks(child(dialog, QLineEdit, "name"), "Night reboot")
    choose_type(dialog, JobType.REBOOT)
    toggle_device(qtbot, dialog, "rtr-003")
    set_schedule(qtbot, dialog, date(2026, 12, 1), date(2026, 12, 14), time(22, 0), time(4, 0),
                 {0, 1, 2, 3, 4})
    assert create_button(dialog).isEnabled(), validation(dialog)
    return dialog


# ------------------------------------------------------------------------------------------
# creating
# ------------------------------------------------------------------------------------------


def test_create_scheduled_job_by_clicking(
    qtbot: Any, ctx: AppContext, gateway: StoreGateway, tmp_path: Path
) -> None:
    snippet = tmp_path / "ntp.cfg"
    snippet.write_text("# NTP for plant A\nntp.server = 10.0.0.1\n", encoding="utf-8")
    dialog = open_dialog(qtbot, ctx, gateway)
    assert child(dialog, QLabel, "deviceCount").text() == "0 of 4 selected"
    assert not create_button(dialog).isEnabled()

    qtbot.keyClicks(child(dialog, QLineEdit, "name"), "NTP plant A")
    choose_type(dialog, JobType.CONFIG_UPDATE)
    qtbot.keyClicks(child(dialog, QLineEdit, "file"), str(snippet))
    qtbot.keyClick(child(dialog, QLineEdit, "file"), Qt.Key.Key_Return)
    checksum = child(dialog, QLabel, "fileChecksum")
    qtbot.waitUntil(lambda: file_sha256(snippet) in checksum.text(), timeout=WAIT_MS)

    child(dialog, QComboBox, "tagPicker").setCurrentText("plant-a")
    qtbot.mouseClick(child(dialog, QPushButton, "selectTag"), Qt.MouseButton.LeftButton)
    toggle_device(qtbot, dialog, "sw-001")
    assert checked_devices(dialog) == {"rtr-001", "rtr-002", "sw-001"}
    assert child(dialog, QLabel, "deviceCount").text() == "3 of 4 selected"

    set_schedule(qtbot, dialog, date(2026, 12, 2), date(2026, 12, 20), time(22, 30),
                 time(3, 0), {5, 6})
    assert create_button(dialog).isEnabled(), validation(dialog)

    with qtbot.waitSignal(dialog.created, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(create_button(dialog), Qt.MouseButton.LeftButton)
    record = blocker.args[0]
    assert dialog.result() == dialog.DialogCode.Accepted

    stored = ctx.store.jobs.detail(record.id)
    assert stored.name == "NTP plant A"
    assert stored.type == "config-update"
    assert stored.schedule == {
        "kind": "scheduled",
        "from": "2026-12-02",
        "to": "2026-12-20",
        "window": "22:30-03:00",
        "weekdays": ["sat", "sun"],
        "tz": ZURICH,
    }
    assert {t.device for t in stored.tasks} == {"rtr-001", "rtr-002", "sw-001"}
    assert stored.payload["sha256"] == file_sha256(snippet)
    assert stored.expires_at == Scheduled(
        date(2026, 12, 2), date(2026, 12, 20), time(22, 30), time(3, 0), frozenset({5, 6}),
        ZURICH,
    ).expires_at()


def test_fire_and_forget_is_the_default_and_expires_after_the_lifetime(
    qtbot: Any, ctx: AppContext, gateway: StoreGateway
) -> None:
    dialog = open_dialog(qtbot, ctx, gateway, devices=["rtr-002"])
    assert child(dialog, QRadioButton, "fireAndForget").isChecked()
    assert not child(dialog, QDateEdit, "dateFrom").isEnabled()
    expires = ctx.clock.now() + ctx.settings.fire_and_forget_lifetime
    zone = local_zone_name()
    assert child(dialog, QLabel, "expiresAt").text().startswith(
        f"Expires at: {format_instant(expires, zone)} ({zone}), 30 min after creation"
    )
    assert checked_devices(dialog) == {"rtr-002"}
    qtbot.keyClicks(child(dialog, QLineEdit, "name"), "Reboot now")
    choose_type(dialog, JobType.REBOOT)
    with qtbot.waitSignal(dialog.created, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(create_button(dialog), Qt.MouseButton.LeftButton)
    assert blocker.args[0].schedule == {"kind": "fire-and-forget"}
    assert blocker.args[0].expires_at == expires


# ------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"end": date(2026, 11, 30)}, "is before start date"),
        ({"weekdays": set()}, "No weekday chosen"),
        ({"start": date(2026, 12, 5), "end": date(2026, 12, 6), "weekdays": {0, 1}},
         "contain no window"),
        ({"tz": "Europe/Zurch"}, "Europe/Zurich"),
        ({"start": date(2026, 11, 1), "end": date(2026, 11, 20)}, "Every window"),
    ],
)
def test_impossible_schedule_disables_create(
    qtbot: Any, reboot_dialog: NewJobDialog, change: dict[str, Any], words: str
) -> None:
    values: dict[str, Any] = {
        "start": date(2026, 12, 1), "end": date(2026, 12, 14), "opens": time(22, 0),
        "closes": time(4, 0), "weekdays": {0, 1, 2, 3, 4}, "tz": ZURICH,
    }
    values.update(change)
    set_schedule(qtbot, reboot_dialog, **values)
    assert not create_button(reboot_dialog).isEnabled()
    assert words in validation(reboot_dialog)
    assert "Create" not in validation(reboot_dialog)


def test_validation_names_what_is_missing(
    qtbot: Any, ctx: AppContext, gateway: StoreGateway
) -> None:
    dialog = open_dialog(qtbot, ctx, gateway)
    choose_type(dialog, JobType.FIRMWARE_UPDATE)
    text = validation(dialog)
    for words in ("Give the job a name", "Choose the firmware file", "Give the target version",
                  "Choose at least one device"):
        assert words in text
    assert not create_button(dialog).isEnabled()
    assert child(dialog, QLineEdit, "version").isVisibleTo(dialog)
    assert not child(dialog, QLineEdit, "command").isVisibleTo(dialog)

    choose_type(dialog, JobType.COMMAND)
    assert "Give the command to run" in validation(dialog)
    assert child(dialog, QLineEdit, "command").isVisibleTo(dialog)
    assert child(dialog, QLineEdit, "file").isVisibleTo(dialog)  # a script is optional
    assert not child(dialog, QLineEdit, "version").isVisibleTo(dialog)

    choose_type(dialog, JobType.REBOOT)
    for name in ("file", "command", "version"):
        assert not child(dialog, QLineEdit, name).isVisibleTo(dialog)
    assert validation(dialog).splitlines() == ["Give the job a name", "Choose at least one device"]


def test_a_bad_snippet_is_refused_in_words(
    qtbot: Any, ctx: AppContext, gateway: StoreGateway, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.cfg"
    bad.write_text("this is not a snippet\n", encoding="utf-8")
    dialog = open_dialog(qtbot, ctx, gateway)
    choose_type(dialog, JobType.CONFIG_UPDATE)
    child(dialog, QLineEdit, "file").setText(str(bad))
    qtbot.waitUntil(lambda: "expected 'key = value'" in validation(dialog), timeout=WAIT_MS)
    child(dialog, QLineEdit, "file").setText(str(tmp_path / "missing.cfg"))
    qtbot.waitUntil(lambda: "No such file" in validation(dialog), timeout=WAIT_MS)
    assert not create_button(dialog).isEnabled()


# ------------------------------------------------------------------------------------------
# preview
# ------------------------------------------------------------------------------------------


def test_preview_lists_the_windows_of_the_schedule(
    qtbot: Any, reboot_dialog: NewJobDialog, ctx: AppContext
) -> None:
    schedule = Scheduled(date(2026, 12, 1), date(2026, 12, 14), time(22, 0), time(4, 0),
                         frozenset(range(5)), ZURICH)
    expected = [format_window(w, ZURICH) for w in islice(schedule.windows(after=START), 5)]
    lines = child(reboot_dialog, QLabel, "preview").text().splitlines()
    assert lines[0] == "Next windows (Europe/Zurich):"
    assert lines[1:] == expected
    assert lines[1] == "Tue 01 Dec 22:00–04:00"
    assert lines[5] == "Mon 07 Dec 22:00–04:00"
    assert child(reboot_dialog, QLabel, "expiresAt").text().startswith(
        "Expires at: 15 Dec 04:00 CET (Europe/Zurich)"
    )
    strip = child(reboot_dialog, WeekStrip, "weekStrip")
    assert strip.schedule() == schedule
    assert strip.day_labels()[0] == "Tue 1"

    # Inside a window the preview says so; the preview follows every field change.
    ctx.clock.set(START + timedelta(hours=13))  # 23:00 in Zurich
    qtbot.mouseClick(child(reboot_dialog, QToolButton, "weekday_sat"), Qt.MouseButton.LeftButton)
    lines = child(reboot_dialog, QLabel, "preview").text().splitlines()
    assert lines[1] == "Tue 01 Dec 22:00–04:00  (open now)"
    assert lines[5] == "Sat 05 Dec 22:00–04:00"


def test_equal_times_are_a_whole_day_and_the_preview_says_so(
    qtbot: Any, reboot_dialog: NewJobDialog, ctx: AppContext
) -> None:
    note = child(reboot_dialog, QLabel, "windowNote")
    assert note.text() == "closes the next day"  # the fixture's 22:00-04:00
    set_schedule(qtbot, reboot_dialog, date(2026, 12, 1), date(2026, 12, 14), time(0, 0),
                 time(0, 0), {0, 1, 2, 3, 4})
    assert create_button(reboot_dialog).isEnabled(), validation(reboot_dialog)
    assert note.text() == "all day"
    lines = child(reboot_dialog, QLabel, "preview").text().splitlines()
    # START is Tuesday 1 December, 10:00 in Zurich: Tuesday's day is open already.
    assert lines == [
        "Next windows (Europe/Zurich):",
        "Tue 01 Dec all day (00:00–00:00)  (open now)",
        "Wed 02 Dec all day (00:00–00:00)",
        "Thu 03 Dec all day (00:00–00:00)",
        "Fri 04 Dec all day (00:00–00:00)",
        "Mon 07 Dec all day (00:00–00:00)",
    ]
    # The range ends on Monday 14 December, whose day closes as Tuesday begins.
    assert child(reboot_dialog, QLabel, "expiresAt").text().startswith(
        "Expires at: 15 Dec 00:00 CET (Europe/Zurich)"
    )
    child(reboot_dialog, QTimeEdit, "timeFrom").setTime(QTime(8, 0))
    assert note.text() == "closes the next day"
    child(reboot_dialog, QTimeEdit, "timeTo").setTime(QTime(8, 0))
    assert note.text() == "all day (24 h from 08:00)"
    assert "Wed 02 Dec all day (08:00–08:00)" in child(reboot_dialog, QLabel, "preview").text()

    with qtbot.waitSignal(reboot_dialog.created, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(create_button(reboot_dialog), Qt.MouseButton.LeftButton)
    stored = ctx.store.jobs.detail(blocker.args[0].id)
    assert stored.schedule["window"] == "08:00-08:00"
    assert stored.expires_at == Scheduled(
        date(2026, 12, 1), date(2026, 12, 14), time(8), time(8), frozenset(range(5)), ZURICH,
    ).expires_at()


# ------------------------------------------------------------------------------------------
# replacing (spec B5)
# ------------------------------------------------------------------------------------------


def test_replace_question_cancels_the_older_task(
    qtbot: Any, reboot_dialog: NewJobDialog, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = ctx.service.create(
        JobRequest(name="Old reboot", type=JobType.REBOOT, devices=["rtr-003", "sw-001"])
    )
    asked: list[str] = []

    def answer_yes(parent: Any, title: str, text: str, *args: Any) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer_yes)
    with qtbot.waitSignal(reboot_dialog.created, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(create_button(reboot_dialog), Qt.MouseButton.LeftButton)
    new = blocker.args[0]

    assert len(asked) == 1
    assert f"Job {old.id} “Old reboot” on rtr-003" in asked[0]
    assert "cancels those tasks of the older job" in asked[0]
    older = {t.device: t for t in ctx.store.jobs.detail(old.id).tasks}
    assert older["rtr-003"].state == "Cancelled"
    assert older["rtr-003"].reason == f"replaced by job {new.id}"
    assert older["sw-001"].state != "Cancelled"  # not a device of the new job


def test_declining_the_replace_question_keeps_the_dialog_open(
    qtbot: Any, reboot_dialog: NewJobDialog, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = ctx.service.create(JobRequest(name="Old reboot", type=JobType.REBOOT,
                                        devices=["rtr-003"]))
    asked: list[str] = []

    def answer_no(parent: Any, title: str, text: str, *args: Any) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", answer_no)
    qtbot.mouseClick(create_button(reboot_dialog), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Not created" in validation(reboot_dialog), timeout=WAIT_MS)
    assert asked and reboot_dialog.isVisible()
    assert create_button(reboot_dialog).isEnabled()
    assert [j.id for j in ctx.store.jobs.list()] == [old.id]
    assert ctx.store.jobs.detail(old.id).tasks[0].state != "Cancelled"


def test_a_refused_create_is_shown_in_words(
    qtbot: Any, reboot_dialog: NewJobDialog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: JobService, request: JobRequest) -> None:
        raise ActionRefused("the store is read-only right now; try again")

    monkeypatch.setattr(JobService, "create", refuse)
    qtbot.mouseClick(create_button(reboot_dialog), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Not created" in validation(reboot_dialog), timeout=WAIT_MS)
    assert "The store is read-only right now" in validation(reboot_dialog)
    assert reboot_dialog.isVisible() and create_button(reboot_dialog).isEnabled()


# ------------------------------------------------------------------------------------------
# duplicating and devices
# ------------------------------------------------------------------------------------------


def test_duplicate_prefills_everything(
    qtbot: Any, ctx: AppContext, gateway: StoreGateway, tmp_path: Path
) -> None:
    image = tmp_path / "fw-7.4.2.bin"
    image.write_bytes(b"\x7fFIRMWARE" * 1000)
    schedule = Scheduled(date(2026, 12, 3), date(2026, 12, 24), time(1, 0), time(5, 30),
                         frozenset({1, 3}), "America/Chicago")
    old = ctx.service.create(JobRequest(
        name="Firmware 7.4.2", type=JobType.FIRMWARE_UPDATE, devices=["rtr-001", "rtr-002"],
        file=image, version="7.4.2", schedule=schedule,
    ))
    template = ctx.store.jobs.detail(old.id)
    dialog = open_dialog(qtbot, ctx, gateway, devices=[t.device for t in template.tasks],
                         template=template)

    assert dialog.windowTitle() == "Duplicate job"
    assert child(dialog, QLineEdit, "name").text() == "Copy of Firmware 7.4.2"
    assert child(dialog, QComboBox, "type").currentText() == "Firmware update"
    assert child(dialog, QLineEdit, "file").text() == str(image.resolve())
    assert child(dialog, QLineEdit, "version").text() == "7.4.2"
    assert child(dialog, QRadioButton, "scheduled").isChecked()
    assert child(dialog, QDateEdit, "dateFrom").date() == QDate(2026, 12, 3)
    assert child(dialog, QDateEdit, "dateTo").date() == QDate(2026, 12, 24)
    assert child(dialog, QTimeEdit, "timeFrom").time() == QTime(1, 0)
    assert child(dialog, QTimeEdit, "timeTo").time() == QTime(5, 30)
    assert [child(dialog, QToolButton, f"weekday_{n}").isChecked() for n in WEEKDAY_NAMES] == [
        False, True, False, True, False, False, False
    ]
    assert child(dialog, QComboBox, "timeZone").currentText() == "America/Chicago"
    assert dialog.current_schedule() == schedule
    assert checked_devices(dialog) == {"rtr-001", "rtr-002"}
    qtbot.waitUntil(
        lambda: file_sha256(image) in child(dialog, QLabel, "fileChecksum").text(),
        timeout=WAIT_MS,
    )
    assert create_button(dialog).isEnabled(), validation(dialog)


def test_filter_and_bulk_checks(qtbot: Any, ctx: AppContext, gateway: StoreGateway) -> None:
    dialog = open_dialog(qtbot, ctx, gateway, devices=["gone-001"])
    count = child(dialog, QLabel, "deviceCount")
    assert "no longer in the inventory: gone-001" in count.text()
    qtbot.keyClicks(child(dialog, QLineEdit, "deviceFilter"), "PLANT-B")
    assert child(dialog, QTreeView, "deviceList").model().rowCount() == 2
    qtbot.mouseClick(child(dialog, QPushButton, "checkShown"), Qt.MouseButton.LeftButton)
    assert checked_devices(dialog) == {"rtr-003", "sw-001"}
    assert count.text().startswith("2 of 4 selected")
    child(dialog, QLineEdit, "deviceFilter").clear()
    qtbot.mouseClick(child(dialog, QPushButton, "clearDevices"), Qt.MouseButton.LeftButton)
    assert checked_devices(dialog) == set()
    assert "Choose at least one device" in validation(dialog)


def test_screenshot(qtbot: Any, reboot_dialog: NewJobDialog, tmp_path: Path) -> None:
    """Not a check of looks, only that a filled-in dialog grabs (the report looked at it)."""
    reboot_dialog.adjustSize()
    pixmap = reboot_dialog.grab()
    assert not pixmap.isNull() and pixmap.width() > 600
    assert pixmap.save(str(tmp_path / "new_job.png"))


# ------------------------------------------------------------------------------------------
# rollout (B8)
# ------------------------------------------------------------------------------------------

ALL_FOUR = ["rtr-001", "rtr-002", "rtr-003", "sw-001"]


def rollout_dialog(qtbot: Any, ctx: AppContext, gateway: StoreGateway) -> NewJobDialog:
    """A valid fire-and-forget reboot of all four devices, Rollout left at its default."""
    dialog = open_dialog(qtbot, ctx, gateway, devices=ALL_FOUR)
    qtbot.keyClicks(child(dialog, QLineEdit, "name"), "Careful reboot")
    choose_type(dialog, JobType.REBOOT)
    assert create_button(dialog).isEnabled(), validation(dialog)
    return dialog


def choose_preset(dialog: NewJobDialog, text: str) -> None:
    combo = child(dialog, QComboBox, "rolloutPreset")
    index = combo.findText(text)
    assert index >= 0, f"no preset {text!r}"
    combo.setCurrentIndex(index)


def create_and_read(qtbot: Any, dialog: NewJobDialog, ctx: AppContext) -> Any:
    with qtbot.waitSignal(dialog.created, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(create_button(dialog), Qt.MouseButton.LeftButton)
    return ctx.store.jobs.detail(blocker.args[0].id)


def batches_by_device(record: Any) -> dict[str, int]:
    return {task.device: task.batch for task in record.tasks}


@pytest.mark.parametrize(
    ("preset", "stored", "preview", "batches"),
    [
        ("One device first, then the rest", ["1", "100%"], "4 devices in 2 batches: 1 · 3",
         [1, 2, 2, 2]),
        # 10 % of 4 rounds up to one device; the last size repeats over what is left.
        ("1, then 10 %, then the rest", ["1", "10%", "100%"],
         "4 devices in 3 batches: 1 · 1 · 2", [1, 2, 3, 3]),
    ],
)
def test_a_rollout_preset_gives_the_job_its_batches(
    qtbot: Any, ctx: AppContext, gateway: StoreGateway, preset: str, stored: list[str],
    preview: str, batches: list[int],
) -> None:
    dialog = rollout_dialog(qtbot, ctx, gateway)
    choose_preset(dialog, preset)
    assert child(dialog, QLabel, "rolloutPreview").text() == preview
    record = create_and_read(qtbot, dialog, ctx)
    assert record.rollout["policy"]["batches"] == stored
    assert record.rollout["policy"]["approve"] is False
    # Batches are filled in device-name order (B8).
    assert batches_by_device(record) == dict(zip(ALL_FOUR, batches, strict=True))
    assert record.rollout["view"]["batches"] == max(batches)


def test_all_at_once_is_the_default_and_makes_no_rollout(
    qtbot: Any, ctx: AppContext, gateway: StoreGateway
) -> None:
    dialog = rollout_dialog(qtbot, ctx, gateway)
    assert child(dialog, QComboBox, "rolloutPreset").currentText() == "All at once"
    assert child(dialog, QLabel, "rolloutPreview").text() == "4 devices, all at once"
    # Approval is given per batch: nothing to approve without batches.
    assert not child(dialog, QCheckBox, "rolloutApprove").isEnabled()
    assert not child(dialog, QWidget, "rolloutOptions").isVisibleTo(dialog)
    assert dialog.request() is not None and dialog.request().rollout is None
    record = create_and_read(qtbot, dialog, ctx)
    assert record.rollout is None
    assert set(batches_by_device(record).values()) == {1}


def test_the_rollout_options_go_into_the_policy(
    qtbot: Any, ctx: AppContext, gateway: StoreGateway
) -> None:
    dialog = rollout_dialog(qtbot, ctx, gateway)
    choose_preset(dialog, "One device first, then the rest")
    more = child(dialog, QToolButton, "rolloutMore")
    qtbot.mouseClick(more, Qt.MouseButton.LeftButton)
    assert child(dialog, QWidget, "rolloutOptions").isVisibleTo(dialog)
    threshold = child(dialog, QSpinBox, "rolloutAbortAbove")
    assert not threshold.isEnabled()  # off until its checkbox is ticked
    for name in ("rolloutApprove", "rolloutAbort", "rolloutRate", "rolloutConcurrent",
                 "rolloutAttempts"):
        qtbot.mouseClick(child(dialog, QCheckBox, name), Qt.MouseButton.LeftButton)
    assert threshold.isEnabled()
    threshold.setValue(25)
    child(dialog, QSpinBox, "rolloutAbortMin").setValue(2)
    action = child(dialog, QComboBox, "rolloutAbortAction")
    action.setCurrentIndex(action.findText("Cancel the rest"))
    child(dialog, QSpinBox, "rolloutRateValue").setValue(6)
    child(dialog, QSpinBox, "rolloutConcurrentValue").setValue(2)
    child(dialog, QSpinBox, "rolloutAttemptsValue").setValue(4)
    assert more.text() == "Approval and limits (5 on)"
    # Folded away, the options still count, and the button still says so.
    qtbot.mouseClick(more, Qt.MouseButton.LeftButton)
    assert not child(dialog, QWidget, "rolloutOptions").isVisibleTo(dialog)
    record = create_and_read(qtbot, dialog, ctx)
    assert record.rollout["policy"] == {
        "batches": ["1", "100%"], "approve": True, "abort_above": 25.0, "abort_min": 2,
        "abort_action": "cancel", "max_per_minute": 6, "max_concurrent": 2,
        "max_attempts": 4,
    }
    # Approval holds the second batch from the start.
    assert [t.held for t in sorted(record.tasks, key=lambda t: t.device)] == [
        False, True, True, True]


def test_limits_without_batches_still_make_a_rollout(
    qtbot: Any, ctx: AppContext, gateway: StoreGateway
) -> None:
    dialog = rollout_dialog(qtbot, ctx, gateway)
    qtbot.mouseClick(child(dialog, QToolButton, "rolloutMore"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(child(dialog, QCheckBox, "rolloutConcurrent"), Qt.MouseButton.LeftButton)
    child(dialog, QSpinBox, "rolloutConcurrentValue").setValue(3)
    record = create_and_read(qtbot, dialog, ctx)
    assert record.rollout["policy"]["batches"] == []
    assert record.rollout["policy"]["max_concurrent"] == 3


@pytest.mark.parametrize(
    ("sizes", "words"),
    [
        ("", "Give the rollout's batch sizes"),
        ("1,abc", "is neither a count (5) nor a percentage (20%)"),
        ("0", "a count is at least 1"),
        ("1,150%", "a percentage is above 0 and up to 100"),
    ],
)
def test_custom_batch_sizes_are_checked_as_they_are_typed(
    qtbot: Any, ctx: AppContext, gateway: StoreGateway, sizes: str, words: str
) -> None:
    dialog = rollout_dialog(qtbot, ctx, gateway)
    sizes_edit = child(dialog, QLineEdit, "rolloutSizes")
    assert not sizes_edit.isVisibleTo(dialog)
    choose_preset(dialog, "Custom…")
    assert sizes_edit.isVisibleTo(dialog)
    qtbot.keyClicks(sizes_edit, sizes)
    error = child(dialog, QLabel, "rolloutError")
    assert error.isVisibleTo(dialog) and words in error.text()
    assert words in validation(dialog)
    assert not create_button(dialog).isEnabled()
    assert dialog.request() is None

    sizes_edit.clear()
    qtbot.keyClicks(sizes_edit, "2, 50%")
    assert not error.isVisibleTo(dialog)
    assert child(dialog, QLabel, "rolloutPreview").text() == "4 devices in 2 batches: 2 · 2"
    assert create_button(dialog).isEnabled(), validation(dialog)
    record = create_and_read(qtbot, dialog, ctx)
    assert record.rollout["policy"]["batches"] == ["2", "50%"]
    assert batches_by_device(record) == {"rtr-001": 1, "rtr-002": 1, "rtr-003": 2,
                                         "sw-001": 2}


def test_the_batch_preview_follows_the_chosen_devices(
    qtbot: Any, ctx: AppContext, gateway: StoreGateway
) -> None:
    dialog = rollout_dialog(qtbot, ctx, gateway)
    choose_preset(dialog, "1, then 10 %, then the rest")
    preview = child(dialog, QLabel, "rolloutPreview")
    toggle_device(qtbot, dialog, "sw-001")
    assert preview.text() == "3 devices in 3 batches: 1 · 1 · 1"
    qtbot.mouseClick(child(dialog, QPushButton, "clearDevices"), Qt.MouseButton.LeftButton)
    assert preview.text() == "Choose devices to see the batches"


def test_a_duplicate_keeps_the_rollout(
    qtbot: Any, ctx: AppContext, gateway: StoreGateway
) -> None:
    old = ctx.service.create(JobRequest(
        "Canary", JobType.REBOOT, devices=ALL_FOUR,
        rollout=RolloutPolicy(batches=parse_batches("2,25%"), approve=True, max_attempts=2)))
    template = ctx.store.jobs.detail(old.id)
    dialog = open_dialog(qtbot, ctx, gateway, devices=ALL_FOUR, template=template)
    assert child(dialog, QComboBox, "rolloutPreset").currentText() == "Custom…"
    assert child(dialog, QLineEdit, "rolloutSizes").text() == "2,25%"
    assert child(dialog, QCheckBox, "rolloutApprove").isChecked()
    assert child(dialog, QCheckBox, "rolloutAttempts").isChecked()
    assert dialog.current_rollout() == RolloutPolicy(
        batches=parse_batches("2,25%"), approve=True, max_attempts=2)


def test_the_dialog_fits_a_small_screen_with_the_rollout_options_open(
    qtbot: Any, ctx: AppContext, gateway: StoreGateway
) -> None:
    """1366×768 less a title bar and a panel: the open options must not push Create off."""
    dialog = rollout_dialog(qtbot, ctx, gateway)
    choose_preset(dialog, "Custom…")
    qtbot.keyClicks(child(dialog, QLineEdit, "rolloutSizes"), "1,x")  # error line shown too
    qtbot.mouseClick(child(dialog, QToolButton, "rolloutMore"), Qt.MouseButton.LeftButton)
    assert dialog.minimumSizeHint().height() <= 768 - 80
    assert dialog.minimumSizeHint().width() <= 1366


# ------------------------------------------------------------------------------------------
# size, time zones, a past start, no devices
# ------------------------------------------------------------------------------------------


def test_the_dialog_keeps_its_size_while_fields_change(
    qtbot: Any, ctx: AppContext, gateway: StoreGateway
) -> None:
    dialog = open_dialog(qtbot, ctx, gateway, devices=["a-router-long-gone-from-the-inventory"])
    size = dialog.size()
    qtbot.keyClicks(child(dialog, QLineEdit, "name"), "A long name for the night shift's job")
    for job_type in JobType:
        choose_type(dialog, job_type)
        assert dialog.size() == size, job_type
    choose_type(dialog, JobType.CONFIG_UPDATE)
    child(dialog, QLineEdit, "file").setText("/no/such/folder/" + "deep/" * 12 + "snippet.txt")
    qtbot.waitUntil(lambda: "No checksum" in child(dialog, QLabel, "fileChecksum").text(),
                    timeout=WAIT_MS)
    set_schedule(qtbot, dialog, date(2026, 12, 1), date(2026, 12, 14), time(22, 0), time(22, 0),
                 {0, 1, 2}, "America/Argentina/ComodRivadavia")
    child(dialog, QDateEdit, "dateFrom").setDate(QDate(2026, 11, 2))  # the past: a warning
    assert "in the past" in child(dialog, QLabel, "startNote").text()
    child(dialog, QComboBox, "rolloutPreset").setCurrentIndex(3)
    child(dialog, QLineEdit, "rolloutSizes").setText("1,2,x")
    qtbot.mouseClick(child(dialog, QToolButton, "rolloutMore"), Qt.MouseButton.LeftButton)
    toggle_device(qtbot, dialog, "rtr-001")
    assert dialog.size() == size


def test_the_zone_picker_offers_the_laptops_and_recent_zones_first(
    qtbot: Any, reboot_dialog: NewJobDialog, ctx: AppContext, gateway: StoreGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(reboot_dialog.created, timeout=WAIT_MS):
        qtbot.mouseClick(create_button(reboot_dialog), Qt.MouseButton.LeftButton)

    dialog = open_dialog(qtbot, ctx, gateway)
    zone = child(dialog, QComboBox, "timeZone")
    local = local_zone_name()
    leading = [zone.itemText(i) for i in range(3)]
    assert leading[0] == local and zone.currentText() == local
    if local != ZURICH:
        assert leading[1] == ZURICH  # the last job's zone, before the ~600 others
    completer = zone.completer()
    completer.setCompletionPrefix("zur")
    assert completer.currentCompletion() == ZURICH
    completer.setCompletionPrefix("new york")
    assert completer.currentCompletion() == "America/New_York"


def test_a_start_in_the_past_is_flagged_but_allowed(
    qtbot: Any, reboot_dialog: NewJobDialog
) -> None:
    note = child(reboot_dialog, QLabel, "startNote")
    assert note.text() == ""
    set_schedule(qtbot, reboot_dialog, date(2026, 11, 20), date(2026, 12, 14), time(22, 0),
                 time(4, 0), {0, 1, 2, 3, 4})
    assert "in the past" in note.text()
    assert create_button(reboot_dialog).isEnabled(), validation(reboot_dialog)


def test_with_no_devices_the_dialog_offers_to_add_and_import_them(
    qtbot: Any, app_context: AppContext, gateway: StoreGateway, tmp_path: Path
) -> None:
    dialog = NewJobDialog(app_context, gateway)
    qtbot.addWidget(dialog)
    dialog.show()
    offer = child(dialog, QWidget, "noDevices")
    qtbot.waitUntil(offer.isVisible, timeout=WAIT_MS)
    assert "Choose at least one device" in validation(dialog)

    qtbot.mouseClick(child(dialog, QPushButton, "addDevice"), Qt.MouseButton.LeftButton)
    picker = offer.parentWidget()
    device_dialog = picker.editor.dialog
    assert device_dialog is not None and device_dialog.isVisible()
    qtbot.keyClicks(device_dialog.name_edit, "first-router")
    qtbot.keyClicks(device_dialog.host_edit, "10.0.0.1")
    qtbot.mouseClick(device_dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: checked_devices(dialog) == {"first-router"}, timeout=WAIT_MS)
    assert not offer.isVisible()

    inventory = tmp_path / "fleet.csv"
    inventory.write_text("name,host,port,user,profile,tags\nsecond,10.0.0.2,22,admin,"
                         "netmodule,plant-a\n", encoding="utf-8")
    picker.editor.import_file(str(inventory))  # what the file chooser hands over
    qtbot.waitUntil(
        lambda: child(dialog, QTreeView, "deviceList").model().rowCount() == 2,
        timeout=WAIT_MS)
    assert checked_devices(dialog) == {"first-router"}
    assert app_context.store.devices.get("second").tags == ("plant-a",)
