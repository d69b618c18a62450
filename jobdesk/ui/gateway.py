"""Store work off the UI thread: one worker thread runs queries and actions in order.

The window never waits on the database. It hands a function to the gateway and gets the
result (or the failure) back on its own thread through a queued signal; the callback runs
in the UI thread because the gateway itself lives there.

A failure comes back as a `Failure`: the words a person reads (it is a `str`) together
with the exception object, so a caller can tell a refusal the rules gave (a job cancelled
meanwhile) from a fault, and only a fault that is neither is logged as a crash.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QThread, Signal, Slot

from jobdesk.domain.rules import ActionRefused
from jobdesk.runtime.give_way import GiveWay, window_busy
from jobdesk.store import Store
from jobdesk.store.faults import FaultKind

log = logging.getLogger(__name__)



class Failure(str):
    """Why a store call failed, in words, with the exception that said so.

    A `str`, so a caller that only shows the words needs nothing else; `error` is the
    exception itself and `refused` tells a refusal (the rules said no, or the input was
    wrong: a person's matter, not a bug) from anything else.
    """

    error: BaseException

    def __new__(cls, text: str, error: BaseException) -> Failure:
        failure = super().__new__(cls, text)
        failure.error = error
        return failure

    @property
    def refused(self) -> bool:
        return isinstance(self.error, ActionRefused | ValueError)


Callback = Callable[[Any], None]
ErrorCallback = Callable[[Failure], None]


class _Worker(QObject):
    done = Signal(object, object)
    failed = Signal(object, object)  # token, Failure
    reachable = Signal(str)  # "" once the database answers again, else why it does not

    def __init__(self, store: Store | None, give_way: GiveWay | None) -> None:
        super().__init__()
        self._store = store
        self._give_way = give_way
        self._unreachable = False

    @Slot(object, object)
    def execute(self, token: int, function: Callable[[], Any]) -> None:
        if self._give_way is not None:
            self._give_way.wait_for_window()  # the window is busy with the last result
        try:
            result = function()
        except Exception as error:  # every error goes back to the caller, in words
            self.failed.emit(token, Failure(self._describe(error), error))
            return
        if self._unreachable:
            self._unreachable = False
            self.reachable.emit("")
        self.done.emit(token, result)

    def _describe(self, error: Exception) -> str:
        """A database condition (disk full, locked, read-only) or a refusal in words,
        logged in one line; anything else is a bug, logged with its traceback."""
        fault = self._store.fault_of(error) if self._store is not None else None
        if fault is not None and fault.kind is FaultKind.UNREACHABLE:
            if not self._unreachable:
                self._unreachable = True
                log.warning("%s; retrying", fault)
            self.reachable.emit(str(fault))
            return str(fault)
        if fault is not None:
            log.warning("a change was not saved: %s", fault)
            return str(fault)
        if isinstance(error, ActionRefused | ValueError):
            log.info("refused: %s", error)
            return str(error) or error.__class__.__name__
        log.exception("background store call failed")
        return str(error) or error.__class__.__name__

    @Slot()
    def finish(self) -> None:
        """The last queued call: end the thread's loop once the calls before it ran."""
        QThread.currentThread().quit()

    def release(self) -> None:
        """The thread ends: close its database connection (so closing the window leaves
        the database file complete)."""
        if self._store is not None:
            self._store.release_connection()


def while_alive(*owners: QObject) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Wrap gateway callbacks so a reply arriving after one of `owners` was deleted is
    dropped: a dialog closed while its query ran must not be touched."""

    def wrap(callback: Callable[[Any], None]) -> Callable[[Any], None]:
        def guarded(value: Any) -> None:
            if all(shiboken6.isValid(owner) for owner in owners):
                callback(value)

        return guarded

    return wrap


class _PythonThread(QThread):
    """A QThread whose event loop runs inside one Python call, for its whole life.

    Qt's own `run()` is C++: every queued call into Python on such a thread then gets a
    fresh interpreter thread state, and with it fresh `threading.local` data, so Peewee
    (which keeps each thread's connection there) opened a new database connection for
    every query of the window and left the old one to the garbage collector; on a
    PostgreSQL team database that is a new server connection per query.
    """

    def __init__(self, parent: QObject, at_end: Callable[[], None]) -> None:
        super().__init__(parent)
        self._at_end = at_end

    def run(self) -> None:
        try:
            self.exec()
        finally:
            # Here, not in a queued call: the loop may end before one posted with `quit`
            # runs, and the thread's connection would then be left open.
            self._at_end()


class StoreGateway(QObject):
    """Runs callables on the store's worker thread; results come back as callbacks."""

    _submit = Signal(object, object)
    _finish = Signal()
    error = Signal(object)  # a Failure nobody asked to handle
    # Why the database cannot be reached (the server is down, the VPN dropped), or "" once
    # it answers again: the window says so in a banner instead of an error per query.
    reachable = Signal(str)

    def __init__(self, parent: QObject | None = None, *, store: Store | None = None,
                 give_way: GiveWay | None = None) -> None:
        """`give_way`: the window's busy flag; the results are shown under it, and the
        worker waits on it between calls."""
        super().__init__(parent)
        self._give_way = give_way
        self._worker = _Worker(store, give_way)
        self._thread = _PythonThread(self, self._worker.release)
        self._thread.setObjectName("jobdesk-store")
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._submit.connect(self._worker.execute)
        self._finish.connect(self._worker.finish)
        self._worker.reachable.connect(self.reachable)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self._tokens = itertools.count(1)
        self._pending: dict[int, tuple[Callback | None, ErrorCallback | None]] = {}
        self._thread.start()

    def call(
        self,
        function: Callable[[], Any],
        on_done: Callback | None = None,
        on_error: ErrorCallback | None = None,
    ) -> int:
        token = next(self._tokens)
        self._pending[token] = (on_done, on_error)
        self._submit.emit(token, function)
        return token

    @Slot(object, object)
    def _on_done(self, token: int, result: Any) -> None:
        on_done, _ = self._pending.pop(token, (None, None))
        if on_done is not None:
            with window_busy(self._give_way):
                on_done(result)

    @Slot(object, object)
    def _on_failed(self, token: int, message: Failure) -> None:
        _, on_error = self._pending.pop(token, (None, None))
        with window_busy(self._give_way):
            if on_error is not None:
                on_error(message)
            else:
                self.error.emit(message)

    def stop(self) -> None:
        """Finish the calls already handed over, then end the thread."""
        if self._thread.isRunning():
            self._finish.emit()  # queued behind the calls handed over before
        self._thread.wait()
