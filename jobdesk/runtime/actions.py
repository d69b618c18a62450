"""Creating jobs and the manual actions, with the clock and settings applied in one place.

The CLI and the window both call this service, so a job created by clicking and one created
by a script are checked by the same rules and stored the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from jobdesk.domain import rules
from jobdesk.domain.jobtypes import JOB_TYPES, JobType
from jobdesk.domain.payloads import PayloadError, parse_snippet
from jobdesk.domain.rollout import RolloutPolicy
from jobdesk.domain.rules import ActionRefused
from jobdesk.domain.schedule import FireAndForget, Schedule
from jobdesk.domain.text import name_problem
from jobdesk.runtime.clock import Clock
from jobdesk.settings import Settings
from jobdesk.store import Store
from jobdesk.store.jobs import Conflict, NewJob
from jobdesk.store.records import JobRecord, StepRecord, TaskRecord

MAX_SNIPPET_BYTES = 1 << 20


@dataclass(frozen=True)
class JobRequest:
    name: str
    type: JobType
    devices: Sequence[str] = ()
    tags: Sequence[str] = ()
    file: Path | None = None
    command: str | None = None
    version: str | None = None
    schedule: Schedule = field(default_factory=FireAndForget)
    replace: bool = False
    rollout: RolloutPolicy | None = None  # batches, approval, threshold, limits (B8)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_payload(
    request: JobRequest, database_file: Callable[[Path], bool] | None = None
) -> dict[str, Any]:
    """Check a request's payload against its type and capture what the devices need.

    `database_file` tells whether a path is the open database: reading that through a
    second descriptor would drop this process's locks on it, so such a file is refused.
    """
    spec = JOB_TYPES[request.type]
    payload: dict[str, Any] = {}
    if request.file is not None:
        if not (spec.needs_file or spec.optional_file):
            raise PayloadError(f"a {request.type.value} job takes no file")
        path = request.file.expanduser().resolve()
        if not path.is_file():
            raise PayloadError(f"no such file: {request.file}")
        if database_file is not None and database_file(path):
            raise PayloadError(f"{path.name} is jobdesk's own database, not a payload")
        payload["file"] = str(path)
        payload["file_name"] = path.name
        payload["size"] = path.stat().st_size
        payload["sha256"] = file_sha256(path)
        if request.type is JobType.CONFIG_UPDATE:
            if payload["size"] > MAX_SNIPPET_BYTES:
                raise PayloadError(f"{path.name} is too large for a configuration snippet")
            try:
                # No newline translation: the text sent must match the file's checksum.
                content = path.read_bytes().decode("utf-8")
            except UnicodeDecodeError as error:
                raise PayloadError(f"{path.name} is not UTF-8 text: {error}") from error
            parse_snippet(content)
            payload["content"] = content
    elif spec.needs_file:
        raise PayloadError(f"a {request.type.value} job needs --file")
    if spec.needs_version:
        if not request.version or not request.version.strip():
            raise PayloadError(f"a {request.type.value} job needs --version (the target version)")
        payload["version"] = request.version.strip()
    elif request.version:
        raise PayloadError(f"a {request.type.value} job takes no --version")
    if spec.needs_command:
        command = (request.command or "").strip()
        if not command and request.file is None:
            raise PayloadError("a command job needs --command (or a script --file)")
        payload["command"] = command or 'sh "$JOBDESK_SCRIPT"'
    elif request.command:
        raise PayloadError(f"a {request.type.value} job takes no --command")
    return payload


class JobService:
    def __init__(self, store: Store, settings: Settings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    def expires_at(self, schedule: Schedule, created_at: datetime) -> datetime:
        return schedule.expires_at(created_at, self.settings.fire_and_forget_lifetime)

    def conflicts(self, request: JobRequest) -> list[Conflict]:
        devices = self.store.devices.resolve(request.devices, request.tags)
        return self.store.jobs.conflicts(request.type.value, [d.id for d in devices])

    def create(self, request: JobRequest) -> JobRecord:
        name = request.name.strip()
        problem = name_problem(name)
        if problem is not None:
            raise ActionRefused(problem)
        if not request.devices and not request.tags:
            raise ActionRefused("name the target devices with --device or --tag")
        payload = build_payload(request, self.store.is_database_file)
        devices = self.store.devices.resolve(request.devices, request.tags)
        now = self.clock.now()
        expires_at = self.expires_at(request.schedule, now)
        first = rules.first_attempt_at(request.schedule, now, expires_at)
        spec = JOB_TYPES[request.type]
        new = NewJob(
            name=name,
            type=request.type.value,
            payload=payload,
            schedule=request.schedule,
            steps=spec.steps_for(has_file="file" in payload),
            devices=devices,
            expires_at=expires_at,
            first_attempt_at=first,
            rollout=request.rollout,
        )
        return self.store.jobs.create(new, now, replace=request.replace)

    def create_system_job(
        self, job_type: JobType, purpose: str, device_ids: Sequence[int], name: str
    ) -> JobRecord | None:
        """A fire-and-forget job the application makes for itself (spec B6)."""
        open_already = self.store.devices.with_open_system_task(purpose)
        wanted = [i for i in device_ids if i not in open_already]
        devices = [d for d in (self.store.devices.get_by_id(i) for i in wanted) if d is not None]
        if not devices:
            return None
        now = self.clock.now()
        schedule = FireAndForget()
        expires_at = self.expires_at(schedule, now)
        new = NewJob(
            name=name,
            type=job_type.value,
            payload={},
            schedule=schedule,
            steps=JOB_TYPES[job_type].steps,
            devices=devices,
            expires_at=expires_at,
            first_attempt_at=now,
            system=True,
            purpose=purpose,
        )
        return self.store.jobs.create(new, now)

    def create_system_jobs(self) -> list[JobRecord]:
        """Refresh stale device info and renew certificates that expire soon."""
        now = self.clock.now()
        created = []
        stale = self.store.devices.stale_info(now - self.settings.info_refresh_after)
        job = self.create_system_job(
            JobType.DEVICE_INFO, "device-info", stale, "Refresh device info"
        )
        if job:
            created.append(job)
        expiring = self.store.devices.certificates_expiring(now + self.settings.cert_renew_before)
        job = self.create_system_job(
            JobType.CERTIFICATE_RENEWAL, "certificate-renewal", expiring, "Renew certificates"
        )
        if job:
            created.append(job)
        return created

    def cancel_job(self, job_id: int) -> JobRecord:
        return self.store.jobs.cancel_job(job_id, self.clock.now())

    def continue_rollout(self, job_id: int) -> JobRecord:
        return self.store.jobs.continue_rollout(job_id, self.clock.now())

    def cancel_task(self, job_id: int, device: str) -> TaskRecord:
        return self.store.jobs.cancel_task(job_id, device, self.clock.now())

    def retry_task(self, job_id: int, device: str, *, extend: bool = False) -> TaskRecord:
        lifetime: timedelta | None = self.settings.fire_and_forget_lifetime if extend else None
        return self.store.jobs.retry_task(
            job_id, device, self.clock.now(), extend_lifetime=lifetime
        )

    def skip_step(self, job_id: int, device: str, step: str) -> StepRecord:
        return self.store.jobs.skip_step(job_id, device, step, self.clock.now())

    def extend_job(self, job_id: int, *, to: date | datetime | None = None,
                   by: timedelta | None = None) -> JobRecord:
        """B5: a later *Expires At* (a scheduled job: a later end date), at the clock's now;
        its expired tasks can then be retried (`retry_task`)."""
        return self.store.jobs.extend(job_id, self.clock.now(), to=to, by=by)


def remove_device(store: Store, data_dir: Path, name: str) -> None:
    """Remove a device and forget its password: a later device of the same name must not
    inherit it. Refused (DeviceError) while a job has open tasks on the device."""
    from jobdesk.devices.secrets import SecretStore

    store.devices.remove(name)
    SecretStore(data_dir).delete(name)

