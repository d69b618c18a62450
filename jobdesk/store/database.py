"""The store: one database, its models bound to it, and the write transaction."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from jobdesk.store.migrations import migrate
from jobdesk.store.models import MODELS
from jobdesk.store.rawsql import Sql
from jobdesk.store.sqlite import open_sqlite, write_transaction


class Store:
    """An open database. Pass it explicitly; there is no global one.

    The repositories (`devices`, `jobs`, `queue`) are views on this one database; Peewee
    gives each thread its own connection, so the runtime's thread and the window's thread
    can both hold the same Store.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db = open_sqlite(self.path)
        self.db.bind(MODELS, bind_refs=False, bind_backrefs=False)
        self.migration_backup = migrate(self.db, self.path)
        self.sql = Sql(self.db)

        from jobdesk.store.devices import DeviceRepository
        from jobdesk.store.jobs import JobRepository
        from jobdesk.store.queue import TaskQueue

        self.devices = DeviceRepository(self)
        self.jobs = JobRepository(self)
        self.queue = TaskQueue(self)

    def transaction(self) -> AbstractContextManager:
        """Every state change runs inside one of these: all of it lands, or none."""
        return write_transaction(self.db)

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
