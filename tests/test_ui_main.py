"""The main window: models, the detail pane, actions, and the runtime thread's lifetime."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from jobdesk.domain.inventory import make_device
from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.rollout import RolloutPolicy, parse_batches
from jobdesk.runtime.actions import JobRequest
from jobdesk.runtime.ca import LocalCA
from jobdesk.runtime.engine import Engine
from jobdesk.store.records import TaskRecord
from jobdesk.ui.context import AppContext
from jobdesk.ui.delegates import OutcomeBar
from jobdesk.ui.gateway import StoreGateway
from jobdesk.ui.jobs_model import PROGRESS_COLUMN, JobsTableModel
from jobdesk.ui.main_window import MainWindow
from jobdesk.ui.rollout_bar import BatchLook
from jobdesk.ui.runtime_host import RuntimeHost
from jobdesk.ui.task_models import (
    RecordTableModel,
    RecordTableView,
    StepsModel,
    TasksModel,
    step_rows,
)
from tests.conftest import FakeClock
from tests.fake_driver import FakeDriver


def add_devices(ctx: AppContext, *names: str) -> None:
    for name in names:
        ctx.store.devices.add(make_device(name, "10.0.0.1", tags=["site"]), ctx.clock.now())


def failed_reboot(ctx: AppContext) -> int:
    """A job whose task failed at `reboot` in a way retrying cannot fix."""
    add_devices(ctx, "r1", "r2")
    job = ctx.service.create(JobRequest("Nightly reboot", JobType.REBOOT, devices=["r1", "r2"]))
    [task_id, other] = ctx.store.queue.due(ctx.clock.now(), 10)
    for tid in (task_id, other):
        attempt, _ = ctx.store.queue.claim(tid, ctx.clock.now())
        assert attempt is not None
        connect, reboot, _wait = attempt.steps
        hold = attempt.hold
        ctx.store.queue.begin_step(hold, connect.id, ctx.clock.now())
        ctx.store.queue.complete_step(hold, connect.id, ctx.clock.now(), message="connected")
        ctx.store.queue.begin_step(hold, reboot.id, ctx.clock.now())
        ctx.store.queue.fail_step(hold, reboot.id, ctx.clock.now(), message="not allowed",
                                  retryable=False, retry_interval=ctx.settings.retry_interval)
    return job.id


def test_the_jobs_model_passes_the_model_tester(qtmodeltester, app_context: AppContext,
                                                gateway: StoreGateway, qtbot) -> None:
    add_devices(app_context, "r1")
    for n in range(30):
        app_context.service.create(
            JobRequest(f"job {n}", JobType.COMMAND, devices=["r1"], command="true",
                       replace=True)
        )
    model = JobsTableModel(app_context.store, gateway)
    with qtbot.waitSignal(model.loaded):
        model.reload()
    assert model.rowCount() == 30
    # The page in view comes with the ids: no placeholder on opening.
    assert model.index(0, 0).data() == "job 29"  # newest first
    qtmodeltester.check(model)
    with qtbot.waitSignal(model.loaded):
        model.sort(0, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(lambda: model.index(0, 0).data() == "job 0")
    assert [model.index(r, 0).data() for r in range(3)] == ["job 0", "job 1", "job 10"]


def test_a_job_that_moves_repaints_only_the_cells_that_changed(
        app_context: AppContext, gateway: StoreGateway, qtbot) -> None:
    """Each cell repainted asks Python for its values while the runtime holds the
    interpreter: a job's progress step repaints its progress (and state), not its row."""
    add_devices(app_context, "r9")
    waiting = app_context.service.create(
        JobRequest("Collect logs", JobType.COMMAND, devices=["r9"], command="true"))
    model = JobsTableModel(app_context.store, gateway)
    with qtbot.waitSignal(model.loaded):
        model.reload()
    row = model.row_of(waiting.id)
    assert model.index(row, PROGRESS_COLUMN).data() == "0/1"  # shown, so its texts are kept
    changed: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(lambda first, last: changed.append(
        (first.row(), first.column(), last.row(), last.column())))

    [task_id] = app_context.store.queue.due(app_context.clock.now(), 10)
    attempt, _ = app_context.store.queue.claim(task_id, app_context.clock.now())
    for step in attempt.steps:
        app_context.store.queue.begin_step(attempt.hold, step.id, app_context.clock.now())
        app_context.store.queue.complete_step(attempt.hold, step.id, app_context.clock.now())
    app_context.store.jobs.refresh(waiting.id, app_context.clock.now())
    model.refresh_jobs([waiting.id])
    qtbot.waitUntil(lambda: model.index(row, PROGRESS_COLUMN).data() == "1/1")
    columns = {column for _, column, _, last in changed if column == last}
    assert changed and all(first == last == row for first, _, last, _ in changed)
    assert PROGRESS_COLUMN in columns and 0 not in columns  # the name did not change


def test_task_and_step_models_pass_the_model_tester(qtmodeltester,
                                                    app_context: AppContext) -> None:
    job_id = failed_reboot(app_context)
    record = app_context.store.jobs.detail(job_id)
    tasks, steps = TasksModel(), StepsModel()
    tasks.set_records(record.tasks)
    steps.set_records(step_rows(record.tasks[0]))
    qtmodeltester.check(tasks)
    qtmodeltester.check(steps)
    # The task failed for good: its last step will never run, and does not read as waiting.
    assert [steps.index(r, 1).data() for r in range(3)] == ["Completed", "Failed", "Not run"]
    # A fix hint belongs to the step that failed, not to those that went well.
    assert steps.index(0, 6).data() == "" and steps.index(2, 6).data() == ""
    assert steps.index(1, 6).data()


def retried_command(ctx: AppContext) -> int:
    """A command job whose exit status check failed once, then passed in attempt 2."""
    add_devices(ctx, "r1")
    job = ctx.service.create(JobRequest("Check", JobType.COMMAND, devices=["r1"],
                                        command="test -e /tmp/x"))
    queue = ctx.store.queue
    for outcome in ("fail", "pass"):
        [task_id] = queue.due(ctx.clock.now(), 10)
        attempt, _ = queue.claim(task_id, ctx.clock.now())
        assert attempt is not None
        pending = [s for s in attempt.steps if s.status != "Completed"]
        queue.begin_step(attempt.hold, pending[0].id, ctx.clock.now())
        for step in pending[:-1]:
            ctx.clock.advance(seconds=2)
            queue.complete_step(attempt.hold, step.id, ctx.clock.now(), message=f"{step.name} ok")
            queue.begin_step(attempt.hold, pending[pending.index(step) + 1].id, ctx.clock.now())
        last = pending[-1]
        if outcome == "fail":
            queue.fail_step(attempt.hold, last.id, ctx.clock.now(), message="exit status 1",
                            retryable=True, retry_interval=ctx.settings.retry_interval)
            ctx.clock.advance(seconds=ctx.settings.retry_interval.total_seconds())
        else:
            queue.complete_step(attempt.hold, last.id, ctx.clock.now(), message="exit status 0")
    return job.id


def test_the_detail_shows_the_latest_attempt_and_each_earlier_one(
    qtbot, window: MainWindow
) -> None:
    job_id = retried_command(window.ctx)
    window.select_job(job_id)
    detail = window.detail
    qtbot.waitUntil(lambda: detail.record is not None and detail.steps_model.rowCount() == 3)
    chooser = detail.attempt_chooser
    assert [chooser.itemText(i) for i in range(chooser.count())] == [
        "2 of 2 (latest)", "1 of 2"]
    labels = [detail.steps_model.index(r, 1).data() for r in range(3)]
    assert labels == ["Completed", "Completed", "Completed"]
    chooser.setCurrentIndex(1)
    chooser.activated.emit(1)
    qtbot.waitUntil(lambda: detail.steps_model.index(2, 1).data() == "Failed")
    shown = [(detail.steps_model.index(r, 0).data(), detail.steps_model.index(r, 1).data())
             for r in range(detail.steps_model.rowCount())]
    assert shown == [("connect", "Completed"), ("run", "Completed"), ("check-exit", "Failed")]
    assert detail.steps_model.index(2, 5).data() == "exit status 1"
    # What happened in an earlier attempt cannot be skipped now.
    detail.steps_view.selectRow(2)
    assert detail.selected_step() is None and not detail.skip_button.isEnabled()


def test_selecting_a_job_fills_the_detail_pane(qtbot, window: MainWindow) -> None:
    ctx = window.ctx
    job_id = failed_reboot(ctx)
    window.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    window.table.selectRow(0)
    detail = window.detail
    qtbot.waitUntil(lambda: detail.record is not None and detail.record.id == job_id)
    assert detail.name_label.text() == "Nightly reboot"
    assert detail.type_label.text() == "Reboot"
    assert detail.state_label.text() == "Failed"
    assert detail.progress.value() == 2 and detail.progress.maximum() == 2
    assert detail.tasks_model.rowCount() == 2
    assert detail.steps_model.rowCount() == 3
    assert "reboot failed:" in detail.fix_hint.text()
    assert "Reboot the device by hand" in detail.fix_hint.text()
    assert detail.skip_button.isEnabled() and detail.retry_button.isEnabled()


def test_skip_step_and_retry_from_the_window_change_the_store(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = window.ctx
    job_id = failed_reboot(ctx)
    window.select_job(job_id)
    detail = window.detail
    qtbot.waitUntil(lambda: detail.record is not None and detail.steps_model.rowCount() == 3)
    asked: list[str] = []

    def answer(parent, title, text, *args):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    detail.steps_view.selectRow(1)
    assert detail.selected_step().name == "reboot"
    detail.skip_button.click()
    device = detail.selected_task().device

    def skipped() -> bool:
        task = next(t for t in ctx.store.jobs.detail(job_id).tasks if t.device == device)
        return task.steps[1].status == "Skipped"

    qtbot.waitUntil(skipped)
    assert "by hand" in asked[0]
    detail.retry_button.click()
    qtbot.waitUntil(lambda: next(t for t in ctx.store.jobs.detail(job_id).tasks
                                 if t.device == device).state == "Rescheduled")


def test_cancel_job_from_the_window(qtbot, window: MainWindow,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = window.ctx
    add_devices(ctx, "r1")
    job = ctx.service.create(JobRequest("Later", JobType.REBOOT, devices=["r1"]))
    window.select_job(job.id)
    qtbot.waitUntil(lambda: window.detail.cancel_job_button.isEnabled())
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a: QMessageBox.StandardButton.Yes)
    window.cancel_action.trigger()
    qtbot.waitUntil(lambda: ctx.store.jobs.get(job.id).state == "Cancelled Manually")
    qtbot.waitUntil(lambda: window.detail.state_label.text() == "Cancelled Manually")


def test_system_jobs_are_hidden_until_asked_for(qtbot, window: MainWindow) -> None:
    ctx = window.ctx
    add_devices(ctx, "r1")
    ctx.service.create_system_jobs()
    ctx.service.create(JobRequest("Mine", JobType.REBOOT, devices=["r1"]))
    window.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    window.system_action.trigger()
    assert window.show_system.isChecked()
    qtbot.waitUntil(lambda: window.model.rowCount() == 2)


def test_search_and_state_filter_narrow_the_list(qtbot, window: MainWindow) -> None:
    ctx = window.ctx
    add_devices(ctx, "r1", "r2")
    ctx.service.create(JobRequest("NTP north", JobType.REBOOT, devices=["r1"]))
    other = ctx.service.create(JobRequest("Firmware", JobType.COMMAND, devices=["r2"],
                                          command="true"))
    ctx.service.cancel_job(other.id)
    window.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == 2)
    qtbot.keyClicks(window.search, "ntp")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    window.search.clear()
    window.state_filter.setCurrentText("Cancelled Manually")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1
                    and window.model.index(0, 0).data() == "Firmware")


def test_closing_the_window_stops_the_runtime_thread(qtbot, app_context: AppContext,
                                                     tmp_path: Path) -> None:
    engine = Engine(app_context.store, app_context.settings, FakeClock(), FakeDriver(),
                    LocalCA(tmp_path / "ca"), system_jobs=False)
    host = RuntimeHost(engine)
    win = MainWindow(app_context, runtime=host)
    qtbot.addWidget(win)
    win.show()
    host.start()
    qtbot.waitUntil(lambda: win.runtime_label.text() == "Runtime running")
    threads_before = threading.active_count()
    with qtbot.waitSignal(host.stopped, timeout=10000):
        win.close()
    qtbot.waitUntil(lambda: not win.isVisible())
    assert host.thread.isFinished()
    assert not host.running
    assert threading.active_count() <= threads_before


def test_the_runtime_in_the_window_runs_jobs_and_tells_when_they_finish(
    qtbot, app_context: AppContext, tmp_path: Path
) -> None:
    from jobdesk.runtime.clock import SystemClock

    app_context.clock = SystemClock()
    add_devices(app_context, "r1")
    engine = Engine(app_context.store, app_context.settings, app_context.clock, FakeDriver(),
                    LocalCA(tmp_path / "ca"), system_jobs=False)
    host = RuntimeHost(engine)
    win = MainWindow(app_context, runtime=host)
    qtbot.addWidget(win)
    win.show()
    job = app_context.service.create(JobRequest("Reboot r1", JobType.REBOOT, devices=["r1"]))
    win.select_job(job.id)
    qtbot.waitUntil(lambda: win.detail.state_label.text() == "Scheduled")
    host.start()
    qtbot.waitUntil(lambda: win.detail.state_label.text() == "Succeeded", timeout=10000)
    qtbot.waitUntil(lambda: getattr(win, "last_notification", ("",))[0]
                    == "Reboot r1: Succeeded")
    with qtbot.waitSignal(host.stopped, timeout=10000):
        win.close()


def test_the_runtime_in_the_window_waits_while_the_window_works(
    qtbot, app_context: AppContext, tmp_path: Path
) -> None:
    """The window's thread shares the interpreter with the runtime: while it shows results
    the runtime holds still, and goes on as soon as the window is done."""
    from jobdesk.runtime.clock import SystemClock
    from jobdesk.runtime.give_way import GiveWay

    app_context.clock = SystemClock()
    app_context.give_way = GiveWay(budget=30.0, burst=30.0)
    add_devices(app_context, "r1")
    driver = FakeDriver()
    engine = Engine(app_context.store, app_context.settings, app_context.clock, driver,
                    LocalCA(tmp_path / "ca"), system_jobs=False,
                    give_way=app_context.give_way)
    host = RuntimeHost(engine, give_way=app_context.give_way)
    win = MainWindow(app_context, runtime=host)
    qtbot.addWidget(win)
    win.show()
    host.start()
    qtbot.waitUntil(lambda: win.runtime_label.text() == "Runtime running")
    with app_context.give_way.window_busy():
        job = app_context.service.create(JobRequest("Reboot r1", JobType.REBOOT,
                                                    devices=["r1"]))
        host.wake()
        with pytest.raises(qtbot.TimeoutError):  # the window goes on meanwhile
            qtbot.waitUntil(lambda: bool(driver.calls), timeout=300)
    qtbot.waitUntil(lambda: app_context.store.jobs.get(job.id).state == "Succeeded",
                    timeout=10000)
    with qtbot.waitSignal(host.stopped, timeout=10000):
        win.close()


def test_results_and_repaints_are_shown_with_the_runtime_held(
        qtbot, window: MainWindow, app_context: AppContext) -> None:
    from PySide6.QtCore import QEvent, QObject

    class PaintSeen(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.busy: list[bool] = []

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.busy.append(app_context.give_way.window_is_busy)
            return False

    qtbot.waitExposed(window)  # the first paint on showing is not a repaint pass
    seen = PaintSeen()
    window.count_label.installEventFilter(seen)
    window.count_label.update()
    qtbot.waitUntil(lambda: bool(seen.busy))
    assert all(seen.busy)
    results: list[bool] = []
    window.gateway.call(lambda: 1, lambda _: results.append(
        app_context.give_way.window_is_busy))
    qtbot.waitUntil(lambda: bool(results))
    assert results == [True]
    assert not app_context.give_way.window_is_busy


# --- rollouts (B8) ---------------------------------------------------------------------------


def succeed_next_task(ctx: AppContext) -> None:
    """The runtime's calls for one due task whose every step goes well."""
    queue = ctx.store.queue
    [task_id] = queue.due(ctx.clock.now(), 10)
    attempt, _ = queue.claim(task_id, ctx.clock.now())
    assert attempt is not None
    for step in attempt.steps:
        queue.begin_step(attempt.hold, step.id, ctx.clock.now())
        queue.complete_step(attempt.hold, step.id, ctx.clock.now(), message=f"{step.name} ok")


def approval_rollout(ctx: AppContext) -> int:
    """Three devices in batches of one, each batch after the first waiting for approval;
    the first has succeeded, so the job is Paused until a person continues."""
    add_devices(ctx, "r1", "r2", "r3")
    job = ctx.service.create(JobRequest(
        "Canary reboot", JobType.REBOOT, devices=["r1", "r2", "r3"],
        rollout=RolloutPolicy(batches=parse_batches("1"), approve=True)))
    succeed_next_task(ctx)
    ctx.store.jobs.refresh(job.id, ctx.clock.now())
    record = ctx.store.jobs.get(job.id)
    assert record.state == "Paused"
    assert record.rollout_reason == "waiting for approval of batch 2 of 3"
    return job.id


def test_the_batch_column_follows_the_state_column() -> None:
    tasks = TasksModel()
    headers = [tasks.headerData(c, Qt.Orientation.Horizontal) for c in range(
        tasks.columnCount())]
    assert headers[TasksModel.state_column:TasksModel.state_column + 2] == ["State", "Batch"]
    assert headers[TasksModel.batch_column] == "Batch"
    assert headers[TasksModel.host_column] == "Host"
    assert headers[TasksModel.progress_column] == "Steps"


def test_a_waiting_rollout_shows_its_batches_and_continues_from_the_pane(
    qtbot, window: MainWindow
) -> None:
    ctx = window.ctx
    job_id = approval_rollout(ctx)
    window.select_job(job_id)
    detail = window.detail
    qtbot.waitUntil(lambda: detail.record is not None and detail.record.id == job_id
                    and detail.tasks_model.rowCount() == 3)
    assert detail.rollout_row.isVisibleTo(detail)
    assert detail.rollout_bar.looks() == [BatchLook.DONE, BatchLook.HELD, BatchLook.WAITING]
    assert detail.rollout_label.text() == "batch 2 of 3 · 1 attempted, 0 failed"
    assert detail.rollout_reason_label.text() == "Waiting for approval of batch 2 of 3"
    assert detail.rollout_reason_label.isVisibleTo(detail)
    assert detail.continue_button.isEnabled()
    assert not detail.tasks_view.isColumnHidden(TasksModel.batch_column)
    batches = {detail.tasks_model.index(r, 0).data():
               detail.tasks_model.index(r, TasksModel.batch_column).data() for r in range(3)}
    assert batches == {"r1": "1", "r2": "2", "r3": "3"}

    qtbot.mouseClick(detail.continue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (ctx.store.jobs.get(job_id).rollout or {})
                    .get("state", {}).get("approved_through") == 2)
    # The pane follows: batch 2 may start, nobody is waited for, the button rests.
    qtbot.waitUntil(lambda: not detail.continue_button.isEnabled())
    assert detail.rollout_bar.looks() == [BatchLook.DONE, BatchLook.CURRENT,
                                          BatchLook.WAITING]
    assert not detail.rollout_reason_label.isVisibleTo(detail)
    assert ctx.store.jobs.get(job_id).state != "Paused"
    assert "continues" in window.statusBar().currentMessage()


def test_continue_rollout_rests_while_a_batch_runs_and_without_a_rollout(
    qtbot, window: MainWindow
) -> None:
    ctx = window.ctx
    add_devices(ctx, "r1", "r2", "r3")
    running = ctx.service.create(JobRequest(
        "Canary", JobType.REBOOT, devices=["r1", "r2", "r3"],
        rollout=RolloutPolicy(batches=parse_batches("1,100%"), approve=True)))
    window.select_job(running.id)
    detail = window.detail
    qtbot.waitUntil(lambda: detail.record is not None and detail.record.id == running.id)
    assert detail.rollout_bar.looks() == [BatchLook.CURRENT, BatchLook.WAITING]
    assert detail.rollout_label.text() == "batch 1 of 2 · 0 attempted, 0 failed"
    assert detail.continue_button.isVisibleTo(detail)
    assert not detail.continue_button.isEnabled()
    assert not detail.rollout_reason_label.isVisibleTo(detail)

    plain = ctx.service.create(JobRequest("Plain", JobType.COMMAND, devices=["r1"],
                                          command="true", replace=True))
    window.select_job(plain.id)
    qtbot.waitUntil(lambda: detail.record is not None and detail.record.id == plain.id)
    assert not detail.rollout_row.isVisibleTo(detail)
    assert not detail.continue_button.isVisibleTo(detail)
    assert detail.tasks_view.isColumnHidden(TasksModel.batch_column)


def test_the_window_says_when_a_rollout_waits_for_a_person(qtbot, window: MainWindow) -> None:
    job_id = approval_rollout(window.ctx)
    window.refresh()
    qtbot.waitUntil(lambda: getattr(window, "last_notification", ("",))[0]
                    == "A rollout waits for you")
    assert window.last_notification[1].startswith(
        f"Job {job_id} “Canary reboot”: waiting for approval of batch 2 of 3")
    assert "waiting for approval" in window.statusBar().currentMessage()
    # Said once: refreshing the list again does not repeat it.
    window.last_notification = ("", "")
    with qtbot.waitSignal(window.model.loaded):
        window.refresh()
    assert window.last_notification == ("", "")


@dataclass(frozen=True)
class _Row:
    id: int
    name: str
    state: str


class _Rows(RecordTableModel):
    columns = (("Name", lambda r: r.name), ("State", lambda r: r.state))
    state_column = 1


def _names(model: _Rows) -> list[str]:
    return [model.record(row).name for row in range(model.rowCount())]


def test_a_refresh_that_moves_no_row_repaints_only_the_rows_that_changed(qapp) -> None:
    rows = [_Row(i, name, "Pending") for i, name in enumerate("edcba")]
    model = _Rows()
    model.set_records(rows)
    model.sort(0, Qt.SortOrder.AscendingOrder)
    assert _names(model) == ["a", "b", "c", "d", "e"]
    changed: list[tuple[int, int]] = []
    resets: list[str] = []
    model.dataChanged.connect(lambda first, last: changed.append((first.row(), last.row())))
    model.modelReset.connect(lambda: resets.append("reset"))
    model.layoutChanged.connect(lambda: resets.append("layout"))

    # "c" runs, the other four are the very records shown: one cell announced, none moved.
    model.set_records([rows[0], rows[1], replace(rows[2], state="Running"), *rows[3:]])
    assert set(changed) == {(2, 2)} and resets == []
    assert model.index(2, 1).data() == "Running"
    assert model.row_of(2) == 2 and _names(model) == ["a", "b", "c", "d", "e"]

    # A renamed row would move: the table is rebuilt in the sorted order.
    model.set_records([replace(rows[0], name="0"), *rows[1:]])
    assert _names(model) == ["0", "a", "b", "c", "d"] and resets == ["reset"]
    assert model.row_of(0) == 0


def test_the_tasks_read_again_replace_only_their_rows(qapp) -> None:
    """The detail pane knows which tasks it read again: only those rows are looked at and
    announced; one that would move under the sort (or is not shown) is refused untouched."""
    rows = [_Row(i, name, "Pending") for i, name in enumerate("edcba")]
    model = _Rows()
    model.set_records(rows)
    model.sort(0, Qt.SortOrder.AscendingOrder)
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda first, last: changed.append((first.row(), last.row())))

    assert model.replace_records([replace(rows[1], state="Running"), rows[3]])
    assert set(changed) == {(3, 3)}  # "d" changed; "b" is the record already shown
    assert [model.index(row, 1).data() for row in range(5)] == ["Pending"] * 3 + [
        "Running", "Pending"]

    changed.clear()
    assert not model.replace_records([replace(rows[2], state="Failed"),
                                      replace(rows[0], name="0")])  # "e" would move first
    assert not model.replace_records([_Row(9, "z", "Failed")])  # not shown
    assert changed == [] and model.index(2, 1).data() == "Pending"
    assert _names(model) == ["a", "b", "c", "d", "e"]


def _task(number: int, now: datetime) -> TaskRecord:
    return TaskRecord(number, 1, number, f"router-{number:03}", "Running", 1, now, None,
                      "apply-config", None, False, {}, updated_at=now)


def test_painting_a_table_of_tasks_runs_no_python(qapp, qtbot) -> None:
    """The runtime's thread holds the interpreter much of the time while devices run, so
    each call from a paint into Python waits behind it: a table of 500 running tasks must
    paint from cells Qt keeps, and a refresh writes only the changed cells near the
    screen (the rest when they scroll into view)."""
    now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    tasks = [_task(n, now) for n in range(500)]
    model = TasksModel()
    model.set_records(tasks)
    view = RecordTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(1000, 600)
    view.show()
    qtbot.waitExposed(view)
    on_screen = view.rowAt(view.viewport().height() - 1)
    assert 10 < on_screen < 100
    written: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda first, last: written.append((first.row(), first.column())))
    moved = [replace(t, state="Succeeded", updated_at=now + timedelta(seconds=1))
             if t.id % 7 == 0 else t for t in tasks]
    model.set_records(moved)
    rows_written = {row for row, _ in written}
    assert {n for n in range(on_screen + 1) if n % 7 == 0} <= rows_written  # on screen
    assert all(row % 7 == 0 and row <= 2 * on_screen + 2 for row in rows_written)
    assert {column for _, column in written} == {TasksModel.state_column}

    entered: list[str] = []

    def watch(frame: Any, event: str, _arg: Any) -> None:
        if event == "call":
            entered.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")

    sys.setprofile(watch)
    try:
        view.viewport().repaint()
        view.horizontalHeader().viewport().repaint()
    finally:
        sys.setprofile(None)
    assert [name for name in entered if "jobdesk" in name] == []
    assert model.index(0, TasksModel.state_column).data() == "Succeeded"
    assert model.index(1, TasksModel.state_column).data() == "Running"
    assert model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole) == tasks[0].device
    assert model.index(0, TasksModel.state_column).data(Qt.ItemDataRole.DecorationRole) \
        is not None
    assert not model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsEditable

    view.scrollToBottom()  # the rows far below are written as they come into view
    assert [model.index(row, TasksModel.state_column).data() for row in (497, 498, 499)] \
        == ["Succeeded", "Running", "Running"]
    assert model.index(499, 0).data() == "router-499"

    view.scrollToTop()  # typing a name finds its row, written or not
    model.set_records([replace(t, device=f"gateway-{t.id}") if t.id >= 400 else t
                       for t in tasks])
    qtbot.keyClicks(view, "gateway-45")
    assert model.record(view.currentIndex().row()).device.startswith("gateway-45")
    assert not model.flags(model.index(480, 0)) & Qt.ItemFlag.ItemIsEditable


def test_the_outcome_bar_repaints_with_the_window_not_inside_a_refresh(qtbot) -> None:
    """QProgressBar.setValue repaints at once; the detail's refresh must not wait on it."""
    painted: list[str] = []

    class Bar(OutcomeBar):
        def paintEvent(self, event) -> None:
            painted.append(self.format())
            super().paintEvent(event)

    bar = Bar()
    qtbot.addWidget(bar)
    bar.resize(300, 24)
    bar.show()
    qtbot.waitExposed(bar)
    qtbot.waitUntil(lambda: len(painted) >= 1)
    painted.clear()
    bar.set_outcomes([(3, "Succeeded"), (1, "Failed")], 10)
    assert painted == []
    qtbot.waitUntil(lambda: painted == ["4/10 finished: 3 succeeded, 1 failed"])
    assert bar.value() == 4
