"""`jobdesk db copy` and `db check`: the team's jobs to a laptop and the results back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import Cli, write_inventory

pytestmark = pytest.mark.slow


def test_jobs_go_to_a_laptop_and_their_results_come_back_without_doubles(
    tmp_path: Path, pg_database: str
) -> None:
    team = Cli(tmp_path, pg_database)
    team.configure(retry_interval_s=1)
    team.json("devices", "import", str(write_inventory(team, [
        "r1,10.0.0.1,22,admin,netmodule,site", "r2,10.0.0.2,22,admin,netmodule,site"])))
    job = team.json("jobs", "create", "--type", "reboot", "--name", "nightly", "--tag", "site")
    laptop_db = str(tmp_path / "laptop.db")

    copied = team.json("db", "copy", pg_database, laptop_db)
    assert copied == {"devices_added": 2, "jobs_added": 1, "jobs_updated": 0,
                      "tasks_updated": 0, "jobs_unchanged": 0}
    laptop = Cli(tmp_path, laptop_db)
    laptop.configure(retry_interval_s=1)
    assert [j["name"] for j in laptop.json("jobs", "list")] == ["nightly"]

    # On site, without the pg_database: the laptop runs the job.
    laptop("run", "--until-done", "--max-seconds", "30", timeout=60)
    [done] = laptop.json("jobs", "list")
    assert done["state"] == "Succeeded"

    refused = team("db", "copy", laptop_db, pg_database, ok=False)
    assert refused.returncode == 1 and "--merge" in refused.stderr
    merged = team.json("db", "copy", laptop_db, pg_database, "--merge")
    assert merged["jobs_added"] == 0 and merged["jobs_updated"] == 1
    assert merged["tasks_updated"] == 2
    [back] = team.json("jobs", "list")
    assert back["id"] == job["id"] and back["state"] == "Succeeded"
    tasks = team.json("jobs", "show", str(job["id"]))["tasks"]
    assert [t["state"] for t in tasks] == ["Succeeded", "Succeeded"]
    # What each attempt did on site came back with the tasks.
    assert [[s["name"] for s in t["attempts"][-1]["steps"]] for t in tasks] == [
        ["connect", "reboot", "wait-online"]] * 2
    again = team.json("db", "copy", laptop_db, pg_database, "--merge")
    assert again["jobs_unchanged"] == 1 and again["tasks_updated"] == 0
    # A change of the job alone (a later Expires At) travels too.
    extended = laptop.json("jobs", "extend", str(done["id"]), "--by", "2h")
    moved = team.json("db", "copy", laptop_db, pg_database, "--merge")
    assert moved["jobs_updated"] == 1 and moved["tasks_updated"] == 0
    assert team.json("jobs", "show", str(job["id"]))["expires_at"] == extended["expires_at"]

    checked = team("db", "check", "--json")
    report = json.loads(checked.stdout)
    assert report["ok"] and report["counts"]["job"] == 1 and report["counts"]["task"] == 2
    assert report["schema"] >= 3


def test_check_finds_what_breaks_the_rules(tmp_path: Path) -> None:
    cli = Cli(tmp_path, str(tmp_path / "jobdesk.db"))
    cli("devices", "add", "r1", "--host", "10.0.0.1")
    cli("jobs", "create", "--type", "reboot", "--name", "rb", "--device", "r1")
    assert cli("db", "check").stdout.strip().endswith("integrity: ok")
    cli.execute("UPDATE task SET next_attempt_at = NULL")
    broken = cli("db", "check", ok=False)
    assert broken.returncode == 1
    assert "1 waiting tasks without a next attempt" in broken.stdout
