"""*Export report…* in the window: offered only with a job shown, written off the UI thread."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from jobdesk.domain.inventory import make_device
from jobdesk.domain.jobtypes import JobType
from jobdesk.runtime.actions import JobRequest
from jobdesk.ui.context import AppContext
from jobdesk.ui.report_export import NO_JOB, ReportDialog


def a_job(ctx: AppContext) -> int:
    for name in ("r1", "r2"):
        ctx.store.devices.add(make_device(name, "10.0.0.1"), ctx.clock.now())
    return ctx.service.create(
        JobRequest("Nightly reboot", JobType.REBOOT, devices=["r1", "r2"])).id


def open_dialog(qtbot: Any, window: Any) -> ReportDialog:
    export = window.detail.report_export
    export.action.trigger()
    qtbot.waitUntil(lambda: export.dialog is not None and export.dialog.isVisible())
    return export.dialog


def test_export_is_offered_only_with_a_job_shown(qtbot: Any, window: Any,
                                                 app_context: AppContext) -> None:
    export = window.detail.report_export
    button = window.findChild(object, "exportReportButton")
    assert not export.action.isEnabled() and export.action.toolTip() == NO_JOB
    menus = [m.menu() for m in window.menuBar().actions() if m.menu() is not None]
    assert any(export.action in menu.actions() for menu in menus)
    job_id = a_job(app_context)
    window.select_job(job_id)
    assert export.action.isEnabled() and button.isEnabled()
    assert str(job_id) in button.toolTip()


def test_the_report_is_written_where_the_user_says(qtbot: Any, window: Any,
                                                   app_context: AppContext,
                                                   tmp_path: Path) -> None:
    window.select_job(a_job(app_context))
    dialog = open_dialog(qtbot, window)
    dialog.format.setCurrentIndex(dialog.format.findData("csv"))
    assert dialog.path.text().endswith(".csv")  # the name follows the format
    target = tmp_path / "handover.csv"
    dialog.path.setText(str(target))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.written is not None)
    assert str(target) in dialog.status.text() and dialog.open_button.isEnabled()
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"),
                                           newline="")))
    assert {r["device"] for r in rows} == {"r1", "r2"}
    assert {r["job_name"] for r in rows} == {"Nightly reboot"}


def test_a_folder_that_does_not_exist_is_said_in_the_dialog(qtbot: Any, window: Any,
                                                            app_context: AppContext,
                                                            tmp_path: Path) -> None:
    window.select_job(a_job(app_context))
    dialog = open_dialog(qtbot, window)
    dialog.path.setText(str(tmp_path / "missing" / "report.html"))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert "no folder" in dialog.status.text()
    assert dialog.isVisible() and not (tmp_path / "missing").exists()
