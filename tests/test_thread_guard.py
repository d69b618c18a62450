"""The guard that fails tests leaving threads behind does catch them, and says where."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThread

from tests import thread_guard


def test_a_python_thread_left_running_fails_the_test_and_names_its_origin(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(thread_guard, "GRACE_SECONDS", 0.05)
    release = threading.Event()
    guard = thread_guard.watch()
    next(guard)
    leaked = threading.Thread(target=release.wait, name="leaky")
    leaked.start()
    try:
        with pytest.raises(AssertionError, match="leaky") as failure:
            next(guard)
        assert "test_thread_guard.py" in str(failure.value)
    finally:
        release.set()
        leaked.join()


def test_a_qthread_left_running_fails_the_test(monkeypatch: pytest.MonkeyPatch,
                                               qapp: object) -> None:
    monkeypatch.setattr(thread_guard, "GRACE_SECONDS", 0.05)
    guard = thread_guard.watch()
    next(guard)
    qthread = QThread()
    qthread.setObjectName("stray-worker")
    qthread.start()  # runs its own event loop until told to quit
    try:
        with pytest.raises(AssertionError, match="stray-worker"):
            next(guard)
    finally:
        qthread.quit()
        qthread.wait()


def test_a_thread_that_ends_within_the_grace_period_is_fine() -> None:
    guard = thread_guard.watch()
    next(guard)
    finished = threading.Thread(target=lambda: None)
    finished.start()
    with pytest.raises(StopIteration):
        next(guard)
