"""Everything that is specific to PostgreSQL, the team store.

Several windows and `jobdesk run` servers share one PostgreSQL database. What differs from
SQLite lives here: connecting (the password the libpq ways or from the keyring, never in a
URL), reconnecting after the server went away, the migration lock, what an error means,
and the statements that only PostgreSQL has (the claim with FOR UPDATE SKIP LOCKED,
NOTIFY).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import peewee
import psycopg
from peewee import Database, PostgresqlDatabase
from psycopg.pq import TransactionStatus
from psycopg.types.json import Json, Jsonb

from jobdesk.store.faults import FaultKind, StoreFault, driver_error
from jobdesk.store.location import Location
from jobdesk.store.opened import DatabaseServerError, OpenedDatabase
from jobdesk.store.transaction import write_transaction as shared_write_transaction

log = logging.getLogger(__name__)


def _hand_peewee_the_driver() -> None:
    """Give Peewee the psycopg it was imported without (see `jobdesk/store/__init__.py`).

    These are the names Peewee's own `import psycopg` would have bound (its module's and
    its psycopg 3 adapter's); the PostgreSQL tests run through them.
    """
    if peewee.psycopg is not None:
        return
    peewee.psycopg = psycopg
    peewee.TransactionStatus = TransactionStatus
    peewee.Json_pg3, peewee.Jsonb_pg3 = Json, Jsonb
    adapter = peewee.Psycopg3Adapter
    adapter.txn_idle = TransactionStatus.IDLE
    adapter.txn_inerror = TransactionStatus.INERROR
    adapter.txn_unknown = TransactionStatus.UNKNOWN


_hand_peewee_the_driver()

# The database's clock in microseconds since the epoch: leases are on the server's clock, so
# a laptop whose clock is wrong can neither claim early nor take another's task over.
NOW_US = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"
# A claim locks the task and its device; what another runtime holds is skipped, not waited
# for. Each write of an attempt locks its task row first (against a concurrent recovery).
CLAIM_LOCK = " FOR UPDATE OF t, d SKIP LOCKED"
ROW_LOCK = " FOR UPDATE OF t"
SKIP_LOCKED = " FOR UPDATE OF t SKIP LOCKED"
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

    def _drop_if_dead(self) -> None:
        conn = self._state.conn
        if conn is not None and (conn.closed or conn.broken) and self.transaction_depth() == 0:
            log.info("the database connection was lost; connecting again")
            self._state.reset()

    def connection(self) -> Any:
        self._drop_if_dead()
        return super().connection()

    def cursor(self, named_cursor: Any = None) -> Any:
        self._drop_if_dead()
        return super().cursor(named_cursor)


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


CHANNEL = "jobdesk"
# Who writes, in each notification: a process ignores its own (its runtime tells it more
# precisely what changed).
SENDER = f"{socket.gethostname()}:{os.getpid()}"


def write_transaction(database: Database) -> AbstractContextManager[None]:
    """A plain transaction: rows are locked as they are written (READ COMMITTED).

    Each one ends with a notification on the `jobdesk` channel (delivered at commit, once
    per transaction): other runtimes wake up for new work and open windows refresh.
    """

    def still_open() -> bool:
        conn = database._state.conn
        return conn is not None and not conn.closed and not conn.broken and (
            conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        )

    def notify() -> None:
        database.execute_sql("SELECT pg_notify(%s, %s)", (CHANNEL, SENDER))

    return shared_write_transaction(database, begin=database.begin, still_open=still_open,
                                    before_commit=notify)


class Listener:
    """Calls `changed()` whenever another process commits a change to the database.

    LISTEN needs a connection of its own, held in a thread of its own. Notifications sent
    while it is disconnected are lost, so after every (re)connection `changed()` is called
    once more: whoever listens refreshes fully then. It reconnects by itself.
    """

    def __init__(self, location: Location, password: Callable[[], str | None] | None,
                 changed: Callable[[], None]) -> None:
        self._location = location
        self._password = password
        self._changed = changed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobdesk-listen", daemon=True)
        self._thread.start()

    def _connect(self) -> psycopg.Connection:
        options: dict[str, Any] = {
            "host": self._location.host, "port": self._location.port,
            "user": self._location.user, "dbname": self._location.dbname,
            "connect_timeout": CONNECT_TIMEOUT_S, "autocommit": True,
            "application_name": "jobdesk-listen",
        }
        password = self._password() if self._password is not None else None
        if password is not None:
            options["password"] = password
        connection = psycopg.connect(**options)
        connection.execute(f"LISTEN {CHANNEL}")
        return connection

    def _run(self) -> None:
        pause = 0.5
        while not self._stop.is_set():
            try:
                with self._connect() as connection:
                    pause = 0.5
                    self._changed()  # whatever happened while not listening
                    while not self._stop.is_set():
                        for note in connection.notifies(timeout=0.5, stop_after=64):
                            if note.payload != SENDER:
                                self._changed()
                                break
            except (psycopg.Error, RuntimeError) as error:  # RuntimeError: the secret store
                log.debug("listening for changes failed: %s", error)
                self._stop.wait(pause)
                pause = min(pause * 2, 10.0)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


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


def integrity_problems(database: Database) -> list[str]:
    """The server enforces its constraints and checksums its pages itself."""
    return []


def checkpoint(database: Database) -> None:
    """Nothing to fold in: the server owns its write-ahead log."""


def _psycopg_error(error: BaseException) -> psycopg.Error | None:
    return driver_error(error, psycopg.Error)


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
