"""The runtime against the scripted fake driver and a clock the test moves."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from jobdesk.domain.inventory import make_device
from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.schedule import Scheduled
from jobdesk.runtime import engine as engine_module
from jobdesk.runtime.actions import JobRequest, JobService
from jobdesk.runtime.ca import LocalCA
from jobdesk.runtime.clock import SystemClock
from jobdesk.runtime.engine import Engine
from jobdesk.runtime.events import (
    JobChanged,
    JobFinished,
    RuntimeStatus,
    StoreStatus,
    TaskChanged,
)
from jobdesk.settings import Settings
from jobdesk.store import Store
from jobdesk.store.records import TaskRecord
from tests.conftest import Harness


def snippet(tmp: Path, text: str = "ntp.server = 10.0.0.1\nsnmp.enabled = true\n") -> Path:
    path = tmp / "snippet.cfg"
    path.write_text(text)
    return path


def task_of(h: Harness, job_id: int, device: str) -> TaskRecord:
    return next(t for t in h.store.jobs.detail(job_id).tasks if t.device == device)


def steps_of(h: Harness, job_id: int, device: str) -> dict[str, str]:
    return {s.name: s.status for s in task_of(h, job_id, device).steps}


def test_config_update_reaches_every_device(harness: Harness) -> None:
    h = harness
    h.add_devices("r1", "r2", tags=("site-a",))
    job = h.service.create(
        JobRequest("ntp", JobType.CONFIG_UPDATE, tags=["site-a"], file=snippet(h.tmp))
    )
    assert job.state == "Scheduled"
    assert h.run(h.cycle()) == 2
    detail = h.store.jobs.detail(job.id)
    assert detail.state == "Succeeded"
    assert (detail.progress_done, detail.progress_total) == (2, 2)
    for task in detail.tasks:
        assert task.state == "Succeeded" and task.attempts == 1
        assert [s.status for s in task.steps] == ["Completed"] * 4
        assert all(s.started_at and s.completed_at for s in task.steps)
    assert h.driver.device("r1").config == {"ntp.server": "10.0.0.1", "snmp.enabled": "true"}
    assert JobChanged(job.id) in h.events
    assert any(isinstance(e, TaskChanged) for e in h.events)


def test_failing_device_is_retried_every_interval_until_expiry(harness: Harness) -> None:
    h = harness
    h.add_devices("r1")
    h.driver.fail("r1", "connect", "unreachable", "connection refused")
    created = h.clock.now()
    job = h.service.create(JobRequest("reboot", JobType.REBOOT, devices=["r1"]))
    assert job.expires_at == created + timedelta(minutes=30)
    attempts_at = []
    for _ in range(10):
        if h.run(h.cycle()):
            attempts_at.append(h.clock.now())
        task = task_of(h, job.id, "r1")
        if task.state == "Failed":
            break
        assert task.state == "Rescheduled"
        assert task.next_attempt_at == h.clock.now() + timedelta(minutes=5)
        assert "unreachable: connection refused" in task.reason
        assert h.store.jobs.get(job.id).state == "Running"
        # Nothing runs before the retry time.
        h.clock.advance(minutes=4)
        assert h.run(h.cycle()) == 0
        h.clock.advance(minutes=1)
    assert [(t - created) / timedelta(minutes=1) for t in attempts_at] == [0, 5, 10, 15, 20, 25]
    task = task_of(h, job.id, "r1")
    assert task.state == "Failed" and task.reason.startswith("expired")
    assert task.attempts == 6
    assert h.store.jobs.get(job.id).state == "Failed"


def test_refused_credentials_fail_at_once_with_the_drivers_hint(harness: Harness) -> None:
    h = harness
    h.add_devices("r1")
    h.driver.fail("r1", "connect", "auth", "password refused")
    job = h.service.create(JobRequest("reboot", JobType.REBOOT, devices=["r1"]))
    h.run(h.cycle())
    task = task_of(h, job.id, "r1")
    assert task.state == "Failed" and task.attempts == 1
    connect = task.steps[0]
    assert connect.status == "Failed"
    assert connect.message == "authentication refused: password refused"
    assert connect.fix_hint == "fake hint for connect"
    assert task.next_attempt_at is None


def nightly(first: str, last: str, window: str = "22:00-22:10") -> Scheduled:
    return Scheduled.parse(first, last, window, "mon-sun", "UTC")


def test_scheduled_job_waits_pauses_and_resumes_across_windows(harness: Harness) -> None:
    h = harness
    h.add_devices("r1")
    h.driver.fail("r1", "connect", "unreachable", times=2)
    job = h.service.create(
        JobRequest("reboot", JobType.REBOOT, devices=["r1"],
                   schedule=nightly("2026-12-01", "2026-12-03"))
    )
    assert job.expires_at == datetime(2026, 12, 3, 22, 10, tzinfo=UTC)
    assert task_of(h, job.id, "r1").next_attempt_at == datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
    assert h.run(h.cycle()) == 0
    assert h.store.jobs.get(job.id).state == "Scheduled"

    h.clock.set(datetime(2026, 12, 1, 22, 0, tzinfo=UTC))
    assert h.run(h.cycle()) == 1  # fails
    h.clock.advance(minutes=5)
    assert h.run(h.cycle()) == 1  # fails again; 22:10 is outside the window
    task = task_of(h, job.id, "r1")
    assert task.next_attempt_at == datetime(2026, 12, 2, 22, 0, tzinfo=UTC)

    h.clock.set(datetime(2026, 12, 1, 23, 0, tzinfo=UTC))
    h.store.queue.sweep(h.clock.now())
    assert h.store.jobs.get(job.id).state == "Paused"
    assert h.run(h.cycle()) == 0

    h.clock.set(datetime(2026, 12, 2, 22, 0, tzinfo=UTC))
    h.store.queue.sweep(h.clock.now())
    assert h.store.jobs.get(job.id).state == "Running"
    assert h.run(h.cycle()) == 1
    assert h.store.jobs.get(job.id).state == "Succeeded"
    assert task_of(h, job.id, "r1").attempts == 3


def test_a_closing_window_lets_the_running_step_finish_and_starts_no_other(
    harness: Harness,
) -> None:
    h = harness
    h.add_devices("r1")
    job = h.service.create(
        JobRequest("ntp", JobType.CONFIG_UPDATE, devices=["r1"], file=snippet(h.tmp),
                   schedule=nightly("2026-12-01", "2026-12-02"))
    )
    entered, gate = h.driver.gate("r1", "upload")
    h.clock.set(datetime(2026, 12, 1, 22, 9, tzinfo=UTC))

    async def scenario() -> None:
        await h.engine.run_pass()
        await entered.wait()
        h.clock.set(datetime(2026, 12, 1, 22, 11, tzinfo=UTC))  # the window closed
        gate.set()
        await h.engine.drain()

    h.run(scenario())
    assert steps_of(h, job.id, "r1") == {
        "connect": "Completed", "upload-snippet": "Completed",
        "apply": "Pending", "verify-values": "Pending",
    }
    assert h.driver.count("r1", "apply_config") == 0
    task = task_of(h, job.id, "r1")
    assert task.state == "Rescheduled" and task.reason == "window closed"
    assert task.next_attempt_at == datetime(2026, 12, 2, 22, 0, tzinfo=UTC)
    assert h.store.jobs.get(job.id).state == "Paused"

    h.clock.set(datetime(2026, 12, 2, 22, 0, tzinfo=UTC))
    h.run(h.cycle())
    assert h.store.jobs.get(job.id).state == "Succeeded"
    assert h.driver.count("r1", "upload") == 1  # resumed after the completed upload


def test_cancel_during_a_running_step_finishes_the_step_and_nothing_more(
    harness: Harness,
) -> None:
    h = harness
    h.add_devices("r1")
    job = h.service.create(
        JobRequest("ntp", JobType.CONFIG_UPDATE, devices=["r1"], file=snippet(h.tmp))
    )
    entered, gate = h.driver.gate("r1", "upload")

    async def scenario() -> None:
        await h.engine.run_pass()
        await entered.wait()
        cancelled = h.service.cancel_job(job.id)
        assert cancelled.state == "Cancelled Manually"
        assert task_of(h, job.id, "r1").state == "Running"  # the step is not interrupted
        gate.set()
        await h.engine.drain()

    h.run(scenario())
    assert steps_of(h, job.id, "r1")["upload-snippet"] == "Completed"
    assert steps_of(h, job.id, "r1")["apply"] == "Pending"
    assert h.driver.count("r1", "apply_config") == 0
    task = task_of(h, job.id, "r1")
    assert task.state == "Cancelled" and task.reason == "cancelled by a person"
    assert h.store.jobs.get(job.id).state == "Cancelled Manually"


def test_replacing_a_job_cancels_its_open_tasks_on_those_devices(harness: Harness) -> None:
    h = harness
    h.add_devices("r1", "r2")
    later = nightly("2026-12-05", "2026-12-06")
    old = h.service.create(
        JobRequest("old", JobType.REBOOT, devices=["r1", "r2"], schedule=later)
    )
    with pytest.raises(ValueError, match=r"job 1 \(old\) on r1.*--replace"):
        h.service.create(JobRequest("new", JobType.REBOOT, devices=["r1"]))
    first = h.service.create(JobRequest("new", JobType.REBOOT, devices=["r1"], replace=True))
    task = task_of(h, old.id, "r1")
    assert task.state == "Cancelled" and task.reason == f"replaced by job {first.id}"
    assert h.store.jobs.get(old.id).state == "Scheduled"  # r2 is still open
    second = h.service.create(
        JobRequest("newer", JobType.REBOOT, devices=["r2"], replace=True)
    )
    assert h.store.jobs.get(old.id).state == "Replaced"
    assert h.store.jobs.get(old.id).replaced_by == second.id


def test_skip_step_then_retry_continues_after_the_skipped_step(harness: Harness) -> None:
    h = harness
    h.add_devices("r1")
    h.driver.fail("r1", "reboot", "auth", "not allowed to reboot")
    job = h.service.create(JobRequest("reboot", JobType.REBOOT, devices=["r1"]))
    h.run(h.cycle())
    assert task_of(h, job.id, "r1").state == "Failed"
    assert h.store.jobs.get(job.id).state == "Failed"
    with pytest.raises(ValueError, match="connect cannot be skipped"):
        h.service.skip_step(job.id, "r1", "connect")
    skipped = h.service.skip_step(job.id, "r1", "reboot")
    assert skipped.status == "Skipped" and skipped.skipped_at == h.clock.now()
    h.clock.advance(minutes=1)
    retried = h.service.retry_task(job.id, "r1")
    assert retried.state == "Rescheduled" and retried.next_attempt_at == h.clock.now()
    h.run(h.cycle())
    assert steps_of(h, job.id, "r1") == {
        "connect": "Completed", "reboot": "Skipped", "wait-online": "Completed",
    }
    assert h.driver.count("r1", "reboot") == 1
    assert h.store.jobs.get(job.id).state == "Succeeded"


def test_retry_of_an_expired_job_needs_an_extension(harness: Harness) -> None:
    h = harness
    h.add_devices("r1")
    h.driver.fail("r1", "connect", "unreachable")
    job = h.service.create(JobRequest("reboot", JobType.REBOOT, devices=["r1"]))
    h.clock.advance(minutes=31)
    h.store.queue.sweep(h.clock.now())
    assert task_of(h, job.id, "r1").state == "Failed"
    with pytest.raises(ValueError, match="expired"):
        h.service.retry_task(job.id, "r1")
    task = h.service.retry_task(job.id, "r1", extend=True)
    assert task.state == "Rescheduled"
    assert h.store.jobs.get(job.id).expires_at == h.clock.now() + timedelta(minutes=30)


def test_one_task_per_device_and_a_cap_on_devices_at_once(harness: Harness) -> None:
    h = harness
    names = [f"r{i}" for i in range(5)]
    h.add_devices(*names)
    h.engine.settings = h.engine.settings.__class__(max_parallel_devices=2)
    a = h.service.create(JobRequest("a", JobType.REBOOT, devices=names))
    b = h.service.create(JobRequest("b", JobType.COMMAND, devices=names, command="uptime"))
    gates = {n: h.driver.gate(n, "connect") for n in names}

    async def scenario() -> list[int]:
        running = []
        for _ in range(10):
            await h.engine.run_pass()
            await asyncio.sleep(0)
            running.append(h.engine.running_tasks)
            for _, gate in gates.values():
                gate.set()
            await h.engine.drain()
            for name in names:
                gates[name] = h.driver.gate(name, "connect")
        return running

    running = h.run(scenario())
    assert max(running) == 2
    assert h.store.jobs.get(a.id).state == "Succeeded"
    assert h.store.jobs.get(b.id).state == "Succeeded"


def test_firmware_already_installed_is_not_flashed_again(harness: Harness) -> None:
    h = harness
    h.add_devices("r1", "r2")
    image = h.tmp / "fw.img"
    image.write_text("FIRMWARE 2.0\n")
    h.driver.device("r2").firmware = "2.0"
    job = h.service.create(
        JobRequest("fw", JobType.FIRMWARE_UPDATE, devices=["r1", "r2"], file=image,
                   version="2.0")
    )
    h.run(h.cycle())
    assert h.store.jobs.get(job.id).state == "Succeeded"
    assert steps_of(h, job.id, "r1") == dict.fromkeys(
        ["connect", "check-version", "upload-image", "install", "reboot", "wait-online",
         "verify-version"], "Completed")
    r2 = task_of(h, job.id, "r2")
    assert [s.status for s in r2.steps[2:]] == ["Skipped"] * 5
    assert "installed already" in r2.steps[2].message
    assert h.driver.count("r2", "upload") == 0
    assert h.store.devices.get("r1").firmware == "2.0"


def test_wrong_firmware_after_reboot_is_retried_from_the_upload_keeping_both_attempts(
    harness: Harness,
) -> None:
    h = harness
    h.add_devices("r1")
    image = h.tmp / "fw.img"
    image.write_text("FIRMWARE 2.0\n")
    h.driver.device("r1").wrong_firmware_after_reboot = "1.0-fallback"
    job = h.service.create(
        JobRequest("fw", JobType.FIRMWARE_UPDATE, devices=["r1"], file=image, version="2.0")
    )
    h.run(h.cycle())
    task = task_of(h, job.id, "r1")
    # B3: a verification failure is retried; B1: from the upload the install consumed.
    assert task.state == "Rescheduled" and task.current_step == "verify-version"
    assert "runs 1.0-fallback, expected 2.0" in (task.reason or "")
    assert task.step_labels() == [
        "Completed", "Completed", "Completed, runs again", "Completed, runs again",
        "Completed, runs again", "Completed, runs again", "Failed, runs again"]
    assert task.step_progress.done == 6  # what happened is not erased
    h.driver.device("r1").wrong_firmware_after_reboot = None
    h.clock.advance(minutes=5)
    h.run(h.cycle())
    task = task_of(h, job.id, "r1")
    assert task.state == "Succeeded" and h.driver.device("r1").firmware == "2.0"
    (first, runs_1), (second, runs_2) = task.attempts_history()
    assert (first, second) == (1, 2)
    assert [(r.name, r.status) for r in runs_1] == [
        ("connect", "Completed"), ("check-version", "Completed"), ("upload-image", "Completed"),
        ("install", "Completed"), ("reboot", "Completed"), ("wait-online", "Completed"),
        ("verify-version", "Failed")]
    assert [(r.name, r.status) for r in runs_2] == [
        ("upload-image", "Completed"), ("install", "Completed"), ("reboot", "Completed"),
        ("wait-online", "Completed"), ("verify-version", "Completed")]
    assert runs_2[0].message == "already on the device"
    assert all(r.started_at is not None for r in runs_1 + runs_2)
    assert runs_2[0].started_at >= runs_1[-1].started_at + timedelta(minutes=5)


def test_certificate_renewal_installs_a_cert_signed_by_the_local_ca(harness: Harness) -> None:
    h = harness
    h.add_devices("r1")
    job = h.service.create(JobRequest("cert", JobType.CERTIFICATE_RENEWAL, devices=["r1"]))
    h.run(h.cycle())
    assert h.store.jobs.get(job.id).state == "Succeeded"
    device = h.store.devices.get("r1")
    assert device.cert_fingerprint and device.cert_expires_at > h.clock.now()
    assert (h.tmp / "ca" / "ca-key.pem").stat().st_mode & 0o777 == 0o600


def test_device_info_fills_the_inventory(harness: Harness) -> None:
    h = harness
    h.add_devices("r1")
    h.driver.device("r1").firmware = "3.1"
    h.service.create(JobRequest("info", JobType.DEVICE_INFO, devices=["r1"]))
    h.run(h.cycle())
    device = h.store.devices.get("r1")
    assert (device.model, device.firmware, device.serial) == ("FAKE-1", "3.1", "SN-r1")
    assert device.info_updated_at == h.clock.now()


def test_command_with_a_non_zero_exit_fails_at_check_exit(harness: Harness) -> None:
    h = harness
    h.add_devices("r1")
    job = h.service.create(JobRequest("cmd", JobType.COMMAND, devices=["r1"], command="exit 4"))
    h.run(h.cycle())
    task = task_of(h, job.id, "r1")
    assert task.state == "Rescheduled" and task.current_step == "check-exit"
    assert task.reason == "command failed: exit status 4: bye"


def test_system_jobs_are_created_once_per_device_and_purpose(harness: Harness) -> None:
    h = harness
    h.add_devices("r1", "r2")
    created = h.service.create_system_jobs()
    assert [(j.type, j.system, j.progress_total) for j in created] == [("device-info", True, 2)]
    assert h.service.create_system_jobs() == []
    assert h.store.jobs.list() == []  # hidden by default
    assert len(h.store.jobs.list(system=True)) == 1
    h.run(h.cycle())
    h.clock.advance(days=2)
    again = h.service.create_system_jobs()
    assert [j.progress_total for j in again] == [2]


def test_steps_time_out_and_the_task_is_rescheduled(harness: Harness) -> None:
    h = harness
    h.add_devices("r1")
    h.engine.settings = h.engine.settings.__class__(step_timeout_s=1)
    h.driver.delays[("r1", "run")] = 5
    job = h.service.create(JobRequest("cmd", JobType.COMMAND, devices=["r1"], command="sleep"))
    h.run(h.cycle())
    task = task_of(h, job.id, "r1")
    assert task.state == "Rescheduled"
    assert task.reason == "timeout: no result within 1 s"


def test_the_runtime_runs_in_its_own_thread_and_stops_when_asked(
    tmp_path: Path, store: Store
) -> None:
    """How the window hosts it: a thread of its own, woken and stopped from outside."""
    from tests.fake_driver import FakeDriver

    clock = SystemClock()
    events: list[object] = []
    finished = threading.Event()

    def publish(event: object) -> None:
        events.append(event)
        if isinstance(event, JobFinished):
            finished.set()

    engine = Engine(store, Settings(), clock, FakeDriver(), LocalCA(tmp_path / "ca"),
                    publish, system_jobs=False)
    thread = threading.Thread(target=lambda: asyncio.run(engine.run()), name="runtime")
    thread.start()
    try:
        store.devices.add(make_device("r1", "10.0.0.1"), clock.now())
        service = JobService(store, Settings(), clock)
        job = service.create(JobRequest("rb", JobType.REBOOT, devices=["r1"]))
        engine.wake()
        assert finished.wait(10), "the job never finished"
        assert store.jobs.get(job.id).state == "Succeeded"
    finally:
        engine.request_stop()
        thread.join(timeout=10)
    assert not thread.is_alive()
    statuses = [e.state for e in events if isinstance(e, RuntimeStatus)]
    assert statuses[0] == "starting" and statuses[-1] == "stopped"


def test_a_failed_check_runs_what_it_checks_again(harness: Harness) -> None:
    """Retrying `check-exit` alone would read the same exit status forever."""
    h = harness
    h.add_devices("r1")
    job = h.service.create(JobRequest("cmd", JobType.COMMAND, devices=["r1"], command="exit 4"))
    h.run(h.cycle())
    assert h.driver.count("r1", "run") == 1
    task = task_of(h, job.id, "r1")
    steps = {s.name: (s.status, s.message) for s in task.steps}
    # What happened stays as it happened; the detail says what the next attempt runs.
    assert steps["run"] == ("Completed", "exit status 4")
    assert steps["check-exit"][0] == "Failed"
    assert task.step_labels() == ["Completed", "Completed, runs again", "Failed, runs again"]
    h.clock.advance(minutes=5)
    h.run(h.cycle())
    assert h.driver.count("r1", "run") == 2
    task = task_of(h, job.id, "r1")
    history = task.attempts_history()
    assert [number for number, _ in history] == [1, 2]
    assert [(r.name, r.status) for r in history[1][1]] == [("run", "Completed"),
                                                           ("check-exit", "Failed")]
    first_run = history[0][1][1]
    assert first_run.name == "run" and first_run.completed_at is not None
    assert first_run.completed_at < history[1][1][0].started_at  # two real times


def test_a_resumed_step_sends_the_upload_again_when_the_device_lost_it(
    harness: Harness,
) -> None:
    """The device rebooted between attempts and cleared its /tmp: apply does not fail
    "No such file" until the job expires, it sends the snippet again (checksum first)."""
    h = harness
    h.add_devices("r1")
    path = h.tmp / "ntp.cfg"
    path.write_text("ntp.server = 10.0.0.1\n")
    h.driver.fail("r1", "apply_config", "unreachable", "connection lost", times=1)
    job = h.service.create(JobRequest("ntp", JobType.CONFIG_UPDATE, devices=["r1"], file=path))
    h.run(h.cycle())
    assert task_of(h, job.id, "r1").state == "Rescheduled"
    assert h.driver.count("r1", "upload") == 1
    h.driver.device("r1").files.clear()
    h.clock.advance(minutes=5)
    h.run(h.cycle())
    task = task_of(h, job.id, "r1")
    assert task.state == "Succeeded" and h.driver.device("r1").config["ntp.server"] == "10.0.0.1"
    apply = next(s for s in task.steps if s.name == "apply")
    assert apply.message == "applied; the upload was gone from the device and was sent again"
    assert h.driver.count("r1", "upload") == 2


def test_an_upload_a_person_did_by_hand_is_not_redone(harness: Harness) -> None:
    h = harness
    h.add_devices("r1")
    path = h.tmp / "ntp.cfg"
    path.write_text("ntp.server = 10.0.0.1\n")
    h.driver.fail("r1", "upload", "auth", "sftp refused", times=1)
    job = h.service.create(JobRequest("ntp", JobType.CONFIG_UPDATE, devices=["r1"], file=path))
    h.run(h.cycle())
    assert task_of(h, job.id, "r1").state == "Failed"
    # The technician copied the snippet over by hand and skips the step.
    h.driver.device("r1").files[f"/tmp/jobdesk-job{job.id}-snippet.cfg"] = path.read_bytes()
    h.store.jobs.skip_step(job.id, "r1", "upload-snippet", h.clock.now())
    h.store.jobs.retry_task(job.id, "r1", h.clock.now())
    h.run(h.cycle())
    task = task_of(h, job.id, "r1")
    assert task.state == "Succeeded"
    assert next(s for s in task.steps if s.name == "apply").message == "applied"
    assert h.driver.count("r1", "upload") == 1  # the failed one only


def test_a_snippet_with_windows_line_endings_reaches_the_device(harness: Harness) -> None:
    h = harness
    h.add_devices("r1")
    path = h.tmp / "crlf.cfg"
    path.write_bytes(b"ntp.server = 10.0.0.1\r\nsnmp.enabled = true\r\n")
    job = h.service.create(JobRequest("ntp", JobType.CONFIG_UPDATE, devices=["r1"], file=path))
    h.run(h.cycle())
    assert h.store.jobs.get(job.id).state == "Succeeded"
    assert h.driver.device("r1").config["snmp.enabled"] == "true"


def refuse_writes(h: Harness, monkeypatch: pytest.MonkeyPatch, times: int | None) -> list[int]:
    """The database refuses the step writes (`times` times, or until further notice) as a
    full disk does; returns the list that counts the refusals."""
    refused: list[int] = []

    def refusing(real: Callable[..., object]) -> Callable[..., object]:
        def full(*args: object, **kwargs: object) -> object:
            if times is None or len(refused) < times:
                refused.append(1)
                if h.store.is_postgres:
                    raise psycopg.errors.DiskFull("could not extend file: No space left")
                raise sqlite3.OperationalError("database or disk is full")
            return real(*args, **kwargs)
        return full

    for name in ("complete_step", "complete_and_begin"):
        monkeypatch.setattr(h.store.queue, name, refusing(getattr(h.store.queue, name)))
    return refused


def test_a_write_the_database_refuses_is_retried_and_nothing_is_lost(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    h.add_devices("r1")
    job = h.service.create(JobRequest("rb", JobType.REBOOT, devices=["r1"]))
    refused = refuse_writes(h, monkeypatch, times=3)
    h.run(h.cycle())
    assert len(refused) == 3
    task = task_of(h, job.id, "r1")
    assert task.state == "Succeeded" and task.attempts == 1
    assert h.driver.count("r1", "reboot") == 1  # the device was not asked twice
    problems = [e.problem for e in h.events if isinstance(e, StoreStatus)]
    assert problems[0].startswith("disk full") and "free space" in problems[0]
    assert problems[-1] is None
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2  # one line when it starts, one when it is over
    assert warnings[0].getMessage().startswith("the database cannot be written: disk full")
    assert warnings[1].getMessage().startswith("the database takes writes again after")
    assert not any(r.exc_info for r in caplog.records if r.levelno >= 30)


def test_a_stop_while_writes_fail_leaves_the_task_for_the_next_start(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    h.add_devices("r1")
    job = h.service.create(JobRequest("rb", JobType.REBOOT, devices=["r1"]))
    refuse_writes(h, monkeypatch, times=None)
    monkeypatch.setattr(engine_module, "STOP_WRITE_GRACE_S", 0.3)
    entered, gate = h.driver.gate("r1", "connect")

    async def scenario() -> None:
        await h.engine.run_pass()
        await entered.wait()
        h.engine.request_stop()  # during connect; its outcome then cannot be saved
        gate.set()
        await h.engine.drain()

    h.run(scenario())
    assert h.engine._abandoned == 1
    assert task_of(h, job.id, "r1").state == "Running"  # what the database last knew
    monkeypatch.undo()
    h.store.queue.recover_interrupted(h.clock.now())  # the next start
    task = task_of(h, job.id, "r1")
    assert task.state == "Rescheduled" and task.reason == "interrupted"
    assert h.store.queue.due(h.clock.now(), 10) == [task.id]
