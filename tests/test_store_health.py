"""A database condition is one episode, however its writes flap (a nearly full disk)."""

from __future__ import annotations

import logging

import pytest

from jobdesk.runtime.health import SETTLE_S, StoreHealth
from jobdesk.store.faults import FaultKind, StoreFault

FULL = StoreFault(FaultKind.DISK_FULL, "disk full: free space on /mnt/x", "/mnt/x/a.db")


def test_a_flapping_full_disk_is_one_episode(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    shown: list[str | None] = []
    health = StoreHealth(shown.append, monotonic=lambda: now[0])
    caplog.set_level(logging.WARNING)

    health.failed(FULL)
    now[0] += 3
    health.recovered()  # a write that fit in space SQLite already had
    assert not health.failing  # new work may start again at once
    now[0] += 2
    health.failed(FULL)  # ... and the next one did not fit
    assert health.failing
    now[0] += 4
    health.recovered()
    now[0] += SETTLE_S - 0.1
    health.recovered()
    assert shown == ["disk full: free space on /mnt/x"]  # still the same episode
    now[0] += 0.1
    health.recovered()
    assert shown[-1] is None

    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("the database cannot be written: disk full")
    assert lines[1] == "the database takes writes again after 9 s (disk full)"


def test_a_stop_ends_a_condition_whose_writes_work_again() -> None:
    now = [0.0]
    shown: list[str | None] = []
    health = StoreHealth(shown.append, monotonic=lambda: now[0])
    health.failed(FULL)
    now[0] += 1
    health.settle()  # nothing has worked yet: still refused
    assert health.fault is not None
    health.recovered()
    health.settle()
    assert health.fault is None and shown[-1] is None
