"""Where a database is: a SQLite file (the default) or a PostgreSQL server (the team store).

`--db PATH` and `--db postgresql://USER@HOST[:PORT]/DBNAME` (or `database = "…"` in the
settings) both end up here. A URL that carries a password is refused: it would show in the
process list and the shell history. The password comes the libpq ways (`PGPASSWORD`,
`~/.pgpass`) or from the keyring (`jobdesk db set-password URL`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

POSTGRES_SCHEMES = ("postgresql", "postgres")


class LocationError(ValueError):
    """A database location that cannot be used; the message says what to write instead."""


@dataclass(frozen=True)
class Location:
    path: Path | None = None  # a SQLite file
    url: str | None = None  # a PostgreSQL server, without a password
    user: str = ""
    host: str = ""
    port: int = 5432
    dbname: str = ""

    @property
    def is_postgres(self) -> bool:
        return self.url is not None

    def __str__(self) -> str:
        """For people: the file, or the URL (which never holds a password)."""
        return str(self.path) if self.path is not None else str(self.url)

    @property
    def short_name(self) -> str:
        """For a window title: the file's name, or DBNAME on HOST."""
        if self.path is not None:
            return self.path.name
        return f"{self.dbname} on {self.host}"

    @property
    def secret_key(self) -> str:
        """The keyring entry that holds this server's password."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"


def parse_location(value: str | Path) -> Location:
    text = str(value).strip()
    scheme = text.split(":", 1)[0].lower() if "://" in text else ""
    if scheme not in POSTGRES_SCHEMES:
        if not text:
            raise LocationError("the database location is empty")
        return Location(path=Path(os.path.abspath(os.path.expanduser(text))))
    parts = urlsplit(text)
    if parts.password is not None:
        raise LocationError(
            "a database URL must not hold the password (it would show in the process list);"
            " put it in ~/.pgpass or PGPASSWORD, or store it with `jobdesk db set-password`"
        )
    if parts.query or parts.fragment:
        raise LocationError(f"use postgresql://USER@HOST[:PORT]/DBNAME, without ?…: {text}")
    dbname = unquote(parts.path.lstrip("/"))
    user = unquote(parts.username or "") or os.environ.get("PGUSER", "") or _login()
    host = parts.hostname or ""
    if not host or not dbname:
        raise LocationError(f"use postgresql://USER@HOST[:PORT]/DBNAME: {text}")
    try:
        port = parts.port or 5432
    except ValueError as error:
        raise LocationError(f"the port in {text} is not a number") from error
    return Location(url=f"postgresql://{user}@{host}:{port}/{dbname}", user=user, host=host,
                    port=port, dbname=dbname)


def _login() -> str:
    try:
        return os.getlogin()
    except OSError:
        import getpass

        return getpass.getuser()
