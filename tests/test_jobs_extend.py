"""`JobRepository.extend` on each backend, and the runtime running what an extension allows.

The clock is the tests' FakeClock (START is Tuesday 1 December 2026, 09:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from jobdesk.domain.inventory import make_device
from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.rules import ActionRefused, JobExpired
from jobdesk.domain.schedule import Scheduled, schedule_from_dict
from jobdesk.runtime.actions import JobRequest, JobService
from jobdesk.settings import Settings
from jobdesk.store import Store
from jobdesk.store.jobs import NotFound
from jobdesk.store.records import JobRecord, TaskRecord
from tests.conftest import FakeClock, Harness

# 22:00-22:10 UTC every night of 1 and 2 December: it expires on the 2nd at 22:10.
NIGHTS = Scheduled.parse("2026-12-01", "2026-12-02", "22:00-22:10", "mon-sun", "UTC")
AFTER = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # the job has expired


def make_job(store: Store, clock: FakeClock, *devices: str,
             schedule: Scheduled | None = None) -> JobRecord:
    for name in devices:
        store.devices.add(make_device(name, "10.0.0.1"), clock.now())
    service = JobService(store, Settings(), clock)
    request = JobRequest("reboot", JobType.REBOOT, devices=list(devices))
    if schedule is not None:
        request = JobRequest("reboot", JobType.REBOOT, devices=list(devices),
                             schedule=schedule)
    return service.create(request)


def tasks(store: Store, job_id: int) -> dict[str, TaskRecord]:
    return {t.device: t for t in store.jobs.detail(job_id).tasks}


def test_an_expired_scheduled_job_gets_a_later_end_date_and_its_failed_task_a_retry(
    store: Store, clock: FakeClock
) -> None:
    job = make_job(store, clock, "r1", schedule=NIGHTS)
    clock.set(AFTER)
    store.queue.sweep(AFTER)
    assert tasks(store, job.id)["r1"].state == "Failed"
    with pytest.raises(JobExpired):
        store.jobs.retry_task(job.id, "r1", AFTER)

    extended = store.jobs.extend(job.id, AFTER, to=date(2026, 12, 5))

    assert extended.expires_at == datetime(2026, 12, 5, 22, 10, tzinfo=UTC)
    assert store.jobs.get(job.id).expires_at == extended.expires_at
    stored = schedule_from_dict(store.jobs.get(job.id).schedule)
    assert stored == Scheduled.parse("2026-12-01", "2026-12-05", "22:00-22:10", "mon-sun",
                                     "UTC")
    # Extending retries nothing: the expired task stays Failed, and so does the job...
    task = tasks(store, job.id)["r1"]
    assert (task.state, task.reason) == ("Failed", "expired")
    assert extended.state == "Failed"
    # ...until a person retries it: then it waits for tonight's window.
    retried = store.jobs.retry_task(job.id, "r1", AFTER)
    assert retried.state == "Rescheduled"
    assert retried.next_attempt_at == datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
    assert store.jobs.get(job.id).state == "Scheduled"  # it never ran: waiting to (B4.5)


def test_waiting_tasks_keep_their_next_attempt(store: Store, clock: FakeClock) -> None:
    job = make_job(store, clock, "r1", "r2", schedule=NIGHTS)
    before = tasks(store, job.id)
    store.jobs.extend(job.id, clock.now(), to=date(2026, 12, 20))
    after = tasks(store, job.id)
    assert {d: (t.state, t.next_attempt_at) for d, t in after.items()} == {
        d: (t.state, t.next_attempt_at) for d, t in before.items()
    } == {d: ("Scheduled", datetime(2026, 12, 1, 22, 0, tzinfo=UTC)) for d in ("r1", "r2")}
    assert store.jobs.get(job.id).expires_at == datetime(2026, 12, 20, 22, 10, tzinfo=UTC)


def test_a_fire_and_forget_job_runs_longer_from_its_expiry_or_from_now(
    store: Store, clock: FakeClock
) -> None:
    job = make_job(store, clock, "r1")
    assert job.expires_at == clock.now() + timedelta(minutes=30)
    longer = store.jobs.extend(job.id, clock.now(), by=timedelta(hours=1))
    assert longer.expires_at == job.expires_at + timedelta(hours=1)
    assert longer.schedule == job.schedule
    later = clock.advance(hours=5)
    again = store.jobs.extend(job.id, later, by=timedelta(minutes=30))
    assert again.expires_at == later + timedelta(minutes=30)
    instant = store.jobs.extend(job.id, later, to=later + timedelta(days=1))
    assert instant.expires_at == later + timedelta(days=1)


def test_an_extension_brings_the_job_state_up_to_now(store: Store, clock: FakeClock) -> None:
    """A task waiting for its retry when the job passed its Expires At (before the runtime
    noticed): the job shows Paused; extended, it is Running again and the task still
    waits for the same attempt."""
    job = make_job(store, clock, "r1")
    [task_id] = store.queue.due(clock.now(), 10)
    attempt, _ = store.queue.claim(task_id, clock.now())
    assert attempt is not None
    connect = attempt.steps[0]
    store.queue.begin_step(attempt.hold, connect.id, clock.now())
    store.queue.fail_step(attempt.hold, connect.id, clock.now(), message="unreachable",
                          retryable=True, retry_interval=timedelta(minutes=5))
    waiting = tasks(store, job.id)["r1"]
    assert waiting.state == "Rescheduled"
    now = clock.advance(minutes=31)
    store.jobs.refresh_many([job.id], now)
    assert store.jobs.get(job.id).state == "Paused"
    extended = store.jobs.extend(job.id, now, by=timedelta(hours=1))
    assert extended.state == "Running"
    assert tasks(store, job.id)["r1"].next_attempt_at == waiting.next_attempt_at


@pytest.mark.parametrize(
    ("to", "words"),
    [
        (date(2026, 12, 2), "already ends on 2026-12-02"),
        (date(2026, 11, 20), "already ends on 2026-12-02"),
        (datetime(2026, 12, 9, 12, 0, tzinfo=UTC), "give a date"),
    ],
)
def test_a_refused_extension_changes_nothing(store: Store, clock: FakeClock,
                                             to: date, words: str) -> None:
    job = make_job(store, clock, "r1", schedule=NIGHTS)
    with pytest.raises(ActionRefused, match=words):
        store.jobs.extend(job.id, AFTER, to=to)
    unchanged = store.jobs.get(job.id)
    assert (unchanged.expires_at, unchanged.schedule) == (job.expires_at, job.schedule)


def test_a_cancelled_or_unknown_job_is_not_extended(store: Store, clock: FakeClock) -> None:
    job = make_job(store, clock, "r1", schedule=NIGHTS)
    store.jobs.cancel_job(job.id, clock.now())
    with pytest.raises(ActionRefused, match="Cancelled Manually; it cannot be extended"):
        store.jobs.extend(job.id, clock.now(), to=date(2026, 12, 9))
    assert store.jobs.get(job.id).expires_at == job.expires_at
    with pytest.raises(NotFound, match="no job 999"):
        store.jobs.extend(999, clock.now(), to=date(2026, 12, 9))


def test_the_runtime_runs_a_retried_task_in_a_window_of_the_extended_range(
    harness: Harness,
) -> None:
    h = harness
    h.add_devices("r1")
    h.driver.fail("r1", "connect", "unreachable", "no route to host")
    job = h.service.create(JobRequest("reboot", JobType.REBOOT, devices=["r1"],
                                      schedule=NIGHTS))
    for night in (1, 2):
        h.clock.set(datetime(2026, 12, night, 22, 0, tzinfo=UTC))
        h.run(h.cycle())
    h.clock.set(AFTER)
    h.store.queue.sweep(AFTER)
    task = tasks(h.store, job.id)["r1"]
    assert task.state == "Failed" and task.reason.startswith("expired")

    h.driver.faults.clear()  # the device was fixed by hand
    h.service.extend_job(job.id, to=date(2026, 12, 4))
    assert h.run(h.cycle()) == 0  # extending alone runs nothing
    h.service.retry_task(job.id, "r1")
    assert h.run(h.cycle()) == 0  # outside the window: it waits for 22:00
    h.clock.set(datetime(2026, 12, 3, 22, 0, tzinfo=UTC))
    assert h.run(h.cycle()) == 1
    assert tasks(h.store, job.id)["r1"].state == "Succeeded"
    assert h.store.jobs.get(job.id).state == "Succeeded"
