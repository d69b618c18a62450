"""Whether the database takes writes right now, said once per condition.

A full disk or another program's lock can last minutes; the runtime retries every write
meanwhile. Without this, each retry would log a traceback (135 of them in 20 s of a full
disk). Here a condition is logged once when it starts and once when it ends, and whoever
shows it (the window's banner, `jobdesk run`'s last line) gets the words.

It ends when writes have worked for SETTLE_S: a nearly full disk takes a write that fits
in space SQLite already has, then refuses the next one; that is one episode, not several.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from jobdesk.store.faults import FaultKind, StoreFault

log = logging.getLogger(__name__)

Announce = Callable[[str | None], None]
SETTLE_S = 5.0  # writes working this long end a condition


class StoreHealth:
    def __init__(self, announce: Announce, monotonic: Callable[[], float] = time.monotonic):
        self._announce = announce
        self._monotonic = monotonic
        self.fault: StoreFault | None = None
        self._since = 0.0
        self._writing_since: float | None = None  # first write that worked in the condition
        self._shown = ""

    @property
    def failing(self) -> bool:
        """The last write was refused (the condition may be announced a while longer)."""
        return self.fault is not None and self._writing_since is None

    def describe(self) -> str:
        """The condition in words, with how long it has lasted once that matters."""
        if self.fault is None:
            return ""
        seconds = self._monotonic() - self._since
        if self.fault.kind is FaultKind.LOCKED or seconds >= 10:
            return self.fault.lasting(seconds)
        return self.fault.message

    def failed(self, fault: StoreFault) -> None:
        self._writing_since = None
        if self.fault is None or self.fault.kind is not fault.kind:
            first = self.fault is None
            self.fault = fault
            if first:
                self._since = self._monotonic()
                log.warning(
                    "the database cannot be written: %s; running steps finish, nothing new "
                    "starts, and jobdesk retries until it can", fault.message,
                )
            else:  # the same episode, another cause (a full disk also times out locks)
                log.warning("the database is still refusing writes, now: %s", fault.message)
        else:
            self.fault = fault
        text = self.describe()
        if text != self._shown:
            self._shown = text
            self._announce(text)

    def recovered(self) -> None:
        """A write worked; the condition ends once writes have worked for SETTLE_S."""
        if self.fault is None:
            return
        now = self._monotonic()
        if self._writing_since is None:
            self._writing_since = now
        if now - self._writing_since >= SETTLE_S:
            self._end()

    def settle(self) -> None:
        """The runtime stops: a condition whose writes work again has ended."""
        if self.fault is not None and self._writing_since is not None:
            self._end()

    def _end(self) -> None:
        assert self.fault is not None and self._writing_since is not None
        lasted = self._writing_since - self._since
        log.warning("the database takes writes again after %.0f s (%s)", lasted,
                    self.fault.kind.value)
        self.fault = None
        self._writing_since = None
        self._shown = ""
        self._announce(None)
