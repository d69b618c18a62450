"""Team mode: several runtimes on one PostgreSQL database, never a task twice.

Claims race from many threads (each its own connection), a claim whose lease ran out is
taken over and the late writer is fenced out, only one runtime leads, a change made by
another process is heard within a second, and three `jobdesk run` processes finish a job
on a simulated fleet whose record shows every device got its snippet exactly once — also
when one of them is killed.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from jobdesk.domain.inventory import make_device
from jobdesk.domain.jobtypes import JobType
from jobdesk.runtime.actions import JobRequest, JobService
from jobdesk.settings import Settings
from jobdesk.store import Store
from jobdesk.store.queue import LeaseLost
from tests.conftest import FakeClock
from tests.fault_tools import Fleet, Jobdesk, applies, stderr_of, uploads, wait_for
from tests.postgres_cluster import Cluster

pytestmark = pytest.mark.slow


def fleet_job(store: Store, clock: FakeClock, devices: int, jobs: int = 1) -> list[int]:
    for n in range(devices):
        store.devices.add(make_device(f"r{n:03d}", "10.0.0.1", tags=["all"]), clock.now())
    service = JobService(store, Settings(), clock)
    kinds = [JobRequest("commands", JobType.COMMAND, tags=["all"], command="true"),
             JobRequest("reboots", JobType.REBOOT, tags=["all"]),
             JobRequest("info", JobType.DEVICE_INFO, tags=["all"])]
    return [service.create(request).id for request in kinds[:jobs]]


def test_racing_claims_never_take_a_task_twice_or_a_device_twice(
    pg_database: str, clock: FakeClock
) -> None:
    """Eight runtimes (threads, each with its own connection) claim 3 jobs x 40 devices."""
    store = Store(pg_database)
    fleet_job(store, clock, 40, jobs=3)
    claimed: Counter[int] = Counter()
    running_devices: set[int] = set()
    clash: list[str] = []
    lock = threading.Lock()

    def runtime(name: str) -> None:
        try:
            idle = 0
            while idle < 3:
                attempts, _ = store.queue.claim_due(name, clock.now(), 8)
                idle = 0 if attempts else idle + 1
                for attempt in attempts:
                    with lock:
                        claimed[attempt.task.id] += 1
                        if attempt.device.id in running_devices:
                            clash.append(f"{attempt.device.name} twice")
                        running_devices.add(attempt.device.id)
                    store.db.execute_sql("UPDATE step SET status = 'Completed' "
                                         "WHERE task_id = %s", (attempt.task.id,))
                    with lock:
                        running_devices.discard(attempt.device.id)
                    store.queue.finish_if_done(attempt.hold, clock.now())
        finally:
            store.release_connection()

    threads = [threading.Thread(target=runtime, args=(f"host:{n}:x",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert clash == []
    assert len(claimed) == 120 and set(claimed.values()) == {1}
    with store:
        states = store.db.execute_sql("SELECT state, COUNT(*) FROM task GROUP BY state")
        assert dict(states.fetchall()) == {"Succeeded": 120}
        (busy,) = store.db.execute_sql(
            "SELECT COUNT(*) FROM device WHERE busy_task_id IS NOT NULL").fetchone()
        assert busy == 0


def test_a_lapsed_claim_is_taken_over_and_the_late_writer_is_fenced_out(
    pg_database: str, clock: FakeClock
) -> None:
    with Store(pg_database) as store:
        fleet_job(store, clock, 1)
        [slept] = store.queue.claim_due("laptop:1:a", clock.now(), 5,
                                        lease=timedelta(seconds=1))[0]
        other = store.queue.claim_due("server:2:b", clock.now(), 5)[0]
        assert other == []  # the device is busy: nothing for the second runtime
        # A live claim is not recovered...
        assert store.queue.recover_interrupted(clock.now(), expired_only=True) == []
        time.sleep(1.2)  # ...one whose lease has run out (the laptop slept) is.
        [recovered] = store.queue.recover_interrupted(clock.now(), expired_only=True)
        assert recovered.task_id == slept.task.id
        [taken] = store.queue.claim_due("server:2:b", clock.now(), 5)[0]
        assert taken.hold.fence == slept.hold.fence + 1
        # The laptop wakes up and reports its step: nothing of it is written.
        with pytest.raises(LeaseLost):
            store.queue.complete_step(slept.hold, slept.steps[0].id, clock.now())
        with pytest.raises(LeaseLost):
            store.queue.fail_step(slept.hold, slept.steps[0].id, clock.now(), message="x",
                                  retryable=True, retry_interval=timedelta(minutes=5))
        task = store.jobs.detail(slept.job.id).tasks[0]
        assert task.state == "Running" and task.driven_by == "server"
        assert task.steps[0].status == "Pending"


def test_one_runtime_of_a_team_leads(pg_database: str) -> None:
    with Store(pg_database) as store:
        assert store.queue.lead("a:1:x", "a", timedelta(seconds=60))
        assert not store.queue.lead("b:2:y", "b", timedelta(seconds=60))
        assert store.queue.lead("a:1:x", "a", timedelta(seconds=60))  # renewed
        assert store.queue.lead("b:2:y", "b", timedelta(0))  # a's heartbeat is too old


def test_a_change_by_another_process_is_heard_within_a_second(
    pg_database: str, clock: FakeClock
) -> None:
    heard = threading.Event()
    with Store(pg_database) as listening:
        stop = listening.listen(heard.set)
        assert stop is not None
        try:
            wait_for(heard.is_set, timeout=5, what="the first call after connecting")
            heard.clear()
            jobdesk = Jobdesk(Path("/tmp"), pg_database)  # type: ignore[arg-type]
            began = time.monotonic()
            jobdesk("devices", "add", "r1", "--host", "10.0.0.1")
            assert heard.wait(timeout=5)
            assert time.monotonic() - began < 5  # the command itself takes most of it
        finally:
            stop()


def snippet_once_each(fleet: Fleet, devices: int) -> None:
    assert len(fleet.count(uploads)) == devices
    assert set(fleet.count(uploads).values()) == {1}
    assert set(fleet.count(applies).values()) == {1}


def test_three_runtimes_finish_a_job_and_every_device_gets_its_snippet_once(
    tmp_path: Path, pg_database: str
) -> None:
    fleet = Fleet(tmp_path, 60, faults="slow:0.3")
    try:
        jobdesk = Jobdesk(tmp_path, pg_database)  # type: ignore[arg-type]
        job = jobdesk.config_job(fleet)
        runs = [jobdesk.start("run", "--until-done", "--max-seconds", "120")
                for _ in range(3)]
        for run in runs:
            assert run.wait(timeout=150) == 0, stderr_of(run)
        shown = jobdesk.json("jobs", "show", str(job))
        assert shown["state"] == "Succeeded"
        snippet_once_each(fleet, 60)
    finally:
        fleet.stop()


def test_a_runtime_killed_mid_run_has_its_tasks_taken_over(
    tmp_path: Path, pg_database: str
) -> None:
    fleet = Fleet(tmp_path, 30, faults="slow:1")
    try:
        jobdesk = Jobdesk(tmp_path, pg_database, claim_lease_s=8)  # type: ignore[arg-type]
        job = jobdesk.config_job(fleet)
        victim = jobdesk.start("run", "--until-done", "--max-seconds", "150")
        wait_for(lambda: jobdesk.json("jobs", "show", str(job))["state"] == "Running",
                 what="the first claims")
        survivors = [jobdesk.start("run", "--until-done", "--max-seconds", "150")
                     for _ in range(2)]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at = time.monotonic()
        for run in survivors:
            assert run.wait(timeout=180) == 0, stderr_of(run)
        shown = jobdesk.json("jobs", "show", str(job))
        assert shown["state"] == "Succeeded"
        assert time.monotonic() - killed_at < 8 + 5 + 30  # lease + 5 s + the work left
        # A step in flight at the kill may have run twice; no completed one did.
        assert set(fleet.count(applies).values()) <= {1, 2}
        assert len(fleet.count(applies)) == 30
    finally:
        fleet.stop()


def test_a_connection_the_server_dropped_is_replaced(pg_database: str, clock: FakeClock,
                                                     pg_cluster: Cluster) -> None:
    with Store(pg_database) as store:
        store.devices.add(make_device("r1", "10.0.0.1"), clock.now())
        (pid,) = store.db.execute_sql("SELECT pg_backend_pid()").fetchone()
        with pg_cluster.admin() as admin:  # as a server restart would
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        try:
            store.devices.list()
        except Exception as error:  # the statement that found the connection gone
            fault = store.fault_of(error)
            assert fault is not None and fault.kind.value == "unreachable"
            assert "database unreachable" in str(fault)
        assert [d.name for d in store.devices.list()] == ["r1"]
