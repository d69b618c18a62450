"""The database file: what jobdesk opens, refuses, leaves behind and reports."""

from __future__ import annotations

import hashlib
import os
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
from jobdesk.store.faults import FaultKind
from jobdesk.store.sqlite import APPLICATION_ID, DatabaseFileError
from tests.conftest import FakeClock


@pytest.fixture
def store(sqlite_store: Store) -> Store:
    """The files of a SQLite database are what this module is about."""
    return sqlite_store


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def foreign(path: Path) -> None:
    """Another program's SQLite file (a browser's history, say)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = wal")
    db.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    db.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    db.close()


def test_another_programs_database_is_refused_and_left_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "places.sqlite"
    foreign(path)
    before = digest(path)
    with pytest.raises(DatabaseFileError, match=r"not a jobdesk database .*moz_places"):
        Store(path)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["places.sqlite"]


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("shopping list\n" * 100)
    with pytest.raises(DatabaseFileError, match="not a SQLite database"):
        Store(path)
    assert path.read_text() == "shopping list\n" * 100


def test_an_empty_file_is_initialised_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with Store(path) as store:
        assert migrations.current_version(store.db) == migrations.LATEST
        assert store.db.execute_sql("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def _to_version_4(db: sqlite3.Connection) -> None:
    """Undo schema 5: no rollouts."""
    db.execute("ALTER TABLE job DROP COLUMN rollout")
    for column in ("batch", "failures", "last_failed", "held"):
        db.execute(f"ALTER TABLE task DROP COLUMN {column}")
    db.execute("UPDATE schema_version SET version = 4")


def _to_version_3(db: sqlite3.Connection) -> None:
    """Undo schemas 5 and 4: no attempt history, no time of a cancel request."""
    _to_version_4(db)
    db.execute("DROP TABLE step_run")
    db.execute("ALTER TABLE task DROP COLUMN cancel_requested_at")
    db.execute("UPDATE schema_version SET version = 3")


def test_steps_of_a_schema_3_database_become_attempt_1(tmp_path: Path,
                                                       clock: FakeClock) -> None:
    path = tmp_path / "jobdesk.db"
    with Store(path) as store:
        store.devices.add(make_device("r1", "10.0.0.1"), clock.now())
        job = JobService(store, Settings(), clock).create(
            JobRequest("rb", JobType.REBOOT, devices=["r1"]))
        [task_id] = store.queue.due(clock.now(), 10)
        attempt, _ = store.queue.claim(task_id, clock.now())
        assert attempt is not None
        connect, reboot = attempt.steps[0].id, attempt.steps[1].id
        store.queue.begin_step(attempt.hold, connect, clock.now())
        store.queue.complete_and_begin(attempt.hold, connect, reboot, clock.now(),
                                       message="connected")
        store.queue.fail_step(attempt.hold, reboot, clock.now(), message="refused",
                              retryable=True, retry_interval=timedelta(minutes=5))
    db = sqlite3.connect(path, isolation_level=None)
    _to_version_3(db)
    db.close()
    with Store(path) as store:
        assert migrations.current_version(store.db) == migrations.LATEST
        task = store.jobs.detail(job.id).tasks[0]
        [(number, runs)] = task.attempts_history()
        assert number == 1
        assert [(r.name, r.status, r.message) for r in runs] == [
            ("connect", "Completed", "connected"), ("reboot", "Failed", "refused")]
        assert task.cancel_requested_at is None


def make_version_1(path: Path, clock: FakeClock) -> None:
    """A database as the first jobdesk left it: schema 1, no mark, no `interrupted`, no
    claims."""
    with Store(path) as store:
        store.devices.add(make_device("r1", "10.0.0.1"), clock.now())
        JobService(store, Settings(), clock).create(
            JobRequest("rb", JobType.REBOOT, devices=["r1"]))
    db = sqlite3.connect(path, isolation_level=None)
    _to_version_3(db)
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND (sql LIKE '%interrupted%' "
        "OR sql LIKE '%Running%')"
    ).fetchall():
        db.execute(f'DROP INDEX "{name}"')
    for column in ("interrupted", "claimed_by", "lease_until", "fence"):
        db.execute(f"ALTER TABLE task DROP COLUMN {column}")
    db.execute("ALTER TABLE device DROP COLUMN busy_task_id")
    db.execute("DROP INDEX job_uuid")
    db.execute("ALTER TABLE job DROP COLUMN uuid")
    db.execute("UPDATE schema_version SET version = 1")
    db.execute("PRAGMA application_id = 0")
    db.close()


def test_a_database_of_the_first_schema_is_upgraded_marked_and_copied_first(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "jobdesk.db"
    make_version_1(path, clock)
    with Store(path) as store:
        assert migrations.current_version(store.db) == migrations.LATEST
        assert store.db.execute_sql("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert [d.name for d in store.devices.list()] == ["r1"]
        (uuid,) = store.db.execute_sql("SELECT uuid FROM job").fetchone()
        assert len(uuid) == 32
        [task_id] = store.queue.due(clock.now(), 10)
        attempt, _ = store.queue.claim(task_id, clock.now())
        assert attempt is not None
        store.queue.interrupt(attempt.hold, clock.now(), "interrupted")
        assert store.queue.due(clock.now(), 10) == [task_id]
        backup = store.migration_backup
    assert backup is not None and backup.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(backup) as copy:
        assert copy.execute("SELECT version FROM schema_version").fetchone() == (1,)


def test_closing_folds_the_wal_into_the_database_file(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "a" / "jobdesk.db"
    with Store(path) as store:
        store.devices.add(make_device("r1", "10.0.0.1"), clock.now())
        assert Path(f"{path}-wal").stat().st_size > 0
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    alone = tmp_path / "alone.db"
    alone.write_bytes(path.read_bytes())  # the .db file only, as a person would copy it
    with sqlite3.connect(alone) as db:
        assert db.execute("SELECT name FROM device").fetchall() == [("r1",)]


def test_the_database_and_its_side_files_are_recognised_by_inode(tmp_path: Path) -> None:
    path = tmp_path / "jobdesk.db"
    with Store(path) as store:
        link = tmp_path / "link.csv"
        link.symlink_to(path)
        hard = tmp_path / "hard.csv"
        os.link(path, hard)
        assert store.is_database_file(path)
        assert store.is_database_file(link) and store.is_database_file(hard)
        assert store.is_database_file(Path(f"{path}-wal"))
        other = tmp_path / "fleet.csv"
        other.write_text("name,host\n")
        assert not store.is_database_file(other)


def test_a_full_database_reports_the_real_cause_and_stays_usable(
    store: Store, clock: FakeClock
) -> None:
    """SQLite rolls back by itself after SQLITE_FULL; the cause must not turn into
    "cannot rollback - no transaction is active", and the next write must work."""
    (pages,) = store.db.execute_sql("PRAGMA page_count").fetchone()
    store.db.execute_sql(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(Exception, match="full") as raised:
        store.devices.upsert_many(
            [make_device(f"r{n}", "10.0.0.1", tags=[f"tag-{n}-" + "x" * 50]) for n in range(800)],
            clock.now(),
        )
    fault = store.fault_of(raised.value)
    assert fault is not None and fault.kind is FaultKind.DISK_FULL
    assert "disk full: free space on" in fault.message
    assert store.devices.list() == []  # all or nothing
    store.db.execute_sql("PRAGMA max_page_count = 1073741823")
    store.devices.add(make_device("r1", "10.0.0.1"), clock.now())
    assert [d.name for d in store.devices.list()] == ["r1"]


def test_a_lock_held_by_another_program_is_named_as_such(
    store: Store, clock: FakeClock
) -> None:
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    store.db.execute_sql("PRAGMA busy_timeout = 50")
    try:
        with pytest.raises(Exception, match="locked") as raised:
            store.devices.add(make_device("r1", "10.0.0.1"), clock.now())
        fault = store.fault_of(raised.value)
        assert fault is not None and fault.kind is FaultKind.LOCKED
        assert fault.lasting(30) == f"locked by another program for 30 s: {store.path}"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.devices.add(make_device("r1", "10.0.0.1"), clock.now())


def test_an_error_that_is_not_a_condition_of_the_database_is_not_called_one(
    store: Store,
) -> None:
    assert store.fault_of(ValueError("a bug")) is None
    with pytest.raises(Exception) as raised:
        store.db.execute_sql("SELECT nonsense FROM nowhere")
    assert store.fault_of(raised.value) is None


def test_interrupted_tasks_are_claimed_before_tasks_never_started(
    store: Store, clock: FakeClock
) -> None:
    for name in ("r1", "r2", "r3"):
        store.devices.add(make_device(name, "10.0.0.1"), clock.now())
    JobService(store, Settings(), clock).create(
        JobRequest("rb", JobType.REBOOT, devices=["r1", "r2", "r3"]))
    first, second, third = store.queue.due(clock.now(), 10)
    store.queue.claim(third, clock.now())
    clock.advance(seconds=5)
    store.queue.recover_interrupted(clock.now())  # the runtime died and started again
    assert store.queue.due(clock.now(), 1) == [third]
    assert store.queue.due(clock.now(), 10) == [third, first, second]
    store.queue.claim(third, clock.now())
    assert store.queue.due(clock.now(), 10) == [first, second]


def test_the_database_cannot_be_named_as_a_devices_key_file(store: Store, clock: FakeClock) -> None:
    device = make_device("r1", "10.0.0.1", key_path=str(store.path))
    with pytest.raises(DeviceError, match="jobdesk's own database"):
        store.devices.add(device, clock.now())
    assert store.devices.list() == []
