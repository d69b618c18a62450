"""The device inventory."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peewee import IntegrityError

from jobdesk.domain.inventory import DeviceInput
from jobdesk.domain.states import TASK_OPEN
from jobdesk.store.models import Device, DeviceTag, Job, Task
from jobdesk.store.records import DeviceRecord

if TYPE_CHECKING:
    from jobdesk.store.database import Store


class DeviceError(ValueError):
    """A device request that cannot be met; the message names the device and what to do."""


@dataclass(frozen=True)
class DeviceHistoryEntry:
    """One job that touched a device: the job's words and this device's task in it."""

    job_id: int
    job_name: str
    job_type: str
    system: bool
    job_state: str
    created_at: datetime
    task_state: str
    attempts: int
    last_triggered_at: datetime | None
    reason: str | None


def _record(device: Device, tags: Sequence[str]) -> DeviceRecord:
    return DeviceRecord(
        id=device.id,
        name=device.name,
        host=device.host,
        port=device.port,
        user=device.user,
        profile=device.profile,
        tags=tuple(sorted(tags)),
        key_path=device.key_path,
        model=device.model,
        serial=device.serial,
        firmware=device.firmware,
        boot_id=device.boot_id,
        info_updated_at=device.info_updated_at,
        last_seen_at=device.last_seen_at,
        cert_expires_at=device.cert_expires_at,
        cert_fingerprint=device.cert_fingerprint,
    )


class DeviceRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def _check_key(self, device: DeviceInput) -> None:
        """The SSH client reads the key file in this process: it must not be the database
        (a second descriptor of it would drop this process's locks on it)."""
        if device.key_path and self._store.is_database_file(Path(device.key_path)):
            raise DeviceError(
                f"the key file of {device.name} is jobdesk's own database; choose the "
                "private key file"
            )

    def add(self, device: DeviceInput, now: datetime) -> DeviceRecord:
        self._check_key(device)
        with self._store.transaction():
            if Device.get_or_none(Device.name == device.name) is not None:
                raise DeviceError(f"a device named {device.name!r} exists already")
            row = Device.create(
                name=device.name,
                host=device.host,
                port=device.port,
                user=device.user,
                profile=device.profile,
                key_path=device.key_path,
                created_at=now,
            )
            self._set_tags(row.id, device.tags)
        return _record(row, device.tags)

    def update(self, device: DeviceInput) -> DeviceRecord:
        """Change a device's address, login, profile and tags; its name is its identity."""
        self._check_key(device)
        with self._store.transaction():
            row = Device.get_or_none(Device.name == device.name)
            if row is None:
                raise DeviceError(f"no device named {device.name!r}")
            Device.update(
                host=device.host,
                port=device.port,
                user=device.user,
                profile=device.profile,
                key_path=device.key_path,
            ).where(Device.id == row.id).execute()
            self._set_tags(row.id, device.tags)
        return self.get(device.name)

    def tags(self) -> list[str]:
        """Every tag in use, for pickers."""
        query = DeviceTag.select(DeviceTag.tag).distinct().order_by(DeviceTag.tag)
        return [t for (t,) in query.tuples()]

    def upsert_many(self, devices: Iterable[DeviceInput], now: datetime) -> tuple[int, int]:
        """Add new devices and update known ones by name, all in one transaction.

        Re-importing an inventory is then harmless: it updates addresses and tags and keeps
        each device's history and inventory data.
        """
        added = updated = 0
        with self._store.transaction():
            for device in devices:
                row = Device.get_or_none(Device.name == device.name)
                fields = {
                    "host": device.host,
                    "port": device.port,
                    "user": device.user,
                    "profile": device.profile,
                    "key_path": device.key_path,
                }
                if row is None:
                    row = Device.create(name=device.name, created_at=now, **fields)
                    added += 1
                else:
                    Device.update(**fields).where(Device.id == row.id).execute()
                    updated += 1
                self._set_tags(row.id, device.tags)
        return added, updated

    def _set_tags(self, device_id: int, tags: Iterable[str]) -> None:
        DeviceTag.delete().where(DeviceTag.device == device_id).execute()
        rows = [{"device": device_id, "tag": tag} for tag in sorted(set(tags))]
        if rows:
            DeviceTag.insert_many(rows).execute()

    def _tags_of(self, device_ids: Sequence[int]) -> dict[int, list[str]]:
        tags: dict[int, list[str]] = {i: [] for i in device_ids}
        for chunk_start in range(0, len(device_ids), 500):
            chunk = device_ids[chunk_start : chunk_start + 500]
            query = DeviceTag.select(DeviceTag.device, DeviceTag.tag).where(
                DeviceTag.device.in_(chunk)
            )
            for device_id, tag in query.tuples():
                tags[device_id].append(tag)
        return tags

    def count(self) -> int:
        return Device.select().count()

    def list(self) -> list[DeviceRecord]:
        rows = list(Device.select().order_by(Device.name))
        tags = self._tags_of([r.id for r in rows])
        return [_record(r, tags[r.id]) for r in rows]

    def get(self, name: str) -> DeviceRecord:
        row = Device.get_or_none(Device.name == name)
        if row is None:
            raise DeviceError(f"no device named {name!r}; see `jobdesk devices list`")
        return _record(row, self._tags_of([row.id])[row.id])

    def get_by_id(self, device_id: int) -> DeviceRecord | None:
        row = Device.get_or_none(Device.id == device_id)
        return None if row is None else _record(row, self._tags_of([row.id])[row.id])

    def resolve(self, names: Sequence[str], tags: Sequence[str]) -> list[DeviceRecord]:
        """The devices a job targets: the named ones plus every device with one of the tags."""
        found: dict[int, DeviceRecord] = {}
        for name in names:
            record = self.get(name)
            found[record.id] = record
        for tag in tags:
            query = DeviceTag.select(DeviceTag.device).where(DeviceTag.tag == tag)
            ids = [d for (d,) in query.tuples()]
            if not ids:
                raise DeviceError(f"no device has the tag {tag!r}")
            for device_id in ids:
                if device_id not in found:
                    record = self.get_by_id(device_id)
                    if record is not None:
                        found[device_id] = record
        return sorted(found.values(), key=lambda d: d.name)

    def remove(self, name: str) -> None:
        """Remove a device unless a job still has work for it; finished history is kept."""
        with self._store.transaction():
            row = Device.get_or_none(Device.name == name)
            if row is None:
                raise DeviceError(f"no device named {name!r}")
            open_jobs = sorted(
                job_id
                for (job_id,) in Task.select(Task.job)
                .where((Task.device == row.id) & (Task.state.in_([s.value for s in TASK_OPEN])))
                .tuples()
            )
            if open_jobs:
                listed = ", ".join(str(j) for j in open_jobs)
                raise DeviceError(
                    f"device {name!r} has open tasks in job(s) {listed}; cancel them first"
                )
            try:
                row.delete_instance()
            except IntegrityError as error:  # pragma: no cover - guarded above
                raise DeviceError(f"cannot remove {name!r}: {error}") from error

    def history(self, name: str, limit: int = 500) -> list[DeviceHistoryEntry]:
        """The jobs that touched a device, newest first, by its name: a removed device's
        tasks keep the name, so a device added again under it sees its past too."""
        query = (
            Task.select(Task.state, Task.attempts, Task.last_triggered_at, Task.reason,
                        Job.id, Job.name, Job.type, Job.system, Job.state, Job.created_at)
            .join(Job)
            .where(Task.device_name == name)
            .order_by(Job.created_at.desc(), Job.id.desc())
            .limit(limit)
        )
        return [
            DeviceHistoryEntry(
                job_id=row.job.id, job_name=row.job.name, job_type=row.job.type,
                system=row.job.system, job_state=row.job.state,
                created_at=row.job.created_at, task_state=row.state, attempts=row.attempts,
                last_triggered_at=row.last_triggered_at, reason=row.reason,
            )
            for row in query
        ]

    def update_info(self, device_id: int, now: datetime, **info: Any) -> None:
        """Store what a device reported about itself (inventory columns only)."""
        allowed = {
            "model", "serial", "firmware", "boot_id", "cert_expires_at", "cert_fingerprint",
        }
        unknown = set(info) - allowed
        if unknown:
            raise ValueError(f"not inventory fields: {sorted(unknown)}")
        with self._store.transaction():
            Device.update(info_updated_at=now, last_seen_at=now, **info).where(
                Device.id == device_id
            ).execute()

    def stale_info(self, older_than: datetime) -> list[int]:
        """Devices whose information is missing or older than the threshold."""
        query = Device.select(Device.id).where(
            Device.info_updated_at.is_null() | (Device.info_updated_at < older_than)
        )
        return [i for (i,) in query.tuples()]

    def certificates_expiring(self, before: datetime) -> list[int]:
        query = Device.select(Device.id).where(
            Device.cert_expires_at.is_null(False) & (Device.cert_expires_at < before)
        )
        return [i for (i,) in query.tuples()]

    def with_open_system_task(self, purpose: str) -> set[int]:
        query = (
            Task.select(Task.device)
            .join(Job)
            .where(
                Job.system
                & (Job.purpose == purpose)
                & Task.state.in_([s.value for s in TASK_OPEN])
                & Task.device.is_null(False)
            )
        )
        return {i for (i,) in query.tuples()}
