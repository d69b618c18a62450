"""Jobs, their tasks and steps: creation, reading, and the manual actions of spec B5.

Each action reads and writes inside one write transaction and asks the domain's rules
whether it is allowed, so the window, the CLI and a second laptop can never interleave a
half-done change.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from peewee import Case, fn

from jobdesk.domain import lifecycle, rules
from jobdesk.domain.jobtypes import StepSpec
from jobdesk.domain.lifecycle import JobView, TaskChange, TaskView
from jobdesk.domain.rollout import RolloutPolicy
from jobdesk.domain.rules import ActionRefused, TaskCounts
from jobdesk.domain.schedule import Schedule, schedule_from_dict
from jobdesk.domain.states import JOB_TERMINAL, TASK_OPEN, JobState, StepStatus, TaskState
from jobdesk.store import rollouts, statements
from jobdesk.store.models import Job, Step, Task
from jobdesk.store.rawsql import dt, dumps, ts
from jobdesk.store.records import (
    DeviceRecord,
    JobRecord,
    StepRecord,
    StepRunRecord,
    TaskRecord,
)

if TYPE_CHECKING:
    from jobdesk.store.database import Store

_OPEN = [s.value for s in TASK_OPEN]
_WAITING = [TaskState.SCHEDULED.value, TaskState.RESCHEDULED.value]
_TERMINAL = [s.value for s in JOB_TERMINAL]


class NotFound(LookupError):
    pass


@lru_cache(maxsize=4096)
def schedule_from_text(text: str) -> Schedule:
    """Parse a stored schedule once; jobs share a handful of schedules between them."""
    return schedule_from_dict(json.loads(text))


def schedule_of(job: Job) -> Schedule:
    return schedule_from_text(dumps(job.schedule))




def job_record_from_row(row: tuple[Any, ...]) -> JobRecord:
    """A JobRecord from a plain-SQL row of JOB_COLUMNS (the runtime's hot path)."""
    created, expires = dt(row[10]), dt(row[11])
    assert created is not None and expires is not None
    return JobRecord(
        id=row[0], name=row[1], type=row[2], system=bool(row[3]), purpose=row[4],
        payload=json.loads(row[5]), schedule=json.loads(row[6]), state=row[7],
        progress_done=row[8], progress_total=row[9], created_at=created, expires_at=expires,
        cancelled_at=dt(row[12]), replaced_by=row[13], next_attempt_at=dt(row[14]),
        rollout=json.loads(row[15]) if row[15] else None,
    )


def task_record_from_row(row: tuple[Any, ...], steps: tuple[StepRecord, ...] = (),
                         runs: tuple[StepRunRecord, ...] = ()) -> TaskRecord:
    return TaskRecord(
        runs=runs,
        id=row[0], job_id=row[1], device_id=row[2], device=row[3], state=row[4],
        attempts=row[5], last_triggered_at=dt(row[6]), next_attempt_at=dt(row[7]),
        current_step=row[8], reason=row[9], cancel_requested=bool(row[10]),
        context=json.loads(row[11]) if row[11] else {}, steps=steps, updated_at=dt(row[12]),
        claimed_by=row[13], cancel_requested_at=dt(row[14]), batch=row[15],
        failures=row[16], held=bool(row[17]),
    )


def step_record_from_row(row: tuple[Any, ...]) -> StepRecord:
    return StepRecord(
        id=row[0], position=row[1], name=row[2], status=row[3], started_at=dt(row[4]),
        skipped_at=dt(row[5]), completed_at=dt(row[6]), message=row[7], fix_hint=row[8],
    )


def run_record_from_row(row: tuple[Any, ...]) -> StepRunRecord:
    """A StepRunRecord from a row of `RUNS_OF_*` (after its task id)."""
    return StepRunRecord(
        step_id=row[0], name=row[1], position=row[2], attempt=row[3], status=row[4],
        started_at=dt(row[5]), skipped_at=dt(row[6]), completed_at=dt(row[7]),
        message=row[8],
    )


@dataclass(frozen=True)
class NewJob:
    name: str
    type: str
    payload: dict[str, Any]
    schedule: Schedule
    steps: Sequence[StepSpec]
    devices: Sequence[DeviceRecord]
    expires_at: datetime
    first_attempt_at: datetime
    system: bool = False
    purpose: str | None = None
    rollout: RolloutPolicy | None = None  # batches, approval, threshold, limits (B8)


@dataclass(frozen=True)
class Conflict:
    """An unfinished job of the same type with open tasks on some of the new job's devices."""

    job_id: int
    job_name: str
    devices: tuple[str, ...]


class JobRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    # --- creation -------------------------------------------------------------------

    def conflicts(self, job_type: str, device_ids: Sequence[int], *,
                  system: bool = False) -> list[Conflict]:
        """Spec B5: which unfinished user jobs (or system jobs) of this type the new job
        would replace."""
        query = (
            Task.select(Job.id, Job.name, Task.device_name)
            .join(Job)
            .where(
                (Job.type == job_type)
                & (Job.system == system)
                & Job.cancelled_at.is_null()
                & Job.replaced_by.is_null()
                & Task.device.in_(list(device_ids))
                & Task.state.in_(_OPEN)
                & ~Task.cancel_requested
            )
            .order_by(Job.id, Task.device_name)
        )
        found: dict[int, tuple[str, list[str]]] = {}
        for job_id, job_name, device in query.tuples():
            found.setdefault(job_id, (job_name, []))[1].append(device)
        return [Conflict(j, n, tuple(d)) for j, (n, d) in found.items()]

    def create(self, new: NewJob, now: datetime, *, replace: bool = False) -> JobRecord:
        if not new.devices:
            raise ActionRefused("a job needs at least one target device")
        with self._store.transaction():
            conflicts = self.conflicts(new.type, [d.id for d in new.devices])
            if conflicts and not new.system and not replace:
                described = "; ".join(
                    f"job {c.job_id} ({c.job_name}) on {', '.join(c.devices)}" for c in conflicts
                )
                raise ActionRefused(
                    f"unfinished {new.type} work exists: {described}; "
                    "replace it (--replace) or cancel it first"
                )
            # The system made its own jobs: a person's job replaces them without asking.
            replaced = conflicts if replace else []
            if not new.system:
                replaced = replaced + self.conflicts(new.type, [d.id for d in new.devices],
                                                     system=True)
            job = Job.create(
                uuid=uuid.uuid4().hex,
                name=new.name,
                type=new.type,
                system=new.system,
                purpose=new.purpose,
                payload=new.payload,
                schedule=new.schedule.to_dict(),
                state=JobState.SCHEDULED.value,
                progress_total=len(new.devices),
                created_at=now,
                expires_at=new.expires_at,
                updated_at=now,
            )
            self._insert_tasks(job.id, new, now)
            for conflict in replaced:
                self._replace(conflict, job.id, now)
            self.refresh(job.id, now)
        return self.get(job.id)

    def _insert_tasks(self, job_id: int, new: NewJob, now: datetime) -> None:
        """A task per device and its steps, in bulk: a job for a thousand devices is one of
        the things a person waits for (and the runtime makes such system jobs itself).

        With a rollout, each task gets its batch, and those of later batches wait, held."""
        sql = self._store.sql
        plans: dict[str, rollouts.NewTaskPlan] = {}
        if new.rollout is not None and not new.rollout.is_default:
            data, plans = rollouts.plan_tasks(new.rollout, [d.name for d in new.devices])
            sql.run(statements.SET_ROLLOUT, dumps(data), job_id)
        first = rollouts.NewTaskPlan(1, False, None)
        sql.many(
            statements.INSERT_TASK,
            [
                (job_id, device.id, device.name, TaskState.SCHEDULED.value,
                 ts(new.expires_at if plan.held else new.first_attempt_at), ts(now),
                 plan.batch, plan.held, plan.reason)
                for device in new.devices
                for plan in (plans.get(device.name, first),)
            ],
        )
        task_ids = sql.all(statements.TASK_IDS_OF_JOB, job_id)
        sql.many(
            statements.INSERT_STEP,
            [
                (task_id, position, spec.name, StepStatus.PENDING.value, spec.fix_hint)
                for (task_id,) in task_ids
                for position, spec in enumerate(new.steps)
            ],
        )

    def _replace(self, conflict: Conflict, new_job_id: int, now: datetime) -> None:
        open_tasks = self._store.locked(Task.select().where(
            (Task.job == conflict.job_id)
            & Task.device_name.in_(list(conflict.devices))
            & Task.state.in_(_OPEN)
        ))
        for task in open_tasks:
            change = lifecycle.replace(_view(task), new_job_id, now)
            if change is not None:
                _write_change(task, change, now)
        left_open = (
            Task.select()
            .where(
                (Task.job == conflict.job_id)
                & Task.state.in_(_OPEN)
                & ~Task.cancel_requested
            )
            .count()
        )
        if left_open == 0:
            Job.update(replaced_by=new_job_id, updated_at=now).where(
                Job.id == conflict.job_id
            ).execute()
        self.refresh(conflict.job_id, now)

    # --- state ----------------------------------------------------------------------

    def refresh(self, job_id: int, now: datetime) -> tuple[str, str]:
        """Recompute a job's state and progress from its tasks at `now` (spec B4).

        Called inside the transaction of every task change; the stored state is what the
        jobs list filters and sorts on. Returns (old state, new state). Written in plain
        SQL: it runs for every finished step (see `rawsql`).
        """
        sql = self._store.sql
        row = sql.one(statements.JOB_FOR_REFRESH, job_id)
        if row is None:
            raise NotFound(f"no job {job_id}")
        old_state, done, total, attempted_before, next_before = row[:5]
        cancelled_at, replaced_by, expires_at, schedule_text, rollout_text = row[5:]
        expires = dt(expires_at)
        assert expires is not None
        waiting_for_person = False
        if rollout_text and cancelled_at is None and replaced_by is None:
            waiting_for_person = rollouts.advance(
                self._store, job_id, rollout_text, schedule_from_text(schedule_text),
                expires, now)
        tally = sql.all(statements.TASK_TALLY, job_id)
        counts = TaskCounts.from_counts((state, count) for state, count, _, _ in tally)
        attempted = any((most or 0) > 0 for _, _, most, _ in tally)
        waiting = [first for _, _, _, first in tally if first is not None]
        next_attempt_at = min(waiting) if waiting else None
        state = rules.derive_job_state(
            cancelled=cancelled_at is not None,
            replaced=replaced_by is not None,
            counts=counts,
            attempted=attempted,
            window_open=schedule_from_text(schedule_text).is_open(now) and now < expires,
            rollout_waiting=waiting_for_person,
        )
        progress = rules.job_progress(counts)
        if (old_state, done, total, bool(attempted_before), next_before) != (
            state.value, progress.done, progress.total, attempted, next_attempt_at
        ):
            sql.update("job", job_id, {
                "state": state.value,
                "progress_done": progress.done,
                "progress_total": progress.total,
                "attempted": attempted,
                "next_attempt_at": next_attempt_at,
                "updated_at": ts(now),
            })
        return old_state, state.value

    def refresh_many(self, job_ids: Sequence[int], now: datetime) -> list[tuple[int, str, str]]:
        """Refresh several jobs in one transaction; returns (job id, old, new) for each.

        The runtime marks the jobs its attempts touched and refreshes them a few times a
        second, instead of re-counting a thousand-task job after every single step.
        """
        with self._store.transaction():
            return [(job_id, *self.refresh(job_id, now)) for job_id in job_ids]

    def unfinished_ids(self) -> list[int]:
        query = Job.select(Job.id).where(Job.state.not_in(_TERMINAL))
        return [i for (i,) in query.tuples()]

    # --- reading --------------------------------------------------------------------

    def get(self, job_id: int) -> JobRecord:
        row = self._store.sql.one(statements.JOB, job_id)
        if row is None:
            raise NotFound(f"no job {job_id}; see `jobdesk jobs list --all`")
        return job_record_from_row(row)

    def task_record(self, task_id: int) -> TaskRecord:
        """One task with its steps and the history of its attempts."""
        sql = self._store.sql
        row = sql.one(statements.TASK, task_id)
        if row is None:
            raise NotFound(f"no task {task_id}")
        steps = tuple(step_record_from_row(r) for r in sql.all(statements.STEPS_OF_TASK,
                                                                task_id))
        runs = tuple(run_record_from_row(r[1:]) for r in sql.all(statements.RUNS_OF_TASK,
                                                                  task_id))
        return task_record_from_row(row, steps, runs)

    def detail(self, job_id: int) -> JobRecord:
        """The job with all its tasks, their steps and every attempt's record.

        Plain SQL: building Peewee model instances for a thousand tasks and seven thousand
        steps took three times as long, and the window waits for this.
        """
        job, tasks = self.detail_since(job_id, None, history=True)
        return replace(job, tasks=tuple(tasks))

    def detail_since(
        self, job_id: int, since: datetime | None, *, history: bool = False
    ) -> tuple[JobRecord, list[TaskRecord]]:
        """The job, and those of its tasks (with their steps) changed at or after `since`.

        A window following a running thousand-device job asks only for what moved, and
        only for each task's latest attempt: a month of retries on a thousand offline
        devices is millions of records, read for one task when a person asks
        (`task_record`). With `history`, every attempt's record comes along.
        """
        sql = self._store.sql
        row = sql.one(statements.JOB, job_id)
        if row is None:
            raise NotFound(f"no job {job_id}; see `jobdesk jobs list --all`")
        after = ts(since) if since is not None else -(2**62)
        tasks = sql.all(statements.TASKS_OF_JOB_SINCE, job_id, after)
        steps: dict[int, list[StepRecord]] = {task[0]: [] for task in tasks}
        for step in sql.all(statements.STEPS_OF_JOB_SINCE, job_id, after):
            if step[0] in steps:
                steps[step[0]].append(step_record_from_row(step[1:]))
        runs: dict[int, list[StepRunRecord]] = {task[0]: [] for task in tasks}
        for run in sql.all(statements.RUNS_OF_JOB_SINCE, job_id, after, 0 if history else 1):
            if run[0] in runs:  # a task that changed between the two reads waits its turn
                runs[run[0]].append(run_record_from_row(run[1:]))
        return job_record_from_row(row), [
            task_record_from_row(task, tuple(steps[task[0]]), tuple(runs[task[0]]))
            for task in tasks
        ]

    def list(
        self,
        *,
        system: bool | None = False,
        state: str | None = None,
        search: str | None = None,
        limit: int | None = 200,
        offset: int = 0,
    ) -> list[JobRecord]:
        """A page of jobs, newest first. `system=None` lists user and system jobs alike."""
        query = _filtered(Job.select(Job.id), system, state, search)
        query = query.order_by(Job.id.desc()).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        text, params = query.sql()
        ids = [row[0] for row in self._store.db.execute_sql(text, params)]
        found = self.rows(ids)
        return [found[job_id] for job_id in ids if job_id in found]

    SORT_KEYS = ("name", "type", "state", "progress", "schedule", "created", "next_run",
                 "expires")

    def ids(
        self,
        *,
        system: bool | None = False,
        state: str | None = None,
        search: str | None = None,
        sort: str = "created",
        descending: bool = True,
    ) -> list[int]:
        """Every matching job id in display order: sorted and filtered by the database.

        The jobs table holds only these ids and fetches the rows it shows (`rows`), so a
        hundred thousand jobs cost a list of integers, not a hundred thousand records.
        """
        if sort not in self.SORT_KEYS:
            raise ValueError(f"cannot sort jobs by {sort!r}")
        key = {
            "name": fn.LOWER(Job.name),
            "type": Job.type,
            "state": Job.state,
            "progress": Job.progress_done * 1.0 / Case(
                None, [(Job.progress_total < 1, 1)], Job.progress_total),
            "schedule": Job.schedule,
            "created": Job.id,
            "next_run": fn.COALESCE(Job.next_attempt_at, 2**62),
            "expires": Job.expires_at,
        }[sort]
        query = _filtered(Job.select(Job.id), system, state, search)
        if descending:
            query = query.order_by(key.desc(), Job.id.desc())
        else:
            query = query.order_by(key.asc(), Job.id.asc())
        # Peewee builds the statement; the rows (up to a hundred thousand ids) are read
        # straight from the cursor, without wrapping each one.
        text, params = query.sql()
        return [row[0] for row in self._store.db.execute_sql(text, params)]

    def rows(self, ids: Sequence[int]) -> dict[int, JobRecord]:
        """The records of some jobs by id (a page of the jobs table)."""
        found: dict[int, JobRecord] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            for row in self._store.sql.all(statements.jobs_by_id(len(chunk)), *chunk):
                found[row[0]] = job_record_from_row(row)
        return found

    def all_finished(self, *, system: bool = False) -> bool:
        """Whether every job of the kind is in a terminal state (`run --until-done`)."""
        query = Job.select(Job.id).where((Job.system == system) & Job.state.not_in(_TERMINAL))
        return not query.exists()

    # --- manual actions (spec B5) ---------------------------------------------------

    def _task(self, job_id: int, device: str) -> Task:
        self.get(job_id)
        task = self._store.locked(
            Task.select().where((Task.job == job_id) & (Task.device_name == device))
        ).first()
        if task is None:
            raise NotFound(f"job {job_id} has no task for device {device!r}")
        return task

    def cancel_job(self, job_id: int, now: datetime) -> JobRecord:
        with self._store.transaction():
            job = Job.get_or_none(Job.id == job_id)
            if job is None:
                raise NotFound(f"no job {job_id}")
            self.refresh(job_id, now)
            job = Job.get_by_id(job_id)
            rules.check_cancel_job(_job_state(job.state))
            Job.update(cancelled_at=now, updated_at=now).where(Job.id == job_id).execute()
            for task in self._store.locked(
                Task.select().where((Task.job == job_id) & Task.state.in_(_OPEN))
            ):
                _write_change(task, lifecycle.cancel_task(_view(task), now), now)
            self.refresh(job_id, now)
        return self.get(job_id)

    def cancel_task(self, job_id: int, device: str, now: datetime) -> TaskRecord:
        with self._store.transaction():
            task = self._task(job_id, device)
            _write_change(task, lifecycle.cancel_task(_view(task), now), now)
            self.refresh(job_id, now)
            return self.task_record(task.id)

    def retry_task(
        self,
        job_id: int,
        device: str,
        now: datetime,
        *,
        extend_lifetime: timedelta | None = None,
    ) -> TaskRecord:
        """Retry now; an expired fire-and-forget job can be extended by its lifetime."""
        with self._store.transaction():
            task = self._task(job_id, device)
            job = Job.get_by_id(job_id)
            # A scheduled job that expired is refused by retry_now (rules.JobExpired): its
            # date range decides, and `extend` moves it.
            view = lifecycle.retry_view(_job_view(job), now, extend_lifetime)
            expires_at = view.expires_at
            change = lifecycle.retry_now(view, _view(task), now)
            if expires_at != job.expires_at:
                Job.update(expires_at=expires_at, updated_at=now).where(
                    Job.id == job_id
                ).execute()
            _write_change(task, change, now)
            self.refresh(job_id, now)
            return self.task_record(task.id)

    def extend(self, job_id: int, now: datetime, *, to: date | datetime | None = None,
               by: timedelta | None = None) -> JobRecord:
        """B5: give the job a later *Expires At* (a scheduled job: a later end date).

        The schedule (when it changed) and the new *Expires At* are written in one
        transaction with the job row locked, so a person cancelling it meanwhile on another
        laptop is either seen (and refused) or comes after. Tasks are not touched: a
        waiting task's next attempt was inside the old range and stays valid in the
        longer one; a task that Failed because the job expired stays Failed until a person
        retries it (`retry_task`).
        """
        with self._store.transaction():
            if self._store.locked(Job.select().where(Job.id == job_id)).first() is None:
                raise NotFound(f"no job {job_id}; see `jobdesk jobs list --all`")
            self.refresh(job_id, now)
            job = Job.get_by_id(job_id)
            extended = lifecycle.extend(_job_view(job), now, to=to, by=by)
            fields: dict[str, Any] = {"expires_at": extended.expires_at, "updated_at": now}
            if extended.schedule != schedule_of(job):
                fields["schedule"] = extended.schedule.to_dict()
            Job.update(**fields).where(Job.id == job_id).execute()
            self.refresh(job_id, now)
        return self.get(job_id)

    def continue_rollout(self, job_id: int, now: datetime) -> JobRecord:
        """B8 *Continue rollout*: approve the next batch, or lift the threshold's pause."""
        with self._store.transaction():
            if self._store.locked(Job.select().where(Job.id == job_id)).first() is None:
                raise NotFound(f"no job {job_id}; see `jobdesk jobs list --all`")
            self.refresh(job_id, now)
            job = Job.get_by_id(job_id)
            rules.check_cancel_job(_job_state(job.state))  # a finished job has no rollout left
            rollouts.continue_rollout(self._store, job_id, job.rollout, now)
            self.refresh(job_id, now)
        return self.get(job_id)

    def skip_step(self, job_id: int, device: str, step_name: str, now: datetime) -> StepRecord:
        with self._store.transaction():
            task = self._task(job_id, device)
            step = Step.get_or_none((Step.task == task.id) & (Step.name == step_name))
            if step is None:
                names = [s.name for s in Step.select().where(Step.task == task.id)]
                raise NotFound(
                    f"the task has no step {step_name!r}; its steps are: {', '.join(names)}"
                )
            lifecycle.skip_step(_view(task), StepStatus(step.status), step.name)
            step.status = StepStatus.SKIPPED.value
            step.skipped_at = now
            step.message = "skipped by a person"
            step.save()
            # On record in the attempt that takes it as it is: the next one.
            self._store.sql.run(statements.RUN_SKIPPED, 1, StepStatus.SKIPPED.value, ts(now),
                                step.message, step.id)
            Task.update(updated_at=now).where(Task.id == task.id).execute()
            row = self._store.sql.one(statements.STEP, step.id)
            assert row is not None
            return step_record_from_row(row)


def _filtered(query: Any, system: bool | None, state: str | None, search: str | None) -> Any:
    """The jobs list's filters, one definition for the CLI's pages and the window's ids."""
    if system is not None:
        query = query.where(Job.system == system)
    if state is not None:
        query = query.where(Job.state == state)
    if search:
        query = query.where(Job.name.contains(search))
    return query


def _view(task: Task) -> TaskView:
    return TaskView(state=TaskState(task.state), attempts=task.attempts,
                    cancel_requested=task.cancel_requested, reason=task.reason,
                    has_device=task.device_id is not None,
                    cancel_requested_at=task.cancel_requested_at,
                    interrupted=task.interrupted)


def _job_view(job: Job) -> JobView:
    return JobView(schedule=schedule_of(job), expires_at=job.expires_at,
                   state=_job_state(job.state), cancelled=job.cancelled_at is not None,
                   replaced=job.replaced_by_id is not None)


def _write_change(task: Task, change: TaskChange, now: datetime) -> None:
    """Apply a person's change to a task that is not running (or ask a running one to stop
    after its step): no claim or device is involved."""
    task.state = change.state.value
    task.reason = change.reason
    task.next_attempt_at = change.next_attempt_at
    task.cancel_requested = change.cancel_requested
    task.interrupted = change.interrupted
    task.updated_at = now
    requested: dict[str, Any] = {}
    if change.cancel_requested_at is not None:
        requested["cancel_requested_at"] = change.cancel_requested_at
    # Only these columns: a runtime renews its claim on the same row meanwhile.
    Task.update(state=task.state, reason=task.reason, next_attempt_at=task.next_attempt_at,
                cancel_requested=task.cancel_requested, interrupted=task.interrupted,
                updated_at=now, **requested).where(Task.id == task.id).execute()


def _job_state(value: str) -> JobState:
    try:
        return JobState(value)
    except ValueError:
        return JobState.UNKNOWN
