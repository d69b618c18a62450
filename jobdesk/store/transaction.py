"""The write transaction both backends use: the error that made it fail is the one raised.

After a full disk (SQLite) or a lost connection (PostgreSQL) the database has already
rolled the transaction back; a ROLLBACK then fails with "no transaction is active" and,
raised from the cleanup, would hide the real cause. Each backend says how to begin and how
to tell whether a transaction is still open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from peewee import Database

log = logging.getLogger(__name__)


@contextmanager
def write_transaction(
    database: Database, begin: Callable[[], None], still_open: Callable[[], bool],
    before_commit: Callable[[], None] | None = None,
) -> Iterator[None]:
    if database.transaction_depth() > 0:
        with database.atomic():  # a savepoint inside the caller's transaction
            yield
        return
    transaction = database.transaction()
    begin()
    database.push_transaction(transaction)
    try:
        yield
    except BaseException:
        database.pop_transaction()
        _rollback(database, still_open)
        raise
    database.pop_transaction()
    try:
        if before_commit is not None:
            before_commit()
        database.commit()
    except BaseException:
        _rollback(database, still_open)
        raise


def _rollback(database: Database, still_open: Callable[[], bool]) -> None:
    try:
        if still_open():
            database.rollback()
    except Exception as error:  # the original error is the one worth reporting
        log.debug("rollback failed: %s", error)
