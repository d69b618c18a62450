"""What opening a database gives, whichever the backend."""

from __future__ import annotations

from dataclasses import dataclass

from peewee import Database

from jobdesk.store.faults import StoreFault


class DatabaseFileError(RuntimeError):
    """The database cannot be opened or used; the message says what to do."""


class DatabaseServerError(DatabaseFileError):
    """The database server cannot be reached or refuses the login; the message says which."""


@dataclass
class OpenedDatabase:
    database: Database
    # Set when the database could only be opened for reading: why, in words.
    read_only: StoreFault | None


def not_jobdesk(where: object, application_id: int, tables: set[str]) -> DatabaseFileError:
    """The refusal of a database that belongs to another program."""
    if application_id:
        owner = f"it belongs to another application (id 0x{application_id:08x})"
    else:
        names = sorted(tables)
        shown = ", ".join(names[:4])
        owner = "it holds the tables " + shown + (
            f" and {len(names) - 4} more" if len(names) > 4 else "")
    return DatabaseFileError(
        f"{where} is not a jobdesk database ({owner}); jobdesk left it untouched: "
        "choose another one with --db"
    )
