"""Real processes for the fault tests: a simulated fleet that records what each device
received, jobdesk's command line with the real SSH driver, and faults made for real (a
small tmpfs that fills up, a file system remounted read-only, another program's lock).

Mounting needs root, as CI has; elsewhere the tests that mount are skipped with a reason.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jobdesk.sim.record import read_record

ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 60.0


def wait_for(condition: Callable[[], Any], timeout: float = WAIT_S, what: str = "") -> Any:
    """Poll `condition` (a look at a file or a database another process writes) until it
    holds; the other process gives no event to wait on."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


class Fleet:
    """`jobdesk sim` in its own process, with `--record`."""

    def __init__(self, tmp: Path, devices: int, faults: str | None = None) -> None:
        self.inventory = tmp / "fleet.csv"
        self.record = tmp / "record.jsonl"
        self.process: subprocess.Popen[str] | None = None
        chooser = random.Random()
        for _ in range(20):
            base = chooser.randrange(20000, 32000 - devices)
            argv = [sys.executable, "-m", "jobdesk.cli", "sim", "--devices", str(devices),
                    "--base-port", str(base), "--inventory", str(self.inventory),
                    "--record", str(self.record), "--reboot-seconds", "0.5"]
            if faults:
                argv += ["--faults", faults]
            with (tmp / "fleet.err").open("w") as errors:
                process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors,
                                           text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            assert process.stdout is not None
            if process.stdout.readline().strip() == "ready":
                self.process = process
                return
            process.wait()
            process.stdout.close()
        errors = (tmp / "fleet.err").read_text()
        raise AssertionError(f"the simulated fleet did not start: {errors}")

    def entries(self) -> list[dict[str, Any]]:
        return read_record(self.record) if self.record.exists() else []

    def count(self, match: Callable[[dict[str, Any]], bool]) -> dict[str, int]:
        """How often each device received what `match` selects."""
        return dict(collections.Counter(e["device"] for e in self.entries() if match(e)))

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                self.process.wait(timeout=30)
            if self.process.stdout is not None:
                self.process.stdout.close()


def applies(entry: dict[str, Any]) -> bool:
    return entry["kind"] == "exec" and " update config " in f" {entry['command']} "


def uploads(entry: dict[str, Any]) -> bool:
    return entry["kind"] == "upload"


class Jobdesk:
    """The command line with the real SSH driver; every platform folder inside `tmp`."""

    def __init__(self, tmp: Path, db: Path, **settings: Any) -> None:
        self.tmp = tmp
        self.db = db
        self.config = tmp / "settings.toml"
        self.config.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
        self.env = {**os.environ, "PYTHONPATH": str(ROOT),
                    "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config"),
                    "XDG_STATE_HOME": str(tmp / "state")}

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "jobdesk.cli", "--db", str(self.db),
                "--config", str(self.config), *args]

    def __call__(self, *args: str, ok: bool = True,
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self.argv(*args), capture_output=True, text=True,
                                env=self.env, cwd=self.tmp, timeout=timeout)
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    def start(self, *args: str) -> subprocess.Popen[str]:
        """A long-running command (`run`), its stderr kept in a file to read while it runs."""
        log = (self.tmp / f"run-{time.monotonic_ns()}.err").open("w")
        process = subprocess.Popen(self.argv(*args), stdout=subprocess.DEVNULL, stderr=log,
                                   text=True, env=self.env, cwd=self.tmp)
        process.stderr_path = Path(log.name)  # type: ignore[attr-defined]
        log.close()
        return process

    def config_job(self, fleet: Fleet, name: str = "ntp") -> int:
        """Import the fleet and create one configuration job for all of it."""
        self("devices", "import", str(fleet.inventory))
        snippet = self.tmp / f"{name}.cfg"
        snippet.write_text("ntp.server = 10.0.0.1\nusb.enabled = 1\n")
        job = self.json("jobs", "create", "--type", "config-update", "--name", name,
                        "--tag", "sim", "--file", str(snippet))
        return int(job["id"])

    def read(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """A look at the database from this (separate) process, as another reader would."""
        connection = sqlite3.connect(f"{self.db.as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            return connection.execute(query, params).fetchall()
        finally:
            connection.close()

    def completed_steps(self) -> int:
        return self.read("SELECT count(*) FROM step WHERE status = 'Completed'")[0][0]


def stderr_of(process: subprocess.Popen[str]) -> str:
    return Path(process.stderr_path).read_text()  # type: ignore[attr-defined]


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a file system (CI runs as root)")


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A small file system of its own at `folder`, to fill up or make read-only."""
    require_root()
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True, text=True,
    )
    if mounted.returncode != 0:  # a container without the right to mount
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def remount(folder: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(folder)], check=True)


def fill(folder: Path) -> Path:
    """Fill the file system of `folder` to the last byte; returns the filler to delete."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for block in (1 << 16, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(descriptor, b"\0" * block)
    finally:
        os.close(descriptor)
    return filler
