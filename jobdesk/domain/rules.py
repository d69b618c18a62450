"""The rules of part B of the specification, as plain functions of plain values.

Nothing here reads a clock, a database or a device: callers pass *now* and the facts, so
every rule can be tested exhaustively and the runtime, the CLI and the window agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from jobdesk.domain.schedule import Schedule, Scheduled, ScheduleError
from jobdesk.domain.states import JobState, StepStatus, TaskState


class ActionRefused(ValueError):
    """A manual action that the rules do not allow; the message says why and what to do."""


class JobExpired(ActionRefused):
    """*Retry now* refused because the job is past its *Expires At* (B5).

    A refusal of its own so that a caller that knows how extending is done where it is
    asked (the command line: `jobdesk jobs extend`) can say so, without reading the words.
    """

    def __init__(self, expires_at: datetime) -> None:
        self.expires_at = expires_at
        super().__init__(
            f"the job expired at {expires_at.isoformat()}; extend its Expires At to retry"
        )

    def extend_first(self, how: str) -> str:
        """The refusal with the way to extend the job, e.g. a command to run."""
        return f"the job expired at {self.expires_at.isoformat()}; extend it first: {how}"


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
    rollout_waiting: bool = False,
) -> JobState:
    """Spec B4: the job's state from its tasks, evaluated at one instant.

    A replaced job whose last task still finishes its running step is Running until then.
    `window_open` is whether the job's schedule has a window open at that instant (always
    true for fire-and-forget). `rollout_waiting`: its rollout holds new starts until a
    person continues (approval, the threshold's pause). `attempted` is whether any task of
    the job has ever started an attempt. A job not yet attempted is Scheduled even when its
    window is open: it is still waiting to run, which is what Scheduled means in A3.
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
    if rollout_waiting:
        return JobState.PAUSED  # B8: the next work waits for a person
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
        raise JobExpired(expires_at)


def extended_expiry(schedule: Schedule, now: datetime, lifetime: timedelta) -> datetime:
    """New *Expires At* for retrying a task of an expired fire-and-forget job (B5).

    `tasks retry --extend` is `jobs extend --by LIFETIME` of a job that has expired: the
    same rule (`extend_expiry`), so the two can never disagree. Who may retry (not a job a
    person ended) is `check_retry_now`'s to say; `lifecycle.retry_view` passes the state.
    """
    return extend_expiry(schedule, now, JobState.UNKNOWN, now, by=lifetime).expires_at


@dataclass(frozen=True)
class Extension:
    """A job's new end (B5): its schedule (a scheduled job's date range ends later) and
    its new *Expires At*, computed from that schedule as creation computes it (B2)."""

    schedule: Schedule
    expires_at: datetime


def check_extend_job(job_state: JobState) -> None:
    """Whether a job's *Expires At* may be extended at all, whatever the new end.

    A finished job may be (a Failed task can then be retried); one a person ended
    (cancelled, replaced) may not: not even a retry brings it back.
    """
    if job_state.is_final:
        raise ActionRefused(
            f"the job is {job_state.value}; it cannot be extended, create a new job instead"
        )


def extend_expiry(
    schedule: Schedule,
    expires_at: datetime,
    job_state: JobState,
    now: datetime,
    *,
    to: date | datetime | None = None,
    by: timedelta | None = None,
) -> Extension:
    """B5: the job's new end, given a new end (`to`) or a duration (`by`), or a refusal.

    A scheduled job ends with its date range (B2), so it takes a new end *date*; its
    *Expires At* becomes that date's last window closing. A fire-and-forget job takes an
    instant, or a duration added to the later of now and its current *Expires At* (an
    expired job gets that long from now). Either way the new *Expires At* is later than
    the current one and than now, and a window opens before it: an extension that could
    never run anything is refused rather than accepted silently. Extending retries
    nothing: Failed tasks stay Failed until a person retries them.
    """
    check_extend_job(job_state)
    if (to is None) == (by is None):
        raise ActionRefused("give either a new end or a duration to extend the job by")
    new_schedule: Schedule = schedule
    if isinstance(schedule, Scheduled):
        later = _later_end_date(schedule, to)
        new_schedule, new_expires = later, later.expires_at()
        if new_expires <= expires_at:
            raise ActionRefused(
                f"the days up to {later.end_date.isoformat()} add no window to the job "
                f"({later.describe()}); choose a later end date"
            )
        if new_expires <= now:
            raise ActionRefused(
                f"no window opens between now and the end of {later.end_date.isoformat()} "
                f"({later.describe()}); choose a later end date"
            )
    else:
        new_expires = _later_instant(expires_at, now, to, by)
    if resume_at(new_schedule, now, new_expires) is None:  # the invariant, checked once more
        raise ActionRefused(
            f"no window opens before {new_expires.isoformat()}; choose a later end"
        )
    return Extension(new_schedule, new_expires)


def _later_end_date(schedule: Scheduled, to: date | datetime | None) -> Scheduled:
    """The schedule with its date range ending on `to`: a later date, and only a date."""
    if to is None:
        raise ActionRefused(
            "a scheduled job ends with its date range; give a new end date to extend it"
        )
    if isinstance(to, datetime):
        raise ActionRefused(
            "a scheduled job ends with the last window of a date; give a date "
            "(YYYY-MM-DD), not a time"
        )
    if to <= schedule.end_date:
        raise ActionRefused(
            f"the job's date range already ends on {schedule.end_date.isoformat()}; "
            "choose a later end date"
        )
    try:
        return replace(schedule, end_date=to)
    except ScheduleError as error:
        raise ActionRefused(str(error)) from None


def _later_instant(expires_at: datetime, now: datetime, to: date | datetime | None,
                   by: timedelta | None) -> datetime:
    """A fire-and-forget job's new *Expires At*: the instant given, or the duration added
    to the later of now and its current *Expires At*."""
    if by is not None:
        if by <= timedelta(0):
            raise ActionRefused("give a positive duration to extend the job by, e.g. 30m")
        try:
            return (max(now, expires_at) + by).astimezone(UTC)
        except OverflowError:
            raise ActionRefused(f"{duration_text(by)} is too far ahead; give less") from None
    if not isinstance(to, datetime):
        raise ActionRefused(
            "a fire-and-forget job has no date range; give a date and time with its "
            "offset (e.g. 2026-12-01T18:00+01:00) or a duration"
        )
    if to.tzinfo is None or to.utcoffset() is None:
        raise ActionRefused(
            f"give {to.isoformat()} with its offset, e.g. {to.isoformat()}+01:00"
        )
    new = to.astimezone(UTC)
    if new <= expires_at:
        raise ActionRefused(
            f"the job already expires at {expires_at.isoformat()}; choose a later time"
        )
    if new <= now:
        raise ActionRefused(f"{new.isoformat()} is already past; choose a later time")
    return new


_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1),
          "s": timedelta(seconds=1)}
_DURATION = re.compile(r"(?:\d+[dhms])+")
_PART = re.compile(r"(\d+)([dhms])")


def parse_duration(text: str) -> timedelta:
    """A duration as people type it: 30m, 2h, 1d, 1h30m (d, h, m, s; no spaces needed).

    Strict, so that "1.5h" or "2 hours" is refused with the form to use rather than read
    as something else.
    """
    cleaned = text.strip().lower().replace(" ", "")
    if not cleaned.isascii() or not _DURATION.fullmatch(cleaned):
        raise ActionRefused(
            f"{text!r} is not a duration; use a number with d, h, m or s, e.g. 30m, 2h, 1d, "
            "1h30m"
        )
    try:
        total = sum((int(n) * _UNITS[unit] for n, unit in _PART.findall(cleaned)),
                    timedelta(0))
    except OverflowError:
        raise ActionRefused(f"{text!r} is too long a duration") from None
    if total <= timedelta(0):
        raise ActionRefused(f"{text!r} is no time at all; give a positive duration")
    return total


def duration_text(duration: timedelta) -> str:
    """A duration in the form `parse_duration` reads, e.g. 1h30m; whole seconds."""
    seconds = int(duration.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        size = int(_UNITS[unit].total_seconds())
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


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
