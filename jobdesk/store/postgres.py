"""Everything that is specific to PostgreSQL, the team store.

Several windows and `jobdesk run` servers share one PostgreSQL database. What differs from
SQLite lives here: connecting (the password the libpq ways or from the keyring, never in a
URL), reconnecting after the server went away, the migration lock, what an error means,
and the statements that only PostgreSQL has (the claim with FOR UPDATE SKIP LOCKED,
NOTIFY).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import psycopg
from peewee import Database, PostgresqlDatabase

from jobdesk.store.faults import FaultKind, StoreFault
from jobdesk.store.location import Location
from jobdesk.store.opened import DatabaseServerError, OpenedDatabase
from jobdesk.store.transaction import write_transaction as shared_write_transaction

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key: "jobd" as an integer; one migration at a time per database.
MIGRATION_LOCK = 0x6A6F6264
CONNECT_TIMEOUT_S = 10
# A statement waiting this long for another connection's row lock gives up: the caller
# retries, as it does for SQLite's busy timeout.
LOCK_TIMEOUT_MS = 5000


class TeamDatabase(PostgresqlDatabase):
    """Peewee's PostgreSQL database that replaces a connection the server dropped.

    psycopg marks a connection closed or broken when the server went away (a restart, a
    network cut, a laptop that slept). Outside a transaction the next statement then runs
    on a new connection instead of failing for ever.
    """

    def connection(self) -> Any:
        conn = self._state.conn
        if conn is not None and (conn.closed or conn.broken) and self.transaction_depth() == 0:
            log.info("the database connection was lost; connecting again")
            self._state.reset()
        return super().connection()


def open_postgres(location: Location, password: str | None = None) -> OpenedDatabase:
    options: dict[str, Any] = {
        "user": location.user,
        "host": location.host,
        "port": location.port,
        "connect_timeout": CONNECT_TIMEOUT_S,
        "application_name": "jobdesk",
        "options": f"-c lock_timeout={LOCK_TIMEOUT_MS}",
        "prefer_psycopg3": True,
        "autorollback": False,
    }
    if password is not None:
        options["password"] = password  # in memory only: never in a URL, a log or argv
    database = TeamDatabase(location.dbname, **options)
    try:
        database.connect()
        in_recovery = database.execute_sql("SELECT pg_is_in_recovery()").fetchone()[0]
    except Exception as error:
        fault = describe_error(error, location)
        raise DatabaseServerError(
            f"cannot open the database {location}: {fault or _first_line(error)}"
        ) from None
    read_only = None
    if in_recovery:
        read_only = StoreFault(
            FaultKind.READ_ONLY,
            f"read-only: {location} is a standby server; connect to the primary",
            str(location),
        )
    return OpenedDatabase(database, read_only)


def write_transaction(database: Database) -> AbstractContextManager[None]:
    """A plain transaction: rows are locked as they are written (READ COMMITTED)."""

    def still_open() -> bool:
        conn = database._state.conn
        return conn is not None and not conn.closed and not conn.broken and (
            conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        )

    return shared_write_transaction(database, begin=database.begin, still_open=still_open)


@contextmanager
def migration(database: Database) -> Iterator[None]:
    """One migration at a time: two laptops opening a new database never migrate twice."""
    with write_transaction(database):
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        yield


def mark_as_jobdesk(database: Database) -> None:
    """PostgreSQL databases are recognised by their schema_version table alone."""


def backup_copy(database: Database, location: Location, version: int) -> Path | None:
    """A server keeps its own backups (pg_dump); migrations are transactional there."""
    return None


def checkpoint(database: Database) -> None:
    """Nothing to fold in: the server owns its write-ahead log."""


def _psycopg_error(error: BaseException) -> psycopg.Error | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, psycopg.Error):
            return current
        wrapped = current.args[0] if current.args else None
        if isinstance(wrapped, psycopg.Error):
            return wrapped
        current = current.__cause__ or current.__context__
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else error.__class__.__name__


def describe_error(error: BaseException, location: Location) -> StoreFault | None:
    cause = _psycopg_error(error)
    if cause is None:
        if "connection" in str(error).lower() and "closed" in str(error).lower():
            return _unreachable(location, error)
        return None
    state = getattr(cause, "sqlstate", None) or ""
    if state == "53100":  # disk_full
        return StoreFault(
            FaultKind.DISK_FULL,
            f"disk full on the database server ({location}): free space there",
            str(location),
        )
    if state in ("55P03", "57014", "40001", "40P01"):  # lock timeout, cancel, conflicts
        return StoreFault(FaultKind.LOCKED, f"locked by another program: {location}",
                          str(location))
    if state == "25006":  # read_only_sql_transaction
        return StoreFault(FaultKind.READ_ONLY,
                          f"read-only: {location} takes no writes (a standby server?)",
                          str(location))
    if state in ("28P01", "28000"):  # invalid password / authorization
        return StoreFault(
            FaultKind.UNREACHABLE,
            f"the server {location} refused the login: {_first_line(cause)} (give the "
            "password in ~/.pgpass, PGPASSWORD or `jobdesk db set-password`)",
            str(location),
        )
    if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError) and (
        not state or state.startswith(("08", "57P"))
    ):
        return _unreachable(location, cause)
    return None


def _unreachable(location: Location, error: BaseException) -> StoreFault:
    return StoreFault(
        FaultKind.UNREACHABLE,
        f"database unreachable: {location} ({_first_line(error)})",
        str(location),
    )
