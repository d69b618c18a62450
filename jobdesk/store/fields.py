"""Column types shared by the models."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from peewee import BigIntegerField, TextField

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class UtcField(BigIntegerField):
    """An aware UTC instant stored as microseconds since the epoch.

    An integer compares and indexes the same way on SQLite and PostgreSQL, has no text
    format to get wrong, and refuses naive datetimes at the door (they are bugs here).
    """

    def db_value(self, value: datetime | None) -> int | None:
        if value is None:
            return None
        if isinstance(value, int):
            return value
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored; use an aware one")
        return (value - _EPOCH) // _MICROSECOND

    def python_value(self, value: int | None) -> datetime | None:
        if value is None:
            return None
        return _EPOCH + timedelta(microseconds=int(value))


class JsonField(TextField):
    """A small JSON document (payloads, schedules, step outputs)."""

    def db_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    def python_value(self, value: str | None) -> Any:
        if value is None:
            return None
        return json.loads(value)
