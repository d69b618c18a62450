"""The task lifecycle's pure functions: every change, its refusals, and its invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobdesk.domain import lifecycle
from jobdesk.domain.lifecycle import Action, JobView, TaskChange, TaskView
from jobdesk.domain.rules import ActionRefused
from jobdesk.domain.schedule import FireAndForget, Schedule, Scheduled
from jobdesk.domain.states import JobState, StepStatus, TaskState

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
RETRY = timedelta(minutes=5)
NIGHTLY = Scheduled.parse("2026-11-30", "2026-12-10", "22:00-04:00", "mon-sun", "UTC")


def fire(**changes: object) -> JobView:
    values: dict[str, object] = {"schedule": FireAndForget(),
                                 "expires_at": NOW + timedelta(minutes=30)}
    values.update(changes)
    return JobView(**values)  # type: ignore[arg-type]


def task(state: TaskState = TaskState.SCHEDULED, **changes: object) -> TaskView:
    return TaskView(state, **changes)  # type: ignore[arg-type]


RUNNING = task(TaskState.RUNNING, attempts=1)


# --- claim ---------------------------------------------------------------------------------


def test_a_due_task_of_an_open_job_starts() -> None:
    assert lifecycle.claim(fire(), task(), NOW) is None


@pytest.mark.parametrize(
    ("job", "view", "expected"),
    [
        (fire(cancelled=True), task(reason="cancelled by a person"),
         TaskChange(TaskState.CANCELLED, "cancelled by a person")),
        (fire(replaced=True), task(), TaskChange(TaskState.CANCELLED, "cancelled")),
        (fire(), task(cancel_requested=True, reason="stop it"),
         TaskChange(TaskState.CANCELLED, "stop it")),
        (fire(), task(has_device=False), TaskChange(TaskState.FAILED, lifecycle.DEVICE_REMOVED)),
        (fire(expires_at=NOW), task(), TaskChange(TaskState.FAILED, lifecycle.EXPIRED)),
    ],
)
def test_a_claimed_task_that_may_not_start_ends(job: JobView, view: TaskView,
                                               expected: TaskChange) -> None:
    assert lifecycle.claim(job, view, NOW) == expected


def test_a_task_never_attempted_stays_scheduled_when_its_window_closed() -> None:
    job = fire(schedule=NIGHTLY, expires_at=datetime(2026, 12, 11, 4, tzinfo=UTC))
    change = lifecycle.claim(job, task(attempts=0), NOW)
    assert change == TaskChange(TaskState.SCHEDULED, lifecycle.WINDOW_CLOSED,
                                datetime(2026, 12, 1, 22, tzinfo=UTC))
    again = lifecycle.claim(job, task(TaskState.RESCHEDULED, attempts=2, reason="timeout"), NOW)
    assert again == TaskChange(TaskState.RESCHEDULED, "timeout",
                               datetime(2026, 12, 1, 22, tzinfo=UTC))


def test_no_window_left_before_expiry_means_expired() -> None:
    job = fire(schedule=NIGHTLY, expires_at=datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert lifecycle.claim(job, task(), NOW) == TaskChange(TaskState.FAILED, lifecycle.EXPIRED)


# --- during an attempt ---------------------------------------------------------------------


def test_before_a_step_only_cancel_expiry_and_a_closed_window_stop_the_attempt() -> None:
    assert lifecycle.before_step(fire(), RUNNING, NOW) is None
    assert lifecycle.before_step(fire(), task(TaskState.RUNNING, cancel_requested=True,
                                              reason="x"), NOW) == TaskChange(
        TaskState.CANCELLED, "x")
    assert lifecycle.before_step(fire(replaced=True), RUNNING, NOW).state is TaskState.CANCELLED
    assert lifecycle.before_step(fire(expires_at=NOW), RUNNING, NOW) == TaskChange(
        TaskState.FAILED, lifecycle.EXPIRED)
    nightly = fire(schedule=NIGHTLY, expires_at=datetime(2026, 12, 11, 4, tzinfo=UTC))
    assert lifecycle.before_step(nightly, RUNNING, NOW) == TaskChange(
        TaskState.RESCHEDULED, lifecycle.WINDOW_CLOSED, datetime(2026, 12, 1, 22, tzinfo=UTC))


def test_after_a_step_the_task_succeeds_when_nothing_is_left_or_needed() -> None:
    after = lifecycle.after_step
    assert after(RUNNING, steps_left=2, finish_task=False, message="ok") is None
    assert after(RUNNING, steps_left=0, finish_task=False, message="ok") == TaskChange(
        TaskState.SUCCEEDED)
    assert after(RUNNING, steps_left=4, finish_task=True,
                 message="already on 4.9") == TaskChange(TaskState.SUCCEEDED, "already on 4.9")
    assert after(RUNNING, steps_left=4, finish_task=True, message=None) == TaskChange(
        TaskState.SUCCEEDED)


def test_a_cancel_during_the_last_step_is_kept_on_record() -> None:
    asked = datetime(2026, 12, 1, 10, 2, tzinfo=UTC)
    late = task(TaskState.RUNNING, attempts=1, cancel_requested=True, cancel_requested_at=asked)
    change = lifecycle.after_step(late, steps_left=0, finish_task=False, message="ok")
    assert change == TaskChange(
        TaskState.SUCCEEDED, "cancel requested 2026-12-01 10:02:00 UTC; the last step "
        "finished first")
    # Not the last step: the attempt goes on to `before_step`, which cancels it.
    assert lifecycle.after_step(late, steps_left=1, finish_task=False, message="ok") is None
    assert lifecycle.before_step(fire(), late, NOW).state is TaskState.CANCELLED


def test_a_failure_is_retried_after_the_interval_or_ends_the_task() -> None:
    assert lifecycle.after_failure(fire(), RUNNING, NOW, message="timeout", retryable=True,
                                   retry_interval=RETRY) == TaskChange(
        TaskState.RESCHEDULED, "timeout", NOW + RETRY)
    assert lifecycle.after_failure(fire(), RUNNING, NOW, message="auth refused",
                                   retryable=False, retry_interval=RETRY) == TaskChange(
        TaskState.FAILED, "auth refused")
    late = lifecycle.after_failure(fire(expires_at=NOW + RETRY), RUNNING, NOW,
                                   message="timeout", retryable=True, retry_interval=RETRY)
    assert late == TaskChange(TaskState.FAILED, "expired; last error: timeout")
    cancelled = lifecycle.after_failure(fire(cancelled=True), RUNNING, NOW, message="x",
                                        retryable=True, retry_interval=RETRY)
    assert cancelled.state is TaskState.CANCELLED


def test_an_interrupted_attempt_goes_first_next_time() -> None:
    assert lifecycle.interrupt(fire(), RUNNING, NOW, "interrupted") == TaskChange(
        TaskState.RESCHEDULED, "interrupted", NOW, interrupted=True)
    assert lifecycle.interrupt(fire(cancelled=True), RUNNING, NOW, "x").state is \
        TaskState.CANCELLED
    assert lifecycle.interrupt(fire(expires_at=NOW), RUNNING, NOW, "x") == TaskChange(
        TaskState.FAILED, lifecycle.EXPIRED)


def test_only_waiting_tasks_expire() -> None:
    gone = fire(expires_at=NOW)
    assert lifecycle.expire(gone, task(TaskState.RESCHEDULED), NOW) == TaskChange(
        TaskState.FAILED, lifecycle.EXPIRED)
    assert lifecycle.expire(gone, RUNNING, NOW) is None
    assert lifecycle.expire(fire(), task(), NOW) is None


# --- a person's actions --------------------------------------------------------------------


def test_cancel_ends_a_waiting_task_and_asks_a_running_one_to_stop() -> None:
    assert lifecycle.cancel_task(task(), NOW) == TaskChange(
        TaskState.CANCELLED, lifecycle.CANCELLED_BY_PERSON, cancel_requested_at=NOW)
    assert lifecycle.cancel_task(RUNNING, NOW) == TaskChange(
        TaskState.RUNNING, lifecycle.CANCELLED_BY_PERSON, cancel_requested=True,
        cancel_requested_at=NOW)
    with pytest.raises(ActionRefused, match="already Succeeded"):
        lifecycle.cancel_task(task(TaskState.SUCCEEDED), NOW)


def test_retry_now_and_its_refusals() -> None:
    failed = task(TaskState.FAILED, attempts=3)
    assert lifecycle.retry_now(fire(state=JobState.FAILED), failed, NOW) == TaskChange(
        TaskState.RESCHEDULED, lifecycle.RETRY_REQUESTED, NOW)
    with pytest.raises(ActionRefused, match="Rescheduled or Failed"):
        lifecycle.retry_now(fire(), RUNNING, NOW)
    with pytest.raises(ActionRefused, match="create a new job"):
        lifecycle.retry_now(fire(state=JobState.CANCELLED_MANUALLY), failed, NOW)
    with pytest.raises(ActionRefused, match="extend"):
        lifecycle.retry_now(fire(expires_at=NOW), failed, NOW)
    with pytest.raises(ActionRefused, match="no window is left"):
        lifecycle.retry_now(fire(schedule=NIGHTLY, expires_at=NOW + timedelta(hours=1)),
                            failed, NOW)


def test_replace_cancels_open_tasks_and_leaves_finished_ones() -> None:
    assert lifecycle.replace(task(TaskState.SUCCEEDED), 7, NOW) is None
    assert lifecycle.replace(task(), 7, NOW) == TaskChange(
        TaskState.CANCELLED, "replaced by job 7", cancel_requested_at=NOW)
    assert lifecycle.replace(RUNNING, 7, NOW) == TaskChange(
        TaskState.RUNNING, "replaced by job 7", cancel_requested=True, cancel_requested_at=NOW)


def test_skip_step_is_refused_while_running_or_for_a_done_step() -> None:
    lifecycle.skip_step(task(TaskState.FAILED), StepStatus.FAILED)
    with pytest.raises(ActionRefused):
        lifecycle.skip_step(RUNNING, StepStatus.PENDING)
    with pytest.raises(ActionRefused):
        lifecycle.skip_step(task(TaskState.FAILED), StepStatus.COMPLETED)


def test_available_actions_say_why_an_action_is_refused() -> None:
    nothing = lifecycle.available_actions(fire(), None, None, NOW)
    assert nothing[Action.CANCEL_JOB] is None
    assert nothing[Action.RETRY_NOW] == "select a task first"
    failed = task(TaskState.FAILED, attempts=2)
    actions = lifecycle.available_actions(fire(state=JobState.FAILED), failed, None, NOW)
    assert actions[Action.CANCEL_JOB] == "the job is already Failed"
    assert actions[Action.RETRY_NOW] is None
    assert actions[Action.CANCEL_TASK] == "the task is already Failed"
    assert actions[Action.SKIP_STEP] == "select a step first"
    running = lifecycle.available_actions(fire(), RUNNING, StepStatus.RUNNING, NOW)
    assert running[Action.CANCEL_TASK] is None
    assert "Rescheduled or Failed" in (running[Action.RETRY_NOW] or "")
    assert "running" in (running[Action.SKIP_STEP] or "")


def test_a_change_that_breaks_the_waiting_invariant_is_impossible() -> None:
    with pytest.raises(ValueError):
        TaskChange(TaskState.RESCHEDULED)
    with pytest.raises(ValueError):
        TaskChange(TaskState.FAILED, next_attempt_at=NOW)


# --- properties ----------------------------------------------------------------------------

schedules = st.sampled_from([FireAndForget(), NIGHTLY])
instants = st.datetimes(min_value=datetime(2026, 11, 25), max_value=datetime(2026, 12, 15),
                        timezones=st.just(UTC))
jobs = st.builds(
    JobView,
    schedule=schedules,
    expires_at=instants,
    state=st.sampled_from(list(JobState)),
    cancelled=st.booleans(),
    replaced=st.booleans(),
)
tasks = st.builds(
    TaskView,
    state=st.sampled_from(list(TaskState)),
    attempts=st.integers(0, 5),
    cancel_requested=st.booleans(),
    reason=st.none() | st.sampled_from(["timeout", "cancelled by a person"]),
    has_device=st.booleans(),
    interrupted=st.booleans(),
)


def _sane(change: TaskChange | None, job: JobView, now: datetime) -> None:
    if change is None:
        return
    if change.next_attempt_at is not None:
        assert now <= change.next_attempt_at < job.expires_at
        assert job.schedule.is_open(change.next_attempt_at)
    if change.state is TaskState.SCHEDULED:
        assert not change.interrupted


@given(job=jobs, view=tasks, now=instants, schedule=schedules)
def test_every_change_keeps_next_attempt_inside_a_window_before_expiry(
    job: JobView, view: TaskView, now: datetime, schedule: Schedule
) -> None:
    _sane(lifecycle.claim(job, view, now), job, now)
    _sane(lifecycle.before_step(job, view, now), job, now)
    _sane(lifecycle.interrupt(job, view, now, "interrupted"), job, now)
    _sane(lifecycle.expire(job, view, now), job, now)
    _sane(lifecycle.after_failure(job, view, now, message="x", retryable=True,
                                  retry_interval=RETRY), job, now)


@given(job=jobs, view=tasks, now=instants, overdue=st.timedeltas(
    min_value=timedelta(0), max_value=timedelta(days=3)))
def test_a_task_whose_next_attempt_passed_in_a_closed_window_moves_to_the_next_opening(
    job: JobView, view: TaskView, now: datetime, overdue: timedelta
) -> None:
    change = lifecycle.catch_up(job, view, now, now - overdue)
    _sane(change, job, now)
    if not view.state.is_waiting or (job.schedule.is_open(now) and now < job.expires_at):
        assert change is None  # not waiting, or due now: a runtime takes it as it is
        return
    assert change is not None
    if change.state.is_waiting:
        # The same task, waiting for a later opening: state, reason and place in line kept.
        assert change.state is view.state and change.reason == view.reason
        assert change.interrupted == (view.interrupted and view.state is TaskState.RESCHEDULED)
        assert change.next_attempt_at is not None and change.next_attempt_at > now
    else:
        assert change == TaskChange(TaskState.FAILED, lifecycle.EXPIRED)


@given(job=jobs, view=tasks, now=instants)
def test_an_ended_job_or_a_cancel_request_never_lets_work_start(
    job: JobView, view: TaskView, now: datetime
) -> None:
    if job.ended or view.cancel_requested:
        assert lifecycle.claim(job, view, now) == TaskChange(
            TaskState.CANCELLED, view.reason or "cancelled")
        assert lifecycle.before_step(job, view, now) is not None


@given(job=jobs, view=tasks, now=instants)
def test_a_claim_starts_work_only_inside_an_open_window_before_expiry(
    job: JobView, view: TaskView, now: datetime
) -> None:
    if lifecycle.claim(job, view, now) is None:
        assert job.schedule.is_open(now) and now < job.expires_at and view.has_device


@given(job=jobs, view=tasks, now=instants)
def test_available_actions_agree_with_the_actions(job: JobView, view: TaskView,
                                                  now: datetime) -> None:
    actions = lifecycle.available_actions(job, view, StepStatus.FAILED, now)
    try:
        lifecycle.retry_now(job, view, now)
        assert actions[Action.RETRY_NOW] is None
    except ActionRefused as refused:
        assert actions[Action.RETRY_NOW] == str(refused)
    try:
        lifecycle.cancel_task(view, now)
        assert actions[Action.CANCEL_TASK] is None
    except ActionRefused as refused:
        assert actions[Action.CANCEL_TASK] == str(refused)


def test_an_expired_fire_and_forget_job_may_be_retried_by_extending_it() -> None:
    failed = task(TaskState.FAILED, attempts=3)
    expired = fire(expires_at=NOW, state=JobState.FAILED)
    lifetime = timedelta(minutes=30)
    assert "extend" in (lifecycle.available_actions(expired, failed, None, NOW)[
        Action.RETRY_NOW] or "")
    assert lifecycle.available_actions(expired, failed, None, NOW, extension=lifetime)[
        Action.RETRY_NOW] is None
    assert lifecycle.retry_view(expired, NOW, lifetime).expires_at == NOW + lifetime
    assert lifecycle.retry_view(fire(), NOW, lifetime) == fire()
    nightly = fire(schedule=NIGHTLY, expires_at=NOW, state=JobState.FAILED)
    assert lifecycle.retry_view(nightly, NOW, lifetime) == nightly


# --- where an attempt starts, and what a person reads of each step (B1) ---------------------

FIRMWARE = ["connect", "check-version", "upload-image", "install", "reboot", "wait-online",
            "verify-version"]
C, P, F, S = StepStatus.COMPLETED, StepStatus.PENDING, StepStatus.FAILED, StepStatus.SKIPPED


def steps(*statuses: StepStatus, names: list[str] = FIRMWARE) -> list[tuple[str, StepStatus]]:
    return list(zip(names, statuses, strict=True))


def test_an_attempt_starts_at_the_first_step_not_done() -> None:
    assert lifecycle.attempt_start(steps(P, P, P, P, P, P, P)) == 0
    assert lifecycle.attempt_start(steps(C, C, F, P, P, P, P)) == 2
    assert lifecycle.attempt_start(steps(C, S, C, P, P, P, P)) == 3
    assert lifecycle.attempt_start(steps(C, C, C, C, C, C, C)) is None
    assert lifecycle.attempt_start(steps(C, C, S, S, S, S, S)) is None


def test_a_failed_verification_starts_the_next_attempt_at_what_it_verifies() -> None:
    # verify-version checks the install, which consumes the uploaded image.
    assert lifecycle.attempt_start(steps(C, C, C, C, C, C, F)) == 2
    config = ["connect", "upload-snippet", "apply", "verify-values"]
    assert lifecycle.attempt_start(steps(C, C, C, F, names=config)) == 1
    command = ["connect", "run", "check-exit"]
    assert lifecycle.attempt_start(steps(C, C, F, names=command)) == 1
    # A failed step that verifies nothing is simply run again.
    assert lifecycle.attempt_start(steps(C, C, C, F, P, P, P)) == 3


def test_a_waiting_task_says_which_done_steps_run_again_a_finished_one_none() -> None:
    failed_check = steps(C, C, C, C, C, C, F)
    assert lifecycle.runs_again(failed_check, TaskState.RESCHEDULED) == [
        False, False, True, True, True, True, True]
    assert lifecycle.runs_again(failed_check, TaskState.FAILED) == [False] * 7
    assert lifecycle.runs_again(steps(C, C, S, C, C, C, F), TaskState.SCHEDULED) == [
        False, False, False, True, True, True, True]


def test_a_step_of_a_task_that_failed_for_good_never_reads_as_waiting() -> None:
    assert lifecycle.step_label(P, TaskState.FAILED) == lifecycle.NOT_RUN
    assert lifecycle.step_label(P, TaskState.CANCELLED) == lifecycle.NOT_RUN
    assert lifecycle.step_label(P, TaskState.RESCHEDULED) == "Pending"
    assert lifecycle.step_label(C, TaskState.RESCHEDULED, again=True) == "Completed, runs again"
    assert lifecycle.step_label(C, TaskState.FAILED) == "Completed"


step_lists = st.lists(st.tuples(st.sampled_from(FIRMWARE), st.sampled_from(list(StepStatus))),
                      max_size=8)


@given(step_list=step_lists, state=st.sampled_from(list(TaskState)))
def test_the_next_attempt_never_starts_after_a_step_not_done(
    step_list: list[tuple[str, StepStatus]], state: TaskState
) -> None:
    start = lifecycle.attempt_start(step_list)
    not_done = [i for i, (_, status) in enumerate(step_list) if not status.is_done]
    if not not_done:
        assert start is None
    else:
        assert start is not None and start <= not_done[0]
    again = lifecycle.runs_again(step_list, state)
    assert len(again) == len(step_list)
    if state.is_finished or state is TaskState.RUNNING:
        assert not any(again)
    labels = [lifecycle.step_label(status, state, a) for (_, status), a in
              zip(step_list, again, strict=True)]
    if state.is_finished:
        assert "Pending" not in labels


@given(job=jobs, view=st.none() | tasks, now=instants)
def test_extend_is_offered_unless_a_person_ended_the_job(job: JobView, view: TaskView | None,
                                                         now: datetime) -> None:
    refusal = lifecycle.available_actions(job, view, None, now)[Action.EXTEND_JOB]
    if job.state.is_final:
        assert refusal == (
            f"the job is {job.state.value}; it cannot be extended, create a new job instead")
    elif job.ended:
        # Even while a replaced job's last step still finishes (it reads Running).
        assert refusal is not None and refusal.startswith("the job was ")
    else:
        assert refusal is None


def test_a_replaced_job_still_finishing_its_last_step_cannot_be_retried_or_extended() -> None:
    replaced = fire(replaced=True, state=JobState.RUNNING)
    failed = task(TaskState.FAILED, attempts=1)
    actions = lifecycle.available_actions(replaced, failed, None, NOW)
    assert actions[Action.RETRY_NOW] == "the job was replaced by another job; create a new job " \
        "instead"
    assert actions[Action.EXTEND_JOB] == actions[Action.RETRY_NOW]


def test_after_extending_an_expired_scheduled_job_its_failed_task_can_be_retried() -> None:
    failed = task(TaskState.FAILED, attempts=2, reason="expired")
    expired = JobView(NIGHTLY, NIGHTLY.expires_at(), JobState.FAILED)
    later = NIGHTLY.expires_at() + timedelta(hours=1)
    refusal = lifecycle.available_actions(expired, failed, None, later,
                                          extension=timedelta(minutes=30))
    assert "expired" in (refusal[Action.RETRY_NOW] or "")  # its date range decides
    assert refusal[Action.EXTEND_JOB] is None
    extended = lifecycle.extend(expired, later, to=NIGHTLY.end_date + timedelta(days=2))
    job = JobView(extended.schedule, extended.expires_at, expired.state)
    assert lifecycle.available_actions(job, failed, None, later)[Action.RETRY_NOW] is None
    change = lifecycle.retry_now(job, failed, later)
    # It expired at 04:00 on 11 December; the new night of the 11th opens at 22:00.
    assert change.next_attempt_at == datetime(2026, 12, 11, 22, 0, tzinfo=UTC)


def test_which_steps_may_be_skipped_is_declared_with_the_step() -> None:
    from jobdesk.domain.jobtypes import JOB_TYPES, STEPS_BY_NAME

    failed = task(TaskState.FAILED, attempts=1)
    for name in ("connect", "sign", "store-info"):
        assert not STEPS_BY_NAME[name].skippable
        with pytest.raises(ActionRefused, match=f"{name} cannot be skipped"):
            lifecycle.skip_step(failed, StepStatus.FAILED, name)
        refusal = lifecycle.available_actions(fire(), failed, StepStatus.FAILED, NOW,
                                              step_name=name)[Action.SKIP_STEP]
        assert refusal is not None and "cannot be skipped" in refusal
    # Every job type starts with a connection nobody can make by hand.
    assert all(not spec.steps[0].skippable for spec in JOB_TYPES.values())
    assert lifecycle.available_actions(fire(), failed, StepStatus.FAILED, NOW,
                                       step_name="reboot")[Action.SKIP_STEP] is None
