"""Why the database cannot be written (or opened) right now, in words a person can act on.

Each backend turns its own errors into a `StoreFault`; everything above the store (the
runtime, the window, the command line) speaks only of these. A fault is a condition of
the machine (a full disk, a lock held by another program, a read-only file), not a bug:
the runtime waits and retries, and nothing it learned from a device is thrown away.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=BaseException)


class FaultKind(StrEnum):
    DISK_FULL = "disk full"
    LOCKED = "locked"
    READ_ONLY = "read-only"
    IO_ERROR = "I/O error"
    UNREACHABLE = "unreachable"  # the database server cannot be reached


@dataclass(frozen=True)
class StoreFault:
    """One condition: its kind and one line that names the cause and the remedy."""

    kind: FaultKind
    message: str
    database: str = ""  # where the database is, for the words about how long it lasts

    def __str__(self) -> str:
        return self.message

    def lasting(self, seconds: float) -> str:
        """The condition with how long it has lasted ("locked by another program for 30 s")."""
        if self.kind is FaultKind.LOCKED:
            return f"locked by another program for {seconds:.0f} s: {self.database}"
        return f"{self.message} (for {seconds:.0f} s)"


class StoreUnwritable(RuntimeError):
    """A write was refused by the database for a reason outside jobdesk (`fault`)."""

    def __init__(self, fault: StoreFault) -> None:
        super().__init__(fault.message)
        self.fault = fault


def driver_error(error: BaseException, kind: type[E]) -> E | None:
    """The database driver's own error behind an exception: Peewee wraps the driver's
    errors in its own types (the original is the first argument), and a failed cleanup
    keeps the original as its context."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        wrapped = current.args[0] if current.args else None
        if isinstance(wrapped, kind):
            return wrapped
        current = current.__cause__ or current.__context__
    return None
