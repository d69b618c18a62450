"""Schema versions. Each migration runs in one transaction, after a copy of the file is made.

The version lives in a table rather than SQLite's `user_version`, so the same migrations
serve SQLite and PostgreSQL; each backend says how a migration is protected (SQLite's write
lock, PostgreSQL's advisory lock) and whether a copy is made first. A new database gets the
current schema in one step; an older one runs the steps after its version.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from peewee import Database

from jobdesk.store.models import MODELS, SchemaVersion, StepRun
from jobdesk.store.opened import not_jobdesk


class SchemaTooNew(RuntimeError):
    pass


class SchemaNeedsUpgrade(RuntimeError):
    """An older schema in a database that cannot be written now."""


def _add_interrupted(database: Database) -> None:
    """v2: interrupted tasks are claimed before tasks that never started."""
    database.execute_sql(
        "ALTER TABLE task ADD COLUMN interrupted BOOLEAN NOT NULL DEFAULT FALSE"
    )
    database.execute_sql(
        "CREATE INDEX IF NOT EXISTS task_interrupted_next_attempt_at_id "
        "ON task (next_attempt_at, id) WHERE interrupted"
    )


def _add_claims(database: Database) -> None:
    """v3: claims that several runtimes can share (team mode): who holds a running task,
    until when, a fence counter, and the device's busy marker."""
    for statement in (
        "ALTER TABLE task ADD COLUMN claimed_by VARCHAR(255)",
        "ALTER TABLE task ADD COLUMN lease_until BIGINT",
        "ALTER TABLE task ADD COLUMN fence INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE device ADD COLUMN busy_task_id INTEGER",
        # A task left Running by an older runtime marks its device busy until recovered.
        "UPDATE device SET busy_task_id = (SELECT MIN(t.id) FROM task t "
        "WHERE t.device_id = device.id AND t.state = 'Running')",
        "CREATE UNIQUE INDEX IF NOT EXISTS task_one_running_per_device "
        "ON task (device_id) WHERE state = 'Running'",
        "CREATE INDEX IF NOT EXISTS task_running_lease_until "
        "ON task (lease_until) WHERE state = 'Running'",
        "ALTER TABLE job ADD COLUMN uuid VARCHAR(255)",
    ):
        database.execute_sql(statement)
    # Every job gets its stable identity, so copies between databases merge, not double.
    for (job_id,) in database.execute_sql("SELECT id FROM job WHERE uuid IS NULL").fetchall():
        mark = database.param
        database.execute_sql(f"UPDATE job SET uuid = {mark} WHERE id = {mark}",
                             (uuid.uuid4().hex, job_id))
    database.execute_sql('CREATE UNIQUE INDEX IF NOT EXISTS job_uuid ON job (uuid)')


def _add_attempt_history(database: Database) -> None:
    """v4: every attempt keeps its own record of the steps it ran (spec B1), and a cancel
    request its time. What older versions kept of each step becomes attempt 1 (a step
    they had set back to Pending kept no outcome worth showing)."""
    database.execute_sql("ALTER TABLE task ADD COLUMN cancel_requested_at BIGINT")
    StepRun.create_table(safe=True)
    database.execute_sql(
        "INSERT INTO step_run (task_id, step_id, attempt, status, started_at, skipped_at, "
        "completed_at, message) SELECT task_id, id, 1, status, started_at, skipped_at, "
        "completed_at, message FROM step WHERE status <> 'Pending' AND (started_at IS NOT NULL "
        "OR skipped_at IS NOT NULL OR completed_at IS NOT NULL)"
    )


def _add_rollouts(database: Database) -> None:
    """v5: safe rollouts (spec B8): a job's rollout, a task's batch, failures and hold."""
    for statement in (
        "ALTER TABLE job ADD COLUMN rollout TEXT",
        "ALTER TABLE task ADD COLUMN batch INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE task ADD COLUMN failures INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE task ADD COLUMN last_failed BOOLEAN NOT NULL DEFAULT FALSE",
        "ALTER TABLE task ADD COLUMN held BOOLEAN NOT NULL DEFAULT FALSE",
    ):
        database.execute_sql(statement)


MIGRATIONS: dict[int, Callable[[Database], None]] = {
    2: _add_interrupted, 3: _add_claims, 4: _add_attempt_history, 5: _add_rollouts,
}
LATEST = max(MIGRATIONS)


def current_version(database: Database) -> int:
    if not database.table_exists(SchemaVersion._meta.table_name):
        return 0
    row = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
    return row.version if row else 0


def migrate(database: Database, dialect: ModuleType, where: object, *,
            writable: bool = True) -> Path | None:
    """Bring the schema to LATEST; return the path of the backup copy made, if any.

    `dialect` is the backend module (`store.sqlite` or `store.postgres`); `where` is the
    database's location, for messages and the copy.
    """
    version = current_version(database)
    if version > LATEST:
        raise SchemaTooNew(
            f"the database {where} has schema {version}, newer than this jobdesk knows "
            f"({LATEST}); install a newer jobdesk"
        )
    if version == LATEST:
        return None
    if not writable:
        raise SchemaNeedsUpgrade(
            f"the database {where} was made by an older jobdesk and needs an upgrade, which "
            "needs writing: open it once where it can be written"
        )
    backup: Path | None = None
    with dialect.migration(database):
        version = current_version(database)  # another process may have migrated meanwhile
        if version == 0:
            tables = set(database.get_tables())
            if tables:
                raise not_jobdesk(where, 0, tables)
            database.create_tables(MODELS)
            dialect.mark_as_jobdesk(database)
            _set_version(LATEST)
            return None
    if version == LATEST:
        return None
    backup = dialect.backup_copy(database, where, version)
    for step in range(version + 1, LATEST + 1):
        with dialect.migration(database):
            if current_version(database) >= step:
                continue
            MIGRATIONS[step](database)
            dialect.mark_as_jobdesk(database)
            _set_version(step)
    return backup


def _set_version(version: int) -> None:
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=version)
