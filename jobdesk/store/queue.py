"""The runtime's side of the store: claims, attempts, steps, recovery, sweeps and leases.

Timing lives here, in `next_attempt_at`, never only in a runtime's memory: a runtime that
is killed and started again finds exactly the work that was due. What a change *is* comes
from the domain (`domain.lifecycle`); this module reads the facts, asks, and applies.

Several runtimes may share one database (PostgreSQL, team mode), so every attempt holds
its task by a claim: who (`claimed_by`), until when (`lease_until`, on the database's own
clock, renewed by a heartbeat) and which claim (`fence`, one more at every claim). Each
write of an attempt first checks that it still holds; one that does not (its lease expired
while the laptop slept, and another runtime took the task over) raises LeaseLost and
writes nothing. The device's `busy_task_id`, set with the device row locked, keeps one
task per device across all runtimes; a unique index on running tasks backs it up.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from peewee import fn

from jobdesk.domain import lifecycle
from jobdesk.domain.lifecycle import JobView, TaskChange, TaskView
from jobdesk.domain.states import JobState, StepStatus, TaskState
from jobdesk.store import rollouts, statements
from jobdesk.store.jobs import (
    job_record_from_row,
    schedule_from_text,
    step_record_from_row,
    task_record_from_row,
)
from jobdesk.store.models import RuntimeLease, Task
from jobdesk.store.rawsql import dt, dumps, ts
from jobdesk.store.records import DeviceRecord, JobRecord, StepRecord, TaskRecord
from jobdesk.store.statements import Statements

if TYPE_CHECKING:
    from jobdesk.store.database import Store

EXPIRED = lifecycle.EXPIRED
ABANDONED = timedelta(minutes=10)  # a lease not renewed this long is free, whatever the pid
# How long a claim holds without a heartbeat: long enough for a laptop's short stall,
# short enough that a crashed runtime's tasks are taken over soon. Heartbeats come 4x as
# often, so a ten-minute firmware flash never looks dead.
LEASE = timedelta(seconds=60)
_WAITING = (TaskState.SCHEDULED.value, TaskState.RESCHEDULED.value)
_RUNNING = TaskState.RUNNING.value


class RuntimeBusy(RuntimeError):
    """Another runtime drives this database; two would run every task twice."""


class LeaseLost(RuntimeError):
    """The attempt's claim is gone: another runtime took the task over."""


@dataclass(frozen=True)
class Hold:
    """An attempt's claim on its task; every write of the attempt shows it."""

    task_id: int
    runtime: str
    fence: int


@dataclass(frozen=True)
class Attempt:
    """Everything one attempt needs, read once when the task was claimed."""

    job: JobRecord
    task: TaskRecord
    device: DeviceRecord
    steps: tuple[StepRecord, ...]
    hold: Hold


@dataclass(frozen=True)
class Change:
    """What a store call changed, for the runtime to announce."""

    job_id: int
    task_id: int | None = None


@dataclass(frozen=True)
class _Facts:
    """What a change of one task needs to know, read in one query."""

    task_id: int
    job_id: int
    device_id: int | None
    job: JobView
    task: TaskView
    next_attempt_at: datetime | None = None
    rollout: dict[str, Any] | None = None  # the job's rollout (B8), as stored
    batch: int = 1


def _facts(row: tuple[Any, ...]) -> _Facts:
    expires = dt(row[9])
    assert expires is not None
    try:
        job_state = JobState(row[11])
    except ValueError:
        job_state = JobState.UNKNOWN
    rollout = json.loads(row[16]) if row[16] else None
    policy = (rollout or {}).get("policy") or {}
    return _Facts(
        task_id=row[0], job_id=row[1], device_id=row[2],
        job=JobView(schedule=schedule_from_text(row[10]), expires_at=expires,
                    state=job_state, cancelled=row[7] is not None,
                    replaced=row[8] is not None, max_attempts=policy.get("max_attempts")),
        task=TaskView(state=TaskState(row[3]), attempts=row[4],
                      cancel_requested=bool(row[5]), reason=row[6],
                      has_device=row[2] is not None, interrupted=bool(row[12]),
                      cancel_requested_at=dt(row[13]), failures=row[15]),
        next_attempt_at=dt(row[14]), rollout=rollout, batch=row[17],
    )


def _device(store: Store, device_id: int) -> DeviceRecord:
    """The attempt's device, read in plain SQL (once per attempt, on the hot path)."""
    row = store.sql.one(statements.DEVICE, device_id)
    assert row is not None
    tags = tuple(sorted(t for (t,) in store.sql.all(statements.TAGS_OF_DEVICE, device_id)))
    return DeviceRecord(
        id=row[0], name=row[1], host=row[2], port=row[3], user=row[4], profile=row[5],
        tags=tags, key_path=row[6], model=row[7], serial=row[8], firmware=row[9],
        boot_id=row[10], info_updated_at=dt(row[11]), last_seen_at=dt(row[12]),
        cert_expires_at=dt(row[13]), cert_fingerprint=row[14],
    )


class TaskQueue:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._q = Statements(store.dialect)  # with the backend's clock and row locks

    # --- finding work ---------------------------------------------------------------

    def due(self, now: datetime, limit: int, busy_devices: Iterable[int] = ()) -> list[int]:
        """Ids of due tasks, at most one per device, none on a busy device.

        Interrupted tasks come first, then the rest oldest first: a runtime that is stopped
        again and again finishes what it began instead of starting ever more tasks. Both
        passes read a partial index of waiting tasks; cost does not grow with history.
        """
        busy = set(busy_devices)
        batch = limit * 4 + 16 + len(busy)
        due_by = ts(now)
        picked: list[int] = []
        devices: set[int | None] = set(busy)
        queries = (
            (statements.INTERRUPTED_TASKS, (batch,)),
            (statements.DUE_TASKS, (due_by, batch)),
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

    # --- claims ---------------------------------------------------------------------
    # The calls below run for every step of every task; they speak plain SQL (`rawsql`).

    def claim_due(
        self, runtime: str, now: datetime, limit: int, *, lease: timedelta = LEASE,
        refresh: bool = True,
    ) -> tuple[list[Attempt], list[Change]]:
        """Claim up to `limit` due tasks for `runtime` and start their attempts.

        One transaction: the candidates (one per free device, interrupted ones first) are
        read with their task and device rows locked — skipped when another runtime holds
        them —, the domain decides for each whether its attempt starts now, and the start
        is written only if the task is still due (the condition is repeated in the UPDATE,
        so a task another runtime finished meanwhile is never claimed again).
        """
        sql = self._store.sql
        batch = limit * 4 + 16
        due_by = ts(now)
        attempts: list[Attempt] = []
        changes: list[Change] = []
        jobs: dict[int, JobRecord] = {}
        with self._store.transaction():
            rows = sql.all(
                self._q.claim_candidates,
                batch, due_by, batch, due_by, due_by, limit,
            )
            gate = rollouts.ClaimGate(self._store, now)
            for row in rows:
                facts = _facts(row)
                changes.append(Change(facts.job_id, facts.task_id))
                change = lifecycle.claim(facts.job, facts.task, now)
                if change is not None:
                    self._apply(facts, change, now, refresh=refresh)
                    continue
                if self._held_by_rollout(facts, gate, now):
                    continue
                attempt = self._start(facts, runtime, now, lease, jobs, refresh)
                if attempt is not None:
                    attempts.append(attempt)
                    gate.started(facts.job_id)
        return attempts, changes

    def claim(
        self, task_id: int, now: datetime, *, runtime: str = "local", refresh: bool = True
    ) -> tuple[Attempt | None, list[Change]]:
        """Claim one task, if it is due (tests, and the window's *Run now*)."""
        with self._store.transaction():
            row = self._store.sql.one(self._q.claim_one, task_id, ts(now))
            if row is None:
                return None, []
            facts = _facts(row)
            change = lifecycle.claim(facts.job, facts.task, now)
            if change is not None:
                self._apply(facts, change, now, refresh=refresh)
                return None, [Change(facts.job_id, task_id)]
            if self._held_by_rollout(facts, rollouts.ClaimGate(self._store, now), now):
                return None, [Change(facts.job_id, task_id)]
            attempt = self._start(facts, runtime, now, LEASE, {}, refresh)
            return attempt, [Change(facts.job_id, task_id)]

    def _held_by_rollout(self, facts: _Facts, gate: rollouts.ClaimGate, now: datetime) -> bool:
        """B8 at the claim: a task its rollout does not let start now is not claimed; it
        waits (held until released, or until its job's rate or concurrency allows)."""
        if facts.rollout is None:
            return False
        sql = self._store.sql
        held = rollouts.held_reason(facts.rollout, facts.batch, facts.task.attempts)
        if held is not None:
            sql.run(statements.HOLD_TASK, ts(facts.job.expires_at), held, ts(now),
                    facts.task_id)
            return True
        until = gate.postpone_until(facts.job_id, facts.rollout)
        if until is None:
            return False
        sql.run(statements.POSTPONE_TASK, ts(until), ts(now), facts.task_id)
        return True

    def _start(self, facts: _Facts, runtime: str, now: datetime, lease: timedelta,
               jobs: dict[int, JobRecord], refresh: bool) -> Attempt | None:
        sql = self._store.sql
        task_id = facts.task_id
        started = sql.one(
            self._q.start,
            _RUNNING, ts(now), runtime, _micros(lease), ts(now), task_id, *_WAITING, ts(now),
        )
        if started is None:
            return None  # no longer due: finished or claimed meanwhile
        marked = sql.run(statements.MARK_DEVICE_BUSY, task_id, facts.device_id)
        if marked != 1:  # the device row was locked with the task: this cannot happen
            raise RuntimeError(f"device {facts.device_id} is busy although it was free")
        if refresh:
            self._store.jobs.refresh(facts.job_id, now)
            jobs.pop(facts.job_id, None)
        job = jobs.get(facts.job_id)
        if job is None:
            row = sql.one(statements.JOB, facts.job_id)
            assert row is not None
            job = jobs[facts.job_id] = job_record_from_row(row)
        task_row = sql.one(statements.TASK, task_id)
        assert task_row is not None and facts.device_id is not None
        steps = self._rerun_verified(task_id, tuple(
            step_record_from_row(row)
            for row in sql.all(statements.STEPS_OF_TASK, task_id)
        ), facts.task.attempts)
        return Attempt(job, task_record_from_row(task_row), _device(self._store, facts.device_id),
                       steps, Hold(task_id, runtime, started[0]))

    def _rerun_verified(self, task_id: int, steps: tuple[StepRecord, ...],
                        attempts_before: int) -> tuple[StepRecord, ...]:
        """B1: after a failed verification this attempt starts again at the step verified
        (or its upload). Those steps and the failed check go back to Pending in the plan,
        so an attempt stopped halfway resumes where it stopped, not at the start again;
        what they did in the earlier attempt stays on record in `step_run`."""
        statuses = [StepStatus(s.status) for s in steps]
        start = lifecycle.attempt_start([(s.name, status) for s, status in
                                         zip(steps, statuses, strict=True)])
        if start is None or not statuses[start].is_done:
            return steps  # an ordinary resume: nothing runs again
        changed: dict[int, StepRecord] = {}
        for step in steps[start:]:
            if step.status == StepStatus.SKIPPED.value:
                continue  # a person skipped it: it stays skipped
            if step.status not in (StepStatus.COMPLETED.value, StepStatus.FAILED.value):
                break
            failed = step.status == StepStatus.FAILED.value
            message = (f"runs again: it failed in attempt {attempts_before}" if failed else
                       f"runs again: a check after it failed in attempt {attempts_before}")
            self._store.sql.run(statements.RERUN_STEP, StepStatus.PENDING.value, message,
                                step.id)
            changed[step.id] = replace(step, status=StepStatus.PENDING.value,
                                       started_at=None, completed_at=None, skipped_at=None,
                                       message=message)
            if failed:
                break  # the check itself: the rest was not reached
        return tuple(changed.get(step.id, step) for step in steps)

    def _held(self, hold: Hold) -> _Facts:
        """The facts of a task the attempt still holds (its row locked), or LeaseLost."""
        row = self._store.sql.one(self._q.held, hold.task_id, hold.runtime, hold.fence,
                                  _RUNNING)
        if row is None:
            raise _lost(hold)
        return _facts(row)

    def _holds(self, hold: Hold) -> int:
        """Only whether the attempt still holds its task (its row locked): its job's id."""
        row = self._store.sql.one(self._q.holds, hold.task_id, hold.runtime, hold.fence,
                                  _RUNNING)
        if row is None:
            raise _lost(hold)
        return int(row[0])

    def renew(self, runtime: str, lease: timedelta = LEASE) -> int:
        """Heartbeat: every running task this runtime holds is held `lease` longer."""
        with self._store.transaction():
            return self._store.sql.run(self._q.renew, _micros(lease), runtime, _RUNNING)

    # --- steps ----------------------------------------------------------------------

    def begin_step(
        self, hold: Hold, step_id: int, now: datetime, *, refresh: bool = True
    ) -> TaskChange | None:
        """Mark a step Running, unless the attempt must stop before it (spec B3)."""
        with self._store.transaction():
            return self._begin(self._held(hold), step_id, now, refresh)

    def _begin(self, facts: _Facts, step_id: int, now: datetime,
               refresh: bool) -> TaskChange | None:
        sql = self._store.sql
        stop = lifecycle.before_step(facts.job, facts.task, now)
        if stop is not None:
            self._apply(facts, stop, now, refresh=refresh)
            return stop
        sql.run(statements.BEGIN_STEP, StepStatus.RUNNING.value, ts(now), step_id)
        sql.run(statements.RUN_BEGIN, StepStatus.RUNNING.value, ts(now), step_id)
        sql.run(statements.CURRENT_STEP, step_id, ts(now), facts.task_id)
        return None

    def complete_step(
        self,
        hold: Hold,
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
            job_id = self._holds(hold)
            return self._complete(hold.task_id, job_id, step_id, now, message, context,
                                  finish_task, refresh)

    def complete_and_begin(
        self,
        hold: Hold,
        step_id: int,
        next_step_id: int,
        now: datetime,
        *,
        message: str | None = None,
        context: dict[str, Any] | None = None,
        finish_task: bool = False,
        refresh: bool = True,
        begin_at: datetime | None = None,
    ) -> tuple[bool, TaskChange | None]:
        """Complete a step and start the next in one transaction (half the commits per step).

        `now` is when the step completed; `begin_at` (default `now`) when the next begins:
        later when the database could not take the write at once.
        Returns (task done, the change that ended the attempt before the next step).
        """
        with self._store.transaction():
            facts = self._held(hold)
            if self._complete(facts.task_id, facts.job_id, step_id, now, message, context,
                              finish_task, refresh):
                return True, None
            return False, self._begin(facts, next_step_id, begin_at or now, refresh)

    def _complete(self, task_id: int, job_id: int, step_id: int, now: datetime,
                  message: str | None, context: dict[str, Any] | None, finish_task: bool,
                  refresh: bool) -> bool:
        sql = self._store.sql
        sql.run(statements.COMPLETE_STEP, StepStatus.COMPLETED.value, ts(now), message, step_id)
        sql.run(statements.RUN_COMPLETE, StepStatus.COMPLETED.value, ts(now), message, step_id,
                StepStatus.RUNNING.value)
        later = [
            row[0]
            for row in sql.all(statements.STEPS_LEFT_AFTER, task_id, StepStatus.COMPLETED.value,
                               StepStatus.SKIPPED.value, step_id)
        ]
        if context:
            (stored,) = sql.one(statements.TASK_CONTEXT, task_id) or ("{}",)
            sql.update("task", task_id, {
                "context": dumps({**json.loads(stored or "{}"), **context})})
        if finish_task and later:
            reason = f"not needed: {message}" if message else "not needed"
            sql.run(statements.skip_steps(len(later)), StepStatus.SKIPPED.value, ts(now),
                    reason, *later)
            for skipped in later:
                sql.run(statements.RUN_SKIPPED, 0, StepStatus.SKIPPED.value, ts(now), reason,
                        skipped)
        if later and not finish_task:
            sql.update("task", task_id, {"updated_at": ts(now)})
            return False
        (requested, requested_at) = sql.one(statements.TASK_CANCEL_REQUEST, task_id) or (
            False, None)
        task = TaskView(TaskState.RUNNING, cancel_requested=bool(requested),
                        cancel_requested_at=dt(requested_at))
        change = lifecycle.after_step(task, steps_left=len(later), finish_task=finish_task,
                                      message=message)
        assert change is not None
        self._apply_to(task_id, job_id, change, now, refresh=refresh)
        return True

    def fail_step(
        self,
        hold: Hold,
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
            facts = self._held(hold)
            step_fields: dict[str, Any] = {"status": StepStatus.FAILED.value, "message": message}
            if fix_hint:
                step_fields["fix_hint"] = fix_hint
            sql.update("step", step_id, step_fields)
            sql.run(statements.RUN_FAIL, StepStatus.FAILED.value, message, step_id,
                    StepStatus.RUNNING.value)
            change = lifecycle.after_failure(facts.job, facts.task, now, message=message,
                                             retryable=retryable, retry_interval=retry_interval)
            sql.run(statements.FAILED_ATTEMPT, facts.task_id)
            self._apply(facts, change, now, refresh=refresh)
            row = sql.one(statements.TASK, facts.task_id)
            assert row is not None
            return task_record_from_row(row)

    def finish_if_done(self, hold: Hold, now: datetime) -> bool:
        """A running task whose steps are all Completed or Skipped has Succeeded."""
        with self._store.transaction():
            facts = self._held(hold)
            (left,) = self._store.sql.one(
                statements.STEPS_NOT_DONE,
                facts.task_id, StepStatus.COMPLETED.value, StepStatus.SKIPPED.value,
            ) or (0,)
            if left:
                return False
            self._apply(facts, TaskChange(TaskState.SUCCEEDED,
                                          "every step was completed or skipped"), now)
            return True

    def interrupt(self, hold: Hold, now: datetime, reason: str) -> None:
        """An attempt that stopped without an outcome (the runtime stopped)."""
        with self._store.transaction():
            self._interrupt(self._held(hold), now, reason)

    def _interrupt(self, facts: _Facts, now: datetime, reason: str) -> None:
        """Its running step goes back to Pending so the next attempt runs it again; the
        task waits for the next attempt at once (or the next window), before new ones."""
        message = f"{reason}: this step did not finish and runs again"
        self._store.sql.run(statements.RUNNING_STEP_BACK, StepStatus.PENDING.value, message,
                            facts.task_id, StepStatus.RUNNING.value)
        self._store.sql.run(statements.RUNS_INTERRUPTED, StepStatus.FAILED.value,
                            f"{reason}: did not finish", facts.task_id,
                            StepStatus.RUNNING.value)
        self._apply(facts, lifecycle.interrupt(facts.job, facts.task, now, reason), now)

    def recover_interrupted(self, now: datetime, *, expired_only: bool = False,
                            host: str | None = None,
                            trust_live_pids: bool = False) -> list[Change]:
        """Running tasks that no live runtime holds become Rescheduled ("interrupted").

        With one runtime per database (SQLite) every running task found at its start is
        such a task. With several (PostgreSQL) only those whose lease ran out are, and
        those of a runtime on this `host` whose process is gone (a crash here need not wait
        for the lease); the others belong to live runtimes, and a task held (locked) right
        now is left alone.
        """
        params: list[Any] = [_RUNNING]
        if expired_only and host:
            params.append(f"{_escape_like(host)}:%")
        query = self._q.recover(expired_only=expired_only, same_host=bool(host))
        changes: list[Change] = []
        with self._store.transaction():
            rows = self._store.sql.all(query, *params)
            # The database's clock, read once for all the leases compared with it.
            (now_us,) = (self._store.sql.one(self._q.now) or (0,)) if rows else (0,)
            for row in rows:
                claimed_by, lease_until, rest = row[0], row[1], row[2:]
                if expired_only and host and not _abandoned(
                        claimed_by, lease_until, host, now_us, trust_live_pids):
                    continue
                facts = _facts(rest)
                self._interrupt(facts, now, "interrupted")
                changes.append(Change(facts.job_id, facts.task_id))
        return changes

    def sweep(self, now: datetime) -> list[Change]:
        """Expire waiting tasks of expired jobs, end those whose device was removed, and
        bring stored job states up to `now`.

        Job states depend on the clock (a window opens or closes), so this runs every
        half minute and once when the runtime starts (on one runtime of a team).
        """
        changes: list[Change] = []
        with self._store.transaction():
            rows = self._store.sql.all(self._q.waiting_expired_or_deviceless, ts(now))
            for row in rows:
                facts = _facts(row)
                change = lifecycle.expire(facts.job, facts.task, now) or (
                    lifecycle.claim(facts.job, facts.task, now)
                    if facts.device_id is None else None)
                if change is not None:
                    self._apply(facts, change, now, refresh=False)
                    changes.append(Change(facts.job_id, facts.task_id))
            changes.extend(self._catch_up(now))
            for job_id in self._store.jobs.unfinished_ids():
                old, new = self._store.jobs.refresh(job_id, now)
                if old != new:
                    changes.append(Change(job_id))
        return changes

    def _catch_up(self, now: datetime) -> list[Change]:
        """Waiting tasks whose next attempt passed while their window is closed now (no
        runtime ran meanwhile) wait for the next opening instead of showing a time in the
        past. Only jobs whose earliest next attempt has passed are looked at."""
        sql = self._store.sql
        changes: list[Change] = []
        for job_id, schedule_text in sql.all(statements.JOBS_OVERDUE, ts(now)):
            if schedule_from_text(schedule_text).is_open(now):
                continue  # due now: a runtime takes them
            for row in sql.all(self._q.overdue_tasks_of_job, job_id, ts(now)):
                facts = _facts(row)
                assert facts.next_attempt_at is not None
                change = lifecycle.catch_up(facts.job, facts.task, now, facts.next_attempt_at)
                if change is not None:
                    self._apply(facts, change, now, refresh=False)
                    changes.append(Change(facts.job_id, facts.task_id))
        return changes

    def bring_up_to_date(self, now: datetime, host: str) -> list[Change]:
        """What a reader does before showing jobs when it can write (the CLI): tasks left
        Running by a runtime that is gone (its process on this host ended, or its lease
        ran out) are shown interrupted, and the clock's changes are applied (`sweep`).

        A reader is not a runtime: a runtime of this host whose process lives (a laptop
        just woke up, its heartbeat comes in a moment) keeps its tasks unless its lease
        ran out long ago (`ABANDONED`)."""
        return [*self.recover_interrupted(now, expired_only=True, host=host,
                                          trust_live_pids=True),
                *self.sweep(now)]

    # --- applying a change ----------------------------------------------------------

    def _apply(self, facts: _Facts, change: TaskChange, now: datetime, *,
               refresh: bool = True) -> None:
        self._apply_to(facts.task_id, facts.job_id, change, now, refresh=refresh)

    def _apply_to(self, task_id: int, job_id: int, change: TaskChange, now: datetime, *,
                  refresh: bool = True) -> None:
        """Write a change the domain decided; leaving Running frees the claim and device."""
        fields: dict[str, Any] = {
            "state": change.state.value,
            "reason": change.reason,
            "next_attempt_at": ts(change.next_attempt_at),
            "cancel_requested": change.cancel_requested,
            "interrupted": change.interrupted,
            "updated_at": ts(now),
        }
        if change.cancel_requested_at is not None:
            fields["cancel_requested_at"] = ts(change.cancel_requested_at)
        if change.state is TaskState.SUCCEEDED:
            fields["current_step"] = None
            fields["last_failed"] = False
        if change.state is not TaskState.RUNNING:
            fields.update(claimed_by=None, lease_until=None)
            self._store.sql.run(statements.FREE_DEVICE, task_id, task_id)
        self._store.sql.update("task", task_id, fields)
        if refresh:
            self._store.jobs.refresh(job_id, now)

    # --- the runtime lease ----------------------------------------------------------

    def acquire_lease(self, owner: str, host: str, now: datetime, stale_after: timedelta) -> None:
        """Become the one runtime of this (SQLite) database, or say who is."""
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

    def lead(self, owner: str, host: str, stale_after: timedelta) -> bool:
        """Team mode: be (or stay) the runtime that runs the clock's duties for everyone.

        The leader's heartbeat is on the database's clock: a laptop whose own clock is
        wrong can neither keep a lease it lost nor take one early.
        """
        sql = self._store.sql
        with self._store.transaction():
            sql.run(self._q.lead_insert, owner, host, os.getpid())
            return sql.run(
                self._q.lead,
                owner, host, os.getpid(), owner, _micros(stale_after),
            ) == 1

    def release_lease(self, owner: str) -> None:
        with self._store.transaction():
            RuntimeLease.delete().where(RuntimeLease.owner == owner).execute()


def _lost(hold: Hold) -> LeaseLost:
    return LeaseLost(
        f"task {hold.task_id} is no longer held by this runtime (its lease expired and it "
        "was taken over); this attempt's outcome is dropped"
    )


def runtime_id(host: str) -> str:
    """Who holds a claim: this host, this process, and a random part (a pid is reused).

    `_abandoned` reads the host and the process back from it."""
    return f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _abandoned(claimed_by: str | None, lease_until: int | None, host: str,
               now_us: int, trust_live_pids: bool = False) -> bool:
    """Whether a running task's claim is free: its lease ran out, or it belongs to a
    process of this host that is gone. With `trust_live_pids`, a live process of this
    host keeps its claim until its lease is `ABANDONED` long past."""
    parts = (claimed_by or "").rsplit(":", 2)
    here = len(parts) == 3 and parts[0] == host and parts[1].isdigit()
    alive = here and _pid_alive(int(parts[1]))
    if here and not alive:
        return True
    if lease_until is None:
        return True
    grace = _micros(ABANDONED) if alive and trust_live_pids else 0
    return lease_until + grace < now_us


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _micros(duration: timedelta) -> int:
    return duration // timedelta(microseconds=1)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
