"""The lifecycle of a task, as pure functions: from what is known now to what changes.

Every change a task can go through — claimed, stopped before a step, finished after one,
failed, interrupted, expired, cancelled, retried, replaced, a step skipped — is one
function here of plain values (the job, the task, the step, *now*, the settings that
matter). The store applies the result in its transaction; the runtime, the command line and
the window ask these functions (and `available_actions`) instead of repeating a rule. So a
rule is written once, and tested once, exhaustively.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from jobdesk.domain import rules
from jobdesk.domain.jobtypes import STEPS_BY_NAME
from jobdesk.domain.rules import ActionRefused
from jobdesk.domain.schedule import Schedule
from jobdesk.domain.states import JobState, StepStatus, TaskState

EXPIRED = "expired"
CANCELLED_BY_PERSON = "cancelled by a person"
RETRY_REQUESTED = "retry requested by a person"
DEVICE_REMOVED = "the device was removed from the inventory"
WINDOW_CLOSED = "window closed"


@dataclass(frozen=True)
class JobView:
    """What the lifecycle needs to know of a job."""

    schedule: Schedule
    expires_at: datetime
    state: JobState = JobState.RUNNING
    cancelled: bool = False  # by a person
    replaced: bool = False
    max_attempts: int | None = None  # a rollout's limit of failed attempts per task (B8)

    @property
    def ended(self) -> bool:
        return self.cancelled or self.replaced

    def check_not_ended(self) -> None:
        """A job a person ended stays ended, even while its last step still finishes
        (a replaced job reads Running until then): no retry, no extension."""
        if self.ended:
            how = "cancelled" if self.cancelled else "replaced by another job"
            raise ActionRefused(f"the job was {how}; create a new job instead")


@dataclass(frozen=True)
class TaskView:
    """What the lifecycle needs to know of a task."""

    state: TaskState
    attempts: int = 0
    cancel_requested: bool = False
    reason: str | None = None
    has_device: bool = True
    cancel_requested_at: datetime | None = None
    interrupted: bool = False
    failures: int = 0  # failed attempts before this one


@dataclass(frozen=True)
class TaskChange:
    """The task's new state and what goes with it.

    A change to any state but Running ends the task's claim (the device is free again);
    `next_attempt_at` is set exactly when the new state is a waiting one.
    """

    state: TaskState
    reason: str | None = None
    next_attempt_at: datetime | None = None
    interrupted: bool = False
    cancel_requested: bool = False
    # When a person asked to cancel; None leaves what is recorded as it is.
    cancel_requested_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.state.is_waiting != (self.next_attempt_at is not None):
            raise ValueError(f"{self.state.value} with next attempt {self.next_attempt_at}")


def _end(state: TaskState, reason: str) -> TaskChange:
    return TaskChange(state, reason)


def _cancelled(task: TaskView) -> TaskChange:
    return _end(TaskState.CANCELLED, task.reason or "cancelled")


def _resume(job: JobView, task: TaskView, now: datetime, reason: str, *,
            interrupted: bool = False) -> TaskChange:
    """Wait for the next chance to run: at once, or when the next window opens.

    A task that never started an attempt is still Scheduled (A4); one that did is
    Rescheduled.
    """
    next_at = rules.resume_at(job.schedule, now, job.expires_at)
    if next_at is None:
        return _end(TaskState.FAILED, EXPIRED)
    attempted = task.attempts > 0 or interrupted
    state = TaskState.RESCHEDULED if attempted else TaskState.SCHEDULED
    return TaskChange(state, reason, next_at, interrupted=interrupted)


# --- the runtime's changes -----------------------------------------------------------------


def claim(job: JobView, task: TaskView, now: datetime) -> TaskChange | None:
    """A due task was claimed: None to start an attempt, else what happens instead.

    The job may have been cancelled or replaced, the device removed, the job expired or
    the window closed since the task became due.
    """
    if job.ended or task.cancel_requested:
        return _cancelled(task)
    if not task.has_device:
        return _end(TaskState.FAILED, DEVICE_REMOVED)
    if now >= job.expires_at:
        return _end(TaskState.FAILED, EXPIRED)
    if not job.schedule.is_open(now):
        return _resume(job, task, now, task.reason or WINDOW_CLOSED)
    return None


def before_step(job: JobView, task: TaskView, now: datetime) -> TaskChange | None:
    """B3: the next step of a running attempt may start (None), or the attempt ends here.

    The running step always finished; cancel, expiry and a closed window stop only what
    comes after it.
    """
    stop = rules.stop_before_next_step(
        now=now, schedule=job.schedule, expires_at=job.expires_at,
        cancel_requested=task.cancel_requested or job.ended,
    )
    if stop is rules.StopReason.CANCELLED:
        return _cancelled(task)
    if stop is rules.StopReason.EXPIRED:
        return _end(TaskState.FAILED, EXPIRED)
    if stop is rules.StopReason.WINDOW_CLOSED:
        return _resume(job, task, now, WINDOW_CLOSED)
    return None


def after_step(task: TaskView, *, steps_left: int, finish_task: bool,
               message: str | None) -> TaskChange | None:
    """A step completed: the task has Succeeded when no step is left or the step said the
    rest is not needed (the firmware is already there); else None, the attempt goes on.

    A cancel asked for during the last step came too late: the task Succeeded, and its
    reason says so, so the request leaves a trace (B5, B3: the running step finishes).
    """
    if not finish_task and steps_left:
        return None
    if task.cancel_requested:
        return TaskChange(TaskState.SUCCEEDED, late_cancel(task.cancel_requested_at))
    if finish_task and message:
        return _end(TaskState.SUCCEEDED, message)
    return TaskChange(TaskState.SUCCEEDED)


NOT_RUN = "Not run"


def step_label(status: StepStatus, task: TaskState, again: bool = False) -> str:
    """What a person reads for a step: a Pending step of a finished task was not run and
    never will be; a done step that the next attempt runs again says so."""
    if status is StepStatus.PENDING and task.is_finished:
        return NOT_RUN
    if again and status is not StepStatus.PENDING:
        return f"{status.value}, runs again"
    return status.value


def late_cancel(requested_at: datetime | None) -> str:
    when = f" {requested_at:%Y-%m-%d %H:%M:%S} UTC" if requested_at else ""
    return f"cancel requested{when}; the last step finished first"


def attempt_start(steps: Sequence[tuple[str, StepStatus]]) -> int | None:
    """B1: the index of the step the next attempt begins with; None when none is left.

    An attempt runs from the first step not Completed or Skipped — except after a failed
    verification, which shows that the step it verifies did not take effect: then the
    attempt starts again at that step (or at the upload it consumes), given in the step's
    `retry_from`. Steps a person skipped stay skipped.
    """
    for index, (name, status) in enumerate(steps):
        if status.is_done:
            continue
        spec = STEPS_BY_NAME.get(name)
        if status is StepStatus.FAILED and spec is not None and spec.retry_from:
            names = [step_name for step_name, _ in steps]
            if spec.retry_from in names[:index]:
                return names.index(spec.retry_from)
        return index
    return None


def runs_again(steps: Sequence[tuple[str, StepStatus]], task: TaskState) -> list[bool]:
    """For each step, whether the task's next attempt will run it: what the detail says
    of a step that is Completed now and runs again after a failed verification.

    A finished task runs nothing again (B1: no step is shown waiting on a task that
    failed for good), and a running attempt shows its own steps as they go.
    """
    start = attempt_start(steps) if task.is_waiting else None
    if start is None:
        return [False] * len(steps)
    return [index >= start and status is not StepStatus.SKIPPED
            for index, (_, status) in enumerate(steps)]


def after_failure(job: JobView, task: TaskView, now: datetime, *, message: str,
                  retryable: bool, retry_interval: timedelta) -> TaskChange:
    """B3: a failed attempt is Rescheduled after the retry interval, or Failed when
    retrying cannot help or no window is left; a cancel asked for meanwhile wins."""
    if task.cancel_requested or job.ended:
        return _cancelled(task)
    if not retryable:
        return _end(TaskState.FAILED, message)
    if job.max_attempts is not None and task.failures + 1 >= job.max_attempts:
        return _end(TaskState.FAILED,
                    f"gave up after {job.max_attempts} attempts; last error: {message}")
    next_at = rules.next_attempt_after_failure(job.schedule, now, retry_interval,
                                               job.expires_at)
    if next_at is None:
        return _end(TaskState.FAILED, f"{EXPIRED}; last error: {message}")
    return TaskChange(TaskState.RESCHEDULED, message, next_at)


def interrupt(job: JobView, task: TaskView, now: datetime, reason: str) -> TaskChange:
    """An attempt that ended without an outcome (a stop, a crash, a lost lease): it is
    claimed again first, and its unfinished step runs again."""
    if task.cancel_requested or job.ended:
        return _cancelled(task)
    return _resume(job, task, now, reason, interrupted=True)


def catch_up(job: JobView, task: TaskView, now: datetime,
             next_attempt_at: datetime) -> TaskChange | None:
    """A waiting task whose next attempt passed while no runtime ran, and whose window is
    closed now, waits for the next opening (B3); one whose job expired has Failed. None
    when nothing changes (not due yet, or due in an open window: a runtime takes it)."""
    if not task.state.is_waiting or next_attempt_at > now:
        return None
    if now >= job.expires_at:
        return _end(TaskState.FAILED, EXPIRED)
    if job.schedule.is_open(now):
        return None
    next_at = rules.resume_at(job.schedule, now, job.expires_at)
    if next_at is None:
        return _end(TaskState.FAILED, EXPIRED)
    interrupted = task.interrupted and task.state is TaskState.RESCHEDULED
    return TaskChange(task.state, task.reason, next_at, interrupted=interrupted,
                      cancel_requested=task.cancel_requested)


def expire(job: JobView, task: TaskView, now: datetime) -> TaskChange | None:
    """A waiting task of a job past its *Expires At* has Failed (expired)."""
    if task.state.is_waiting and now >= job.expires_at:
        return _end(TaskState.FAILED, EXPIRED)
    return None


# --- a person's changes (B5) ---------------------------------------------------------------


class Action(StrEnum):
    CANCEL_JOB = "cancel job"
    CANCEL_TASK = "cancel task"
    RETRY_NOW = "retry now"
    SKIP_STEP = "skip step"
    EXTEND_JOB = "extend job"


def cancel_task(task: TaskView, now: datetime,
                reason: str = CANCELLED_BY_PERSON) -> TaskChange:
    """A waiting task is Cancelled at once; a running one after its step (the request is
    kept and honoured before the next step). Either way the request's time is kept."""
    rules.check_cancel_task(task.state)
    if task.state is TaskState.RUNNING:
        return TaskChange(TaskState.RUNNING, reason, cancel_requested=True,
                          cancel_requested_at=now)
    return TaskChange(TaskState.CANCELLED, reason, cancel_requested_at=now)


def retry_now(job: JobView, task: TaskView, now: datetime) -> TaskChange:
    """B5 *Retry now*: the task waits for an attempt at once (or at the next opening)."""
    rules.check_retry_now(task_state=task.state, job_state=job.state, now=now,
                          expires_at=job.expires_at)
    job.check_not_ended()
    next_at = rules.resume_at(job.schedule, now, job.expires_at)
    if next_at is None:
        raise ActionRefused("no window is left before the job expires")
    return TaskChange(TaskState.RESCHEDULED, RETRY_REQUESTED, next_at)


def replace(task: TaskView, new_job_id: int, now: datetime) -> TaskChange | None:
    """B5 *Replace*: an open task of the replaced job is cancelled (a running one after
    its step); a finished one is left as it is."""
    if task.state.is_finished:
        return None
    return cancel_task(task, now, f"replaced by job {new_job_id}")


def skip_step(task: TaskView, step: StepStatus, name: str | None = None) -> None:
    """B5 *Skip step*: refused with the reason, or allowed (None). Whether a step may be
    skipped at all is declared with the step (`StepSpec.not_skippable`)."""
    spec = STEPS_BY_NAME.get(name) if name is not None else None
    if spec is not None and spec.not_skippable is not None:
        raise ActionRefused(f"{spec.name} cannot be skipped: {spec.not_skippable}")
    rules.check_skip_step(step_status=step, task_state=task.state)


def retry_view(job: JobView, now: datetime, extension: timedelta | None) -> JobView:
    """The job as *Retry now* would see it: an expired fire-and-forget job is given a new
    lifetime from now when the person agrees to extend it (B5)."""
    if extension is None or now < job.expires_at:
        return job
    try:
        extended = extend(job, now, by=extension)
    except ActionRefused:
        return job  # a scheduled job (its date range decides), or one a person ended
    return dataclasses.replace(job, schedule=extended.schedule, expires_at=extended.expires_at)


def check_extend(job: JobView) -> None:
    """Whether the job may be extended at all, whatever the new end (B5)."""
    rules.check_extend_job(job.state)
    job.check_not_ended()


def extend(job: JobView, now: datetime, *, to: date | datetime | None = None,
           by: timedelta | None = None) -> rules.Extension:
    """B5: the job's later end (`jobs extend`, and *Retry now* of an expired job); see
    `rules.extend_expiry`. Its tasks are left as they are."""
    check_extend(job)
    return rules.extend_expiry(job.schedule, job.expires_at, job.state, now, to=to, by=by)


def available_actions(job: JobView, task: TaskView | None, step: StepStatus | None,
                      now: datetime, *, extension: timedelta | None = None,
                      step_name: str | None = None) -> dict[Action, str | None]:
    """Each manual action: None when it is allowed now, else why it is refused.

    The window enables its buttons from this, with the refusal as tooltip; the command
    line refuses with the same words. With `extension`, retrying a task of an expired
    fire-and-forget job counts as allowed (the person is then asked to extend it).
    """
    def reason(check: object) -> str | None:
        try:
            check()  # type: ignore[operator]
        except ActionRefused as refused:
            return str(refused)
        return None

    nothing = "select a task first"
    found: dict[Action, str | None] = {
        Action.CANCEL_JOB: reason(lambda: rules.check_cancel_job(job.state)),
        Action.EXTEND_JOB: reason(lambda: check_extend(job)),
    }
    if task is None:
        found[Action.CANCEL_TASK] = found[Action.RETRY_NOW] = nothing
        found[Action.SKIP_STEP] = nothing
        return found
    found[Action.CANCEL_TASK] = reason(lambda: rules.check_cancel_task(task.state))
    found[Action.RETRY_NOW] = reason(
        lambda: retry_now(retry_view(job, now, extension), task, now))
    found[Action.SKIP_STEP] = (
        "select a step first" if step is None
        else reason(lambda: skip_step(task, step, step_name))
    )
    return found
