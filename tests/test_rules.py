"""Spec B4 and B5 as tables, and properties over every combination of task states."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobdesk.domain import rules
from jobdesk.domain.rules import ActionRefused, TaskCounts, derive_job_state
from jobdesk.domain.schedule import FireAndForget, Scheduled
from jobdesk.domain.states import JobState, StepStatus, TaskState

S, R, RS, OK, F, C = (
    TaskState.SCHEDULED, TaskState.RUNNING, TaskState.RESCHEDULED,
    TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED,
)

# (tasks, cancelled, replaced, attempted, window_open) -> state
TABLE = [
    # Rule 1 and 2 win over everything.
    ([S, R], True, False, True, True, JobState.CANCELLED_MANUALLY),
    ([OK, OK], True, False, True, True, JobState.CANCELLED_MANUALLY),
    ([OK, C], False, True, True, False, JobState.REPLACED),
    # B5: a replaced job whose last task still finishes its step is not Replaced yet.
    ([R], False, True, True, True, JobState.RUNNING),
    ([OK], True, True, True, True, JobState.CANCELLED_MANUALLY),
    # Rule 3: every task finished.
    ([OK, OK, OK], False, False, True, False, JobState.SUCCEEDED),
    ([F, F], False, False, True, True, JobState.FAILED),
    ([C, F], False, False, True, True, JobState.FAILED),
    ([C], False, False, False, True, JobState.FAILED),
    ([OK, F], False, False, True, True, JobState.PARTIALLY_SUCCEEDED),
    ([OK, C], False, False, True, False, JobState.PARTIALLY_SUCCEEDED),
    # Rule 4: some task running.
    ([R, S, OK], False, False, True, True, JobState.RUNNING),
    ([R, RS], False, False, True, False, JobState.RUNNING),
    # Rule 5: work left, nothing running.
    ([S, S], False, False, False, False, JobState.SCHEDULED),
    ([S, S], False, False, False, True, JobState.SCHEDULED),
    ([RS, OK], False, False, True, False, JobState.PAUSED),
    ([S, F], False, False, True, False, JobState.PAUSED),
    ([RS], False, False, True, True, JobState.RUNNING),
    ([S, OK], False, False, True, True, JobState.RUNNING),
    # Rule 6.
    ([], False, False, False, True, JobState.UNKNOWN),
    (["Exploded"], False, False, True, True, JobState.UNKNOWN),
]


@pytest.mark.parametrize(("tasks", "cancelled", "replaced", "attempted", "window", "state"),
                         TABLE)
def test_job_state_table(tasks, cancelled, replaced, attempted, window, state) -> None:
    counts = TaskCounts.of(tasks)
    assert derive_job_state(
        cancelled=cancelled, replaced=replaced, counts=counts, attempted=attempted,
        window_open=window,
    ) is state


ALL_TASK_STATES = list(TaskState)


def test_every_combination_of_up_to_three_tasks_lands_in_exactly_one_rule() -> None:
    """Exhaustive: all multisets of 0-3 task states x every flag combination."""
    for size in range(4):
        for tasks in itertools.combinations_with_replacement(ALL_TASK_STATES, size):
            flags = itertools.product([False, True], repeat=4)
            for cancelled, replaced, attempted, window in flags:
                counts = TaskCounts.of(tasks)
                state = derive_job_state(cancelled=cancelled, replaced=replaced, counts=counts,
                                         attempted=attempted, window_open=window)
                finished = all(t.is_finished for t in tasks)
                if cancelled:
                    assert state is JobState.CANCELLED_MANUALLY
                elif replaced and finished:
                    assert state is JobState.REPLACED
                elif not tasks:
                    assert state is JobState.UNKNOWN
                elif finished:
                    assert state in (JobState.SUCCEEDED, JobState.FAILED,
                                     JobState.PARTIALLY_SUCCEEDED)
                    assert (state is JobState.SUCCEEDED) == all(t is OK for t in tasks)
                    assert (state is JobState.FAILED) == all(t is not OK for t in tasks)
                elif R in tasks:
                    assert state is JobState.RUNNING
                elif not attempted:
                    assert state is JobState.SCHEDULED
                else:
                    assert state is (JobState.RUNNING if window else JobState.PAUSED)
                assert state.is_terminal == (cancelled or (replaced and finished)
                                             or (bool(tasks) and finished))


@given(st.lists(st.sampled_from(ALL_TASK_STATES), max_size=30))
def test_progress_counts_finished_tasks(tasks: list[TaskState]) -> None:
    progress = rules.job_progress(TaskCounts.of(tasks))
    assert progress.total == len(tasks)
    assert progress.done == sum(1 for t in tasks if t.is_finished)
    assert 0.0 <= progress.fraction <= 1.0


def test_step_progress_counts_completed_and_skipped() -> None:
    statuses = [StepStatus.COMPLETED, StepStatus.SKIPPED, StepStatus.FAILED, StepStatus.PENDING]
    assert rules.step_progress(statuses).to_dict() == {"done": 2, "total": 4}


T0 = datetime(2026, 12, 1, 21, 50, tzinfo=UTC)  # Tuesday
NIGHTLY = Scheduled.parse("2026-12-01", "2026-12-02", "22:00-23:00", "mon-sun", "UTC")


def test_next_attempt_fire_and_forget_is_failure_plus_interval() -> None:
    ff = FireAndForget()
    expires = T0 + timedelta(minutes=30)
    assert rules.next_attempt_after_failure(ff, T0, timedelta(minutes=5), expires) == (
        T0 + timedelta(minutes=5)
    )
    assert rules.next_attempt_after_failure(ff, T0 + timedelta(minutes=25),
                                            timedelta(minutes=5), expires) is None


def test_next_attempt_outside_the_window_moves_to_the_next_opening() -> None:
    expires = NIGHTLY.expires_at()
    failed = datetime(2026, 12, 1, 22, 57, tzinfo=UTC)
    assert rules.next_attempt_after_failure(NIGHTLY, failed, timedelta(minutes=5), expires) == (
        datetime(2026, 12, 2, 22, 0, tzinfo=UTC)
    )
    last = datetime(2026, 12, 2, 22, 57, tzinfo=UTC)
    assert rules.next_attempt_after_failure(NIGHTLY, last, timedelta(minutes=5), expires) is None


@given(
    st.integers(min_value=0, max_value=3 * 24 * 60),
    st.integers(min_value=1, max_value=120),
)
def test_next_attempt_is_inside_a_window_and_before_expiry(minute: int, interval: int) -> None:
    failed = T0 + timedelta(minutes=minute)
    expires = NIGHTLY.expires_at()
    next_at = rules.next_attempt_after_failure(NIGHTLY, failed, timedelta(minutes=interval),
                                               expires)
    if next_at is not None:
        assert next_at >= failed + timedelta(minutes=interval)
        assert NIGHTLY.is_open(next_at)
        assert next_at < expires


def test_first_attempt_of_a_schedule_with_no_window_left_is_refused() -> None:
    with pytest.raises(ActionRefused, match="no window left"):
        rules.first_attempt_at(NIGHTLY, datetime(2026, 12, 3, tzinfo=UTC), NIGHTLY.expires_at())


@pytest.mark.parametrize(
    ("cancel", "now", "expected"),
    [
        (True, datetime(2026, 12, 1, 22, 30, tzinfo=UTC), rules.StopReason.CANCELLED),
        (False, datetime(2026, 12, 2, 23, 0, tzinfo=UTC), rules.StopReason.EXPIRED),
        (False, datetime(2026, 12, 1, 23, 0, tzinfo=UTC), rules.StopReason.WINDOW_CLOSED),
        (False, datetime(2026, 12, 1, 22, 30, tzinfo=UTC), None),
    ],
)
def test_stop_before_next_step(cancel: bool, now: datetime, expected: object) -> None:
    assert rules.stop_before_next_step(
        now=now, schedule=NIGHTLY, expires_at=NIGHTLY.expires_at(), cancel_requested=cancel
    ) == expected


RETRY_TABLE = [
    (RS, JobState.RUNNING, None),
    (F, JobState.FAILED, None),
    (F, JobState.PARTIALLY_SUCCEEDED, None),
    (S, JobState.SCHEDULED, "only a Rescheduled or Failed task"),
    (R, JobState.RUNNING, "only a Rescheduled or Failed task"),
    (OK, JobState.SUCCEEDED, "only a Rescheduled or Failed task"),
    (C, JobState.PARTIALLY_SUCCEEDED, "only a Rescheduled or Failed task"),
    (F, JobState.CANCELLED_MANUALLY, "create a new job"),
    (F, JobState.REPLACED, "create a new job"),
]


@pytest.mark.parametrize(("task", "job", "refusal"), RETRY_TABLE)
def test_retry_now_table(task: TaskState, job: JobState, refusal: str | None) -> None:
    def check() -> None:
        rules.check_retry_now(task_state=task, job_state=job, now=T0,
                              expires_at=T0 + timedelta(hours=1))

    if refusal is None:
        check()
    else:
        with pytest.raises(ActionRefused, match=refusal):
            check()


def test_retry_now_after_expiry_asks_for_an_extension() -> None:
    with pytest.raises(ActionRefused, match="extend its Expires At"):
        rules.check_retry_now(task_state=F, job_state=JobState.FAILED, now=T0, expires_at=T0)
    assert rules.extended_expiry(FireAndForget(), T0, timedelta(minutes=30)) == (
        T0 + timedelta(minutes=30)
    )
    with pytest.raises(ActionRefused, match="new end date"):
        rules.extended_expiry(NIGHTLY, T0, timedelta(minutes=30))


@pytest.mark.parametrize("task", list(TaskState))
@pytest.mark.parametrize("step", list(StepStatus))
def test_skip_step_table(task: TaskState, step: StepStatus) -> None:
    allowed = task in (S, RS, F) and step in (StepStatus.FAILED, StepStatus.PENDING)
    if allowed:
        rules.check_skip_step(step_status=step, task_state=task)
    else:
        with pytest.raises(ActionRefused):
            rules.check_skip_step(step_status=step, task_state=task)


@pytest.mark.parametrize("task", list(TaskState))
def test_cancel_task_only_while_unfinished(task: TaskState) -> None:
    if task.is_finished:
        with pytest.raises(ActionRefused, match="already"):
            rules.check_cancel_task(task)
    else:
        rules.check_cancel_task(task)


@pytest.mark.parametrize("job", list(JobState))
def test_cancel_job_only_while_not_terminal(job: JobState) -> None:
    if job.is_terminal:
        with pytest.raises(ActionRefused, match="already"):
            rules.check_cancel_job(job)
    else:
        rules.check_cancel_job(job)


def test_job_state_parse_accepts_cli_spellings() -> None:
    assert JobState.parse("partially-succeeded") is JobState.PARTIALLY_SUCCEEDED
    assert JobState.parse("Cancelled Manually") is JobState.CANCELLED_MANUALLY
    with pytest.raises(ValueError, match="use one of"):
        JobState.parse("done")
