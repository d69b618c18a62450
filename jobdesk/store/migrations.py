"""Schema versions. Each migration runs in one transaction, after a copy of the file is made.

The version lives in a table rather than SQLite's `user_version`, so the same migrations
serve a PostgreSQL database later.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from peewee import Database

from jobdesk.store.models import MODELS, SchemaVersion
from jobdesk.store.sqlite import backup_copy, write_transaction


class SchemaTooNew(RuntimeError):
    pass


def _create_v1(database: Database) -> None:
    database.create_tables(MODELS)


MIGRATIONS: dict[int, Callable[[Database], None]] = {1: _create_v1}
LATEST = max(MIGRATIONS)


def current_version(database: Database) -> int:
    if not database.table_exists(SchemaVersion._meta.table_name):
        return 0
    row = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
    return row.version if row else 0


def migrate(database: Database, path: Path | None) -> Path | None:
    """Bring the schema to LATEST; return the path of the backup copy made, if any."""
    version = current_version(database)
    if version > LATEST:
        raise SchemaTooNew(
            f"the database {path} has schema {version}, newer than this jobdesk knows "
            f"({LATEST}); install a newer jobdesk"
        )
    if version == LATEST:
        return None
    backup: Path | None = None
    if version > 0 and path is not None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        backup = path.with_name(f"{path.name}.v{version}-{stamp}.bak")
        backup_copy(database, path, backup)
    for step in range(version + 1, LATEST + 1):
        with write_transaction(database):
            MIGRATIONS[step](database)
            SchemaVersion.delete().execute()
            SchemaVersion.create(version=step)
    return backup
