"""What the runtime announces. The window turns these into queued Qt signals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class JobChanged:
    job_id: int


@dataclass(frozen=True)
class TaskChanged:
    job_id: int
    task_id: int


@dataclass(frozen=True)
class DeviceChanged:
    """A device reported itself (model, firmware, last seen): the devices page redraws it."""

    device_id: int


@dataclass(frozen=True)
class RuntimeStatus:
    state: str  # "starting", "running", "stopping", "stopped"
    running_tasks: int
    busy_devices: int


@dataclass(frozen=True)
class JobFinished:
    """A job reached a terminal state through the runtime's work (not a person's action)."""

    job_id: int
    name: str
    state: str
    system: bool
    done: int
    total: int


@dataclass(frozen=True)
class NeedsAttention:
    """A task failed in a way retrying cannot fix: a person must look at the device."""

    job_id: int
    task_id: int
    device: str
    step: str
    message: str


@dataclass(frozen=True)
class RuntimeProblem:
    """An error the runtime survived; shown to the user in words."""

    message: str


@dataclass(frozen=True)
class StoreStatus:
    """The database stopped taking writes (`problem` says why), or takes them again (None)."""

    problem: str | None


Event = (
    JobChanged | TaskChanged | DeviceChanged | RuntimeStatus | JobFinished | NeedsAttention
    | RuntimeProblem | StoreStatus
)
EventSink = Callable[[Event], None]
