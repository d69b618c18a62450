"""Waiting on another process: it sends no Qt signal, so its outcome is polled until a
deadline (the only waiting-by-polling the tests do)."""

from __future__ import annotations

import time
from typing import Any


def wait_for(predicate: Any, timeout: float = 20) -> Any:
    """The first truthy value of `predicate()`; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")
