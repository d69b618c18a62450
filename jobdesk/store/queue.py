"""The runtime's side of the store: due work, attempts, steps, sweeps and the lease.

Timing lives here, in `next_attempt_at`, never only in the runtime's memory: a runtime that
is killed and started again finds exactly the work that was due.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from peewee import fn

from jobdesk.domain import rules
from jobdesk.domain.rules import StopReason
from jobdesk.domain.states import StepStatus, TaskState
from jobdesk.store.devices import DeviceRepository
from jobdesk.store.jobs import job_record, schedule_of, step_record, task_record
from jobdesk.store.models import Job, RuntimeLease, Step, Task
from jobdesk.store.records import DeviceRecord, JobRecord, StepRecord, TaskRecord

if TYPE_CHECKING:
    from jobdesk.store.database import Store

EXPIRED = "expired"


class RuntimeBusy(RuntimeError):
    """Another runtime drives this database; two would run every task twice."""


@dataclass(frozen=True)
class Attempt:
    """Everything one attempt needs, read once when the task was claimed."""

    job: JobRecord
    task: TaskRecord
    device: DeviceRecord
    steps: tuple[StepRecord, ...]


@dataclass(frozen=True)
class Change:
    """What a store call changed, for the runtime to announce."""

    job_id: int
    task_id: int | None = None


class TaskQueue:
    def __init__(self, store: Store) -> None:
        self._store = store

    # --- finding work ---------------------------------------------------------------

    def due(self, now: datetime, limit: int, busy_devices: Iterable[int] = ()) -> list[int]:
        """Ids of due tasks, oldest first, at most one per device, none on a busy device.

        Reads only the partial index of waiting tasks; cost does not grow with history.
        """
        busy = list(busy_devices)
        query = (
            Task.select(Task.id, Task.device)
            .where(Task.next_attempt_at.is_null(False) & (Task.next_attempt_at <= now))
            .order_by(Task.next_attempt_at, Task.id)
            .limit(limit * 4 + 16)
        )
        if busy:
            query = query.where(Task.device.not_in(busy))
        picked: list[int] = []
        devices: set[int | None] = set()
        for task_id, device_id in query.tuples():
            if device_id in devices:
                continue
            devices.add(device_id)
            picked.append(task_id)
            if len(picked) >= limit:
                break
        return picked

    def next_due_at(self) -> datetime | None:
        # Peewee converts an aggregate of a field through the field: this is a datetime.
        return (
            Task.select(fn.MIN(Task.next_attempt_at))
            .where(Task.next_attempt_at.is_null(False))
            .scalar()
        )

    # --- attempts -------------------------------------------------------------------

    def claim(self, task_id: int, now: datetime) -> tuple[Attempt | None, list[Change]]:
        """Start an attempt if the task is still due and may run now."""
        with self._store.transaction():
            task = Task.get_or_none(Task.id == task_id)
            if task is None or task.next_attempt_at is None or task.next_attempt_at > now:
                return None, []
            job = Job.get_by_id(task.job_id)
            change = [Change(job.id, task.id)]
            schedule = schedule_of(job)
            if job.cancelled_at is not None or job.replaced_by_id is not None:
                self._end(task, TaskState.CANCELLED, task.reason or "cancelled", now)
                return None, change
            if task.device_id is None:
                self._end(task, TaskState.FAILED, "the device was removed from the inventory", now)
                return None, change
            if now >= job.expires_at:
                self._end(task, TaskState.FAILED, EXPIRED, now)
                return None, change
            if not schedule.is_open(now):
                self._reschedule(task, job, now, task.reason or "window closed")
                return None, change
            running_here = Task.select().where(
                (Task.device == task.device_id) & (Task.state == TaskState.RUNNING.value)
            )
            if running_here.exists():
                return None, []
            task.state = TaskState.RUNNING.value
            task.attempts += 1
            task.last_triggered_at = now
            task.next_attempt_at = None
            task.reason = None
            task.updated_at = now
            task.save()
            self._store.jobs.refresh(job.id, now)
            device = DeviceRepository(self._store).get_by_id(task.device_id)
            steps = tuple(
                step_record(s)
                for s in Step.select().where(Step.task == task.id).order_by(Step.position)
            )
            assert device is not None
            attempt = Attempt(job_record(Job.get_by_id(job.id)), task_record(task), device, steps)
            return attempt, change

    def begin_step(self, task_id: int, step_id: int, now: datetime) -> StopReason | None:
        """Mark a step Running, unless the attempt must stop before it (spec B3)."""
        with self._store.transaction():
            task = Task.get_by_id(task_id)
            job = Job.get_by_id(task.job_id)
            stop = rules.stop_before_next_step(
                now=now,
                schedule=schedule_of(job),
                expires_at=job.expires_at,
                cancel_requested=(
                    task.cancel_requested
                    or job.cancelled_at is not None
                    or job.replaced_by_id is not None
                ),
            )
            if stop is StopReason.CANCELLED:
                self._end(task, TaskState.CANCELLED, task.reason or "cancelled", now)
            elif stop is StopReason.EXPIRED:
                self._end(task, TaskState.FAILED, EXPIRED, now)
            elif stop is StopReason.WINDOW_CLOSED:
                self._reschedule(task, job, now, "window closed")
            if stop is not None:
                return stop
            step = Step.get_by_id(step_id)
            step.status = StepStatus.RUNNING.value
            step.started_at = now
            step.completed_at = None
            step.message = None
            step.save()
            task.current_step = step.name
            task.updated_at = now
            task.save()
            return None

    def complete_step(
        self,
        task_id: int,
        step_id: int,
        now: datetime,
        *,
        message: str | None = None,
        context: dict[str, Any] | None = None,
        finish_task: bool = False,
    ) -> bool:
        """Mark a step Completed; returns True when the task has Succeeded with it.

        `finish_task` ends the task here (firmware already on the target version): the
        steps left are marked Skipped with the reason, so the record says why they did
        not run.
        """
        with self._store.transaction():
            task = Task.get_by_id(task_id)
            Step.update(
                status=StepStatus.COMPLETED.value, completed_at=now, message=message
            ).where(Step.id == step_id).execute()
            if context:
                task.context = {**(task.context or {}), **context}
            step = Step.get_by_id(step_id)
            later = Step.select().where(
                (Step.task == task_id)
                & (Step.position > step.position)
                & Step.status.not_in([StepStatus.COMPLETED.value, StepStatus.SKIPPED.value])
            )
            if finish_task:
                Step.update(
                    status=StepStatus.SKIPPED.value,
                    skipped_at=now,
                    message=f"not needed: {message}" if message else "not needed",
                ).where(Step.id.in_([s.id for s in later])).execute()
            done = finish_task or not later.exists()
            if done:
                task.state = TaskState.SUCCEEDED.value
                task.current_step = None
                task.cancel_requested = False
                task.reason = message if finish_task else None
            task.updated_at = now
            task.save()
            if done:
                self._store.jobs.refresh(task.job_id, now)
            return done

    def fail_step(
        self,
        task_id: int,
        step_id: int,
        now: datetime,
        *,
        message: str,
        retryable: bool,
        retry_interval: timedelta,
        fix_hint: str | None = None,
    ) -> TaskRecord:
        """Spec B3: a failed attempt is Rescheduled, or Failed when retrying cannot help.

        A driver's own fix hint (a changed host key's fingerprint, say) replaces the step's
        general one, because it is more precise.
        """
        with self._store.transaction():
            fields: dict[str, Any] = {"status": StepStatus.FAILED.value, "message": message}
            if fix_hint:
                fields["fix_hint"] = fix_hint
            Step.update(**fields).where(Step.id == step_id).execute()
            task = Task.get_by_id(task_id)
            job = Job.get_by_id(task.job_id)
            if task.cancel_requested:
                self._end(task, TaskState.CANCELLED, task.reason or "cancelled", now)
            elif not retryable:
                self._end(task, TaskState.FAILED, message, now)
            else:
                next_at = rules.next_attempt_after_failure(
                    schedule_of(job), now, retry_interval, job.expires_at
                )
                if next_at is None:
                    self._end(task, TaskState.FAILED, f"{EXPIRED}; last error: {message}", now)
                else:
                    task.state = TaskState.RESCHEDULED.value
                    task.next_attempt_at = next_at
                    task.reason = message
                    task.updated_at = now
                    task.save()
                    self._store.jobs.refresh(job.id, now)
            return task_record(task)

    def finish_if_done(self, task_id: int, now: datetime) -> bool:
        """A running task whose steps are all Completed or Skipped has Succeeded."""
        with self._store.transaction():
            task = Task.get_by_id(task_id)
            left = Step.select().where(
                (Step.task == task_id)
                & Step.status.not_in([StepStatus.COMPLETED.value, StepStatus.SKIPPED.value])
            )
            if task.state != TaskState.RUNNING.value or left.exists():
                return False
            self._end(task, TaskState.SUCCEEDED, "every step was completed or skipped", now)
            return True

    def interrupt(self, task_id: int, now: datetime, reason: str) -> None:
        """An attempt that stopped without an outcome (runtime stopped or crashed).

        Its running step goes back to Pending so the next attempt runs it again; the task
        waits for the next attempt at once (or the next window).
        """
        with self._store.transaction():
            task = Task.get_by_id(task_id)
            if task.state != TaskState.RUNNING.value:
                return
            Step.update(
                status=StepStatus.PENDING.value,
                message=f"{reason}: this step did not finish and runs again",
            ).where((Step.task == task_id) & (Step.status == StepStatus.RUNNING.value)).execute()
            job = Job.get_by_id(task.job_id)
            if task.cancel_requested or job.cancelled_at is not None:
                self._end(task, TaskState.CANCELLED, task.reason or "cancelled", now)
            else:
                self._reschedule(task, job, now, reason)

    def recover_interrupted(self, now: datetime) -> list[Change]:
        """At start: tasks left Running by a crash become Rescheduled ("interrupted")."""
        ids = [
            (t, j)
            for t, j in Task.select(Task.id, Task.job)
            .where(Task.state == TaskState.RUNNING.value)
            .tuples()
        ]
        for task_id, _ in ids:
            self.interrupt(task_id, now, "interrupted")
        return [Change(j, t) for t, j in ids]

    def sweep(self, now: datetime) -> list[Change]:
        """Expire waiting tasks of expired jobs and bring stored job states up to `now`.

        Job states depend on the clock (a window opens or closes), so this runs every
        minute and once when the runtime starts.
        """
        changes: list[Change] = []
        with self._store.transaction():
            expired = list(
                Task.select()
                .join(Job)
                .where(Task.next_attempt_at.is_null(False) & (Job.expires_at <= now))
            )
            for task in expired:
                self._end(task, TaskState.FAILED, EXPIRED, now, refresh=False)
                changes.append(Change(task.job_id, task.id))
            for job_id in self._store.jobs.unfinished_ids():
                old, new = self._store.jobs.refresh(job_id, now)
                if old != new:
                    changes.append(Change(job_id))
        return changes

    # --- transitions ----------------------------------------------------------------

    def _end(
        self, task: Task, state: TaskState, reason: str, now: datetime, *, refresh: bool = True
    ) -> None:
        task.state = state.value
        task.reason = reason
        task.next_attempt_at = None
        task.cancel_requested = False
        task.updated_at = now
        task.save()
        if refresh:
            self._store.jobs.refresh(task.job_id, now)

    def _reschedule(self, task: Task, job: Job, now: datetime, reason: str) -> None:
        next_at = rules.resume_at(schedule_of(job), now, job.expires_at)
        if next_at is None:
            self._end(task, TaskState.FAILED, EXPIRED, now)
            return
        task.state = TaskState.RESCHEDULED.value
        task.next_attempt_at = next_at
        task.reason = reason
        task.updated_at = now
        task.save()
        self._store.jobs.refresh(task.job_id, now)

    # --- lease ----------------------------------------------------------------------

    def acquire_lease(self, owner: str, host: str, now: datetime, stale_after: timedelta) -> None:
        """Become the one runtime of this database, or say who is."""
        with self._store.transaction():
            lease = RuntimeLease.get_or_none(RuntimeLease.id == 1)
            if lease is not None and lease.owner != owner:
                fresh = now - lease.heartbeat_at < stale_after
                alive = fresh and (lease.host != host or _pid_alive(lease.pid))
                if alive:
                    raise RuntimeBusy(
                        f"another jobdesk runtime (pid {lease.pid} on {lease.host}) is "
                        "driving this database; close it first"
                    )
            RuntimeLease.replace(
                id=1, owner=owner, host=host, pid=os.getpid(), heartbeat_at=now
            ).execute()

    def renew_lease(self, owner: str, now: datetime) -> None:
        with self._store.transaction():
            RuntimeLease.update(heartbeat_at=now).where(
                (RuntimeLease.id == 1) & (RuntimeLease.owner == owner)
            ).execute()

    def release_lease(self, owner: str) -> None:
        with self._store.transaction():
            RuntimeLease.delete().where(RuntimeLease.owner == owner).execute()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
