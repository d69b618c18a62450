"""A device's history: the jobs that touched it, newest first, on SQLite and PostgreSQL."""

from __future__ import annotations

from jobdesk.domain.inventory import make_device
from jobdesk.domain.jobtypes import JobType
from jobdesk.runtime.actions import JobRequest, JobService
from jobdesk.settings import Settings
from jobdesk.store import Store
from tests.conftest import FakeClock


def test_history_lists_the_jobs_that_touched_a_device_newest_first(
    store: Store, clock: FakeClock
) -> None:
    for name in ("r1", "r2", "r3"):
        store.devices.add(make_device(name, "10.0.0.1"), clock.now())
    jobs = JobService(store, Settings(), clock)
    both = jobs.create(JobRequest("reboot both", JobType.REBOOT, devices=["r1", "r2"]))
    jobs.cancel_job(both.id)
    clock.advance(minutes=5)
    only_r1 = jobs.create(JobRequest("reboot r1", JobType.REBOOT, devices=["r1"]))

    history = store.devices.history("r1")
    assert [(e.job_id, e.job_name) for e in history] == [
        (only_r1.id, "reboot r1"), (both.id, "reboot both")]
    assert history[1].job_state == "Cancelled Manually"
    assert history[1].task_state == "Cancelled"
    assert history[0].job_type == JobType.REBOOT.value
    assert [e.job_id for e in store.devices.history("r2")] == [both.id]
    assert store.devices.history("r3") == []


def test_a_removed_device_keeps_its_history_under_its_name(
    store: Store, clock: FakeClock
) -> None:
    store.devices.add(make_device("r1", "10.0.0.1"), clock.now())
    jobs = JobService(store, Settings(), clock)
    job = jobs.create(JobRequest("reboot", JobType.REBOOT, devices=["r1"]))
    jobs.cancel_job(job.id)
    store.devices.remove("r1")
    store.devices.add(make_device("r1", "10.0.0.9"), clock.now())
    assert [e.job_id for e in store.devices.history("r1")] == [job.id]
