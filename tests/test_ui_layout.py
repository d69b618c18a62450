"""The window on a field laptop: sizes, time labels, truthful visuals, what may be done.

The sizes are those of the laptops engineers carry: 1400×860, the 1366×768 of rugged
field laptops, and 1024×640, the smallest the window is laid out for. A demo-like fleet
is on screen with its failed firmware job selected, as the demo opens.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QByteArray, QCoreApplication, QEvent, QObject, QRect, QSettings, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QLabel,
    QScrollBar,
    QSizeGrip,
    QSplitterHandle,
    QTabBar,
    QTableView,
    QWidget,
)

from jobdesk.domain.inventory import make_device
from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.schedule import Scheduled
from jobdesk.domain.times import format_instant
from jobdesk.runtime.actions import JobRequest
from jobdesk.sim.device import firmware_image
from jobdesk.ui.columns import clipped_headers
from jobdesk.ui.context import AppContext
from jobdesk.ui.elided import ElidedLabel
from jobdesk.ui.jobs_model import COLUMNS
from jobdesk.ui.main_window import MainWindow, fits

SIZES = [(1400, 860), (1366, 768), (1024, 640)]
FLEET = [f"sim-{n:03d}" for n in range(12)]
WRONG = "sim-007"


def finish_task(ctx: AppContext, task_id: int, *, fail_at: str | None = None,
                message: str = "") -> None:
    """Run one task's steps to the end (or to a failure at `fail_at`) in the store."""
    now = ctx.clock.now()
    attempt, _ = ctx.store.queue.claim(task_id, now)
    assert attempt is not None
    for step in attempt.steps:
        ctx.store.queue.begin_step(attempt.hold, step.id, now)
        if step.name == fail_at:
            ctx.store.queue.fail_step(attempt.hold, step.id, now, message=message,
                                      retryable=False,
                                      retry_interval=ctx.settings.retry_interval)
            return
        ctx.store.queue.complete_step(attempt.hold, step.id, now, message="ok")


def demo_like(ctx: AppContext, tmp_path: Path) -> dict[str, int]:
    """A fleet and jobs as the demo shows them; returns the job ids by what they show."""
    for name in FLEET:
        ctx.store.devices.add(make_device(name, "127.0.0.1", tags=["sim"]), ctx.clock.now())
    image = tmp_path / "router-fw-4.9.0.img"
    image.write_bytes(firmware_image("4.9.0", size=4096))
    jobs: dict[str, int] = {}
    firmware = ctx.service.create(JobRequest(
        "Firmware 4.9.0 — depot north", JobType.FIRMWARE_UPDATE, devices=FLEET, file=image,
        version="4.9.0"))
    jobs["failed"] = firmware.id
    tasks = {t.device: t.id for t in ctx.store.jobs.detail(firmware.id).tasks}
    for device, task_id in tasks.items():
        if device == WRONG:
            finish_task(ctx, task_id, fail_at="verify-version",
                        message="the device runs 4.8.0.102, expected 4.9.0")
        else:
            finish_task(ctx, task_id)
    reboot = ctx.service.create(JobRequest("Reboot after maintenance", JobType.REBOOT,
                                           devices=FLEET[:5]))
    ctx.service.cancel_job(reboot.id)
    jobs["cancelled"] = reboot.id
    nightly = ctx.service.create(JobRequest(
        "NTP servers — nightly", JobType.COMMAND, devices=FLEET[:3], command="true",
        schedule=zurich_nights()))
    jobs["scheduled"] = nightly.id
    return jobs


def zurich_nights() -> Scheduled:
    return Scheduled(date(2026, 12, 1), date(2026, 12, 20), time(22, 0), time(4, 0),
                     frozenset(range(7)), "Europe/Zurich")


@pytest.fixture
def shown(qtbot: Any, app_context: AppContext, tmp_path: Path) -> Iterator[
        tuple[MainWindow, dict[str, int]]]:
    jobs = demo_like(app_context, tmp_path)
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.model.rowCount() == len(jobs))
    yield window, jobs
    window.close()


def select_failed(qtbot: Any, window: MainWindow, job_id: int) -> None:
    window.select_job(job_id)
    detail = window.detail
    qtbot.waitUntil(lambda: detail.record is not None and detail.record.id == job_id
                    and detail.tasks_model.rowCount() == len(FLEET))
    qtbot.waitUntil(lambda: detail.selected_task() is not None
                    and detail.selected_task().device == WRONG)
    qtbot.waitUntil(lambda: row_visible(detail.tasks_view, detail.tasks_view.currentIndex()
                                        .row()))


def resize(qtbot: Any, window: MainWindow, width: int, height: int) -> None:
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.size().width() == width
                    and window.size().height() == height)
    qtbot.wait(50)  # queued scrolls and layout requests run (no condition to wait on)


def row_visible(view: QTableView, row: int) -> bool:
    rect = view.visualRect(view.model().index(row, 0))
    return row >= 0 and view.viewport().rect().contains(rect)


def visible_rows(view: QTableView) -> int:
    return view.viewport().height() // view.verticalHeader().defaultSectionSize()


def overlaps(root: QWidget) -> list[str]:
    """Pairs of visible sibling widgets whose rectangles intersect, anywhere under root."""
    found = []
    for parent in [root, *root.findChildren(QWidget)]:
        if not parent.isVisible() or isinstance(parent, QAbstractScrollArea | QScrollBar):
            continue  # a scroll area's own parts (viewport, bars, headers) are Qt's
        children = [c for c in parent.children() if isinstance(c, QWidget) and c.isVisible()
                    and not c.isWindow()]
        for index, first in enumerate(children):
            for second in children[index + 1:]:
                if isinstance(first, QSplitterHandle) or isinstance(second, QSplitterHandle):
                    continue
                if first.geometry().intersects(second.geometry()):
                    found.append(f"{describe(first)} × {describe(second)} in {describe(parent)}")
    return found


def cut(root: QWidget) -> list[str]:
    """Visible labels and buttons smaller than they need to be read (elided labels say
    so with "…" and a tooltip, and are not counted)."""
    found = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisible() or isinstance(widget, ElidedLabel):
            continue
        if isinstance(widget, QAbstractButton | QLabel) and not (
                isinstance(widget, QLabel) and widget.wordWrap()):
            need = widget.minimumSizeHint()
            if widget.width() < need.width() or widget.height() < need.height():
                found.append(f"{describe(widget)} {widget.size().toTuple()} < "
                             f"{need.toTuple()}")
        if isinstance(widget, QLabel) and widget.wordWrap() and widget.text() and (
                widget.height() < widget.heightForWidth(widget.width())):
            found.append(f"{describe(widget)} wraps to more than its height")
    return found


def column_of(title: str) -> int:
    return next(c for c, (t, _) in enumerate(COLUMNS) if t == title)


def describe(widget: QWidget) -> str:
    text = widget.text() if isinstance(widget, QAbstractButton | QLabel) else ""
    return f"{type(widget).__name__}({widget.objectName() or text[:20]!r})"


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_nothing_overlaps_or_is_cut_at_laptop_sizes(qtbot: Any, shown: Any, width: int,
                                                    height: int) -> None:
    window, jobs = shown
    resize(qtbot, window, width, height)
    select_failed(qtbot, window, jobs["failed"])
    assert overlaps(window) == []
    qtbot.waitUntil(lambda: cut(window) == [], timeout=2000)  # after the posted layouts
    # The failed step and how to fix it are on screen, not below the edge.
    detail = window.detail
    failed_step = detail.steps_model.row_of(detail.selected_step().id)
    assert failed_step is not None
    qtbot.waitUntil(lambda: row_visible(detail.steps_view, failed_step))
    assert "4.8.0.102" in detail.fix_hint.text() and "boot log" in detail.fix_hint.text()
    assert detail.fix_hint.isVisible()
    hint = detail.fix_hint.geometry()
    assert detail.fix_hint.parentWidget().rect().contains(hint)
    assert hint.height() >= detail.fix_hint.heightForWidth(hint.width())
    # The status bar is inside the window.
    assert window.rect().contains(window.statusBar().geometry())


def test_eight_task_rows_and_whole_headers_at_1366x768(qtbot: Any, shown: Any) -> None:
    window, jobs = shown
    resize(qtbot, window, 1366, 768)
    select_failed(qtbot, window, jobs["failed"])
    detail = window.detail
    assert visible_rows(detail.tasks_view) >= 8
    assert row_visible(detail.tasks_view, detail.tasks_view.currentIndex().row())
    for view in (window.table, detail.tasks_view, detail.steps_view):
        assert clipped_headers(view) == [], view.objectName()
    # The list gives the detail its room and keeps Next run and Expires in view.
    assert window.splitter.sizes()[0] < window.splitter.sizes()[1]
    header = window.table.horizontalHeader()
    for title in ("Name", "State", "Progress", "Next run"):
        column = column_of(title)
        right = header.sectionViewportPosition(column) + header.sectionSize(column)
        assert right <= window.table.viewport().width(), title


def test_the_window_opens_within_the_screen_and_restores_only_what_fits(
        qtbot: Any, app_context: AppContext, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    first = MainWindow(app_context, settings=settings)
    qtbot.addWidget(first)
    area = first.screen().availableGeometry()
    assert fits(first.geometry(), area)
    assert first.minimumWidth() <= area.width() and first.minimumHeight() <= area.height()

    # A geometry saved on a big monitor is not restored on the laptop's screen.
    first.setGeometry(QRect(area.x(), area.y(), area.width() + 600, area.height() + 400))
    first.close()
    settings.sync()
    assert isinstance(settings.value("window/geometry"), QByteArray)
    second = MainWindow(app_context, settings=settings)
    qtbot.addWidget(second)
    assert fits(second.geometry(), second.screen().availableGeometry())
    second.close()

    # One that fits is restored as it was.
    wanted = QRect(area.x(), area.y() + 5, second.minimumWidth(), second.minimumHeight())
    assert fits(wanted, area) and wanted != second.geometry()
    third = MainWindow(app_context, settings=settings)
    qtbot.addWidget(third)
    third.setGeometry(wanted)
    third.close()
    fourth = MainWindow(app_context, settings=settings)
    qtbot.addWidget(fourth)
    assert fourth.size() == wanted.size()  # not the default size, which is taller
    fourth.close()


def test_every_time_names_its_zone_and_the_list_agrees_with_the_detail(
        qtbot: Any, shown: Any) -> None:
    window, jobs = shown
    window.select_job(jobs["scheduled"])
    detail = window.detail
    qtbot.waitUntil(lambda: detail.record is not None
                    and detail.record.id == jobs["scheduled"])
    # The window in the job's zone, and on the laptop's clock (UTC here) beside it.
    assert detail.next_window_label.text() == (
        "Next window: Tue 01 Dec 22:00–04:00 (+1 day) Europe/Zurich"
        " · 21:00–03:00 (+1 day) UTC here")
    record = detail.record
    assert detail.expires_label.text() == (
        f"{format_instant(record.expires_at)} · "
        f"{format_instant(record.expires_at, zone=zurich_nights().zone)} Europe/Zurich")
    assert detail.expires_label.text().startswith("21 Dec 03:00 UTC")
    row = window.model.row_of(jobs["scheduled"])
    listed = window.model.index(row, column_of("Next run")).data()
    assert listed == "01 Dec 21:00 UTC" == detail.next_run_label.text()
    assert window.model.index(row, column_of("Created")).data() == "01 Dec 09:00 UTC"


def test_progress_and_the_week_strip_tell_how_a_job_ended(qtbot: Any, shown: Any) -> None:
    window, jobs = shown
    detail = window.detail
    window.select_job(jobs["cancelled"])
    qtbot.waitUntil(lambda: detail.record is not None and detail.record.id == jobs["cancelled"]
                    and detail.tasks_model.rowCount() == 5)
    assert detail.progress.outcomes() == [(5, "Cancelled")]  # grey, not a blue "done"
    assert detail.next_window_label.text() == "Finished: no further runs"
    assert detail.next_run_label.text() == "none (finished)"
    window.select_job(jobs["failed"])
    qtbot.waitUntil(lambda: detail.record is not None and detail.record.id == jobs["failed"]
                    and detail.tasks_model.rowCount() == len(FLEET))
    assert detail.progress.outcomes() == [(11, "Succeeded"), (1, "Failed")]
    # The fix hint only where a step failed; times only where a step ran.
    qtbot.waitUntil(lambda: detail.steps_model.rowCount() == 7)
    hints = [detail.steps_model.index(r, 6).data() for r in range(7)]
    assert [bool(h) for h in hints] == [False] * 6 + [True]
    assert [detail.steps_model.index(r, 2).data() for r in range(7)] == ["1"] * 7


def test_actions_are_enabled_only_when_available_with_the_refusal_as_tooltip(
        qtbot: Any, shown: Any) -> None:
    window, jobs = shown
    detail = window.detail
    for action in (window.cancel_action, window.retry_action, window.duplicate_action):
        assert not action.isEnabled()
        assert action.toolTip() == "Select a job first"
    select_failed(qtbot, window, jobs["failed"])
    assert window.retry_action.isEnabled() and detail.retry_button.isEnabled()
    assert window.duplicate_action.isEnabled()
    assert not window.cancel_action.isEnabled()
    assert window.cancel_action.toolTip() == "The job is already Partially Succeeded"
    # Skip step: offered on the failed verification, refused on the connection.
    assert detail.skip_button.isEnabled()
    detail.steps_view.selectRow(0)
    assert not detail.skip_button.isEnabled()
    assert "connect cannot be skipped" in detail.skip_button.toolTip()


def test_the_toolbar_shows_the_actions_of_the_page_in_view(qtbot: Any, shown: Any) -> None:
    window, _jobs = shown
    assert window.new_action in window.toolbar.actions()
    window.pages.setCurrentIndex(1)
    assert window.cancel_action not in window.toolbar.actions()
    assert window.new_action not in window.toolbar.actions()
    window.pages.setCurrentIndex(0)
    assert window.cancel_action in window.toolbar.actions()


class _Paints(QObject):
    """The widgets painted since it was installed on the application."""

    def __init__(self) -> None:
        super().__init__()
        self.painted: list[QObject] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.painted.append(watched)
        return False


def test_a_label_that_changes_length_repaints_itself_not_the_window(
        qtbot: Any, shown: Any) -> None:
    """While devices run, a job's state, its next run and the count of jobs listed change
    length; each must repaint where it is. A change that repainted the whole window (the
    page tabs did, at each new layout) held the window's thread 40-70 ms at a time."""
    window, jobs = shown
    select_failed(qtbot, window, jobs["failed"])
    paints = _Paints()
    marker = window.runtime_label  # painted in the same pass as everything else dirty

    def painted_all_pending() -> None:
        for _ in range(10):  # the layout requests a change posts, one level at a time
            QCoreApplication.sendPostedEvents()
        paints.painted.clear()
        marker.update()
        qtbot.waitUntil(lambda: marker in paints.painted)

    QCoreApplication.instance().installEventFilter(paints)
    try:
        for label, text in ((window.detail.state_label, "Cancelled Manually"),
                            (window.detail.next_run_label, "in 3 minutes, 1 Dec 22:00 CET"),
                            (window.count_label, "1,234 jobs")):
            painted_all_pending()
            paints.painted.clear()
            label.setText(text)
            qtbot.waitUntil(lambda label=label: label in paints.painted)
            seen = list(paints.painted)
            painted_all_pending()
            seen += paints.painted
            for elsewhere in (window.table, window.detail.tasks_view, window.detail.week_strip,
                              window.pages.findChild(QTabBar)):
                assert elsewhere not in seen, (label.objectName(), elsewhere.objectName())
    finally:
        QCoreApplication.instance().removeEventFilter(paints)


def test_the_runtimes_status_repaints_its_labels_not_the_status_bar(
        qtbot: Any, shown: Any) -> None:
    """The runtime's labels change four times a second while devices run. Each change that
    laid the status bar out again repainted all of it, the database's path included."""
    window, _jobs = shown
    paints = _Paints()
    marker = window.count_label  # painted in the same pass as everything else dirty
    grip = window.statusBar().findChild(QSizeGrip)

    def painted_all_pending() -> None:
        for _ in range(10):  # the layout requests a change posts, one level at a time
            QCoreApplication.sendPostedEvents()
        marker.update()
        qtbot.waitUntil(lambda: marker in paints.painted)

    QCoreApplication.instance().installEventFilter(paints)
    try:
        for label, text in ((window.work_label, "137 tasks on 137 devices"),
                            (window.runtime_label, "Runtime stopping…"),
                            (window.work_label, "1 task on 1 device")):
            painted_all_pending()
            paints.painted.clear()
            label.setText(text)
            qtbot.waitUntil(lambda label=label: label in paints.painted)
            painted_all_pending()
            assert window.db_label not in paints.painted, text
            assert grip not in paints.painted, text
    finally:
        QCoreApplication.instance().removeEventFilter(paints)


def test_ctrl_tab_goes_to_the_next_page(qtbot: Any, shown: Any) -> None:
    window, _jobs = shown
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert window.pages.currentWidget() is window.devices
    qtbot.keyClick(window.devices, Qt.Key.Key_Tab,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.pages.currentIndex() == 0


def test_the_detail_follows_the_filter(qtbot: Any, shown: Any) -> None:
    window, jobs = shown
    select_failed(qtbot, window, jobs["failed"])
    window.state_filter.setCurrentText("Paused")  # no job is Paused
    qtbot.waitUntil(lambda: window.model.rowCount() == 0)
    qtbot.waitUntil(lambda: window.detail.record is None)
    assert window.detail.placeholder.isVisible()
    assert not window.cancel_action.isEnabled()


def test_a_long_line_is_shortened_with_the_whole_text_as_tooltip(qtbot: Any) -> None:
    label = ElidedLabel()
    qtbot.addWidget(label)
    label.resize(120, 20)
    label.setText("Mon–Fri 22:00–04:00 from 01 Dec to 20 Dec, Europe/Zurich")
    label.show()
    assert label.shown_text().endswith("…")
    assert label.toolTip() == label.text()
    label.resize(2000, 20)
    assert label.shown_text() == label.text() and label.toolTip() == ""


def test_a_refusal_comes_back_as_one_not_as_a_crash(qtbot: Any, gateway: Any,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    from jobdesk.domain.rules import ActionRefused

    def refuse() -> None:
        raise ActionRefused("the job was cancelled; create a new job instead")

    failures: list[Any] = []
    gateway.call(refuse, None, failures.append)
    qtbot.waitUntil(lambda: bool(failures))
    [failure] = failures
    assert failure.refused and isinstance(failure.error, ActionRefused)
    assert str(failure) == "the job was cancelled; create a new job instead"
    assert not [r for r in caplog.records if r.exc_info]  # no traceback logged

    def crash() -> None:
        raise KeyError("bug")

    gateway.call(crash, None, failures.append)
    qtbot.waitUntil(lambda: len(failures) == 2)
    assert not failures[1].refused
    assert [r for r in caplog.records if r.exc_info]
