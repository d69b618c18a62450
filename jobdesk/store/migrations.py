"""Schema versions. Each migration runs in one transaction, after a copy of the file is made.

The version lives in a table rather than SQLite's `user_version`, so the same migrations
serve a PostgreSQL database later. A new database gets the current schema in one step; an
older one runs the steps after its version.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from peewee import Database

from jobdesk.store.models import MODELS, SchemaVersion, Task
from jobdesk.store.sqlite import (
    backup_copy,
    check_empty,
    mark_as_jobdesk,
    write_transaction,
)


class SchemaTooNew(RuntimeError):
    pass


class SchemaNeedsUpgrade(RuntimeError):
    """An older schema in a database that cannot be written now."""


def _add_interrupted(database: Database) -> None:
    """v2: interrupted tasks are claimed before tasks that never started."""
    database.execute_sql(
        "ALTER TABLE task ADD COLUMN interrupted BOOLEAN NOT NULL DEFAULT FALSE"
    )
    Task._schema.create_indexes(safe=True)


MIGRATIONS: dict[int, Callable[[Database], None]] = {2: _add_interrupted}
LATEST = max(MIGRATIONS)


def current_version(database: Database) -> int:
    if not database.table_exists(SchemaVersion._meta.table_name):
        return 0
    row = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
    return row.version if row else 0


def migrate(database: Database, path: Path | None, *, writable: bool = True) -> Path | None:
    """Bring the schema to LATEST; return the path of the backup copy made, if any."""
    version = current_version(database)
    if version > LATEST:
        raise SchemaTooNew(
            f"the database {path} has schema {version}, newer than this jobdesk knows "
            f"({LATEST}); install a newer jobdesk"
        )
    if version == LATEST:
        return None
    if not writable:
        raise SchemaNeedsUpgrade(
            f"the database {path} was made by an older jobdesk and needs an upgrade, which "
            "needs writing: open it once where it can be written"
        )
    if version == 0:
        check_empty(database, path or Path(":memory:"))
        with write_transaction(database):
            database.create_tables(MODELS)
            mark_as_jobdesk(database)
            _set_version(LATEST)
        return None
    backup: Path | None = None
    if path is not None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        backup = path.with_name(f"{path.name}.v{version}-{stamp}.bak")
        backup_copy(database, backup)
    for step in range(version + 1, LATEST + 1):
        with write_transaction(database):
            MIGRATIONS[step](database)
            mark_as_jobdesk(database)
            _set_version(step)
    return backup


def _set_version(version: int) -> None:
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=version)
