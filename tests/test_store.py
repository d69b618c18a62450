"""The store on a real SQLite file: migrations, recovery, the queue, the lease."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from jobdesk.domain.inventory import make_device
from jobdesk.domain.jobtypes import JobType
from jobdesk.runtime.actions import JobRequest, JobService
from jobdesk.settings import Settings
from jobdesk.store import Store, migrations
from jobdesk.store.devices import DeviceError
from jobdesk.store.models import Job, Step, Task
from jobdesk.store.queue import RuntimeBusy
from tests.conftest import FakeClock


def service(store: Store, clock: FakeClock) -> JobService:
    return JobService(store, Settings(), clock)


def add(store: Store, clock: FakeClock, *names: str) -> None:
    for name in names:
        store.devices.add(make_device(name, "10.0.0.1"), clock.now())


def test_a_new_file_gets_the_schema_and_pragmas(tmp_path: Path) -> None:
    with Store(tmp_path / "a" / "jobdesk.db") as store:
        assert migrations.current_version(store.db) == migrations.LATEST
        assert store.db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store.migration_backup is None


def test_a_migration_copies_the_file_first_and_keeps_the_data(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "jobdesk.db"
    with Store(path) as store:
        add(store, clock, "r1")
    ran = []
    next_version = migrations.LATEST + 1
    monkeypatch.setitem(migrations.MIGRATIONS, next_version, lambda db: ran.append(db))
    monkeypatch.setattr(migrations, "LATEST", next_version)
    with Store(path) as store:
        assert ran and migrations.current_version(store.db) == next_version
        backup = store.migration_backup
        assert [d.name for d in store.devices.list()] == ["r1"]
    assert backup is not None and backup.exists()
    assert backup.stat().st_mode & 0o777 == 0o600
    copy = sqlite3.connect(backup)
    assert copy.execute("SELECT version FROM schema_version").fetchone() == (next_version - 1,)
    assert copy.execute("SELECT name FROM device").fetchall() == [("r1",)]
    copy.close()


def test_a_file_from_a_newer_jobdesk_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "jobdesk.db"
    Store(path).close()
    monkeypatch.setattr(migrations, "LATEST", 0)
    with pytest.raises(migrations.SchemaTooNew, match="install a newer jobdesk"):
        Store(path)


def test_job_creation_is_all_or_nothing(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(store, clock, "r1", "r2")
    insert_tasks = store.jobs._insert_tasks

    def tasks_then_disk_full(*args: object) -> None:
        insert_tasks(*args)  # the job and its tasks are written...
        raise OSError("disk full")  # ...and then the disk fills up

    monkeypatch.setattr(store.jobs, "_insert_tasks", tasks_then_disk_full)
    with pytest.raises(OSError, match="disk full"):
        service(store, clock).create(JobRequest("x", JobType.REBOOT, devices=["r1", "r2"]))
    assert Job.select().count() == 0
    assert Task.select().count() == 0 and Step.select().count() == 0


def test_tasks_left_running_by_a_crash_are_rescheduled_as_interrupted(
    store: Store, clock: FakeClock
) -> None:
    add(store, clock, "r1")
    job = service(store, clock).create(JobRequest("rb", JobType.REBOOT, devices=["r1"]))
    [task_id] = store.queue.due(clock.now(), 10)
    attempt, _ = store.queue.claim(task_id, clock.now())
    assert attempt is not None
    assert store.queue.begin_step(attempt.hold, attempt.steps[0].id, clock.now()) is None
    # ... and the process dies here. The next start:
    clock.advance(seconds=30)
    store.queue.recover_interrupted(clock.now())
    task = store.jobs.detail(job.id).tasks[0]
    assert task.state == "Rescheduled" and task.reason == "interrupted"
    assert task.next_attempt_at == clock.now()
    assert task.steps[0].status == "Pending"
    assert "interrupted" in task.steps[0].message
    assert store.queue.due(clock.now(), 10) == [task_id]


def test_due_tasks_skip_busy_devices_and_take_one_per_device(
    store: Store, clock: FakeClock
) -> None:
    add(store, clock, "r1", "r2")
    jobs = service(store, clock)
    jobs.create(JobRequest("a", JobType.REBOOT, devices=["r1", "r2"]))
    jobs.create(JobRequest("b", JobType.COMMAND, devices=["r1"], command="true"))
    due = store.queue.due(clock.now(), 10)
    assert len(due) == 2  # r1 once, r2 once
    r1 = store.devices.get("r1").id
    assert len(store.queue.due(clock.now(), 10, busy_devices=[r1])) == 1
    assert store.queue.due(clock.now() - timedelta(seconds=1), 10) == []


def test_the_due_query_reads_the_partial_index(sqlite_store: Store) -> None:
    plan = sqlite_store.db.execute_sql(
        "EXPLAIN QUERY PLAN SELECT id, device_id FROM task "
        "WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? "
        "ORDER BY next_attempt_at, id LIMIT 50",
        (0,),
    ).fetchall()
    text = " ".join(str(row) for row in plan)
    assert "task_next_attempt_at_id" in text and "SCAN task" not in text


def test_a_second_runtime_is_refused_while_the_first_lives(
    store: Store, clock: FakeClock
) -> None:
    stale = timedelta(seconds=60)
    store.queue.acquire_lease("first", "laptop", clock.now(), stale)
    with pytest.raises(RuntimeBusy, match="another jobdesk runtime"):
        store.queue.acquire_lease("second", "other-host", clock.now(), stale)
    clock.advance(seconds=61)  # the first stopped renewing: its lease is stale
    store.queue.acquire_lease("second", "other-host", clock.now(), stale)


def test_a_live_runtime_on_this_host_keeps_its_lease_when_its_heartbeat_is_late(
    store: Store, clock: FakeClock
) -> None:
    import os

    from jobdesk.store.models import RuntimeLease

    store.queue.acquire_lease("first", "laptop", clock.now(), timedelta(seconds=60))
    RuntimeLease.update(pid=os.getpid()).execute()  # a process that is alive
    clock.advance(minutes=3)  # long lock, laptop asleep: no heartbeat for a while
    with pytest.raises(RuntimeBusy):
        store.queue.acquire_lease("second", "laptop", clock.now(), timedelta(seconds=60))
    assert store.queue.renew_lease("first", clock.now())
    clock.advance(minutes=11)  # abandoned for very long: the pid must have been reused
    store.queue.acquire_lease("second", "laptop", clock.now(), timedelta(seconds=60))
    assert not store.queue.renew_lease("first", clock.now())


def test_a_due_task_of_a_removed_device_is_still_found(store: Store, clock: FakeClock) -> None:
    from jobdesk.store.models import Task

    add(store, clock, "r1", "r2")
    jobs = service(store, clock)
    job = jobs.create(JobRequest("rb", JobType.REBOOT, devices=["r1"]))
    Task.update(device=None).where(Task.job == job.id).execute()
    r2 = store.devices.get("r2").id
    assert len(store.queue.due(clock.now(), 10, busy_devices=[r2])) == 1


def test_a_lease_of_a_dead_process_on_this_host_is_taken_over(
    store: Store, clock: FakeClock
) -> None:
    from jobdesk.store.models import RuntimeLease

    store.queue.acquire_lease("first", "laptop", clock.now(), timedelta(seconds=60))
    RuntimeLease.update(pid=2**22 + 12345).execute()  # no such process
    store.queue.acquire_lease("second", "laptop", clock.now(), timedelta(seconds=60))


def test_a_device_with_open_work_cannot_be_removed_and_history_survives_removal(
    store: Store, clock: FakeClock
) -> None:
    add(store, clock, "r1")
    jobs = service(store, clock)
    job = jobs.create(JobRequest("rb", JobType.REBOOT, devices=["r1"]))
    with pytest.raises(DeviceError, match=f"open tasks in job\\(s\\) {job.id}"):
        store.devices.remove("r1")
    jobs.cancel_job(job.id)
    store.devices.remove("r1")
    assert store.jobs.detail(job.id).tasks[0].device == "r1"


def test_reimporting_an_inventory_updates_instead_of_duplicating(
    store: Store, clock: FakeClock
) -> None:
    devices = [make_device("r1", "10.0.0.1", tags=["a"]), make_device("r2", "10.0.0.2")]
    assert store.devices.upsert_many(devices, clock.now()) == (2, 0)
    moved = [make_device("r1", "10.0.0.9", 2222, tags=["b"])]
    assert store.devices.upsert_many(moved, clock.now()) == (0, 1)
    r1 = store.devices.get("r1")
    assert (r1.host, r1.port, r1.tags) == ("10.0.0.9", 2222, ("b",))


def test_interrupted_tasks_are_found_through_their_own_small_index(
    sqlite_store: Store,
) -> None:
    plan = sqlite_store.db.execute_sql(
        "EXPLAIN QUERY PLAN SELECT id, device_id, next_attempt_at FROM task "
        "WHERE interrupted ORDER BY next_attempt_at, id LIMIT 50"
    ).fetchall()
    text = " ".join(str(row) for row in plan)
    assert "USING INDEX task_interrupted_next_attempt_at_id" in text
