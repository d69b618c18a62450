"""*Extend…* in the job detail pane: the dialog, the store change, and what the pane shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QDate
from PySide6.QtWidgets import QMessageBox

from jobdesk.domain.inventory import make_device
from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.schedule import Scheduled
from jobdesk.domain.times import format_instant
from jobdesk.runtime.actions import JobRequest
from jobdesk.ui.context import AppContext
from jobdesk.ui.detail import DetailPane
from jobdesk.ui.extend_dialog import ExtendJobDialog
from jobdesk.ui.main_window import MainWindow

# 22:00-22:10 UTC on 1 and 2 December 2026; the tests' clock starts on the 1st at 09:00.
NIGHTS = Scheduled.parse("2026-12-01", "2026-12-02", "22:00-22:10", "mon-sun", "UTC")
AFTER = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def expired_nightly(ctx: AppContext) -> int:
    """A NIGHTS job for r1 whose task Failed because the job expired (time moved on)."""
    ctx.store.devices.add(make_device("r1", "10.0.0.1"), ctx.clock.now())
    job = ctx.service.create(JobRequest("Nightly reboot", JobType.REBOOT, devices=["r1"],
                                        schedule=NIGHTS))
    ctx.clock.set(AFTER)  # type: ignore[attr-defined]  # the tests' FakeClock
    ctx.store.queue.sweep(AFTER)
    [task] = ctx.store.jobs.detail(job.id).tasks
    assert (task.state, task.reason) == ("Failed", "expired")
    return job.id


def open_dialog(qtbot, detail: DetailPane) -> ExtendJobDialog:
    qtbot.waitUntil(detail.extend_button.isEnabled)
    detail.extend_button.click()
    dialog = detail.findChild(ExtendJobDialog)
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_an_expired_scheduled_job_is_extended_in_the_dialog_and_then_retried(
    qtbot, window: MainWindow
) -> None:
    ctx = window.ctx
    job_id = expired_nightly(ctx)
    window.select_job(job_id)
    detail = window.detail
    qtbot.waitUntil(lambda: detail.record is not None and detail.tasks_model.rowCount() == 1)
    assert detail.expires_label.text() == format_instant(datetime(2026, 12, 2, 22, 10, tzinfo=UTC))
    assert not detail.retry_button.isEnabled()
    assert "expired" in detail.retry_button.toolTip()

    dialog = open_dialog(qtbot, detail)
    assert dialog.end_date is not None and dialog.amount is None  # a date, not a duration
    # An end that is not later is refused in the dialog, in the rule's words.
    dialog.end_date.setDate(QDate(2026, 12, 2))
    assert not dialog.ok_button.isEnabled()
    assert dialog.preview.text().startswith("The job's date range already ends on 2026-12-02")
    dialog.end_date.setDate(QDate(2026, 12, 5))
    new_expiry = datetime(2026, 12, 5, 22, 10, tzinfo=UTC)
    assert dialog.ok_button.isEnabled()
    assert dialog.preview.text().startswith(f"New Expires At: {format_instant(new_expiry)}")
    dialog.ok_button.click()

    qtbot.waitUntil(lambda: detail.expires_label.text() == format_instant(new_expiry))
    assert ctx.store.jobs.get(job_id).schedule["to"] == "2026-12-05"
    assert detail.tasks_model.record(0).state == "Failed"  # extending retries nothing
    # Now the failed task can be retried: it waits for tonight's window.
    qtbot.waitUntil(detail.retry_button.isEnabled)
    detail.retry_button.click()
    qtbot.waitUntil(lambda: detail.tasks_model.record(0).state == "Rescheduled")
    assert detail.tasks_model.record(0).next_attempt_at == datetime(2026, 12, 3, 22, 0,
                                                                   tzinfo=UTC)


def test_a_fire_and_forget_job_is_given_more_time_or_told_why_not(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = window.ctx
    ctx.store.devices.add(make_device("r1", "10.0.0.1"), ctx.clock.now())
    job = ctx.service.create(JobRequest("Reboot now", JobType.REBOOT, devices=["r1"]))
    window.select_job(job.id)
    detail = window.detail
    dialog = open_dialog(qtbot, detail)
    assert dialog.amount is not None and dialog.unit is not None and dialog.end_date is None
    # The setting's lifetime (30 min) is offered, added to the current Expires At (the
    # job has not expired yet).
    assert (dialog.amount.value(), dialog.unit.currentText()) == (30, "minutes")
    dialog.amount.setValue(2)
    dialog.unit.setCurrentText("hours")
    assert dialog.preview.text() == (
        f"New Expires At: {format_instant(job.expires_at + timedelta(hours=2))}")

    # Someone cancels the job while the dialog is open: the store refuses, in words.
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "information",
                        lambda parent, title, text, *a: warnings.append(f"{title}: {text}"))
    ctx.service.cancel_job(job.id)
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: bool(warnings))
    # A refusal of the rules, shown as one (not as an error).
    assert warnings == ["Not possible: The job is Cancelled Manually; it cannot be "
                        "extended, create a new job instead."]
    assert ctx.store.jobs.get(job.id).expires_at == job.expires_at
    qtbot.waitUntil(lambda: not detail.extend_button.isEnabled())
    assert "Cancelled Manually" in detail.extend_button.toolTip()
