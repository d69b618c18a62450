"""The window's store worker: its queries share one database connection, closed when it
stops.

On PostgreSQL each connection is a server process; a window that opened one per query
(as it did when Qt ran the worker's loop outside Python) would exhaust the team server.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from jobdesk.store import Store
from jobdesk.ui.gateway import StoreGateway


def test_the_windows_queries_share_one_database_connection(qtbot: Any, store: Store) -> None:
    gateway = StoreGateway(store=store)
    connections: list[Any] = []
    try:
        for _ in range(5):
            with qtbot.waitCallback() as answered:
                gateway.call(lambda: (store.db.connection(), store.jobs.ids()), answered)
            connections.append(answered.args[0][0])
    finally:
        gateway.stop()
    assert all(connection is connections[0] for connection in connections)
    assert _closed(connections[0])  # stopping the worker closed it (a server process less)


def _closed(connection: Any) -> bool:
    if hasattr(connection, "closed"):  # psycopg
        return bool(connection.closed)
    try:  # sqlite3 says so only when used
        connection.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False
