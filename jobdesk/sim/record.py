"""What each simulated device received, one JSON object per line (`jobdesk sim --record`).

Tests and benchmarks count from it how often each step ran on each device: a step that ran
twice after a crash shows as two `exec` or `upload` lines. Each line is written and
flushed as it happens, so the record is complete even when the runtime talking to the
fleet is killed.

    {"device": "sim-007", "at": "2026-11-28T09:00:00.123456+00:00", "kind": "exec",
     "command": "cli update config /tmp/jobdesk-job1-snippet.cfg", "exit": 0}
    {"device": "sim-007", "at": "...", "kind": "upload",
     "path": "/tmp/jobdesk-job1-snippet.cfg.jobdesk.part", "bytes": 24, "exit": 0}
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO


class Recorder:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO | None = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def _write(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            if self._file is not None:
                self._file.write(line)
                self._file.flush()

    def executed(self, device: str, command: str, exit_status: int) -> None:
        self._write({"device": device, "at": _now(), "kind": "exec", "command": command,
                     "exit": exit_status})

    def uploaded(self, device: str, path: str, size: int) -> None:
        self._write({"device": device, "at": _now(), "kind": "upload", "path": path,
                     "bytes": size, "exit": 0})

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _now() -> str:
    return datetime.now(UTC).isoformat()


def read_record(path: Path) -> list[dict[str, Any]]:
    """The entries of a record file (a line cut off by a killed simulator is skipped)."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries
