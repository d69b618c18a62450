"""The fault suite: each guarantee tested by causing the fault for real.

A full disk, another program's lock, a read-only file system, `kill -9` of a running
runtime, a runtime restarted again and again. Each case ends with every task finished,
nothing lost, and (where something went wrong for a while) one line naming the cause.
The simulated fleet's record proves what each device received: a step completed before a
fault never runs again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fault_tools import (
    ROOT,
    Fleet,
    Jobdesk,
    applies,
    fill,
    remount,
    stderr_of,
    tmpfs,
    uploads,
    wait_for,
)

pytestmark = pytest.mark.slow
DEVICES = 20


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    # Every command takes a second: the job is still running when the fault strikes.
    started = Fleet(tmp_path, DEVICES, faults="slow:1")
    yield started
    started.stop()


def assert_all_succeeded(jobdesk: Jobdesk, job_id: int, devices: int) -> None:
    shown = jobdesk.json("jobs", "show", str(job_id))
    assert shown["state"] == "Succeeded", shown
    assert [t["state"] for t in shown["tasks"]] == ["Succeeded"] * devices


def assert_each_device_once(fleet: Fleet, devices: int) -> None:
    """Every device got its snippet and applied it exactly once: nothing ran twice."""
    assert set(fleet.count(uploads).values()) == {1}
    assert len(fleet.count(uploads)) == devices
    assert fleet.count(applies) == {name: 1 for name in fleet.count(uploads)}


def lines_with(text: str, words: str) -> list[str]:
    return [line for line in text.splitlines() if words in line]


def test_a_full_disk_mid_run_loses_nothing(tmp_path: Path, fleet: Fleet) -> None:
    with tmpfs(tmp_path / "disk", "8m") as disk:
        jobdesk = Jobdesk(tmp_path, disk / "jobdesk.db")
        job = jobdesk.config_job(fleet)
        run = jobdesk.start("run", "--until-done", "--max-seconds", "120")
        wait_for(lambda: jobdesk.completed_steps() >= DEVICES, what="the first steps")
        filler = fill(disk)
        wait_for(lambda: "disk full" in stderr_of(run), what="the runtime to notice")
        # While the disk is full the database can still be read by another process.
        assert jobdesk("devices", "list").stdout.count("sim-") == DEVICES
        time.sleep(3)  # the disk stays full a while: attempts wait, none is lost
        filler.unlink()
        assert run.wait(timeout=120) == 0, stderr_of(run)
        errors = stderr_of(run)
        assert "Traceback" not in errors
        causes = lines_with(errors, "cannot be written")
        assert len(causes) == 1, errors
        assert f"disk full: free space on {disk}" in causes[0]
        assert len(lines_with(errors, "takes writes again")) == 1
        assert_all_succeeded(jobdesk, job, DEVICES)
        assert_each_device_once(fleet, DEVICES)


def test_a_lock_held_30_s_by_another_program_loses_nothing(
    tmp_path: Path, fleet: Fleet
) -> None:
    jobdesk = Jobdesk(tmp_path, tmp_path / "jobdesk.db")
    job = jobdesk.config_job(fleet)
    run = jobdesk.start("run", "--until-done", "--max-seconds", "150")
    wait_for(lambda: jobdesk.completed_steps() >= DEVICES, what="the first steps")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         f"c = sqlite3.connect({str(jobdesk.db)!r}, isolation_level=None)\n"
         "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True)\n"
         "time.sleep(30); c.execute('ROLLBACK')\n"],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    wait_for(lambda: "locked by another program" in stderr_of(run), what="the runtime")
    # Reading goes on beside the lock.
    assert jobdesk("devices", "list").stdout.count("sim-") == DEVICES
    assert holder.wait(timeout=60) == 0
    holder.stdout.close()
    assert run.wait(timeout=120) == 0, stderr_of(run)
    errors = stderr_of(run)
    assert "Traceback" not in errors
    [cause] = lines_with(errors, "cannot be written")
    assert f"locked by another program: {jobdesk.db}" in cause
    assert_all_succeeded(jobdesk, job, DEVICES)
    assert_each_device_once(fleet, DEVICES)


def test_a_stop_is_honoured_while_the_disk_stays_full(tmp_path: Path, fleet: Fleet) -> None:
    """--max-seconds ends the run although nothing can be saved; the next start, with
    room again, finishes the job and repeats only the steps whose outcome was lost."""
    with tmpfs(tmp_path / "disk", "8m") as disk:
        jobdesk = Jobdesk(tmp_path, disk / "jobdesk.db")
        job = jobdesk.config_job(fleet)
        began = time.monotonic()
        run = jobdesk.start("run", "--until-done", "--max-seconds", "6")
        wait_for(lambda: jobdesk.completed_steps() >= DEVICES, what="the first steps")
        filler = fill(disk)
        assert run.wait(timeout=60) == 3
        # Six seconds, the step in flight (a second or two), and the grace for its save.
        assert time.monotonic() - began < 30
        errors = stderr_of(run)
        assert "Traceback" not in errors
        [last] = lines_with(errors, "jobdesk: the database could not be written")
        assert "disk full" in last and "left for the next start" in last
        filler.unlink()
        jobdesk("run", "--until-done", "--max-seconds", "120")
        assert_all_succeeded(jobdesk, job, DEVICES)
        # Each device received the snippet once or, when its outcome was lost, twice.
        assert set(fleet.count(applies).values()) <= {1, 2}


def file_digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_a_read_only_mount_is_read_and_left_alone_then_written_again(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "8m") as disk:
        jobdesk = Jobdesk(tmp_path, disk / "jobdesk.db")
        jobdesk("devices", "add", "r1", "--host", "10.0.0.1")
        before = file_digests(disk)
        remount(disk, "ro")
        try:
            assert [d["name"] for d in jobdesk.json("devices", "list")] == ["r1"]
            assert jobdesk.json("jobs", "list") == []
            refused = jobdesk("devices", "add", "r2", "--host", "10.0.0.2", ok=False)
            assert refused.returncode == 1 and refused.stderr.count("\n") == 1
            assert "read-only" in refused.stderr and "mounted read-only" in refused.stderr
            runtime = jobdesk("run", "--until-done", ok=False)
            assert runtime.returncode == 1 and runtime.stderr.count("\n") == 1
            assert "read-only" in runtime.stderr
        finally:
            remount(disk, "rw")
        assert file_digests(disk) == before
        jobdesk("devices", "add", "r2", "--host", "10.0.0.2")
        assert [d["name"] for d in jobdesk.json("devices", "list")] == ["r1", "r2"]


def test_kill_9_ten_times_mid_run_never_repeats_a_completed_step(
    tmp_path: Path, fleet: Fleet
) -> None:
    jobdesk = Jobdesk(tmp_path, tmp_path / "jobdesk.db")
    job = jobdesk.config_job(fleet)
    # The step each device was in when the runtime died may run again; nothing else.
    may_repeat: dict[tuple[str, str], int] = {}
    for _ in range(10):
        run = jobdesk.start("run", "--until-done", "--max-seconds", "120")
        progress = jobdesk.completed_steps()
        # Let some step finish first, so each kill interrupts work in progress.
        wait_for(lambda p=progress, r=run: jobdesk.completed_steps() > p or r.poll() is not None,
                 what="a step to complete")
        if run.poll() is not None:
            break
        run.send_signal(signal.SIGKILL)
        run.wait()
        for device, step in jobdesk.read(
            "SELECT t.device_name, s.name FROM task t JOIN step s ON s.task_id = t.id "
            "WHERE s.status = 'Running'"
        ):
            may_repeat[(device, step)] = may_repeat.get((device, step), 0) + 1
    jobdesk("run", "--until-done", "--max-seconds", "120")
    assert_all_succeeded(jobdesk, job, DEVICES)
    for name, count in fleet.count(applies).items():
        assert count <= 1 + may_repeat.get((name, "apply"), 0), name
    for name, count in fleet.count(uploads).items():
        assert count <= 1 + may_repeat.get((name, "upload-snippet"), 0), name
    assert sorted(fleet.count(applies)) == sorted(fleet.count(uploads))
    assert len(fleet.count(applies)) == DEVICES


def test_a_runtime_restarted_every_5_s_finishes_a_150_device_job(tmp_path: Path) -> None:
    """Interrupted tasks go first after a restart, so restarts make progress."""
    fleet = Fleet(tmp_path, 150, faults="slow:1")
    try:
        jobdesk = Jobdesk(tmp_path, tmp_path / "jobdesk.db")
        job = jobdesk.config_job(fleet)
        for _ in range(40):
            run = jobdesk.start("run", "--until-done")
            try:
                run.wait(timeout=5)
            except subprocess.TimeoutExpired:
                run.send_signal(signal.SIGKILL)
                run.wait()
            else:
                break
        else:
            pytest.fail("40 restarts did not finish the job")
        assert_all_succeeded(jobdesk, job, 150)
    finally:
        fleet.stop()


def test_a_read_only_file_leaves_nothing_that_keeps_it_read_only(tmp_path: Path) -> None:
    """As an ordinary user: a 0444 database is read, its refusal says why, and once it is
    writable again the -wal/-shm an earlier read left behind do not keep it read-only."""
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user (CI runs as root)")
    # Outside pytest's private temporary folder, which the other user cannot enter.
    folder = Path(tempfile.mkdtemp(prefix="jobdesk-user-"))
    os.chmod(folder, 0o755)
    os.chown(folder, 65534, 65534)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the ordinary user: root would write through any permission
        os.close(read)
        code = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            code = _as_ordinary_user(folder / "jobdesk.db", write)
        except BaseException as error:
            os.write(write, f"failed: {error!r}\n".encode())
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as report:
        lines = report.read().splitlines()
    _, status = os.waitpid(child, 0)
    shutil.rmtree(folder, ignore_errors=True)
    assert os.waitstatus_to_exitcode(status) == 0, lines
    assert lines[0] == "read: r1"
    assert lines[1].startswith("refused: read-only: no write permission on")
    assert lines[2] == "side files: 0o444"
    assert lines[3] == "written: r1 r2"


def _as_ordinary_user(path: Path, report_to: int) -> int:
    from jobdesk.domain.inventory import make_device
    from jobdesk.store import Store
    from tests.conftest import START

    def say(line: str) -> None:
        os.write(report_to, (line + "\n").encode())

    with Store(path) as store:
        store.devices.add(make_device("r1", "10.0.0.1"), START)
    path.chmod(0o444)
    with Store(path) as store:
        say("read: " + " ".join(d.name for d in store.devices.list()))
        try:
            store.devices.add(make_device("r2", "10.0.0.2"), START)
        except Exception as error:
            say(f"refused: {store.fault_of(error)}")
    sides = {oct(p.stat().st_mode & 0o777) for p in path.parent.glob("jobdesk.db-*")}
    say(f"side files: {' '.join(sorted(sides))}")
    path.chmod(0o644)
    with Store(path) as store:
        store.devices.add(make_device("r2", "10.0.0.2"), START)
        say("written: " + " ".join(d.name for d in store.devices.list()))
    return 0


def test_the_database_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    """A --db folder is the person's (it must exist and is left as it is); the database
    jobdesk creates in it is private even so."""
    (tmp_path / "new").mkdir(mode=0o777)
    jobdesk = Jobdesk(tmp_path, tmp_path / "new" / "jobdesk.db")
    jobdesk.env["PYTHONSTARTUP"] = ""
    result = subprocess.run(
        ["sh", "-c", 'umask 000 && exec "$@"', "sh",
         *jobdesk.argv("devices", "add", "r1", "--host", "10.0.0.1")],
        env=jobdesk.env, capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert jobdesk.db.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(jobdesk.db) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] != 0


def test_the_default_data_folder_and_database_are_private_whatever_the_umask(
        tmp_path: Path) -> None:
    jobdesk = Jobdesk(tmp_path, tmp_path / "unused.db")
    argv = jobdesk.argv("devices", "add", "r1", "--host", "10.0.0.1")
    del argv[argv.index("--db"):argv.index("--db") + 2]  # the default place, in XDG_DATA_HOME
    result = subprocess.run(["sh", "-c", 'umask 000 && exec "$@"', "sh", *argv],
                            env={**jobdesk.env, "PYTHONSTARTUP": ""},
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    data_dir = tmp_path / "data" / "jobdesk"
    assert data_dir.stat().st_mode & 0o777 == 0o700
    databases = list(data_dir.glob("*.db"))
    assert databases and all(db.stat().st_mode & 0o777 == 0o600 for db in databases)
