"""Moving jobs between databases, and checking one: `jobdesk db copy` and `jobdesk db check`.

An engineer takes the team's jobs from the PostgreSQL server to a laptop's SQLite file for a
site without network, works there, and brings the results back with `--merge`. Every job
has a stable uuid, so the same job is recognised on both sides: a merge updates it (the
newer of each task wins, with its steps) instead of adding it twice.

Two stores are open at once here, so this module speaks plain SQL only (the models are
bound to one database at a time). Ids differ between databases: devices are matched by
name, jobs by uuid, tasks by their job and device name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jobdesk.store import statements as S
from jobdesk.store.database import Store
from jobdesk.store.migrations import LATEST, current_version

_BOOLEANS = {"system", "attempted", "cancel_requested", "interrupted", "last_failed", "held"}
# A copied claim belongs to no runtime of the destination: the task is found as
# interrupted there, and its unfinished step runs again.
_NOT_COPIED = {"id", "claimed_by", "lease_until", "busy_task_id"}


class CopyRefused(RuntimeError):
    """The destination holds data and --merge was not given, or the copy cannot be made."""


@dataclass
class CopyReport:
    devices_added: int = 0
    jobs_added: int = 0
    jobs_updated: int = 0
    tasks_updated: int = 0
    jobs_unchanged: int = 0

    def __str__(self) -> str:
        return (f"devices added {self.devices_added}; jobs added {self.jobs_added}, "
                f"updated {self.jobs_updated} ({self.tasks_updated} tasks newer), "
                f"unchanged {self.jobs_unchanged}")


def _rows(store: Store, query: str, *params: Any) -> list[dict[str, Any]]:
    return store.sql.rows(query, *params)


def _insert(store: Store, table: str, row: dict[str, Any]) -> int:
    values = {k: (bool(v) if k in _BOOLEANS and v is not None else v)
              for k, v in row.items() if k not in _NOT_COPIED}
    created = store.sql.one(
        S.insert_returning_id(table, list(values)), *values.values())
    assert created is not None
    return int(created[0])


def _is_empty(store: Store) -> bool:
    (jobs,) = store.sql.one(S.count("job")) or (0,)
    (devices,) = store.sql.one(S.count("device")) or (0,)
    return jobs == 0 and devices == 0


def copy_database(source: Store, target: Store, *, merge: bool = False) -> CopyReport:
    """Copy devices, jobs, tasks and steps from `source` into `target`, in one transaction."""
    if not merge and not _is_empty(target):
        raise CopyRefused(
            f"{target.location} already holds devices or jobs; give --merge to add to them "
            "(jobs already there are updated, never doubled)"
        )
    report = CopyReport()
    with target.transaction():
        devices = _copy_devices(source, target, report)
        known = {row["uuid"]: row for row in _rows(
            target, S.COPY_JOB_IDENTITIES)}
        for job in _rows(source, S.all_rows("job")):
            if job["replaced_by_id"] is not None:
                job["replaced_by_id"] = None  # ids differ; the state says Replaced already
            here = known.get(job["uuid"])
            if here is None:
                _add_job(source, target, job, devices)
                report.jobs_added += 1
            elif _merge_job(source, target, job, here, devices, report):
                report.jobs_updated += 1
            else:
                report.jobs_unchanged += 1
    return report


def _copy_devices(source: Store, target: Store, report: CopyReport) -> dict[int, int]:
    """Devices by name: the missing ones are added. Returns source id -> target id."""
    theirs = {row["name"]: row["id"] for row in _rows(target, S.COPY_DEVICE_NAMES)}
    mapping: dict[int, int] = {}
    for device in _rows(source, S.all_rows("device")):
        if device["name"] in theirs:
            mapping[device["id"]] = theirs[device["name"]]
            continue
        new_id = _insert(target, "device", device)
        mapping[device["id"]] = new_id
        for tag in _rows(source, S.TAGS_OF_DEVICE, device["id"]):
            target.sql.run(S.INSERT_TAG, new_id, tag["tag"])
        report.devices_added += 1
    return mapping


def _add_job(source: Store, target: Store, job: dict[str, Any],
             devices: dict[int, int]) -> None:
    job_id = _insert(target, "job", job)
    for task in _rows(source, S.COPY_TASKS_OF_JOB, job["id"]):
        _add_task(source, target, task, job_id, devices)


def _add_task(source: Store, target: Store, task: dict[str, Any], job_id: int,
              devices: dict[int, int]) -> None:
    source_id = task["id"]
    running = task["state"] == "Running"
    task = {**task, "job_id": job_id,
            "device_id": devices.get(task["device_id"]) if task["device_id"] else None}
    if running:
        # Nobody works on it in the destination: it waits there, first in line, and its
        # unfinished step runs again.
        task.update(state="Rescheduled", next_attempt_at=task["updated_at"], interrupted=True,
                    reason="interrupted: copied while it ran")
    task_id = _insert(target, "task", task)
    step_ids: dict[int, int] = {}
    for step in _rows(source, S.COPY_STEPS_OF_TASK, source_id):
        if running and step["status"] == "Running":
            step = {**step, "status": "Pending", "started_at": None,
                    "message": "copied while running: this step runs again"}
        step_ids[step["id"]] = _insert(target, "step", {**step, "task_id": task_id})
    for run in _rows(source, S.COPY_RUNS_OF_TASK, source_id):
        if running and run["status"] == "Running":
            run = {**run, "status": "Failed", "message": "copied while running: did not finish"}
        _insert(target, "step_run", {**run, "task_id": task_id,
                                     "step_id": step_ids[run["step_id"]]})


def _merge_job(source: Store, target: Store, job: dict[str, Any], known: dict[str, Any],
               devices: dict[int, int], report: CopyReport) -> bool:
    """The same job on both sides: each task takes the newer of the two, with its steps;
    the job's own fields (its schedule and Expires At after `jobs extend`, its state) come
    along when a task did or the job itself is newer."""
    job_id = known["id"]
    theirs = {row["device_name"]: row for row in _rows(
        target, S.COPY_TASK_IDENTITIES, job_id)}
    changed = False
    for task in _rows(source, S.COPY_TASKS_OF_JOB, job["id"]):
        here = theirs.get(task["device_name"])
        if here is not None and (here["updated_at"] or 0) >= (task["updated_at"] or 0):
            continue
        if here is not None:
            target.sql.run(S.DELETE_RUNS_OF_TASK, here["id"])
            target.sql.run(S.DELETE_STEPS_OF_TASK, here["id"])
            target.sql.run(S.FREE_DEVICE, here["id"], here["id"])
            target.sql.run(S.DELETE_TASK, here["id"])
        _add_task(source, target, task, job_id, devices)
        report.tasks_updated += 1
        changed = True
    if changed or (job["updated_at"] or 0) > (known["updated_at"] or 0):
        changed = True
        for column in ("state", "progress_done", "progress_total", "attempted",
                       "cancelled_at", "schedule", "expires_at", "next_attempt_at",
                       "rollout", "updated_at"):
            value = bool(job[column]) if column in _BOOLEANS else job[column]
            target.sql.run(S.update_row("job", [column]), value, job_id)
        if job["state"] != "Replaced":  # the replacing job's id is not copied
            # Some of its tasks may be newer here than there: the state follows the tasks.
            target.jobs.refresh(job_id, datetime.now(UTC))
    return changed


@dataclass
class CheckReport:
    schema: int
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_database(store: Store) -> CheckReport:
    """Schema version, counts, and whether the rules every writer keeps do hold."""
    report = CheckReport(schema=current_version(store.db))
    if report.schema != LATEST:
        report.problems.append(f"schema {report.schema}, expected {LATEST}")
    for table in ("device", "job", "task", "step", "step_run"):
        (count,) = store.sql.one(S.count(table)) or (0,)
        report.counts[table] = int(count)
    (running,) = store.sql.one(S.COUNT_RUNNING) or (0,)
    report.counts["running tasks"] = int(running)
    for what, query in S.INVARIANTS:
        (broken,) = store.sql.one(query) or (0,)
        if broken:
            report.problems.append(f"{broken} {what}")
    report.problems.extend(store.dialect.integrity_problems(store.db))
    return report
