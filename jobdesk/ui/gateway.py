"""Store work off the UI thread: one worker thread runs queries and actions in order.

The window never waits on the database. It hands a function to the gateway and gets the
result (or the error, in words) back on its own thread through a queued signal; the
callback runs in the UI thread because the gateway itself lives there.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

log = logging.getLogger(__name__)

Callback = Callable[[Any], None]
ErrorCallback = Callable[[str], None]


class _Worker(QObject):
    done = Signal(object, object)
    failed = Signal(object, str)

    @Slot(object, object)
    def execute(self, token: int, function: Callable[[], Any]) -> None:
        try:
            result = function()
        except Exception as error:  # every error goes back to the caller, in words
            log.exception("background store call failed")
            self.failed.emit(token, str(error) or error.__class__.__name__)
            return
        self.done.emit(token, result)


class StoreGateway(QObject):
    """Runs callables on the store's worker thread; results come back as callbacks."""

    _submit = Signal(object, object)
    error = Signal(str)  # a failure nobody asked to handle

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread(self)
        self._thread.setObjectName("jobdesk-store")
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._submit.connect(self._worker.execute)
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
            on_done(result)

    @Slot(object, str)
    def _on_failed(self, token: int, message: str) -> None:
        _, on_error = self._pending.pop(token, (None, None))
        if on_error is not None:
            on_error(message)
        else:
            self.error.emit(message)

    def stop(self) -> None:
        """Finish the calls already handed over, then end the thread."""
        self._thread.quit()
        self._thread.wait()
