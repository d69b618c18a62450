"""Persistence: Peewee models on SQLite or PostgreSQL, repositories that speak in records."""

import sys


def _import_peewee_without_psycopg() -> None:
    """Import Peewee before any store module does, without the PostgreSQL driver.

    Peewee imports psycopg at its own import whenever psycopg is installed (the team extra,
    the offline bundle): 140 ms more at every start of every command and window, though a
    SQLite laptop never uses it. `store/postgres.py` hands Peewee the driver when a team
    database is opened.
    """
    if "peewee" in sys.modules or "psycopg" in sys.modules:
        return
    sys.modules["psycopg"] = None  # type: ignore[assignment]  # `import psycopg` fails
    try:
        import peewee  # noqa: F401
    finally:
        del sys.modules["psycopg"]


_import_peewee_without_psycopg()

from peewee import PeeweeException  # noqa: E402 - after the import above, on purpose

from jobdesk.store.database import Store  # noqa: E402

__all__ = ["PeeweeException", "Store"]
