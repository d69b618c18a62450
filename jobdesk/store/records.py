"""Plain records handed to the layers above, so they never hold a live Peewee row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jobdesk.domain import lifecycle, rules
from jobdesk.domain.rules import Progress
from jobdesk.domain.states import StepStatus, TaskState


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with offset, the one time format of the CLI's output."""
    return value.isoformat() if value is not None else None


def _step_status(value: str) -> StepStatus | None:
    try:
        return StepStatus(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class DeviceRecord:
    id: int
    name: str
    host: str
    port: int
    user: str
    profile: str
    tags: tuple[str, ...]
    key_path: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    boot_id: str | None = None
    info_updated_at: datetime | None = None
    last_seen_at: datetime | None = None
    cert_expires_at: datetime | None = None
    cert_fingerprint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "profile": self.profile,
            "tags": list(self.tags),
            "key_path": self.key_path,
            "model": self.model,
            "serial": self.serial,
            "firmware": self.firmware,
            "info_updated_at": iso(self.info_updated_at),
            "last_seen_at": iso(self.last_seen_at),
            "cert_expires_at": iso(self.cert_expires_at),
            "cert_fingerprint": self.cert_fingerprint,
        }


@dataclass(frozen=True)
class StepRecord:
    id: int
    position: int
    name: str
    status: str
    started_at: datetime | None
    skipped_at: datetime | None
    completed_at: datetime | None
    message: str | None
    fix_hint: str | None

    def to_dict(self) -> dict[str, Any]:
        return {**_step_fields(self), "fix_hint": self.fix_hint}


@dataclass(frozen=True)
class StepRunRecord:
    """One step as one attempt ran it (spec B1)."""

    step_id: int
    name: str
    position: int
    attempt: int
    status: str
    started_at: datetime | None
    skipped_at: datetime | None
    completed_at: datetime | None
    message: str | None

    def to_dict(self) -> dict[str, Any]:
        return _step_fields(self)


def _step_fields(step: StepRecord | StepRunRecord) -> dict[str, Any]:
    """A step's status and times as the JSON shows them, in the plan or in an attempt."""
    return {
        "name": step.name,
        "status": step.status,
        "started_at": iso(step.started_at),
        "skipped_at": iso(step.skipped_at),
        "completed_at": iso(step.completed_at),
        "message": step.message,
    }


@dataclass(frozen=True)
class TaskRecord:
    id: int
    job_id: int
    device_id: int | None
    device: str
    state: str
    attempts: int
    last_triggered_at: datetime | None
    next_attempt_at: datetime | None
    current_step: str | None
    reason: str | None
    cancel_requested: bool
    context: dict[str, Any]
    steps: tuple[StepRecord, ...] = ()
    updated_at: datetime | None = None
    claimed_by: str | None = None  # the runtime that holds it while Running
    cancel_requested_at: datetime | None = None
    runs: tuple[StepRunRecord, ...] = ()  # every attempt's steps, oldest first
    batch: int = 1  # its rollout batch (B8)
    failures: int = 0  # failed attempts so far
    held: bool = False  # held back by its rollout until its batch may start

    @property
    def task_state(self) -> TaskState | None:
        """The state, or None for a value the rules do not know (B4.6: Unknown)."""
        try:
            return TaskState(self.state)
        except ValueError:
            return None

    def step_states(self) -> list[tuple[str, StepStatus | None]]:
        return [(step.name, _step_status(step.status)) for step in self.steps]

    def runs_again(self) -> list[bool]:
        """Per step, whether the next attempt runs it (see `lifecycle.runs_again`)."""
        states = self.step_states()
        known = [(name, status) for name, status in states if status is not None]
        if self.task_state is None or len(known) != len(states):
            return [False] * len(states)
        return lifecycle.runs_again(known, self.task_state)

    def step_labels(self) -> list[str]:
        """Per step, its status as a person reads it (`lifecycle.step_label`)."""
        task = self.task_state
        return [
            lifecycle.step_label(status, task, again) if status and task else step.status
            for step, (_, status), again in zip(self.steps, self.step_states(),
                                                self.runs_again(), strict=True)
        ]

    @property
    def step_progress(self) -> Progress:
        known = rules.step_progress([s for _, s in self.step_states() if s is not None])
        return Progress(known.done, len(self.steps))  # an unreadable status is not done

    def attempts_history(self) -> list[tuple[int, tuple[StepRunRecord, ...]]]:
        """(attempt number, the steps it ran) for every attempt made, oldest first."""
        found: dict[int, list[StepRunRecord]] = {}
        for run in self.runs:
            if run.attempt <= self.attempts:
                found.setdefault(run.attempt, []).append(run)
        return [(number, tuple(runs)) for number, runs in sorted(found.items())]

    def skipped_for_next_attempt(self) -> tuple[StepRunRecord, ...]:
        """Steps a person skipped since the last attempt: the next one takes them so."""
        return tuple(run for run in self.runs if run.attempt > self.attempts)

    @property
    def driven_by(self) -> str | None:
        """The host whose runtime works on this task now (team mode shows who)."""
        if self.state != "Running" or not self.claimed_by:
            return None
        return self.claimed_by.rsplit(":", 2)[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "state": self.state,
            "driven_by": self.driven_by,
            "attempt_count": self.attempts,
            "last_triggered_at": iso(self.last_triggered_at),
            "next_attempt_at": iso(self.next_attempt_at),
            "current_step": self.current_step,
            "reason": self.reason,
            "cancel_requested_at": iso(self.cancel_requested_at),
            "batch": self.batch,
            "step_progress": self.step_progress.to_dict(),
            "steps": [
                {**step.to_dict(), "shown_as": label, "will_run": self._will_run(step, again)}
                for step, label, again in zip(self.steps, self.step_labels(),
                                              self.runs_again(), strict=True)
            ],
            "attempts": [
                {"number": number, "steps": [run.to_dict() for run in runs]}
                for number, runs in self.attempts_history()
            ],
            "skipped_for_next_attempt": [run.to_dict()
                                         for run in self.skipped_for_next_attempt()],
        }

    def _will_run(self, step: StepRecord, again: bool) -> bool:
        """Whether a later attempt of this task runs the step (never for a finished one)."""
        if self.task_state is None or self.task_state.is_finished:
            return False
        return again or StepStatus(step.status) in (StepStatus.PENDING, StepStatus.RUNNING,
                                                    StepStatus.FAILED)


@dataclass(frozen=True)
class JobRecord:
    id: int
    name: str
    type: str
    system: bool
    purpose: str | None
    state: str
    progress_done: int
    progress_total: int
    payload: dict[str, Any]
    schedule: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    cancelled_at: datetime | None
    replaced_by: int | None
    next_attempt_at: datetime | None = None
    rollout: dict[str, Any] | None = None  # {"policy", "state", "view"} of a rollout (B8)
    tasks: tuple[TaskRecord, ...] = field(default=())

    @property
    def rollout_reason(self) -> str | None:
        """Why the rollout holds new starts, in words (None when it does not)."""
        return (self.rollout or {}).get("reason")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "system": self.system,
            "state": self.state,
            "progress": {"done": self.progress_done, "total": self.progress_total},
            "schedule": self.schedule,
            "payload": _public_payload(self.payload),
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "cancelled_at": iso(self.cancelled_at),
            "replaced_by": self.replaced_by,
            "next_attempt_at": iso(self.next_attempt_at),
            "rollout": {**self.rollout["view"], "reason": self.rollout.get("reason")}
            if self.rollout and self.rollout.get("view") else None,
        }
        return data


def _public_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload without bulky content (a snippet's text is shown by name and checksum)."""
    return {k: v for k, v in payload.items() if k != "content"}
