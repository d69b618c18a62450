"""The tables. Models are bound to a database when a `Store` opens one (no global database).

Invariant kept by every writer: a task has `next_attempt_at` if and only if it is waiting
(Scheduled or Rescheduled). The partial index on it is then exactly the queue of due work,
so finding due tasks costs the same with a thousand tasks or a million.
"""

from __future__ import annotations

from peewee import (
    SQL,
    AutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from jobdesk.store.fields import JsonField, UtcField


class BaseModel(Model):
    class Meta:
        legacy_table_names = False


class SchemaVersion(BaseModel):
    version = IntegerField()


class RuntimeLease(BaseModel):
    """Which runtime drives this database now: two runtimes would run tasks twice."""

    id = IntegerField(primary_key=True)
    owner = CharField()
    host = CharField()
    pid = IntegerField()
    heartbeat_at = UtcField()


class Device(BaseModel):
    id = AutoField()
    name = CharField(unique=True)
    host = CharField()
    port = IntegerField(default=22)
    user = CharField(default="admin")
    profile = CharField(default="netmodule")
    key_path = TextField(null=True)
    created_at = UtcField()
    # Inventory, filled by device-info and certificate jobs.
    model = CharField(null=True)
    serial = CharField(null=True)
    firmware = CharField(null=True)
    boot_id = CharField(null=True)
    info_updated_at = UtcField(null=True)
    last_seen_at = UtcField(null=True)
    cert_expires_at = UtcField(null=True)
    cert_fingerprint = CharField(null=True)
    # The task that works on this device now. Set in the claim's transaction with the
    # device row locked, so two runtimes never work on one device (spec B3).
    busy_task_id = IntegerField(null=True)


class DeviceTag(BaseModel):
    device = ForeignKeyField(Device, on_delete="CASCADE", backref="tag_rows")
    tag = CharField(index=True)

    class Meta:
        indexes = ((("device", "tag"), True),)


class Job(BaseModel):
    id = AutoField()
    # The same job in every database it is copied to (`jobdesk db copy --merge`).
    uuid = CharField(null=True, unique=True)
    name = CharField()
    type = CharField()
    system = BooleanField(default=False)
    # What a system job is for ("device-info", "certificate-renewal"): one unfinished
    # system job per device and purpose.
    purpose = CharField(null=True)
    payload = JsonField()
    schedule = JsonField()
    state = CharField()
    progress_done = IntegerField(default=0)
    progress_total = IntegerField(default=0)
    attempted = BooleanField(default=False)
    created_at = UtcField()
    expires_at = UtcField()
    cancelled_at = UtcField(null=True)
    replaced_by = ForeignKeyField("self", null=True, on_delete="SET NULL")
    # The earliest next attempt of its waiting tasks: the jobs list's "next run" column.
    next_attempt_at = UtcField(null=True)
    # A safe rollout (spec B8): {"policy", "state", "view"}; None for an ordinary job.
    rollout = JsonField(null=True)
    updated_at = UtcField()

    class Meta:
        indexes = (
            (("system", "id"), False),
            (("system", "state", "id"), False),
            (("state",), False),
        )


class Task(BaseModel):
    id = AutoField()
    job = ForeignKeyField(Job, on_delete="CASCADE", backref="tasks")
    device = ForeignKeyField(Device, null=True, on_delete="SET NULL")
    device_name = CharField()  # kept when the device is removed, for the job's history
    state = CharField()
    attempts = IntegerField(default=0)
    last_triggered_at = UtcField(null=True)
    next_attempt_at = UtcField(null=True)
    current_step = CharField(null=True)
    reason = TextField(null=True)
    cancel_requested = BooleanField(default=False)
    # When a person asked to cancel: a request that came during the last step is kept on
    # record with its outcome (the step finished first), not lost.
    cancel_requested_at = UtcField(null=True)
    # Its last attempt was cut off (a crash, a stop): it goes before tasks never started,
    # so a runtime restarted again and again still finishes what it began.
    interrupted = BooleanField(default=False, constraints=[SQL("DEFAULT FALSE")])
    # The runtime that holds a Running task, until when (microseconds, the database's own
    # clock) unless it renews, and a counter that grows with every claim: a write of an
    # attempt whose claim was taken over matches nothing and is dropped.
    claimed_by = CharField(null=True)
    lease_until = BigIntegerField(null=True)
    fence = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])
    context = JsonField(default=dict)  # what steps hand to later steps, across attempts
    # Rollouts (B8): the task's batch, its failed attempts, whether the latest failed, and
    # whether it is held back (its next attempt parked at the job's expiry) until its batch
    # may start or a person continues.
    batch = IntegerField(default=1, constraints=[SQL("DEFAULT 1")])
    failures = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])
    last_failed = BooleanField(default=False, constraints=[SQL("DEFAULT FALSE")])
    held = BooleanField(default=False, constraints=[SQL("DEFAULT FALSE")])
    updated_at = UtcField()

    class Meta:
        indexes = (
            (("job", "device_name"), True),
            (("device", "state"), False),
        )


Task.add_index(
    Task.index(Task.next_attempt_at, Task.id, where=SQL("next_attempt_at IS NOT NULL"))
)
# One running task per device, whatever a runtime believes: the database refuses a second.
Task.add_index(Task.index(Task.device, where=SQL("state = 'Running'"), unique=True,
                          name="task_one_running_per_device"))
# Running tasks by lease: the recovery of expired claims reads only these.
Task.add_index(Task.index(Task.lease_until, where=SQL("state = 'Running'"),
                          name="task_running_lease_until"))
# Interrupted tasks, which are always waiting ones: a few rows, read first by `due`.
Task.add_index(Task.index(Task.next_attempt_at, Task.id, where=SQL("interrupted"),
                          name="task_interrupted_next_attempt_at_id"))


class Step(BaseModel):
    id = AutoField()
    task = ForeignKeyField(Task, on_delete="CASCADE", backref="steps")
    position = IntegerField()
    name = CharField()
    status = CharField()
    started_at = UtcField(null=True)
    skipped_at = UtcField(null=True)
    completed_at = UtcField(null=True)
    message = TextField(null=True)
    fix_hint = TextField(null=True)

    class Meta:
        indexes = ((("task", "position"), True),)


class StepRun(BaseModel):
    """One step as one attempt ran it (spec B1): what later attempts never rewrite.

    `Step` is the plan — what the next attempt does with each step; a verification that
    failed sends earlier steps back to Pending there. Their real times and messages stay
    here, one row per attempt and step, so a retried firmware task shows both attempts.
    """

    id = AutoField()
    task = ForeignKeyField(Task, on_delete="CASCADE", backref="runs")
    step = ForeignKeyField(Step, on_delete="CASCADE", backref="runs")
    attempt = IntegerField()
    status = CharField()
    started_at = UtcField(null=True)
    skipped_at = UtcField(null=True)
    completed_at = UtcField(null=True)
    message = TextField(null=True)

    class Meta:
        indexes = ((("step", "attempt"), True), (("task", "attempt"), False))


MODELS: list[type[BaseModel]] = [
    SchemaVersion,
    RuntimeLease,
    Device,
    DeviceTag,
    Job,
    Task,
    Step,
    StepRun,
]
