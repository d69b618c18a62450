"""Safe rollouts (spec B8) as the store applies them: batches held and released, the
failure threshold's pause or cancel, a person's *continue*, and the claim-time rate and
concurrency limits.

The rules are the domain's (`domain.rollout`); this module reads the facts in plain SQL and
writes what the rules decide, inside the caller's transaction. A task held back by its
rollout keeps the waiting-task invariant: it is Scheduled with its next attempt parked at
the job's expiry (so it expires with the job if never released) and `held` set; releasing
it gives it the next opening of its window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobdesk.domain import rollout as rules
from jobdesk.domain import rules as job_rules
from jobdesk.domain.rollout import RolloutPolicy, RolloutState, RolloutView, TaskFacts
from jobdesk.domain.schedule import Schedule
from jobdesk.domain.states import TaskState
from jobdesk.store import statements
from jobdesk.store.rawsql import dt, dumps, ts

if TYPE_CHECKING:
    from jobdesk.store.database import Store

# A task postponed because its job runs as many tasks as it may: looked at again this soon
# (a task of the job ending wakes the runtime anyway).
CONCURRENCY_RETRY = timedelta(seconds=2)


def stored(policy: RolloutPolicy, state: RolloutState, view: RolloutView) -> dict[str, Any]:
    """The job's `rollout` column: what a person chose, did, and where it stands — with
    what a claim needs to hold a task back without reading the job's other tasks."""
    return {"policy": policy.to_dict(), "state": state.to_dict(), "view": view.to_dict(),
            "open_through": view.open_through, "reason": view.reason,
            "threshold_stop": view.waiting_for is rules.Waiting.THRESHOLD,
            "held_reason": rules.held_reason(view, view.open_through + 1)}


def held_reason(rollout: dict[str, Any], batch: int, attempts: int) -> str | None:
    """Why a claimed task may not start its first attempt now (its batch is not open, or
    the threshold stopped new starts), from the job's stored rollout; None if it may."""
    if attempts > 0:
        return None  # retries of started tasks go on while a rollout waits (B8)
    if rollout.get("threshold_stop") or batch > int(rollout.get("open_through", batch)):
        return str(rollout.get("held_reason") or rollout.get("reason"))
    return None


@dataclass(frozen=True)
class NewTaskPlan:
    batch: int
    held: bool
    reason: str | None


def plan_tasks(policy: RolloutPolicy, device_names: list[str]) -> tuple[dict[str, Any],
                                                                        dict[str, NewTaskPlan]]:
    """Batches of a new job's tasks, and which wait: only the first batch may start."""
    batches = rules.assign_batches(device_names, policy.batches)
    facts = [TaskFacts(batches[name], TaskState.SCHEDULED, 0, 0, False) for name in batches]
    state = RolloutState()
    view = rules.view(policy, state, facts)
    plans = {
        name: NewTaskPlan(number, not rules.may_start_new(view, number),
                          None if rules.may_start_new(view, number)
                          else rules.held_reason(view, number))
        for name, number in batches.items()
    }
    return stored(policy, state, view), plans


def advance(store: Store, job_id: int, rollout_text: str, schedule: Schedule,
            expires_at: datetime, now: datetime) -> bool:
    """Bring a rollout up to its tasks: stop or cancel at the threshold, release the
    batches that may start, hold new starts that may not. Returns whether it waits for a
    person (the job is then Paused with the reason, B8)."""
    sql = store.sql
    data = json.loads(rollout_text)
    policy = RolloutPolicy.from_dict(data.get("policy"))
    state = RolloutState.from_dict(data.get("state"))
    rows = sql.all(statements.ROLLOUT_TASKS, job_id)
    facts = [_facts(row) for row in rows]
    view = rules.view(policy, state, facts)
    if view.over_threshold and policy.abort_action is rules.AbortAction.PAUSE and (
            not state.stopped):
        state = RolloutState(state.approved_through, True, state.rearmed_at)
        view = rules.view(policy, state, facts)
    cancel = view.over_threshold and policy.abort_action is rules.AbortAction.CANCEL
    for row, task in zip(rows, facts, strict=True):
        task_id, held, reason = row[0], bool(row[7]), row[8]
        if not task.state.is_waiting or task.attempts > 0:
            continue  # started tasks retry as B3 says; only new starts are held
        if cancel:
            why = rules.threshold_reason(view.failed, view.attempted, policy.abort_above or 0)
            sql.run(statements.CANCEL_WAITING_TASK, TaskState.CANCELLED.value, why, ts(now),
                    task_id)
        elif rules.may_start_new(view, task.batch):
            if held:
                opening = job_rules.resume_at(schedule, now, expires_at)
                if opening is not None:
                    sql.run(statements.RELEASE_TASK, ts(opening), ts(now), task_id)
        else:
            why = rules.held_reason(view, task.batch)
            if not held or reason != why:
                sql.run(statements.HOLD_TASK, ts(expires_at), why, ts(now), task_id)
    new = stored(policy, state, view)
    if new != data:
        sql.run(statements.SET_ROLLOUT, dumps(new), job_id)
    return view.waiting_for is not None


def continue_rollout(store: Store, job_id: int, data: dict[str, Any] | None,
                     now: datetime) -> None:
    """A person continues (B8): the next batch is approved, or the threshold's pause is
    lifted. Refused in words when the rollout waits for nobody."""
    if not data:
        raise job_rules.ActionRefused("the job has no rollout to continue")
    policy = RolloutPolicy.from_dict(data.get("policy"))
    state = RolloutState.from_dict(data.get("state"))
    facts = [_facts(row) for row in store.sql.all(statements.ROLLOUT_TASKS, job_id)]
    view = rules.view(policy, state, facts)
    state = rules.continue_rollout(policy, state, view, now)
    store.sql.run(statements.SET_ROLLOUT,
                  dumps({**data, "state": state.to_dict()}), job_id)


@dataclass
class ClaimGate:
    """The rate and concurrency limits of the jobs one claim pass looks at (B8)."""

    store: Store
    now: datetime
    _running: dict[int, int] = field(default_factory=dict)
    _starts: dict[int, list[datetime]] = field(default_factory=dict)

    def postpone_until(self, job_id: int, rollout: dict[str, Any]) -> datetime | None:
        """None: the job's limits let a task start now; else when to look again."""
        policy = RolloutPolicy.from_dict(rollout.get("policy"))
        if policy.max_concurrent is None and policy.max_per_minute is None:
            return None
        if not rules.may_run_more(policy, self._count_running(job_id)):
            return self.now + CONCURRENCY_RETRY
        return rules.next_start_by_rate(policy, self._recent_starts(job_id), self.now)

    def started(self, job_id: int) -> None:
        if job_id in self._running:
            self._running[job_id] += 1
        if job_id in self._starts:
            self._starts[job_id].append(self.now)

    def _count_running(self, job_id: int) -> int:
        if job_id not in self._running:
            (count,) = self.store.sql.one(statements.RUNNING_OF_JOB, job_id) or (0,)
            self._running[job_id] = int(count)
        return self._running[job_id]

    def _recent_starts(self, job_id: int) -> list[datetime]:
        if job_id not in self._starts:
            since = ts(self.now - rules.RATE_WINDOW)
            self._starts[job_id] = [
                at for (value,) in self.store.sql.all(statements.RECENT_STARTS_OF_JOB,
                                                      job_id, since)
                if (at := dt(value)) is not None
            ]
        return self._starts[job_id]


def _facts(row: tuple[Any, ...]) -> TaskFacts:
    try:
        state = TaskState(row[2])
    except ValueError:
        state = TaskState.FAILED  # an unreadable state counts as finished, not as work
    return TaskFacts(batch=int(row[1] or 1), state=state, attempts=int(row[3] or 0),
                     failures=int(row[4] or 0), last_failed=bool(row[5]),
                     last_triggered_at=dt(row[6]))
