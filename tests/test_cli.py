"""The CLI as scripts use it: real processes, a real database file, the fake driver.

The runtime subprocesses load `tests.fake_driver` through the `driver` setting, exactly
as a site would plug in its own driver.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from jobdesk.store import Store
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]


class Cli:
    def __init__(self, tmp: Path, database: str) -> None:
        self.tmp = tmp
        self.db = database  # a SQLite file's path or a PostgreSQL URL
        self.config = tmp / "settings.toml"
        self.script = tmp / "fleet.json"
        self.script.write_text("{}")
        self.configure()
        # The platform folders (data: CA, known hosts, secrets; logs) stay inside the test.
        self.env = {**os.environ, "PYTHONPATH": str(ROOT),
                    "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config"),
                    "XDG_STATE_HOME": str(tmp / "state")}

    def configure(self, **settings: Any) -> None:
        lines = [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
        lines += ['driver = "tests.fake_driver:create"', "[driver_options]",
                  f"script = {json.dumps(str(self.script))}"]
        self.config.write_text("\n".join(lines) + "\n")

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "jobdesk.cli", "--db", str(self.db),
                "--config", str(self.config), *args]

    def __call__(self, *args: str, ok: bool = True, stdin: str | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self.argv(*args), capture_output=True, text=True, env=self.env,
                                cwd=self.tmp, input=stdin, timeout=timeout)
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)


    def execute(self, statement: str) -> None:
        """Change the database from outside, as another program (or time) would."""
        with Store(self.db) as store, store.transaction():
            store.db.execute_sql(statement)

    def database_text(self) -> str:
        """Every value stored in the database, as text (to look for what must not be)."""
        with Store(self.db) as store:
            return "\n".join(
                repr(row) for table in store.db.get_tables()
                for row in store.db.execute_sql(f'SELECT * FROM "{table}"').fetchall()
            )


@pytest.fixture
def cli(tmp_path: Path, database: str) -> Cli:
    """The command line on each backend: every CLI test runs on SQLite and PostgreSQL."""
    return Cli(tmp_path, database)


def write_inventory(cli: Cli, rows: list[str]) -> Path:
    path = cli.tmp / "fleet.csv"
    path.write_text("name,host,port,user,profile,tags\n" + "\n".join(rows) + "\n")
    return path


def test_a_whole_lifecycle_headless(cli: Cli) -> None:
    cli.configure(retry_interval_s=1, fire_and_forget_lifetime_s=60)
    cli.script.write_text(json.dumps(
        {"faults": [{"device": "r3", "op": "connect", "error": "unreachable",
                     "message": "no route to host"}]}
    ))
    inventory = write_inventory(cli, [
        "r1,10.0.0.1,22,admin,netmodule,site-a;north",
        "r2,10.0.0.2,,admin,netmodule,site-a",
        "r3,10.0.0.3,2222,admin,generic-linux,site-a",
    ])
    assert cli.json("devices", "import", str(inventory)) == {
        "added": 3, "updated": 0, "rejected": []
    }
    devices = cli.json("devices", "list")
    assert [(d["name"], d["port"], d["tags"]) for d in devices] == [
        ("r1", 22, ["north", "site-a"]), ("r2", 22, ["site-a"]), ("r3", 2222, ["site-a"])
    ]
    snippet = cli.tmp / "ntp.cfg"
    snippet.write_text("ntp.server = 10.0.0.1\n")
    job = cli.json("jobs", "create", "--type", "config-update", "--name", "NTP",
                   "--tag", "site-a", "--file", str(snippet))
    assert job["state"] == "Scheduled" and job["progress"] == {"done": 0, "total": 3}
    assert job["schedule"] == {"kind": "fire-and-forget"}

    # r3 is retried every second; the job outlives this run...
    run = cli("run", "--until-done", "--max-seconds", "4", ok=False, timeout=60)
    assert run.returncode == 3, run.stderr
    # ...and once its 60 s lifetime has passed (moved back here rather than waited for),
    # the next run expires r3 and the job ends.
    cli.execute("UPDATE job SET created_at = created_at - 60000000, "
                "expires_at = expires_at - 60000000")
    run = cli("run", "--until-done", "--max-seconds", "30", ok=False, timeout=60)
    assert run.returncode == 0, run.stderr

    [listed] = cli.json("jobs", "list")
    assert set(listed) >= {"id", "name", "type", "system", "state", "progress", "schedule",
                           "created_at", "expires_at"}
    assert listed["state"] == "Partially Succeeded"
    assert listed["progress"] == {"done": 3, "total": 3}
    assert listed["created_at"].endswith("+00:00")
    shown = cli.json("jobs", "show", str(job["id"]))
    tasks = {t["device"]: t for t in shown["tasks"]}
    assert tasks["r1"]["state"] == tasks["r2"]["state"] == "Succeeded"
    r3 = tasks["r3"]
    assert r3["state"] == "Failed" and r3["reason"].startswith("expired")
    assert r3["attempt_count"] >= 3  # retried every second until the job expired
    assert len(r3["attempts"]) == r3["attempt_count"]
    assert [a["number"] for a in r3["attempts"]] == list(range(1, r3["attempt_count"] + 1))
    assert all(a["steps"][0]["status"] == "Failed" for a in r3["attempts"])
    assert r3["current_step"] == "connect"
    assert r3["step_progress"] == {"done": 0, "total": 4}
    connect = r3["steps"][0]
    assert set(connect) == {"name", "status", "started_at", "skipped_at", "completed_at",
                            "message", "fix_hint", "shown_as", "will_run"}
    # The job expired: nothing of this task runs again, and nothing reads as waiting.
    assert not any(s["will_run"] for s in r3["steps"])
    assert [s["shown_as"] for s in r3["steps"]] == ["Failed"] + ["Not run"] * 3
    assert connect["status"] == "Failed"
    assert connect["message"] == "unreachable: no route to host"
    assert connect["fix_hint"]
    # A scripted `--until-done` run makes no housekeeping jobs; a plain runtime refreshes
    # device info by itself, and those system jobs stay out of the list.
    assert cli.json("jobs", "list", "--system") == []
    cli("run", "--max-seconds", "3", timeout=60)
    system = cli.json("jobs", "list", "--system")
    assert system and all(j["system"] for j in system)
    assert len(cli.json("jobs", "list", "--all")) == len(system) + 1
    failed = cli.json("jobs", "list", "--state", "partially-succeeded")
    assert [j["id"] for j in failed] == [job["id"]]

    # r3 is fixed by hand: retry with a new lifetime, and it goes through.
    cli.script.write_text("{}")
    refused = cli("tasks", "retry", str(job["id"]), "r3", ok=False)
    assert refused.returncode == 1 and "expired" in refused.stderr
    assert refused.stderr.count("\n") == 1
    retried = cli.json("tasks", "retry", str(job["id"]), "r3", "--extend")
    assert retried["state"] == "Rescheduled"
    cli("run", "--until-done", "--max-seconds", "30", timeout=60)
    assert cli.json("jobs", "show", str(job["id"]))["state"] == "Succeeded"


def test_skip_step_and_cancel_from_the_cli(cli: Cli) -> None:
    cli("devices", "add", "r1", "--host", "10.0.0.1")
    cli("devices", "add", "r2", "--host", "10.0.0.2")
    cli.script.write_text(json.dumps(
        {"faults": [{"device": "r1", "op": "reboot", "error": "auth"}]}
    ))
    job = cli.json("jobs", "create", "--type", "reboot", "--name", "rb", "--device", "r1")
    cli("run", "--until-done", "--max-seconds", "30", timeout=60)
    shown = cli.json("jobs", "show", str(job["id"]))
    assert shown["state"] == "Failed"
    assert shown["tasks"][0]["current_step"] == "reboot"
    step = cli.json("tasks", "skip-step", str(job["id"]), "r1", "reboot")
    assert step["status"] == "Skipped" and step["skipped_at"]
    cli("tasks", "retry", str(job["id"]), "r1")
    cli("run", "--until-done", "--max-seconds", "30", timeout=60)
    shown = cli.json("jobs", "show", str(job["id"]))
    assert shown["state"] == "Succeeded"
    assert [s["status"] for s in shown["tasks"][0]["steps"]] == [
        "Completed", "Skipped", "Completed"
    ]
    first, second = shown["tasks"][0]["attempts"]
    assert [(s["name"], s["status"]) for s in first["steps"]] == [
        ("connect", "Completed"), ("reboot", "Failed")]
    # The skip is on record in the attempt that took it as it was.
    assert [(s["name"], s["status"]) for s in second["steps"]] == [
        ("reboot", "Skipped"), ("wait-online", "Completed")]
    assert second["steps"][0]["message"] == "skipped by a person"

    later = cli.json("jobs", "create", "--type", "command", "--name", "later",
                     "--device", "r1", "--device", "r2", "--command", "uptime",
                     "--scheduled", "--from", "2030-01-01", "--to", "2030-01-31",
                     "--window", "22:00-04:00", "--weekdays", "sat,sun", "--tz",
                     "Europe/Zurich")
    assert later["state"] == "Scheduled"
    # The last window opens on Sunday 27 January and closes on Monday morning.
    assert later["expires_at"] == "2030-01-28T03:00:00+00:00"
    task = cli.json("tasks", "cancel", str(later["id"]), "r2")
    assert task["state"] == "Cancelled" and task["cancel_requested_at"]
    assert [s["name"] for s in task["steps"]] == ["connect", "run", "check-exit"]
    assert [s["shown_as"] for s in task["steps"]] == ["Not run"] * 3
    assert task["step_progress"] == {"done": 0, "total": 3} and task["attempts"] == []
    assert cli.json("jobs", "cancel", str(later["id"]))["state"] == "Cancelled Manually"
    again = cli("jobs", "cancel", str(later["id"]), ok=False)
    assert again.returncode == 1 and "already Cancelled Manually" in again.stderr


def test_run_until_done_exits_3_when_time_runs_out(cli: Cli) -> None:
    cli("devices", "add", "r1", "--host", "10.0.0.1")
    cli("jobs", "create", "--type", "reboot", "--name", "rb", "--device", "r1", "--scheduled",
        "--from", "2030-01-01", "--to", "2030-01-02", "--window", "01:00-02:00",
        "--weekdays", "mon-sun", "--tz", "UTC")
    result = cli("run", "--until-done", "--max-seconds", "1", ok=False)
    assert result.returncode == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2030-01-05", "--to", "2030-01-01", "--window", "22:00-04:00",
          "--weekdays", "mon"), "before"),
        (("--from", "2030-01-01", "--to", "2030-01-02", "--window", "22:00-04:00",
          "--weekdays", "sat"), "sat"),
        (("--from", "2030-01-01", "--to", "2030-01-02", "--window", "22:00-04:00",
          "--weekdays", "mon", "--tz", "Europe/Zurch"), "Europe/Zurich"),
        (("--from", "2020-01-01", "--to", "2020-01-02", "--window", "22:00-04:00",
          "--weekdays", "mon-sun", "--tz", "UTC"), "no window left"),
    ],
)
def test_impossible_schedules_are_refused_in_words(
    cli: Cli, args: tuple[str, ...], message: str
) -> None:
    cli("devices", "add", "r1", "--host", "10.0.0.1")
    result = cli("jobs", "create", "--type", "reboot", "--name", "rb", "--device", "r1",
                 "--scheduled", *args, ok=False)
    assert result.returncode == 1
    assert result.stderr.startswith("jobdesk: error: ") and result.stderr.count("\n") == 1
    assert message.lower() in result.stderr.lower()
    assert cli.json("jobs", "list", "--all") == []


def test_a_whole_day_window_is_accepted(cli: Cli) -> None:
    """00:00-00:00 is a whole day (spec B2), not a window of no length."""
    cli("devices", "add", "r1", "--host", "10.0.0.1")
    job = cli.json("jobs", "create", "--type", "reboot", "--name", "days", "--device", "r1",
                   "--scheduled", "--from", "2030-01-07", "--to", "2030-01-13",
                   "--window", "00:00-00:00", "--weekdays", "mon-fri", "--tz", "Europe/Zurich")
    assert job["state"] == "Scheduled"
    assert job["schedule"]["window"] == "00:00-00:00"
    # Monday 7 to Friday 11 January: the last day closes as Saturday begins (00:00 CET).
    assert job["expires_at"] == "2030-01-11T23:00:00+00:00"
    shown = cli("jobs", "show", str(job["id"])).stdout
    assert "Schedule: Mon–Fri all day (00:00–00:00), Europe/Zurich" in shown
    help_text = " ".join(cli("jobs", "create", "--help").stdout.split())
    assert "equal times are all day (00:00-00:00)" in help_text


def test_a_malformed_inventory_imports_nothing_and_names_the_lines(cli: Cli) -> None:
    inventory = write_inventory(cli, [
        "r1,10.0.0.1,22,admin,netmodule,a",
        "r2,10.0.0.2,eighty,admin,netmodule,a",
        "r1,10.0.0.3,22,admin,netmodule,a",
    ])
    result = cli("devices", "import", str(inventory), ok=False)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "line 3: port 'eighty' is not a number" in result.stderr
    assert "line 4: name 'r1' appears already on line 2" in result.stderr
    assert cli.json("devices", "list") == []
    partial = cli.json("devices", "import", str(inventory), "--skip-invalid")
    assert partial["added"] == 1 and len(partial["rejected"]) == 2


def test_a_job_for_an_unknown_device_or_without_its_file_is_refused(cli: Cli) -> None:
    result = cli("jobs", "create", "--type", "reboot", "--name", "x", "--device", "nope",
                 ok=False)
    assert "no device named 'nope'" in result.stderr
    cli("devices", "add", "r1", "--host", "10.0.0.1")
    result = cli("jobs", "create", "--type", "firmware-update", "--name", "x",
                 "--device", "r1", ok=False)
    assert "needs --file" in result.stderr
    bad = cli.tmp / "bad.cfg"
    bad.write_text("this is not a snippet\n")
    result = cli("jobs", "create", "--type", "config-update", "--name", "x",
                 "--device", "r1", "--file", str(bad), ok=False)
    assert "expected 'key = value'" in result.stderr


def test_schedule_preview_lists_the_next_windows(cli: Cli) -> None:
    windows = cli.json("schedule", "preview", "--from", "2026-03-27", "--to", "2026-04-03",
                       "--window", "22:00-04:00", "--weekdays", "fri,sat", "--tz",
                       "Europe/Zurich", "--count", "3", "--now", "2026-03-01T00:00:00+00:00")
    assert windows == [
        {"opens": "2026-03-27T22:00:00+01:00", "closes": "2026-03-28T04:00:00+01:00"},
        {"opens": "2026-03-28T22:00:00+01:00", "closes": "2026-03-29T04:00:00+02:00"},
        {"opens": "2026-04-03T22:00:00+02:00", "closes": "2026-04-04T04:00:00+02:00"},
    ]


def test_a_bad_settings_file_is_named_in_the_error(cli: Cli) -> None:
    cli.config.write_text("retry_intervall_s = 10\n")
    result = cli("jobs", "list", ok=False)
    assert result.returncode == 1
    assert "unknown setting 'retry_intervall_s'" in result.stderr
    assert str(cli.config) in result.stderr


def test_kill_9_mid_attempt_loses_nothing(cli: Cli) -> None:
    cli("devices", "add", "r1", "--host", "10.0.0.1")
    cli.script.write_text(json.dumps(
        {"delays": [{"device": "r1", "op": "upload", "seconds": 60}]}
    ))
    snippet = cli.tmp / "ntp.cfg"
    snippet.write_text("ntp.server = 10.0.0.1\n")
    job = cli.json("jobs", "create", "--type", "config-update", "--name", "NTP",
                   "--device", "r1", "--file", str(snippet))
    runtime = subprocess.Popen(cli.argv("run"), env=cli.env, cwd=cli.tmp,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def uploading() -> bool:
            task = cli.json("jobs", "show", str(job["id"]))["tasks"][0]
            return task["state"] == "Running" and task["current_step"] == "upload-snippet"

        wait_for(uploading)
    finally:
        runtime.send_signal(signal.SIGKILL)
        runtime.wait()

    # No runtime holds the task any more: a reader shows it interrupted, not Running.
    task = cli.json("jobs", "show", str(job["id"]))["tasks"][0]
    assert task["state"] == "Rescheduled" and task["reason"] == "interrupted"
    assert [s["shown_as"] for s in task["steps"]][:2] == ["Completed", "Pending"]
    cli.script.write_text("{}")  # the device answers quickly now
    cli("run", "--until-done", "--max-seconds", "30", timeout=60)
    shown = cli.json("jobs", "show", str(job["id"]))
    assert shown["state"] == "Succeeded"
    task = shown["tasks"][0]
    assert task["attempt_count"] == 2
    assert [s["status"] for s in task["steps"]] == ["Completed"] * 4
    first, second = task["attempts"]
    # The killed attempt's upload did not finish: on record as such, run again in attempt 2.
    assert [(s["name"], s["status"]) for s in first["steps"]] == [
        ("connect", "Completed"), ("upload-snippet", "Failed")]
    assert first["steps"][1]["message"].startswith("interrupted")
    assert [s["name"] for s in second["steps"]] == ["upload-snippet", "apply", "verify-values"]
    assert not [j for j in cli.json("jobs", "list", "--all") if j["state"] == "Running"]


def test_a_password_is_read_from_stdin_and_kept_out_of_the_database(cli: Cli) -> None:
    secret = "pa55-word-for-r1"
    cli("devices", "add", "r1", "--host", "10.0.0.1", "--password-stdin", stdin=secret + "\n")
    stored = list((cli.tmp / "data").rglob("secrets.json"))
    keyring_in_use = not stored
    if not keyring_in_use:
        assert json.loads(stored[0].read_text()) == {"r1": secret}
        assert stored[0].stat().st_mode & 0o777 == 0o600
    assert secret not in cli.database_text()
    for file in cli.tmp.glob("jobdesk.db*"):
        assert secret.encode() not in file.read_bytes()
    changed = cli("devices", "set-password", "r1", stdin="another-one\n")
    assert "password of r1 stored" in changed.stdout
    missing = cli("devices", "set-password", "nope", stdin="x\n", ok=False)
    assert missing.returncode == 1 and "no device named 'nope'" in missing.stderr



def test_names_are_shown_on_one_line_and_checked_when_created(cli: Cli) -> None:
    cli("devices", "add", "r1", "--host", "10.0.0.1")
    refused = cli("jobs", "create", "--type", "reboot", "--name", "night\nreboot",
                  "--device", "r1", ok=False)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "line breaks" in refused.stderr
    cli("jobs", "create", "--type", "reboot", "--name", "\u202etxt.exe", "--device", "r1")
    listed = cli("jobs", "list").stdout.splitlines()
    assert len(listed) == 2 and "\\u202etxt.exe" in listed[1] and "\u202e" not in listed[1]


def test_text_output_writes_times_as_the_window_does(cli: Cli) -> None:
    """Created and expiry times carry their zone, as in the window and the report."""
    cli("devices", "add", "r1", "--host", "10.0.0.1")
    cli("jobs", "create", "--type", "reboot", "--name", "night", "--device", "r1")
    listed = cli("jobs", "list").stdout.splitlines()[1]
    assert re.search(r"\b\d\d [A-Z][a-z]{2}( \d{4})? \d\d:\d\d [A-Z+-][A-Za-z0-9]*\b", listed)
    assert not re.search(r"\d{4}-\d\d-\d\d", listed)


@pytest.mark.parametrize(
    "args",
    [
        ("jobs", "show", str(2**70)),
        ("jobs", "cancel", "0"),
        ("tasks", "retry", "-1", "r1"),
        ("jobs", "list", "--limit", "0"),
        ("jobs", "list", "--offset", str(2**64)),
        ("run", "--max-seconds", "nan"),
        ("run", "--max-seconds", "inf"),
        ("run", "--max-seconds", "-1"),
        ("schedule", "preview", "--from", "2030-01-01", "--to", "2030-01-02", "--window",
         "22:00-04:00", "--weekdays", "mon", "--count", "100000"),
    ],
)
def test_numbers_out_of_range_get_one_line(cli: Cli, args: tuple[str, ...]) -> None:
    result = cli(*args, ok=False)
    assert result.returncode == 2
    command = f"jobdesk {args[0]} {args[1]}" if args[0] != "run" else "jobdesk run"
    assert result.stderr.startswith(f"{command}: error: ") and result.stderr.count("\n") == 1
    assert result.stderr.rstrip().endswith(f"see '{command} --help'")
    assert "Traceback" not in result.stderr


def test_a_profile_must_exist_when_a_device_is_added(cli: Cli) -> None:
    refused = cli("devices", "add", "r1", "--host", "10.0.0.1", "--profile", "doesnotexist",
                  ok=False)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "profile 'doesnotexist' is not known" in refused.stderr
    inventory = write_inventory(cli, ["r2,10.0.0.2,22,admin,doesnotexist,a"])
    imported = cli("devices", "import", str(inventory), ok=False)
    assert "line 2: profile 'doesnotexist' is not known" in imported.stderr
    assert cli.json("devices", "list") == []


def test_a_broken_or_overriding_user_profile_is_reported_at_start(cli: Cli) -> None:
    folder = cli.tmp / "config" / "jobdesk" / "profiles"
    folder.mkdir(parents=True)
    shipped = ROOT / "resources" / "profiles" / "netmodule.toml"
    (folder / "netmodule.toml").write_text(shipped.read_text())
    (folder / "broken.toml").write_text("[commands\n")
    result = cli("devices", "list")
    warnings = result.stderr.splitlines()
    assert len(warnings) == 2 and all(w.startswith("jobdesk: warning: ") for w in warnings)
    assert "broken.toml cannot be used" in warnings[0]
    assert "netmodule.toml replaces the built-in 'netmodule' profile" in warnings[1]


# --- jobs extend ----------------------------------------------------------------------------

DAY_US = 86_400_000_000  # a day in the database's microseconds


def move_back(cli: Cli, job: dict[str, Any], days: int) -> None:
    """Let `days` pass for a job, as the clock would: its times, its waiting tasks' next
    attempts and a scheduled job's dates all move that far into the past."""
    sets = f"created_at = created_at - {days * DAY_US}, expires_at = expires_at - {days * DAY_US}"
    schedule = dict(job["schedule"])
    if schedule["kind"] == "scheduled":
        for key in ("from", "to"):
            schedule[key] = (date.fromisoformat(schedule[key]) - timedelta(days=days)).isoformat()
        sets += f", schedule = '{json.dumps(schedule, sort_keys=True, separators=(',', ':'))}'"
    cli.execute(f"UPDATE job SET {sets} WHERE id = {job['id']}")
    cli.execute(f"UPDATE task SET next_attempt_at = next_attempt_at - {days * DAY_US} "
                f"WHERE job_id = {job['id']} AND next_attempt_at IS NOT NULL")


def refused(cli: Cli, *args: str, code: int = 1) -> str:
    """Run a command that must be refused in one line; its message."""
    result = cli(*args, ok=False)
    assert result.returncode == code, result.stderr
    # A usage error (exit 2) is said by the command it was given to; others by jobdesk.
    prefix = f"jobdesk {' '.join(args[:2])}" if code == 2 else "jobdesk"
    assert result.stderr.startswith(f"{prefix}: error: ") and result.stderr.count("\n") == 1
    return result.stderr


def test_an_expired_scheduled_job_is_extended_and_its_task_retried(cli: Cli) -> None:
    today = datetime.now(UTC).date()

    def day(offset: int) -> str:
        return (today + timedelta(days=offset)).isoformat()

    cli("devices", "add", "r1", "--host", "10.0.0.1")
    # Every day, all day (UTC), for two days that are over: created ahead, then aged.
    job = cli.json("jobs", "create", "--type", "reboot", "--name", "rb", "--device", "r1",
                   "--scheduled", "--from", day(10), "--to", day(11), "--window", "00:00-23:59",
                   "--weekdays", "mon-sun", "--tz", "UTC")
    move_back(cli, job, 13)
    job_id = str(job["id"])
    shown = cli.json("jobs", "show", job_id)
    assert shown["expires_at"] == f"{day(-2)}T23:59:00+00:00"
    assert (shown["tasks"][0]["state"], shown["tasks"][0]["reason"]) == ("Failed", "expired")

    # Retrying names the command that makes it possible, with or without --extend.
    hint = f"extend it first: jobdesk jobs extend {job_id} --to YYYY-MM-DD"
    assert hint in refused(cli, "tasks", "retry", job_id, "r1")
    assert hint in refused(cli, "tasks", "retry", job_id, "r1", "--extend")

    # A new end that adds no window still to come, an earlier one, or a duration: refused.
    assert "no window opens between now and the end of " + day(-1) in refused(
        cli, "jobs", "extend", job_id, "--to", day(-1))
    assert f"already ends on {day(-2)}" in refused(cli, "jobs", "extend", job_id,
                                                   "--to", day(-3))
    assert "give a new end date" in refused(cli, "jobs", "extend", job_id, "--by", "2h")
    assert "does not exist in the calendar" in refused(
        cli, "jobs", "extend", job_id, "--to", "2026-02-30", code=2)
    assert cli.json("jobs", "show", job_id)["expires_at"] == shown["expires_at"]

    extended = cli.json("jobs", "extend", job_id, "--to", day(5))
    assert extended["expires_at"] == f"{day(5)}T23:59:00+00:00"
    assert (extended["schedule"]["from"], extended["schedule"]["to"]) == (day(-3), day(5))
    assert extended["tasks"][0]["state"] == "Failed"  # extending alone retries nothing

    before = datetime.now(UTC)
    retried = cli.json("tasks", "retry", job_id, "r1")
    assert retried["state"] == "Rescheduled"
    next_at = datetime.fromisoformat(retried["next_attempt_at"])
    # Now, or at midnight when the minute before it (outside the window) is now.
    assert before - timedelta(seconds=1) <= next_at <= before + timedelta(minutes=2)
    assert next_at < datetime.fromisoformat(extended["expires_at"])

    later = cli("jobs", "extend", job_id, "--to", day(6))
    assert later.stdout.startswith(f"job {job_id} now expires ")
    assert f"its dates now end on {day(6)}" in later.stdout
    cli("jobs", "cancel", job_id)
    assert "the job is Cancelled Manually; it cannot be extended" in refused(
        cli, "jobs", "extend", job_id, "--to", day(7))


def test_an_expired_fire_and_forget_job_is_extended_by_a_duration(cli: Cli) -> None:
    cli("devices", "add", "r1", "--host", "10.0.0.1")
    job = cli.json("jobs", "create", "--type", "reboot", "--name", "rb", "--device", "r1")
    move_back(cli, job, 1)
    job_id = str(job["id"])
    assert cli.json("jobs", "show", job_id)["tasks"][0]["state"] == "Failed"  # expired
    hint = f"extend it first: jobdesk jobs extend {job_id} --by 30m, or retry with --extend"
    assert hint in refused(cli, "tasks", "retry", job_id, "r1")
    assert "has no date range" in refused(cli, "jobs", "extend", job_id, "--to", "2030-01-01")
    assert "is not a duration" in refused(cli, "jobs", "extend", job_id, "--by", "2 hours",
                                          code=2)
    assert "one of the arguments --to --by is required" in refused(
        cli, "jobs", "extend", job_id, code=2)

    before = datetime.now(UTC)
    extended = cli.json("jobs", "extend", job_id, "--by", "2h")
    after = datetime.now(UTC)
    # Expired: two hours from now, not from the old Expires At.
    expires = datetime.fromisoformat(extended["expires_at"])
    assert before + timedelta(hours=2) <= expires <= after + timedelta(hours=2)
    assert extended["tasks"][0]["state"] == "Failed"
    assert cli.json("tasks", "retry", job_id, "r1")["state"] == "Rescheduled"


def test_a_rollout_from_the_command_line(cli: Cli) -> None:
    for n in range(1, 5):
        cli("devices", "add", f"r{n}", "--host", f"10.0.0.{n}", "--tag", "site")
    job = cli.json("jobs", "create", "--type", "reboot", "--name", "rb", "--tag", "site",
                   "--batches", "1,50%", "--approve-batches", "--abort-above", "10%")
    assert job["rollout"] == {"batches": 3, "current_batch": 1, "waiting_for": None,
                              "attempted": 0, "failed": 0, "reason": None}
    shown = cli.json("jobs", "show", str(job["id"]))
    assert [t["batch"] for t in shown["tasks"]] == [1, 2, 2, 3]
    assert shown["tasks"][1]["reason"] == "waiting for batch 1 of 3"
    cli("run", "--until-done", "--max-seconds", "5", ok=False, timeout=60)
    [listed] = cli.json("jobs", "list")
    assert listed["state"] == "Paused"
    assert listed["rollout"]["waiting_for"] == "approval"
    text = cli("jobs", "show", str(job["id"])).stdout
    assert "waiting for approval of batch 2 of 3 (jobdesk jobs continue" in text
    continued = cli("jobs", "continue", str(job["id"]))
    assert continued.stdout.startswith(f"job {job['id']} continues")
    cli("run", "--until-done", "--max-seconds", "5", ok=False, timeout=60)
    shown = cli.json("jobs", "show", str(job["id"]))
    assert [t["state"] for t in shown["tasks"]] == ["Succeeded"] * 3 + ["Scheduled"]
    assert shown["rollout"]["reason"] == "waiting for approval of batch 3 of 3"
    cli("jobs", "continue", str(job["id"]))
    cli("run", "--until-done", "--max-seconds", "30", timeout=60)
    assert cli.json("jobs", "show", str(job["id"]))["state"] == "Succeeded"
    again = cli("jobs", "continue", str(job["id"]), ok=False)
    assert again.returncode == 1 and "already Succeeded" in again.stderr

    refused = cli("jobs", "create", "--type", "reboot", "--name", "x", "--device", "r1",
                  "--batches", "0,5", ok=False)
    assert refused.returncode == 1 and "a count is at least 1" in refused.stderr
    alone = cli("jobs", "create", "--type", "reboot", "--name", "x", "--device", "r1",
                "--approve-batches", ok=False)
    assert "give --batches too" in alone.stderr


def test_check_reads_only_and_says_per_device_what_a_job_would_meet(cli: Cli) -> None:
    inventory = write_inventory(cli, [f"r{i},10.0.0.{i},22,admin,netmodule,site-a"
                                      for i in range(1, 5)])
    cli("devices", "import", str(inventory))
    cli.script.write_text(json.dumps({
        "faults": [{"device": "r2", "op": "connect", "error": "unreachable",
                    "message": "no route to host"}],
        "devices": {"r3": {"unknown_keys": ["ntp.server"]},
                    "r4": {"config": {"ntp.server": "10.0.0.1"}}},
    }))
    snippet = cli.tmp / "ntp.cfg"
    snippet.write_text("ntp.server = 10.0.0.1\n")
    stored = cli.database_text()
    args = ("check", "--type", "config-update", "--tag", "site-a", "--file", str(snippet))

    text = cli(*args, ok=False)
    assert text.returncode == 4, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["DEVICE", "VERDICT", "REASON"]
    assert [line.split()[:2] for line in lines[1:5]] == [
        ["r1", "ready"], ["r2", "blocked"], ["r3", "blocked"], ["r4", "skip"]]
    assert "unreachable: no route to host" in lines[2]
    assert "configuration key(s) the device does not know: ntp.server" in lines[3]
    assert lines[5] == "4 device(s): 1 ready, 1 skip, 2 blocked"
    assert lines[6] == "  r2: fake hint for connect"

    found = json.loads(cli(*args, "--json", ok=False).stdout)
    assert [(v["device"], v["verdict"]) for v in found] == [
        ("r1", "ready"), ("r2", "blocked"), ("r3", "blocked"), ("r4", "skip")]
    assert found[1] == {"device": "r2", "verdict": "blocked",
                        "reason": "unreachable: no route to host",
                        "fix_hint": "fake hint for connect"}
    assert found[0]["reason"].startswith("1 of 1 value(s) to change") and \
        found[0]["fix_hint"] is None

    fine = cli("check", "--type", "config-update", "--device", "r1", "--device", "r4",
               "--file", str(snippet))
    assert fine.stdout.splitlines()[-1] == "2 device(s): 1 ready, 1 skip, 0 blocked"
    assert cli.database_text() == stored  # nothing was written: no job, no device info


def test_check_refuses_what_jobs_create_refuses(cli: Cli) -> None:
    cli("devices", "add", "r1", "--host", "10.0.0.1")
    missing = cli("check", "--type", "config-update", "--device", "r1", ok=False)
    assert missing.returncode == 1 and "needs --file" in missing.stderr
    nobody = cli("check", "--type", "reboot", ok=False)
    assert nobody.returncode == 1 and "--device or --tag" in nobody.stderr
    unknown = cli("check", "--type", "reboot", "--device", "r9", ok=False)
    assert unknown.returncode == 1 and "r9" in unknown.stderr
    image = cli.tmp / "fw.img"
    image.write_bytes(b"JOBDESK-FIRMWARE version=2.0 model=NB800\n" + b"\0" * 64)
    # The fake device is a FAKE-1: the image's header says NB800; --model overrides it.
    blocked = cli("check", "--type", "firmware-update", "--device", "r1", "--file",
                  str(image), "--version", "2.0", "--json", ok=False)
    assert blocked.returncode == 4
    wrong = json.loads(blocked.stdout)
    assert wrong[0]["verdict"] == "blocked"
    assert wrong[0]["reason"].startswith("model FAKE-1 does not match the image")
    right = cli.json("check", "--type", "firmware-update", "--device", "r1", "--file",
                     str(image), "--version", "2.0", "--model", "FAKE-1")
    assert right[0]["verdict"] == "ready"


def test_a_job_report_to_hand_over_in_html_csv_and_json(cli: Cli) -> None:
    cli("devices", "add", "r1", "--host", "10.0.0.1")
    cli("devices", "add", "r2", "--host", "10.0.0.2")
    cli.script.write_text(json.dumps(
        {"faults": [{"device": "r1", "op": "reboot", "error": "auth"}]}))
    job = cli.json("jobs", "create", "--type", "reboot", "--name", "Reboot, depot",
                   "--device", "r1", "--device", "r2")
    cli("run", "--until-done", "--max-seconds", "30", timeout=60)
    ident = str(job["id"])

    data = json.loads(cli("jobs", "report", ident, "--format", "json").stdout)
    assert data["job"]["state"] == "Partially Succeeded"
    assert data["counts"] == {"Succeeded": 1, "Failed": 1}
    steps = [s["name"] for s in data["devices"][0]["steps"]]

    sheet = cli.tmp / "report.csv"
    cli("jobs", "report", ident, "--format", "csv", "-o", str(sheet), "--tz", "Asia/Tokyo")
    raw = sheet.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert [(r["device"], r["step"]) for r in rows] == [
        (device, name) for device in ("r1", "r2") for name in steps]
    failed = [r for r in rows if r["step_state"].startswith("Failed")]
    assert [(r["device"], r["step"]) for r in failed] == [("r1", "reboot")]
    assert failed[0]["message"] and failed[0]["fix_hint"]
    assert failed[0]["started_at"].endswith("+09:00") and failed[0]["zone"] == "Asia/Tokyo"

    page = cli.tmp / "report.html"
    cli("jobs", "report", ident, "-o", str(page))
    html = page.read_text(encoding="utf-8")
    assert "size: A4" in html and "Reboot, depot" in html and failed[0]["fix_hint"] in html

    missing = cli("jobs", "report", "999", ok=False)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    nowhere = cli("jobs", "report", ident, "-o", str(cli.tmp / "no" / "r.html"), ok=False)
    assert "no folder" in nowhere.stderr and not (cli.tmp / "no").exists()


def _parsers(parser: Any, path: tuple[str, ...] = ()) -> Any:
    import argparse

    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_every_option_and_argument_says_what_it_is_for() -> None:
    import argparse

    from jobdesk.cli import build_parser

    silent = [
        f"{' '.join(path) or 'jobdesk'} {'/'.join(action.option_strings) or action.dest}"
        for path, parser in _parsers(build_parser()) for action in parser._actions
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
        and not action.help
    ]
    assert silent == []


def test_the_help_says_the_window_opens_without_a_command() -> None:
    result = subprocess.run([sys.executable, "-m", "jobdesk", "--help"], capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0
    assert "Without a command, jobdesk opens its window" in " ".join(result.stdout.split())


def test_a_db_in_a_missing_folder_is_refused_without_creating_it(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "x.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "s")}
    for args in (("jobs", "list"), ("db", "check"), ()):
        result = subprocess.run([sys.executable, "-m", "jobdesk", "--db", str(missing), *args],
                                capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 1, args
        assert result.stderr == (f"jobdesk: error: --db {missing}: there is no folder "
                                 f"{missing.parent} (create it first, or give an existing "
                                 "one)\n")
        assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("args", [("jobs", "create", "--type", "reboot", "--colour", "red"),
                                  ("devices", "list", "extra"), ("run", "--forever")])
def test_a_mistyped_command_points_to_its_own_help(tmp_path: Path,
                                                   args: tuple[str, ...]) -> None:
    result = subprocess.run([sys.executable, "-m", "jobdesk", *args], capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    command = "jobdesk " + " ".join(a for a in args[:2] if not a.startswith("-"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"{command}: error: ")
    assert result.stderr.count("\n") == 1
    assert result.stderr.rstrip().endswith(f"— see '{command} --help'")
