"""A job's report: what an engineer hands to the customer or to the next shift.

Built from the same JSON `jobdesk jobs show --json` prints (so the report can never say
something the command line does not), into plain data that the renderers in
`report_formats` turn into HTML, CSV or JSON. Building is pure: the caller passes the
moment the report is made, the zone its times are shown in and who made it, so a test
or a colleague in another zone gets the same report from the same data.
"""

from __future__ import annotations

import getpass
import socket
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from jobdesk.domain.schedule import ScheduleError, schedule_from_dict
from jobdesk.domain.states import StepStatus, TaskState
from jobdesk.store import Store


@dataclass(frozen=True)
class StepLine:
    """One step of one device's task, as its latest attempt left it."""

    name: str
    state: str  # as a person reads it ("Failed", "Pending – runs again", …)
    started_at: datetime | None
    finished_at: datetime | None  # completed, failed or skipped
    attempts: int  # how many attempts ran this step
    message: str
    fix_hint: str  # only where the step failed or its task waits on it


@dataclass(frozen=True)
class DeviceSection:
    device: str
    state: str
    attempts: int
    reason: str
    next_attempt_at: datetime | None
    steps: tuple[StepLine, ...]


@dataclass(frozen=True)
class Report:
    job_id: int
    name: str
    type: str
    state: str
    schedule: str
    created_at: datetime | None
    expires_at: datetime | None
    cancelled_at: datetime | None
    replaced_by: int | None
    done: int
    total: int
    counts: tuple[tuple[str, int], ...]  # task state → tasks, in the states' order
    devices: tuple[DeviceSection, ...]
    made_at: datetime
    made_by: str
    zone: tzinfo  # the zone every time is shown in
    zone_name: str  # its name for people ("Europe/Zurich", or the laptop's abbreviation)


def job_json(store: Store, job_id: int) -> dict[str, Any]:
    """A job with its tasks and steps, exactly as `jobdesk jobs show --json` prints it."""
    record = store.jobs.detail(job_id)
    data = record.to_dict()
    data["tasks"] = [task.to_dict() for task in record.tasks]
    return data


def report_author() -> str:
    """Who makes the report: the laptop's user and host name, the nearest thing to a
    signature a desktop tool has."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "unknown user"
    return f"{user}@{socket.gethostname()}"


def build_report(job: Mapping[str, Any], *, made_at: datetime, zone: tzinfo,
                 zone_name: str, made_by: str) -> Report:
    """The report of `job` (the `jobs show --json` dict)."""
    tasks = job.get("tasks") or []
    counted = Counter(task["state"] for task in tasks)
    order = [state.value for state in TaskState]
    counts = tuple((state, counted[state]) for state in order if counted[state]) + tuple(
        (state, number) for state, number in sorted(counted.items()) if state not in order)
    progress = job.get("progress") or {}
    return Report(
        job_id=int(job["id"]),
        name=str(job["name"]),
        type=str(job["type"]),
        state=str(job["state"]),
        schedule=_schedule_text(job.get("schedule") or {}),
        created_at=_instant(job.get("created_at")),
        expires_at=_instant(job.get("expires_at")),
        cancelled_at=_instant(job.get("cancelled_at")),
        replaced_by=job.get("replaced_by"),
        done=int(progress.get("done", 0)),
        total=int(progress.get("total", len(tasks))),
        counts=counts,
        devices=tuple(_device(task) for task in tasks),
        made_at=made_at,
        made_by=made_by,
        zone=zone,
        zone_name=zone_name,
    )


def _schedule_text(schedule: Mapping[str, Any]) -> str:
    try:
        return schedule_from_dict(schedule).describe()
    except ScheduleError as error:  # an unreadable stored schedule is reported, not fatal
        return f"unreadable schedule ({error})"


def _device(task: Mapping[str, Any]) -> DeviceSection:
    waiting = task["state"] == TaskState.RESCHEDULED.value
    ran: Counter[str] = Counter()
    for attempt in task.get("attempts") or []:
        for run in attempt.get("steps") or []:
            if run.get("status") != StepStatus.PENDING.value:
                ran[run["name"]] += 1
    steps = []
    for step in task.get("steps") or []:
        failed = step["status"] == StepStatus.FAILED.value
        waits_on_it = waiting and step["name"] == task.get("current_step")
        steps.append(StepLine(
            name=step["name"],
            state=step.get("shown_as") or step["status"],
            started_at=_instant(step.get("started_at")),
            finished_at=_instant(step.get("completed_at") or step.get("skipped_at")),
            attempts=ran[step["name"]],
            message=step.get("message") or "",
            fix_hint=(step.get("fix_hint") or "") if failed or waits_on_it else "",
        ))
    return DeviceSection(
        device=task["device"],
        state=task["state"],
        attempts=int(task.get("attempt_count") or 0),
        reason=task.get("reason") or "",
        next_attempt_at=_instant(task.get("next_attempt_at")),
        steps=tuple(steps),
    )


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def make_report(store: Store, job_id: int, *, now: datetime, zone_name: str) -> Report:
    """The report of a stored job, its times shown in the IANA zone `zone_name`."""
    from zoneinfo import ZoneInfo

    return build_report(job_json(store, job_id), made_at=now, zone=ZoneInfo(zone_name),
                        zone_name=zone_name, made_by=report_author())
