"""SIGTERM and SIGINT close the window the way Ctrl+Q does.

Python runs a signal handler only when the interpreter next gets control, and while Qt's
event loop waits that may be never: Ctrl+C in the terminal did nothing and SIGTERM killed
the process without its cleanup (the demo's fleet and temporary folder stayed behind).
The C-level handler writes the signal's number to a socket (`signal.set_wakeup_fd`); a
QSocketNotifier wakes the event loop on it, and the window closes as from its menu.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QSocketNotifier

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class QuitOnSignals(QObject):
    def __init__(self, close: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._close = close
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno())
        # A Python handler must be installed for the wakeup byte to be written; the work
        # itself happens in the event loop, in `_woken`.
        self._previous = {signum: signal.signal(signum, _noted) for signum in SIGNALS}
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read,
                                         self)
        self._notifier.activated.connect(self._woken)
        self.received: list[int] = []

    def _woken(self) -> None:
        try:
            data = self._reader.recv(64)
        except BlockingIOError:
            return
        self.received.extend(data)
        self._close()  # a second signal while closing is harmless: close() is idempotent

    def restore(self) -> None:
        """Put the previous handlers back (the event loop has ended)."""
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous_fd)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._reader.close()
        self._writer.close()


def _noted(_signum: int, _frame: Any) -> None:
    """The signal is handled in the event loop (see the module's docstring)."""
