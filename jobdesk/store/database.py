"""The store: one database (a SQLite file or a PostgreSQL server), its models bound to it,
and the write transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from types import ModuleType
from typing import Any

from jobdesk.store import sqlite
from jobdesk.store.faults import FaultKind, StoreFault
from jobdesk.store.location import Location, parse_location
from jobdesk.store.migrations import migrate
from jobdesk.store.models import MODELS
from jobdesk.store.opened import DatabaseServerError
from jobdesk.store.rawsql import Sql

log = logging.getLogger(__name__)

PasswordLookup = Callable[[Location], str | None]


class Store:
    """An open database. Pass it explicitly; there is no global one.

    The repositories (`devices`, `jobs`, `queue`) are views on this one database; Peewee
    gives each thread its own connection, so the runtime's thread and the window's thread
    can both hold the same Store. A thread that is done with the store calls
    `release_connection`; `close` (from the thread that opened it) then leaves a SQLite
    database file complete on its own.

    The models are bound to the last Store opened: one Store per process at a time
    (share it between threads). Code that needs two at once (`jobdesk db copy`) speaks
    to them in plain SQL only.

    `where` is a SQLite file's path or a `postgresql://USER@HOST[:PORT]/DBNAME` URL;
    `password` finds a PostgreSQL password that libpq does not (the keyring).
    """

    def __init__(self, where: Path | str | Location,
                 password: PasswordLookup | None = None) -> None:
        self.location = where if isinstance(where, Location) else parse_location(where)
        self._password = password
        self.path: Path | None = self.location.path
        self.dialect: ModuleType
        if self.location.is_postgres:
            try:
                from jobdesk.store import postgres
            except ImportError as error:
                raise DatabaseServerError(
                    f"{self.location} needs PostgreSQL support: pip install 'jobdesk[team]' "
                    f"({error})"
                ) from None

            self.dialect = postgres
            opened = postgres.open_postgres(
                self.location, password(self.location) if password else None)
            place: object = self.location
        else:
            assert self.path is not None
            self.dialect = sqlite
            opened = sqlite.open_sqlite(self.path)
            place = self.path
        self.db = opened.database
        # Why this database can only be read (a read-only file or mount, a full disk).
        self.read_only: StoreFault | None = opened.read_only
        self.db.bind(MODELS, bind_refs=False, bind_backrefs=False)
        try:
            self.migration_backup = migrate(self.db, self.dialect, place,
                                            writable=self.read_only is None)
        except BaseException:
            self.db.close()
            raise
        self.sql = Sql(self.db)

        from jobdesk.store.devices import DeviceRepository
        from jobdesk.store.jobs import JobRepository
        from jobdesk.store.queue import TaskQueue

        self.devices = DeviceRepository(self)
        self.jobs = JobRepository(self)
        self.queue = TaskQueue(self)

    @property
    def is_postgres(self) -> bool:
        return self.location.is_postgres

    def transaction(self) -> AbstractContextManager:
        """Every state change runs inside one of these: all of it lands, or none."""
        return self.dialect.write_transaction(self.db)

    def listen(self, changed: Callable[[], None]) -> Callable[[], None] | None:
        """Call `changed()` (from another thread) when another process changes the database;
        returns how to stop listening, or None where the backend cannot tell (SQLite)."""
        if not self.is_postgres:
            return None
        lookup = self._password
        location = self.location
        # The password (a keyring lookup) is read on the listener's own thread, not on the
        # caller's (the window's).
        listener = self.dialect.Listener(
            location, (lambda: lookup(location)) if lookup else None, changed)
        return listener.close

    def locked(self, query: Any) -> Any:
        """A query whose rows stay locked until the transaction ends, where several
        processes may change them at once (PostgreSQL); SQLite's write lock covers it."""
        return query.for_update() if self.dialect.ROW_LOCK else query

    def fault_of(self, error: BaseException) -> StoreFault | None:
        """The condition (disk full, locked, read-only, unreachable) that made a call fail.

        None means the error is not a condition of the database: a bug, to be reported.
        """
        place = self.path if self.path is not None else self.location
        fault = self.dialect.describe_error(error, place)
        if fault is not None and self.read_only is not None \
                and fault.kind is FaultKind.READ_ONLY:
            return self.read_only  # opened for reading only: the reason it was
        return fault

    def is_database_file(self, path: Path) -> bool:
        """Whether a file a person chose is this database (or its -wal/-shm)."""
        return self.path is not None and sqlite.same_file(path, self.path)

    def release_connection(self) -> None:
        """Close the calling thread's connection (a worker thread that is ending)."""
        if not self.db.is_closed():
            self.db.close()

    def close(self) -> None:
        """Fold the WAL into the file and close: the `.db` alone is then complete."""
        if self.db.is_closed():
            return
        if self.read_only is None:
            try:
                self.dialect.checkpoint(self.db)
            except Exception as error:  # a full disk or a lock: the WAL stays, which is safe
                log.info("database %s not checkpointed on closing: %s", self.location, error)
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
