"""The runtime's side of the store: due work, attempts, steps, sweeps and the lease.

Timing lives here, in `next_attempt_at`, never only in the runtime's memory: a runtime that
is killed and started again finds exactly the work that was due.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from peewee import fn

from jobdesk.domain import rules
from jobdesk.domain.jobtypes import STEPS_BY_NAME
from jobdesk.domain.rules import StopReason
from jobdesk.domain.schedule import Schedule
from jobdesk.domain.states import StepStatus, TaskState
from jobdesk.store.jobs import (
    JOB_COLUMNS,
    STEP_COLUMNS,
    TASK_COLUMNS,
    job_record_from_row,
    schedule_from_text,
    step_record_from_row,
    task_record_from_row,
)
from jobdesk.store.models import Job, RuntimeLease, Step, Task
from jobdesk.store.rawsql import dt, dumps, ts
from jobdesk.store.records import DeviceRecord, JobRecord, StepRecord, TaskRecord

if TYPE_CHECKING:
    from jobdesk.store.database import Store

EXPIRED = "expired"
ABANDONED = timedelta(minutes=10)  # a lease not renewed this long is free, whatever the pid


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
class _TaskJob:
    """What the hot path reads of a task and its job, in one query."""

    task_id: int
    job_id: int
    state: str
    device_id: int | None
    next_attempt_at: datetime | None
    cancel_requested: bool
    reason: str | None
    job_ended: bool  # cancelled by a person or replaced
    expires_at: datetime
    schedule: Schedule


def _device(store: Store, device_id: int) -> DeviceRecord:
    """The attempt's device, read in plain SQL (once per attempt, on the hot path)."""
    row = store.sql.one(
        'SELECT id, name, host, port, "user", profile, key_path, model, serial, firmware, '
        "boot_id, info_updated_at, last_seen_at, cert_expires_at, cert_fingerprint "
        "FROM device WHERE id = ?",
        device_id,
    )
    assert row is not None
    tags = tuple(sorted(t for (t,) in store.sql.all(
        "SELECT tag FROM device_tag WHERE device_id = ?", device_id)))
    return DeviceRecord(
        id=row[0], name=row[1], host=row[2], port=row[3], user=row[4], profile=row[5],
        tags=tags, key_path=row[6], model=row[7], serial=row[8], firmware=row[9],
        boot_id=row[10], info_updated_at=dt(row[11]), last_seen_at=dt(row[12]),
        cert_expires_at=dt(row[13]), cert_fingerprint=row[14],
    )


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
        """Ids of due tasks, at most one per device, none on a busy device.

        Interrupted tasks come first, then the rest oldest first: a runtime that is stopped
        again and again finishes what it began instead of starting ever more tasks. Both
        passes read a partial index of waiting tasks; cost does not grow with history.
        """
        busy = list(busy_devices)
        not_busy = ""
        if busy:
            marks = ", ".join("?" for _ in busy)
            not_busy = f" AND (device_id IS NULL OR device_id NOT IN ({marks}))"
        batch = limit * 4 + 16
        due_by = ts(now)
        picked: list[int] = []
        devices: set[int | None] = set()
        queries = (
            # No condition on the time here: with one, the planner may take the big index
            # of all waiting tasks and filter it; this way only the small one serves.
            (f"SELECT id, device_id, next_attempt_at FROM task WHERE interrupted{not_busy} "
             "ORDER BY next_attempt_at, id LIMIT ?", (*busy, batch)),
            ("SELECT id, device_id, next_attempt_at FROM task "
             f"WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ?{not_busy} "
             "ORDER BY next_attempt_at, id LIMIT ?", (due_by, *busy, batch)),
        )
        for query, params in queries:
            for task_id, device_id, due_at in self._store.sql.all(query, *params):
                if due_at is None or due_at > due_by:
                    break  # ordered by time: the rest is not due yet
                if device_id in devices or task_id in picked:
                    continue
                devices.add(device_id)
                picked.append(task_id)
                if len(picked) >= limit:
                    return picked
        return picked

    def next_due_at(self) -> datetime | None:
        # Peewee converts an aggregate of a field through the field: this is a datetime.
        return (
            Task.select(fn.MIN(Task.next_attempt_at))
            .where(Task.next_attempt_at.is_null(False))
            .scalar()
        )

    # --- attempts -------------------------------------------------------------------
    # The calls below run for every step of every task; they speak plain SQL (`rawsql`).

    def _task_and_job(self, task_id: int) -> _TaskJob | None:
        row = self._store.sql.one(
            "SELECT t.job_id, t.state, t.device_id, t.next_attempt_at, t.cancel_requested, "
            "t.reason, j.cancelled_at, j.replaced_by_id, j.expires_at, j.schedule "
            "FROM task t JOIN job j ON j.id = t.job_id WHERE t.id = ?",
            task_id,
        )
        if row is None:
            return None
        expires = dt(row[8])
        assert expires is not None
        return _TaskJob(
            task_id=task_id,
            job_id=row[0],
            state=row[1],
            device_id=row[2],
            next_attempt_at=dt(row[3]),
            cancel_requested=bool(row[4]),
            reason=row[5],
            job_ended=row[6] is not None or row[7] is not None,
            expires_at=expires,
            schedule=schedule_from_text(row[9]),
        )

    def claim(
        self, task_id: int, now: datetime, *, refresh: bool = True
    ) -> tuple[Attempt | None, list[Change]]:
        """Start an attempt if the task is still due and may run now."""
        attempts, changes = self.claim_many([task_id], now, refresh=refresh)
        return (attempts[0] if attempts else None), changes

    def claim_many(
        self, task_ids: Sequence[int], now: datetime, *, refresh: bool = True
    ) -> tuple[list[Attempt], list[Change]]:
        """Start attempts for every task that is still due and may run now.

        One transaction for the whole pass. With `refresh=False` the caller refreshes the
        touched jobs itself (the runtime batches them); the returned changes name them.
        """
        attempts: list[Attempt] = []
        changes: list[Change] = []
        jobs: dict[int, JobRecord] = {}
        with self._store.transaction():
            for task_id in task_ids:
                attempt = self._claim(task_id, now, refresh, changes, jobs)
                if attempt is not None:
                    attempts.append(attempt)
        return attempts, changes

    def _claim(self, task_id: int, now: datetime, refresh: bool, changes: list[Change],
               jobs: dict[int, JobRecord]) -> Attempt | None:
        sql = self._store.sql
        facts = self._task_and_job(task_id)
        if facts is None or facts.next_attempt_at is None or facts.next_attempt_at > now:
            return None
        changes.append(Change(facts.job_id, task_id))
        if facts.job_ended:
            self._end(facts, TaskState.CANCELLED, facts.reason or "cancelled", now,
                      refresh=refresh)
            return None
        if facts.device_id is None:
            self._end(facts, TaskState.FAILED, "the device was removed from the inventory",
                      now, refresh=refresh)
            return None
        if now >= facts.expires_at:
            self._end(facts, TaskState.FAILED, EXPIRED, now, refresh=refresh)
            return None
        if not facts.schedule.is_open(now):
            self._reschedule(facts, now, facts.reason or "window closed", refresh=refresh)
            return None
        busy = sql.one(
            "SELECT 1 FROM task WHERE device_id = ? AND state = ? LIMIT 1",
            facts.device_id, TaskState.RUNNING.value,
        )
        if busy is not None:
            changes.pop()
            return None
        sql.run(
            "UPDATE task SET state = ?, attempts = attempts + 1, last_triggered_at = ?, "
            "next_attempt_at = NULL, reason = NULL, interrupted = FALSE, updated_at = ? "
            "WHERE id = ?",
            TaskState.RUNNING.value, ts(now), ts(now), task_id,
        )
        if refresh:
            self._store.jobs.refresh(facts.job_id, now)
            jobs.pop(facts.job_id, None)
        job = jobs.get(facts.job_id)
        if job is None:
            row = sql.one(f"SELECT {JOB_COLUMNS} FROM job WHERE id = ?", facts.job_id)
            assert row is not None
            job = jobs[facts.job_id] = job_record_from_row(row)
        task_row = sql.one(f"SELECT {TASK_COLUMNS} FROM task WHERE id = ?", task_id)
        assert task_row is not None
        steps = tuple(
            step_record_from_row(row)
            for row in sql.all(
                f"SELECT {STEP_COLUMNS} FROM step WHERE task_id = ? ORDER BY position", task_id
            )
        )
        return Attempt(job, task_record_from_row(task_row), _device(self._store, facts.device_id),
                       steps)

    def begin_step(
        self, task_id: int, step_id: int, now: datetime, *, refresh: bool = True
    ) -> StopReason | None:
        """Mark a step Running, unless the attempt must stop before it (spec B3)."""
        with self._store.transaction():
            return self._begin(task_id, step_id, now, refresh)

    def _begin(self, task_id: int, step_id: int, now: datetime,
               refresh: bool) -> StopReason | None:
        sql = self._store.sql
        facts = self._task_and_job(task_id)
        assert facts is not None
        stop = rules.stop_before_next_step(
            now=now,
            schedule=facts.schedule,
            expires_at=facts.expires_at,
            cancel_requested=facts.cancel_requested or facts.job_ended,
        )
        if stop is StopReason.CANCELLED:
            self._end(facts, TaskState.CANCELLED, facts.reason or "cancelled", now,
                      refresh=refresh)
        elif stop is StopReason.EXPIRED:
            self._end(facts, TaskState.FAILED, EXPIRED, now, refresh=refresh)
        elif stop is StopReason.WINDOW_CLOSED:
            self._reschedule(facts, now, "window closed", refresh=refresh)
        if stop is not None:
            return stop
        sql.run(
            "UPDATE step SET status = ?, started_at = ?, completed_at = NULL, "
            "message = NULL WHERE id = ?",
            StepStatus.RUNNING.value, ts(now), step_id,
        )
        sql.run(
            "UPDATE task SET current_step = (SELECT name FROM step WHERE id = ?), "
            "updated_at = ? WHERE id = ?",
            step_id, ts(now), task_id,
        )
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
        refresh: bool = True,
    ) -> bool:
        """Mark a step Completed; returns True when the task has Succeeded with it.

        `finish_task` ends the task here (firmware already on the target version): the
        steps left are marked Skipped with the reason, so the record says why they did
        not run.
        """
        with self._store.transaction():
            return self._complete(task_id, step_id, now, message, context, finish_task, refresh)

    def complete_and_begin(
        self,
        task_id: int,
        step_id: int,
        next_step_id: int,
        now: datetime,
        *,
        message: str | None = None,
        context: dict[str, Any] | None = None,
        finish_task: bool = False,
        refresh: bool = True,
        begin_at: datetime | None = None,
    ) -> tuple[bool, StopReason | None]:
        """Complete a step and start the next in one transaction (half the commits per step).

        `now` is when the step completed; `begin_at` (default `now`) when the next begins:
        later when the database could not take the write at once.
        Returns (task done, reason to stop before the next step).
        """
        with self._store.transaction():
            done = self._complete(task_id, step_id, now, message, context, finish_task, refresh)
            if done:
                return True, None
            return False, self._begin(task_id, next_step_id, begin_at or now, refresh)

    def _complete(self, task_id: int, step_id: int, now: datetime, message: str | None,
                  context: dict[str, Any] | None, finish_task: bool, refresh: bool) -> bool:
        sql = self._store.sql
        sql.run(
            "UPDATE step SET status = ?, completed_at = ?, message = ? WHERE id = ?",
            StepStatus.COMPLETED.value, ts(now), message, step_id,
        )
        later = [
            row[0]
            for row in sql.all(
                "SELECT id FROM step WHERE task_id = ? AND status NOT IN (?, ?) AND "
                "position > (SELECT position FROM step WHERE id = ?)",
                task_id, StepStatus.COMPLETED.value, StepStatus.SKIPPED.value, step_id,
            )
        ]
        fields: dict[str, Any] = {"updated_at": ts(now)}
        if context:
            (stored,) = sql.one("SELECT context FROM task WHERE id = ?", task_id) or ("{}",)
            fields["context"] = dumps({**json.loads(stored or "{}"), **context})
        if finish_task and later:
            marks = ", ".join("?" for _ in later)
            sql.run(
                f"UPDATE step SET status = ?, skipped_at = ?, message = ? "
                f"WHERE id IN ({marks})",
                StepStatus.SKIPPED.value, ts(now),
                f"not needed: {message}" if message else "not needed", *later,
            )
        done = finish_task or not later
        if done:
            fields.update(
                state=TaskState.SUCCEEDED.value,
                current_step=None,
                cancel_requested=False,
                reason=message if finish_task else None,
            )
        sql.update("task", task_id, fields)
        if done and refresh:
            (job_id,) = sql.one("SELECT job_id FROM task WHERE id = ?", task_id) or (0,)
            self._store.jobs.refresh(job_id, now)
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
        refresh: bool = True,
    ) -> TaskRecord:
        """Spec B3: a failed attempt is Rescheduled, or Failed when retrying cannot help.

        A driver's own fix hint (a changed host key's fingerprint, say) replaces the step's
        general one, because it is more precise.
        """
        sql = self._store.sql
        with self._store.transaction():
            step_fields: dict[str, Any] = {"status": StepStatus.FAILED.value, "message": message}
            if fix_hint:
                step_fields["fix_hint"] = fix_hint
            sql.update("step", step_id, step_fields)
            self._rewind_for_retry(task_id, step_id)
            facts = self._task_and_job(task_id)
            assert facts is not None
            if facts.cancel_requested:
                self._end(facts, TaskState.CANCELLED, facts.reason or "cancelled", now,
                          refresh=refresh)
            elif not retryable:
                self._end(facts, TaskState.FAILED, message, now, refresh=refresh)
            else:
                next_at = rules.next_attempt_after_failure(
                    facts.schedule, now, retry_interval, facts.expires_at
                )
                if next_at is None:
                    self._end(facts, TaskState.FAILED, f"{EXPIRED}; last error: {message}", now,
                              refresh=refresh)
                else:
                    sql.update("task", task_id, {
                        "state": TaskState.RESCHEDULED.value,
                        "next_attempt_at": ts(next_at),
                        "reason": message,
                        "updated_at": ts(now),
                    })
                    if refresh:
                        self._store.jobs.refresh(facts.job_id, now)
            row = sql.one(f"SELECT {TASK_COLUMNS} FROM task WHERE id = ?", task_id)
            assert row is not None
            return task_record_from_row(row)

    def _rewind_for_retry(self, task_id: int, step_id: int) -> None:
        """A failed check makes the steps it checks run again on the next attempt.

        The failed step keeps its Failed status and message (what a person reads); the
        steps from its `retry_from` up to it go back to Pending.
        """
        sql = self._store.sql
        row = sql.one("SELECT name, position FROM step WHERE id = ?", step_id)
        spec = STEPS_BY_NAME.get(row[0]) if row else None
        if row is None or spec is None or spec.retry_from is None:
            return
        sql.run(
            "UPDATE step SET status = ?, completed_at = NULL, message = ? "
            "WHERE task_id = ? AND position < ? AND status = ? AND position >= "
            "(SELECT position FROM step WHERE task_id = ? AND name = ?)",
            StepStatus.PENDING.value, f"runs again: {row[0]} failed",
            task_id, row[1], StepStatus.COMPLETED.value, task_id, spec.retry_from,
        )

    def finish_if_done(self, task_id: int, now: datetime) -> bool:
        """A running task whose steps are all Completed or Skipped has Succeeded."""
        with self._store.transaction():
            facts = self._task_and_job(task_id)
            left = Step.select().where(
                (Step.task == task_id)
                & Step.status.not_in([StepStatus.COMPLETED.value, StepStatus.SKIPPED.value])
            )
            if facts is None or facts.state != TaskState.RUNNING.value or left.exists():
                return False
            self._end(facts, TaskState.SUCCEEDED, "every step was completed or skipped", now)
            return True

    def interrupt(self, task_id: int, now: datetime, reason: str) -> None:
        """An attempt that stopped without an outcome (runtime stopped or crashed).

        Its running step goes back to Pending so the next attempt runs it again; the task
        waits for the next attempt at once (or the next window).
        """
        with self._store.transaction():
            facts = self._task_and_job(task_id)
            if facts is None or facts.state != TaskState.RUNNING.value:
                return
            Step.update(
                status=StepStatus.PENDING.value,
                message=f"{reason}: this step did not finish and runs again",
            ).where((Step.task == task_id) & (Step.status == StepStatus.RUNNING.value)).execute()
            if facts.cancel_requested or facts.job_ended:
                self._end(facts, TaskState.CANCELLED, facts.reason or "cancelled", now)
            else:
                self._reschedule(facts, now, reason, interrupted=True)

    def recover_interrupted(self, now: datetime) -> list[Change]:
        """At start: tasks left Running by a crash become Rescheduled ("interrupted")."""
        ids = list(
            Task.select(Task.id, Task.job).where(Task.state == TaskState.RUNNING.value).tuples()
        )
        for task_id, _ in ids:
            self.interrupt(task_id, now, "interrupted")
        return [Change(j, t) for t, j in ids]

    def sweep(self, now: datetime) -> list[Change]:
        """Expire waiting tasks of expired jobs and bring stored job states up to `now`.

        Job states depend on the clock (a window opens or closes), so this runs every
        half minute and once when the runtime starts.
        """
        changes: list[Change] = []
        with self._store.transaction():
            expired = list(
                Task.select(Task.id)
                .join(Job)
                .where(Task.next_attempt_at.is_null(False) & (Job.expires_at <= now))
                .tuples()
            )
            for (task_id,) in expired:
                facts = self._task_and_job(task_id)
                assert facts is not None
                self._end(facts, TaskState.FAILED, EXPIRED, now, refresh=False)
                changes.append(Change(facts.job_id, task_id))
            for job_id in self._store.jobs.unfinished_ids():
                old, new = self._store.jobs.refresh(job_id, now)
                if old != new:
                    changes.append(Change(job_id))
        return changes

    # --- transitions ----------------------------------------------------------------

    def _end(
        self, facts: _TaskJob, state: TaskState, reason: str, now: datetime, *,
        refresh: bool = True,
    ) -> None:
        self._store.sql.update("task", facts.task_id, {
            "state": state.value,
            "reason": reason,
            "next_attempt_at": None,
            "cancel_requested": False,
            "interrupted": False,
            "updated_at": ts(now),
        })
        if refresh:
            self._store.jobs.refresh(facts.job_id, now)

    def _reschedule(self, facts: _TaskJob, now: datetime, reason: str, *,
                    refresh: bool = True, interrupted: bool = False) -> None:
        next_at = rules.resume_at(facts.schedule, now, facts.expires_at)
        if next_at is None:
            self._end(facts, TaskState.FAILED, EXPIRED, now, refresh=refresh)
            return
        fields: dict[str, Any] = {
            "state": TaskState.RESCHEDULED.value,
            "next_attempt_at": ts(next_at),
            "reason": reason,
            "updated_at": ts(now),
        }
        if interrupted:
            fields["interrupted"] = True
        self._store.sql.update("task", facts.task_id, fields)
        if refresh:
            self._store.jobs.refresh(facts.job_id, now)

    # --- lease ----------------------------------------------------------------------

    def acquire_lease(self, owner: str, host: str, now: datetime, stale_after: timedelta) -> None:
        """Become the one runtime of this database, or say who is."""
        with self._store.transaction():
            lease = RuntimeLease.get_or_none(RuntimeLease.id == 1)
            if lease is not None and lease.owner != owner:
                fresh = now - lease.heartbeat_at < stale_after
                if lease.host == host:
                    # On this machine the process decides: a runtime that is alive but late
                    # with its heartbeat (a long lock, a laptop waking up) keeps its lease.
                    # Only a heartbeat missing for very long means the pid was reused.
                    alive = _pid_alive(lease.pid) and now - lease.heartbeat_at < ABANDONED
                else:
                    alive = fresh
                if alive:
                    raise RuntimeBusy(
                        f"another jobdesk runtime (pid {lease.pid} on {lease.host}) is "
                        "driving this database; close it first"
                    )
            fields = {"owner": owner, "host": host, "pid": os.getpid(), "heartbeat_at": now}
            RuntimeLease.insert(id=1, **fields).on_conflict(
                conflict_target=[RuntimeLease.id], update=fields
            ).execute()

    def renew_lease(self, owner: str, now: datetime) -> bool:
        """Keep the lease; False when another runtime has taken it (this one must stop)."""
        with self._store.transaction():
            renewed = RuntimeLease.update(heartbeat_at=now).where(
                (RuntimeLease.id == 1) & (RuntimeLease.owner == owner)
            ).execute()
        return renewed > 0

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
