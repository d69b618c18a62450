"""The rules of part B of the specification, as plain functions of plain values.

Nothing here reads a clock, a database or a device: callers pass *now* and the facts, so
every rule can be tested exhaustively and the runtime, the CLI and the window agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from jobdesk.domain.schedule import FireAndForget, Schedule
from jobdesk.domain.states import JobState, StepStatus, TaskState


class ActionRefused(ValueError):
    """A manual action that the rules do not allow; the message says why and what to do."""


@dataclass(frozen=True)
class TaskCounts:
    """How many of a job's tasks are in each state; `unknown` counts unreadable values."""

    scheduled: int = 0
    running: int = 0
    rescheduled: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    unknown: int = 0

    @classmethod
    def of(cls, states: Iterable[TaskState | str]) -> TaskCounts:
        """Count a list of states; a value that is not a task state counts as unknown."""
        return cls.from_counts((state, 1) for state in states)

    @classmethod
    def from_counts(cls, pairs: Iterable[tuple[TaskState | str, int]]) -> TaskCounts:
        """Build from (state, how many) pairs, as a GROUP BY query returns them."""
        tally: dict[str, int] = {}
        for state, count in pairs:
            key = _count_key(state)
            tally[key] = tally.get(key, 0) + count
        return cls(**tally)

    @property
    def total(self) -> int:
        return (
            self.scheduled
            + self.running
            + self.rescheduled
            + self.succeeded
            + self.failed
            + self.cancelled
            + self.unknown
        )

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.cancelled

    @property
    def open(self) -> int:
        return self.scheduled + self.running + self.rescheduled


def _count_key(state: TaskState | str) -> str:
    try:
        return TaskState(state).name.lower()
    except ValueError:
        return "unknown"


def derive_job_state(
    *,
    cancelled: bool,
    replaced: bool,
    counts: TaskCounts,
    attempted: bool,
    window_open: bool,
) -> JobState:
    """Spec B4: the job's state from its tasks, evaluated at one instant.

    A replaced job whose last task still finishes its running step is Running until then.
    `window_open` is whether the job's schedule has a window open at that instant (always
    true for fire-and-forget). `attempted` is whether any task of the job has ever started
    an attempt. A job not yet attempted is Scheduled even when its window is open: it is
    still waiting to run, which is what Scheduled means in A3.
    """
    if cancelled:
        return JobState.CANCELLED_MANUALLY
    if replaced and not counts.open:
        return JobState.REPLACED  # B5: only once none of its tasks is open
    if counts.total == 0 or counts.unknown:
        return JobState.UNKNOWN
    if counts.finished == counts.total:
        if counts.succeeded == counts.total:
            return JobState.SUCCEEDED
        if counts.succeeded == 0:
            return JobState.FAILED
        return JobState.PARTIALLY_SUCCEEDED
    if counts.running:
        return JobState.RUNNING
    if not attempted:
        return JobState.SCHEDULED
    return JobState.RUNNING if window_open else JobState.PAUSED


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, int]:
        return {"done": self.done, "total": self.total}


def job_progress(counts: TaskCounts) -> Progress:
    """Finished tasks over all tasks (B4)."""
    return Progress(counts.finished, counts.total)


def step_progress(statuses: list[StepStatus]) -> Progress:
    """Completed and skipped steps over all steps (B4)."""
    return Progress(sum(1 for s in statuses if s.is_done), len(statuses))


def first_attempt_at(schedule: Schedule, created_at: datetime, expires_at: datetime) -> datetime:
    """When a new task first becomes due: at once, or when its first window opens.

    Raises ActionRefused when no window is left before the job expires, so an impossible
    job is refused when it is created rather than failing silently later.
    """
    opening = schedule.next_opening(created_at)
    if opening is None or opening >= expires_at:
        raise ActionRefused(
            "the schedule has no window left after now; choose a date range that ends later"
        )
    return opening


def next_attempt_after_failure(
    schedule: Schedule, failed_at: datetime, retry_interval: timedelta, expires_at: datetime
) -> datetime | None:
    """B3: failure time + retry interval, moved into the next window; None means expired."""
    opening = schedule.next_opening(failed_at + retry_interval)
    if opening is None or opening >= expires_at:
        return None
    return opening


def resume_at(schedule: Schedule, now: datetime, expires_at: datetime) -> datetime | None:
    """When work stopped early (window closed, runtime stopped) continues; None if expired."""
    opening = schedule.next_opening(now)
    if opening is None or opening >= expires_at:
        return None
    return opening


class StopReason(StrEnum):
    """Why an attempt must not start its next step (B3: the running step always finishes)."""

    CANCELLED = "cancelled"
    EXPIRED = "expired"
    WINDOW_CLOSED = "window closed"


def stop_before_next_step(
    *,
    now: datetime,
    schedule: Schedule,
    expires_at: datetime,
    cancel_requested: bool,
) -> StopReason | None:
    """Whether an attempt in progress may start its next step at `now`."""
    if cancel_requested:
        return StopReason.CANCELLED
    if now >= expires_at:
        return StopReason.EXPIRED
    if not schedule.is_open(now):
        return StopReason.WINDOW_CLOSED
    return None


def check_retry_now(
    *, task_state: TaskState, job_state: JobState, now: datetime, expires_at: datetime
) -> None:
    """B5 *Retry now*: refuse with a reason a person can act on, or return None."""
    if job_state.is_final:
        raise ActionRefused(f"the job is {job_state.value}; create a new job instead")
    if task_state not in (TaskState.RESCHEDULED, TaskState.FAILED):
        raise ActionRefused(
            f"only a Rescheduled or Failed task can be retried; this one is {task_state.value}"
        )
    if now >= expires_at:
        raise ActionRefused(
            f"the job expired at {expires_at.isoformat()}; extend its Expires At to retry"
        )


def extended_expiry(schedule: Schedule, now: datetime, lifetime: timedelta) -> datetime:
    """New *Expires At* for retrying a task of an expired fire-and-forget job (B5)."""
    if not isinstance(schedule, FireAndForget):
        raise ActionRefused(
            "a scheduled job expires with its date range; give a new end date to extend it"
        )
    return now + lifetime


def check_skip_step(*, step_status: StepStatus, task_state: TaskState) -> None:
    """B5 *Skip step*: only a failed or pending step of a task that is not running."""
    if task_state is TaskState.RUNNING:
        raise ActionRefused("the task is running; wait until its attempt ends, then skip")
    if task_state in (TaskState.SUCCEEDED, TaskState.CANCELLED):
        raise ActionRefused(f"the task is {task_state.value}; there is nothing left to skip")
    if step_status not in (StepStatus.FAILED, StepStatus.PENDING):
        raise ActionRefused(
            f"only a Failed or Pending step can be skipped; this one is {step_status.value}"
        )


def check_cancel_task(task_state: TaskState) -> None:
    if task_state.is_finished:
        raise ActionRefused(f"the task is already {task_state.value}")


def check_cancel_job(job_state: JobState) -> None:
    if job_state.is_terminal:
        raise ActionRefused(f"the job is already {job_state.value}")
