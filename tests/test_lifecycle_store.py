"""The lifecycle's rules as the store applies them, on SQLite and PostgreSQL: a replaced
job, a cancel that came too late, a next attempt that passed while no runtime ran, system
jobs replaced by a person's job, a task whose every step was skipped (spec B3–B6)."""

from __future__ import annotations

import socket
import subprocess
from datetime import UTC, datetime, timedelta

from jobdesk.domain.inventory import make_device
from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.schedule import Scheduled
from jobdesk.runtime.actions import JobRequest, JobService
from jobdesk.settings import Settings
from jobdesk.store import Store
from jobdesk.store.queue import Attempt, runtime_id
from jobdesk.store.records import TaskRecord
from tests.conftest import FakeClock


def service(store: Store, clock: FakeClock) -> JobService:
    return JobService(store, Settings(), clock)


def add(store: Store, clock: FakeClock, *names: str) -> None:
    for name in names:
        store.devices.add(make_device(name, "10.0.0.1"), clock.now())


def claim(store: Store, clock: FakeClock, job_id: int, device: str) -> Attempt:
    task = only_task(store, job_id, device)
    attempt, _ = store.queue.claim(task.id, clock.now())
    assert attempt is not None
    return attempt


def only_task(store: Store, job_id: int, device: str) -> TaskRecord:
    return next(t for t in store.jobs.detail(job_id).tasks if t.device == device)


def test_a_replaced_job_is_replaced_only_once_its_running_task_ended(
    store: Store, clock: FakeClock
) -> None:
    add(store, clock, "r1")
    old = service(store, clock).create(JobRequest("rb", JobType.REBOOT, devices=["r1"]))
    attempt = claim(store, clock, old.id, "r1")
    connect, reboot, _ = attempt.steps
    store.queue.begin_step(attempt.hold, connect.id, clock.now())
    new = service(store, clock).create(
        JobRequest("rb2", JobType.REBOOT, devices=["r1"], replace=True))
    # B5: its task still finishes the running step; the job is not Replaced yet.
    assert store.jobs.get(old.id).state == "Running"
    task = only_task(store, old.id, "r1")
    assert task.state == "Running" and task.cancel_requested
    done, stop = store.queue.complete_and_begin(attempt.hold, connect.id, reboot.id,
                                                clock.now())
    assert not done and stop is not None
    assert only_task(store, old.id, "r1").reason == f"replaced by job {new.id}"
    assert store.jobs.get(old.id).state == "Replaced"


def test_a_cancel_during_the_last_step_is_kept_with_its_outcome(
    store: Store, clock: FakeClock
) -> None:
    add(store, clock, "r1")
    job = service(store, clock).create(JobRequest("rb", JobType.REBOOT, devices=["r1"]))
    attempt = claim(store, clock, job.id, "r1")
    connect, reboot, wait = attempt.steps
    store.queue.begin_step(attempt.hold, connect.id, clock.now())
    store.queue.complete_and_begin(attempt.hold, connect.id, reboot.id, clock.now())
    store.queue.complete_and_begin(attempt.hold, reboot.id, wait.id, clock.now())
    asked_at = clock.advance(seconds=30)
    store.jobs.cancel_task(job.id, "r1", clock.now())
    clock.advance(seconds=30)
    assert store.queue.complete_step(attempt.hold, wait.id, clock.now(), message="online")
    task = only_task(store, job.id, "r1")
    assert task.state == "Succeeded"
    assert task.reason == (f"cancel requested {asked_at:%Y-%m-%d %H:%M:%S} UTC; the last "
                           "step finished first")
    assert task.to_dict()["cancel_requested_at"] == asked_at.isoformat()


def test_a_next_attempt_that_passed_with_no_runtime_moves_to_the_next_opening(
    store: Store, clock: FakeClock
) -> None:
    add(store, clock, "r1")
    clock.set(datetime(2026, 12, 1, 12, tzinfo=UTC))
    nightly = Scheduled.parse("2026-12-01", "2026-12-10", "22:00-04:00", "mon-sun", "UTC")
    job = service(store, clock).create(
        JobRequest("night", JobType.REBOOT, devices=["r1"], schedule=nightly))
    first = datetime(2026, 12, 1, 22, tzinfo=UTC)
    assert only_task(store, job.id, "r1").next_attempt_at == first
    clock.set(datetime(2026, 12, 2, 9, tzinfo=UTC))  # the window passed; nobody ran it
    store.queue.sweep(clock.now())
    task = only_task(store, job.id, "r1")
    assert task.state == "Scheduled" and task.next_attempt_at == first + timedelta(days=1)
    assert store.jobs.get(job.id).next_attempt_at == first + timedelta(days=1)
    clock.set(datetime(2026, 12, 2, 23, tzinfo=UTC))  # inside a window: due, left as it is
    store.queue.sweep(clock.now())
    assert only_task(store, job.id, "r1").next_attempt_at == first + timedelta(days=1)


def test_a_person_s_job_replaces_the_system_s_own_without_asking(
    store: Store, clock: FakeClock
) -> None:
    add(store, clock, "r1", "r2")
    jobs = service(store, clock)
    [system] = [j for j in jobs.create_system_jobs() if j.type == "device-info"]
    mine = jobs.create(JobRequest("info", JobType.DEVICE_INFO, devices=["r1"]))
    replaced = only_task(store, system.id, "r1")
    assert replaced.state == "Cancelled" and replaced.reason == f"replaced by job {mine.id}"
    assert only_task(store, system.id, "r2").state == "Scheduled"
    assert store.jobs.get(system.id).state != "Replaced"  # r2 is still its work
    jobs.create(JobRequest("info 2", JobType.DEVICE_INFO, devices=["r2"], replace=True))
    assert store.jobs.get(system.id).state == "Replaced"


def test_a_task_whose_every_step_left_was_skipped_succeeds_without_a_current_step(
    store: Store, clock: FakeClock
) -> None:
    add(store, clock, "r1")
    job = service(store, clock).create(JobRequest("rb", JobType.REBOOT, devices=["r1"]))
    attempt = claim(store, clock, job.id, "r1")
    connect, reboot, _wait = attempt.steps
    store.queue.begin_step(attempt.hold, connect.id, clock.now())
    store.queue.complete_and_begin(attempt.hold, connect.id, reboot.id, clock.now())
    store.queue.fail_step(attempt.hold, reboot.id, clock.now(), message="not allowed",
                          retryable=False, retry_interval=timedelta(minutes=5))
    for step in ("reboot", "wait-online"):  # the connection is never skipped
        store.jobs.skip_step(job.id, "r1", step, clock.now())
    store.jobs.retry_task(job.id, "r1", clock.now())
    attempt = claim(store, clock, job.id, "r1")
    assert store.queue.finish_if_done(attempt.hold, clock.now())
    task = only_task(store, job.id, "r1")
    assert task.state == "Succeeded" and task.current_step is None
    data = task.to_dict()
    assert data["step_progress"] == {"done": 3, "total": 3} and data["current_step"] is None


def test_an_attempt_stopped_after_redoing_what_a_check_verifies_resumes_at_the_check(
    store: Store, clock: FakeClock
) -> None:
    add(store, clock, "r1")
    job = service(store, clock).create(
        JobRequest("cmd", JobType.COMMAND, devices=["r1"], command="true"))
    attempt = claim(store, clock, job.id, "r1")
    connect, run, check = attempt.steps
    store.queue.begin_step(attempt.hold, connect.id, clock.now())
    store.queue.complete_and_begin(attempt.hold, connect.id, run.id, clock.now())
    store.queue.complete_and_begin(attempt.hold, run.id, check.id, clock.now())
    store.queue.fail_step(attempt.hold, check.id, clock.now(), message="exit status 1",
                          retryable=True, retry_interval=timedelta(minutes=5))
    clock.advance(minutes=5)
    attempt = claim(store, clock, job.id, "r1")
    # B1: the check failed, so what it checks runs again — and the check after it.
    assert [(s.name, s.status) for s in attempt.steps] == [
        ("connect", "Completed"), ("run", "Pending"), ("check-exit", "Pending")]
    store.queue.begin_step(attempt.hold, run.id, clock.now())
    store.queue.complete_step(attempt.hold, run.id, clock.now(), message="exit status 0")
    store.queue.interrupt(attempt.hold, clock.now(), "runtime stopped")
    attempt = claim(store, clock, job.id, "r1")
    # The command ran again in attempt 2: attempt 3 only checks its outcome.
    assert [s.name for s in attempt.steps if s.status != "Completed"] == ["check-exit"]
    history = only_task(store, job.id, "r1").attempts_history()
    assert [(n, [r.name for r in runs]) for n, runs in history] == [
        (1, ["connect", "run", "check-exit"]), (2, ["run"])]


def test_a_reader_leaves_a_live_runtime_its_tasks_and_frees_those_of_a_dead_one(
    store: Store, clock: FakeClock
) -> None:
    add(store, clock, "r1", "r2")
    job = service(store, clock).create(JobRequest("rb", JobType.REBOOT, devices=["r1", "r2"]))
    host = socket.gethostname()
    gone = subprocess.Popen(["true"])
    gone.wait()  # a process of this host that no longer exists
    for device, owner in (("r1", runtime_id(host)), ("r2", f"{host}:{gone.pid}:0000")):
        task = only_task(store, job.id, device)
        attempt, _ = store.queue.claim(task.id, clock.now(), runtime=owner)
        assert attempt is not None
    # Both leases ran out a minute ago (a laptop that slept): the live runtime's heartbeat
    # comes in a moment, the dead one's never will.
    store.db.execute_sql("UPDATE task SET lease_until = lease_until - 120000000")
    store.queue.bring_up_to_date(clock.now(), host)
    assert only_task(store, job.id, "r1").state == "Running"
    assert only_task(store, job.id, "r2").state == "Rescheduled"
    assert only_task(store, job.id, "r2").reason == "interrupted"
    # A lease ten minutes past is abandoned whatever the process (its pid was reused).
    store.db.execute_sql("UPDATE task SET lease_until = lease_until - 600000000")
    store.queue.bring_up_to_date(clock.now(), host)
    assert only_task(store, job.id, "r1").state == "Rescheduled"


def test_a_step_skipped_between_attempts_belongs_to_no_attempt_until_the_next_starts(
    store: Store, clock: FakeClock
) -> None:
    add(store, clock, "r1")
    job = service(store, clock).create(JobRequest("rb", JobType.REBOOT, devices=["r1"]))
    attempt = claim(store, clock, job.id, "r1")
    connect, reboot, _ = attempt.steps
    store.queue.begin_step(attempt.hold, connect.id, clock.now())
    store.queue.complete_and_begin(attempt.hold, connect.id, reboot.id, clock.now())
    store.queue.fail_step(attempt.hold, reboot.id, clock.now(), message="refused",
                          retryable=True, retry_interval=timedelta(minutes=5))
    store.jobs.skip_step(job.id, "r1", "reboot", clock.now())
    store.jobs.cancel_task(job.id, "r1", clock.now())
    task = only_task(store, job.id, "r1")
    data = task.to_dict()
    assert data["attempt_count"] == 1 and [a["number"] for a in data["attempts"]] == [1]
    assert [(s["name"], s["status"]) for s in data["skipped_for_next_attempt"]] == [
        ("reboot", "Skipped")]
    assert data["attempts"][0]["steps"][1]["status"] == "Failed"  # not overwritten
