"""Fail any test that leaves a thread running, and say where that thread was started.

A runtime, store worker or check dialog that outlives its test keeps talking to a
database the next test has replaced, and its failures surface, much later, in an
unrelated test. So every thread a test starts (Python's and Qt's) must be gone when the
test ends; each gets a short grace period to finish what it was told to stop.
"""

from __future__ import annotations

import threading
import traceback
import weakref
from collections.abc import Iterator
from typing import Any

GRACE_SECONDS = 5.0

_origins: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_started_qthreads: weakref.WeakSet[Any] = weakref.WeakSet()


def _where() -> str:
    frames = [frame for frame in traceback.extract_stack()[:-2]
              if "/site-packages/" not in frame.filename
              and not frame.filename.endswith("/thread_guard.py")]
    return "".join(traceback.format_list(frames[-4:]))


def install() -> None:
    """Record where each thread starts (patched once, before any test runs)."""
    python_start = threading.Thread.start

    def start_python(self: threading.Thread) -> None:
        _origins[self] = _where()
        python_start(self)

    threading.Thread.start = start_python  # type: ignore[method-assign]

    try:
        from PySide6.QtCore import QThread
    except ImportError:  # the domain's tests run without Qt
        return
    qt_start = QThread.start

    def start_qt(self: QThread, *args: Any) -> None:
        _origins[self] = _where()
        _started_qthreads.add(self)
        qt_start(self, *args)

    QThread.start = start_qt  # type: ignore[method-assign]


def watch() -> Iterator[None]:
    """The body of an autouse fixture: threads alive before the test are not its own."""
    before = set(threading.enumerate())
    qthreads_before = set(_started_qthreads)
    yield
    leftovers: list[str] = []
    for thread in threading.enumerate():
        if thread in before or thread is threading.current_thread():
            continue
        if isinstance(thread, threading._DummyThread):  # a QThread's view: checked below
            continue
        thread.join(GRACE_SECONDS)
        if thread.is_alive():
            leftovers.append(f"thread {thread.name!r} started at:\n{_origins.get(thread, '?')}")
    for qthread in list(_started_qthreads):
        if qthread in qthreads_before:
            continue
        try:
            running = qthread.isRunning() and not qthread.wait(int(GRACE_SECONDS * 1000))
        except RuntimeError:  # its C++ object is already gone: it cannot be running
            continue
        if running:
            leftovers.append(f"QThread {qthread.objectName()!r} started at:\n"
                             f"{_origins.get(qthread, '?')}")
    if leftovers:
        raise AssertionError("the test left threads running:\n" + "\n".join(leftovers))
