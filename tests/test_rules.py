"""Spec B4 and B5 as tables, and properties over every combination of task states."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobdesk.domain import lifecycle, rules
from jobdesk.domain.lifecycle import JobView, TaskView
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


# --- extending a job's Expires At (B5) -----------------------------------------------------

ZONES = ["UTC", "Europe/Zurich", "America/New_York", "Australia/Lord_Howe"]
FINAL = [s for s in JobState if s.is_final]
T_MIN, T_MAX = datetime(2026, 11, 1), datetime(2027, 1, 31)
moments = st.datetimes(min_value=T_MIN, max_value=T_MAX, timezones=st.just(UTC))


@st.composite
def scheduled(draw: st.DrawFn) -> Scheduled:
    """A valid schedule: its start date's weekday is always chosen, so it has a window."""
    start = draw(st.dates(min_value=T_MIN.date(), max_value=T_MAX.date()))
    days = draw(st.integers(0, 12))
    opens = draw(st.integers(0, 23))
    hours = draw(st.integers(1, 23))
    weekdays = draw(st.sets(st.integers(0, 6))) | {start.weekday()}
    return Scheduled(start, start + timedelta(days=days), time(opens),
                     time((opens + hours) % 24), frozenset(weekdays), draw(st.sampled_from(ZONES)))


@given(schedule=scheduled(), to=st.dates(min_value=T_MIN.date(), max_value=date(2027, 3, 1)),
       now=moments, state=st.sampled_from(list(JobState)))
def test_a_scheduled_job_is_extended_by_a_later_end_date_exactly_when_it_can_run_again(
    schedule: Scheduled, to: date, now: datetime, state: JobState
) -> None:
    expires = schedule.expires_at()
    try:
        extended = rules.extend_expiry(schedule, expires, state, now, to=to)
    except ActionRefused as refused:
        later = to > schedule.end_date and replace(schedule, end_date=to).expires_at()
        # Refused only when it must be: ended by a person, not a later date, or no window
        # of the longer range closes after both now and the current Expires At.
        assert state.is_final or not later or later <= max(now, expires), str(refused)
        return
    assert not state.is_final
    # The date range ends on the new date, the rest of the schedule is as it was, and
    # Expires At is that date's last window closing, as creation computes it (B2).
    assert extended.schedule == replace(schedule, end_date=to)
    assert extended.expires_at == extended.schedule.expires_at(now, timedelta(minutes=30))
    assert extended.expires_at > expires and extended.expires_at > now
    # A Failed (expired) task of the job can now be retried, inside a window of the range.
    change = lifecycle.retry_now(
        JobView(extended.schedule, extended.expires_at, state), TaskView(F, attempts=1), now)
    assert change.next_attempt_at is not None
    assert now <= change.next_attempt_at < extended.expires_at
    assert extended.schedule.is_open(change.next_attempt_at)


@given(expires=moments, now=moments, state=st.sampled_from(list(JobState)),
       by=st.timedeltas(min_value=timedelta(seconds=-60), max_value=timedelta(days=60)))
def test_a_fire_and_forget_job_runs_that_much_longer_from_now_or_its_expiry(
    expires: datetime, now: datetime, state: JobState, by: timedelta
) -> None:
    try:
        extended = rules.extend_expiry(FireAndForget(), expires, state, now, by=by)
    except ActionRefused:
        assert state.is_final or by <= timedelta(0)
        return
    assert not state.is_final
    assert extended == rules.Extension(FireAndForget(), max(now, expires) + by)
    assert extended.expires_at > expires and extended.expires_at > now


@given(expires=moments, now=moments, to=moments, state=st.sampled_from(list(JobState)))
def test_a_fire_and_forget_job_takes_a_later_instant(
    expires: datetime, now: datetime, to: datetime, state: JobState
) -> None:
    zurich = to.astimezone(ZoneInfo("Europe/Zurich"))  # any offset names the same instant
    try:
        extended = rules.extend_expiry(FireAndForget(), expires, state, now, to=zurich)
    except ActionRefused:
        assert state.is_final or to <= max(now, expires)
        return
    assert extended.expires_at == to and extended.expires_at.tzinfo is UTC


@given(schedule=scheduled(), now=moments, state=st.sampled_from(FINAL))
def test_a_job_a_person_ended_is_never_extended(schedule: Scheduled, now: datetime,
                                                state: JobState) -> None:
    with pytest.raises(ActionRefused, match=f"the job is {state.value}"):
        rules.extend_expiry(schedule, schedule.expires_at(), state, now,
                            to=schedule.end_date + timedelta(days=30))
    with pytest.raises(ActionRefused, match="cannot be extended"):
        rules.extend_expiry(FireAndForget(), now, state, now, by=timedelta(hours=1))


@given(expires=moments, now=moments, lifetime=st.timedeltas(
    min_value=timedelta(minutes=1), max_value=timedelta(days=30)))
def test_retry_extend_is_jobs_extend_by_the_lifetime(expires: datetime, now: datetime,
                                                     lifetime: timedelta) -> None:
    """One rule: `tasks retry --extend` of an expired job == `jobs extend --by LIFETIME`."""
    job = JobView(FireAndForget(), expires, JobState.FAILED)
    by_rule = rules.extend_expiry(FireAndForget(), expires, JobState.FAILED, now, by=lifetime)
    if now >= expires:
        assert lifecycle.retry_view(job, now, lifetime).expires_at == by_rule.expires_at
        assert rules.extended_expiry(FireAndForget(), now, lifetime) == by_rule.expires_at
    else:
        assert lifecycle.retry_view(job, now, lifetime) == job  # not expired: untouched


# Mon-Fri 22:00-04:00 in Zurich, 1 to 4 December 2026; it expires Saturday 03:00 UTC.
WORKNIGHTS = Scheduled.parse("2026-12-01", "2026-12-04", "22:00-04:00", "mon-fri",
                             "Europe/Zurich")
SAT = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # the job has expired
LAST_WEEK = replace(WORKNIGHTS, start_date=date(2026, 11, 23), end_date=date(2026, 11, 27))


@pytest.mark.parametrize(
    ("schedule", "expires", "to", "by", "words"),
    [
        (WORKNIGHTS, WORKNIGHTS.expires_at(), date(2026, 12, 3), None,
         "already ends on 2026-12-04; choose a later end date"),
        (WORKNIGHTS, WORKNIGHTS.expires_at(), date(2026, 12, 4), None, "already ends on"),
        # Saturday and Sunday have no window: nothing would ever run.
        (WORKNIGHTS, WORKNIGHTS.expires_at(), date(2026, 12, 6), None,
         "add no window to the job"),
        # The week before: the nights it adds are over by now.
        (LAST_WEEK, LAST_WEEK.expires_at(), date(2026, 12, 2), None,
         "no window opens between now and the end of 2026-12-02"),
        (WORKNIGHTS, WORKNIGHTS.expires_at(), None, timedelta(days=2),
         "give a new end date"),
        (WORKNIGHTS, WORKNIGHTS.expires_at(), SAT + timedelta(days=3), None,
         "give a date \\(YYYY-MM-DD\\), not a time"),
        (WORKNIGHTS, WORKNIGHTS.expires_at(), date(9999, 12, 31), None, "out of range"),
        (WORKNIGHTS, WORKNIGHTS.expires_at(), None, None, "give either"),
        (WORKNIGHTS, WORKNIGHTS.expires_at(), date(2026, 12, 9), timedelta(days=1),
         "give either"),
        (FireAndForget(), SAT, date(2026, 12, 9), None, "has no date range"),
        (FireAndForget(), SAT, datetime(2026, 12, 9), None, "with its offset"),
        (FireAndForget(), SAT + timedelta(hours=2), SAT + timedelta(hours=1), None,
         "already expires at 2026-12-05T14:00:00\\+00:00"),
        (FireAndForget(), SAT - timedelta(hours=2), SAT - timedelta(hours=1), None,
         "already past"),
        (FireAndForget(), SAT, None, timedelta(0), "positive duration"),
        (FireAndForget(), SAT, None, timedelta.max, "too far ahead"),
    ],
)
def test_extension_refusals_say_what_to_change(schedule: Scheduled | FireAndForget,
                                               expires: datetime, to: date | None,
                                               by: timedelta | None, words: str) -> None:
    with pytest.raises(ActionRefused, match=words):
        rules.extend_expiry(schedule, expires, JobState.FAILED, SAT, to=to, by=by)


def test_a_scheduled_job_extended_past_a_weekend_expires_with_its_new_last_window() -> None:
    extended = rules.extend_expiry(WORKNIGHTS, WORKNIGHTS.expires_at(), JobState.FAILED, SAT,
                                   to=date(2026, 12, 8))
    assert extended.schedule.to_dict()["to"] == "2026-12-08"
    # Tuesday 8 December, 22:00-04:00 in Zurich (UTC+1): it closes Wednesday 03:00 UTC.
    assert extended.expires_at == datetime(2026, 12, 9, 3, 0, tzinfo=UTC)
    # A finished job may be extended: its Failed tasks are then retried by a person.
    assert rules.extend_expiry(FireAndForget(), SAT, JobState.SUCCEEDED, SAT,
                               by=timedelta(minutes=30)).expires_at == SAT + timedelta(minutes=30)


def test_an_expired_job_refuses_retry_with_a_refusal_of_its_own() -> None:
    with pytest.raises(rules.JobExpired) as refused:
        rules.check_retry_now(task_state=F, job_state=JobState.FAILED, now=SAT,
                              expires_at=WORKNIGHTS.expires_at())
    assert refused.value.expires_at == WORKNIGHTS.expires_at()
    assert refused.value.extend_first("jobdesk jobs extend 7 --to YYYY-MM-DD") == (
        "the job expired at 2026-12-05T03:00:00+00:00; extend it first: "
        "jobdesk jobs extend 7 --to YYYY-MM-DD"
    )


@pytest.mark.parametrize(
    ("text", "duration"),
    [("30m", timedelta(minutes=30)), ("2h", timedelta(hours=2)), ("1d", timedelta(days=1)),
     ("1h30m", timedelta(minutes=90)), (" 2D ", timedelta(days=2)),
     ("45s", timedelta(seconds=45))],
)
def test_durations_are_read_as_people_type_them(text: str, duration: timedelta) -> None:
    assert rules.parse_duration(text) == duration


@pytest.mark.parametrize("text", ["", "30", "1.5h", "2 hours", "-5m", "0m", "h", "1w",
                                  "１h", "99999999999999999999d"])
def test_a_duration_that_is_not_one_is_refused_with_the_form_to_use(text: str) -> None:
    with pytest.raises(ActionRefused):
        rules.parse_duration(text)


@given(st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=10000)))
def test_a_duration_reads_back_as_it_is_written(duration: timedelta) -> None:
    whole = timedelta(seconds=int(duration.total_seconds()))
    assert rules.parse_duration(rules.duration_text(whole)) == whole
