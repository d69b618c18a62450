"""The states of jobs, tasks and steps, spelled exactly as the specification spells them.

The spelled values are a contract: they are stored in the database, printed by the CLI's
JSON output and shown in the window, so renaming one is a migration, not a refactoring.
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    SCHEDULED = "Scheduled"
    RUNNING = "Running"
    PAUSED = "Paused"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    PARTIALLY_SUCCEEDED = "Partially Succeeded"
    CANCELLED_MANUALLY = "Cancelled Manually"
    REPLACED = "Replaced"
    UNKNOWN = "Unknown"

    @property
    def is_terminal(self) -> bool:
        """Terminal: nothing will run for this job again unless a person retries a task."""
        return self in JOB_TERMINAL

    @property
    def is_final(self) -> bool:
        """Final: not even a retry can bring the job back (a person ended it)."""
        return self in (JobState.CANCELLED_MANUALLY, JobState.REPLACED)

    @classmethod
    def parse(cls, text: str) -> JobState:
        """Accept the spelled name in any case, or with dashes/underscores for spaces."""
        wanted = text.strip().lower().replace("-", " ").replace("_", " ")
        for state in cls:
            if state.value.lower() == wanted:
                return state
        names = ", ".join(s.value for s in cls)
        raise ValueError(f"unknown job state {text!r}; use one of: {names}")


JOB_TERMINAL = frozenset(
    {
        JobState.SUCCEEDED,
        JobState.FAILED,
        JobState.PARTIALLY_SUCCEEDED,
        JobState.CANCELLED_MANUALLY,
        JobState.REPLACED,
    }
)


def is_terminal_state(state: str) -> bool:
    """Whether a stored job state is terminal; a state this version does not know is not
    (a newer team member may have written it), so views and the engine never crash on it."""
    try:
        return JobState(state).is_terminal
    except ValueError:
        return False


class TaskState(StrEnum):
    SCHEDULED = "Scheduled"
    RUNNING = "Running"
    RESCHEDULED = "Rescheduled"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def is_finished(self) -> bool:
        return self in TASK_FINISHED

    @property
    def is_waiting(self) -> bool:
        """Waiting for an attempt: such a task, and only such a task, has a next attempt time."""
        return self in (TaskState.SCHEDULED, TaskState.RESCHEDULED)


TASK_FINISHED = frozenset({TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED})
TASK_OPEN = frozenset({TaskState.SCHEDULED, TaskState.RUNNING, TaskState.RESCHEDULED})


class StepStatus(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    SKIPPED = "Skipped"
    FAILED = "Failed"

    @property
    def is_done(self) -> bool:
        """Done steps count as progress and are not run again by a later attempt."""
        return self in (StepStatus.COMPLETED, StepStatus.SKIPPED)
