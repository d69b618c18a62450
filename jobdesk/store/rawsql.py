"""Running hand-written SQL: the statements themselves live in `store/statements.py`.

Peewee spends about 200 µs building each statement; SQLite needs 10-20 µs to run one. The
few statements the runtime sends for every step are therefore written out once, in
portable SQL with `?` placeholders (translated here for databases that use another style),
and converted with the models' own field types so the stored values are the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from peewee import Database

from jobdesk.store.fields import UtcField
from jobdesk.store.statements import update_row

_UTC = UtcField()


def ts(value: datetime | None) -> int | None:
    return _UTC.db_value(value)


def dt(value: int | None) -> datetime | None:
    return _UTC.python_value(value)


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class Sql:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._param = getattr(database, "param", "?")
        self._cache: dict[str, str] = {}

    def _text(self, query: str) -> str:
        if self._param == "?":
            return query
        text = self._cache.get(query)
        if text is None:
            text = self._cache[query] = query.replace("?", self._param)
        return text

    def one(self, query: str, *params: Any) -> tuple[Any, ...] | None:
        return self._db.execute_sql(self._text(query), params).fetchone()

    def all(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        return self._db.execute_sql(self._text(query), params).fetchall()

    def rows(self, query: str, *params: Any) -> list[dict[str, Any]]:
        """Rows as dictionaries by column name (copying whole rows between databases)."""
        cursor = self._db.execute_sql(self._text(query), params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def run(self, query: str, *params: Any) -> int:
        return self._db.execute_sql(self._text(query), params).rowcount

    def many(self, query: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for many rows (bulk inserts)."""
        self._db.cursor().executemany(self._text(query), rows)

    def update(self, table: str, row_id: int, fields: dict[str, Any]) -> None:
        """UPDATE only the given columns of one row (values already in database form)."""
        self.run(update_row(table, list(fields)), *fields.values(), row_id)
