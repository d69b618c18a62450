"""What a newcomer and an installer rely on: version, paths, self-test, demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def jobdesk(*args: str, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jobdesk", *args], capture_output=True,
                          text=True, timeout=timeout, env=env or os.environ.copy())


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """Platform folders inside the test's own directory."""
    return {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_STATE_HOME": str(tmp_path / "state"), "QT_QPA_PLATFORM": "offscreen"}


def test_version_comes_from_pyproject() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = jobdesk("--version")
    assert result.stdout.strip() == f"jobdesk {declared}"


def test_paths_names_every_place(tmp_path: Path) -> None:
    result = jobdesk("paths", "--json", env=isolated_env(tmp_path))
    places = json.loads(result.stdout)
    assert set(places) == {"database", "settings", "profiles", "known_hosts", "local_ca",
                           "secrets_file", "logs"}
    assert all(value.startswith(str(tmp_path)) for value in places.values())


def test_self_test_runs_a_job_against_a_simulated_device(tmp_path: Path) -> None:
    result = jobdesk("--self-test", env=isolated_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "self-test OK"


def test_the_demo_opens_and_closing_it_leaves_nothing_running(tmp_path: Path) -> None:
    env = {**isolated_env(tmp_path), "TMPDIR": str(tmp_path)}
    result = jobdesk("demo", "--quit-after", "6", env=env)
    assert result.returncode == 0, result.stderr
    assert not list(tmp_path.glob("jobdesk-demo-*"))  # the temporary database is gone
    log = (tmp_path / "state" / "jobdesk" / "log" / "jobdesk.log").read_text()
    assert "window on" in log and "unexpected error" not in log


def test_the_demo_on_a_given_database_shows_every_kind_of_job(tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    result = jobdesk("--db", str(database), "demo", "--quit-after", "12",
                     env=isolated_env(tmp_path))
    assert result.returncode == 0, result.stderr
    listed = jobdesk("--db", str(database), "jobs", "list", "--all", "--json",
                     env=isolated_env(tmp_path))
    states = {job["name"]: job["state"] for job in json.loads(listed.stdout)}
    assert states["Certificates — depot south"] == "Succeeded"
    assert states["Firmware 4.9.0 — pilot"] == "Partially Succeeded"  # one login refused
    # Back on the old version after the flash, with one attempt allowed (B8 max_attempts).
    assert states["Firmware 4.9.0 — sim-021"] == "Failed"
    assert states["Diagnostics — approve each batch"] == "Paused"  # waits for approval
    assert states["Collect logs — first plan"] == "Replaced"
    assert states["Collect logs"] == "Scheduled"
    assert states["NTP and syslog servers"] == "Running"  # two devices are offline
    assert states["Firmware 4.9.0 — depot north"] == "Scheduled"
    assert states["Reboot after maintenance"] == "Cancelled Manually"
    assert any(job["system"] for job in json.loads(listed.stdout))
