"""The runtime gives way to the window: it pauses between its pieces of work while the
window's thread shows results or repaints.

Why: the window and the runtime share one interpreter lock. While 200 devices run, the
runtime's threads always want it, and the interpreter hands it over every 0.2 ms, so each
millisecond of the window's Python is cut into pieces with the runtime's in between; on
a 2-core laptop that also runs other programs, the thread holding the lock is sometimes
not even on a core, and a refresh of a 500-task job then took several times its own length
(a 4 ms gap between two lines of it, measured). Paused at the next boundary between two of
its pieces of work (a pass of its event loop, a database call), the runtime loses little:
a device's SSH session waits a few milliseconds at most, and no step is ever cut short.

A pause is bounded twice. However long the window stays busy (a dialog opened from a
callback runs its own event loop), the runtime waits at most `budget` seconds per busy
spell. And pauses draw on a credit (a token bucket) that refills at three quarters of the
time passing and is spent at the rate of the time paused: the usual short run of spells (a
refresh, then its repaint) is paused whole, up to `burst` seconds back to back, while a
window busy spell after spell (one dragged to another size repaints all the while) holds
the runtime at most three quarters of the time.
"""

from __future__ import annotations

import asyncio
import selectors
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

DEFAULT_BUDGET_S = 0.04  # a little under the window's stall target at 200 devices at once
DEFAULT_BURST_S = 0.2  # pauses back to back, at most, before the share below applies
PAUSED_SHARE = 0.75  # of the time passing, what the runtime may spend paused in the long run


class GiveWay:
    """A busy flag the window's thread raises and the runtime's threads wait on."""

    def __init__(self, budget: float = DEFAULT_BUDGET_S, burst: float = DEFAULT_BURST_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._budget = budget
        self._burst = burst
        self._monotonic = monotonic
        self._free = threading.Event()
        self._free.set()
        self._depth = 0  # nested busy spells (only ever changed on the window's thread)
        self._busy_since = 0.0
        # The pausing credit, full, what is left of it and when it was counted (the
        # runtime's threads). A pause spends 1 s a second and the clock refills
        # PAUSED_SHARE: full, it lasts `burst` seconds of pausing.
        self._credit_full = burst * (1 - PAUSED_SHARE)
        self._credit = self._credit_full
        self._credit_at = monotonic()

    @contextmanager
    def window_busy(self) -> Iterator[None]:
        """Hold the runtime at its next boundary while the block runs (window's thread)."""
        if self._depth == 0:
            self._busy_since = self._monotonic()
            self._free.clear()
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._free.set()

    @property
    def window_is_busy(self) -> bool:
        return not self._free.is_set()

    def wait_for_window(self) -> None:
        """Between two pieces of the runtime's work: wait while the window is busy, for
        what is left of the spell's budget and of the pausing credit."""
        if self._free.is_set():
            return
        started = self._monotonic()
        credit = min(self._credit_full,
                     self._credit + (started - self._credit_at) * PAUSED_SHARE)
        left = min(self._busy_since + self._budget - started, credit / (1 - PAUSED_SHARE))
        if left > 0:
            self._free.wait(left)
        ended = self._monotonic()
        self._credit = credit - (ended - started) * (1 - PAUSED_SHARE)
        self._credit_at = ended

    def event_loop(self) -> asyncio.AbstractEventLoop:
        """An event loop that waits for the window after each poll of its sockets, before
        it runs the callbacks that became ready.

        On Windows asyncio's own loop (a proactor: it has no selector to wait in, and a
        selector there takes 512 sockets at most); only the database calls wait there."""
        if sys.platform == "win32":
            return asyncio.new_event_loop()
        return asyncio.SelectorEventLoop(_GivingWaySelector(self))


def window_busy(give_way: GiveWay | None) -> AbstractContextManager[None]:
    """`give_way.window_busy()`, or nothing where no runtime shares the window's thread."""
    return give_way.window_busy() if give_way is not None else nullcontext()


class _GivingWaySelector(selectors.DefaultSelector):  # type: ignore[misc, valid-type]
    def __init__(self, give_way: GiveWay) -> None:
        super().__init__()
        self._give_way = give_way

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        ready = super().select(timeout)
        self._give_way.wait_for_window()
        return ready
