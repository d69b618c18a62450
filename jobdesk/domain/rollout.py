"""Safe rollouts (spec B8): batches, approval, a failure threshold, a rate, attempt limits.

A rollout is optional per job; without one a job behaves as B1–B7 say. Everything here is a
pure function of plain values: the store applies the results in the transaction of every
task change, the runtime asks `may_start` before it starts a task, and the window and the
command line show `RolloutView`. So each rule is written, and tested, once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from jobdesk.domain.rules import ActionRefused
from jobdesk.domain.states import TaskState

RATE_WINDOW = timedelta(minutes=1)


class AbortAction(StrEnum):
    PAUSE = "pause"
    CANCEL = "cancel"


@dataclass(frozen=True)
class BatchSize:
    """One value of `--batches`: a count of tasks, or a percentage of the job's tasks."""

    value: float
    percent: bool = False

    def tasks(self, total: int) -> int:
        wanted = math.ceil(total * self.value / 100) if self.percent else int(self.value)
        return max(1, wanted)

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.percent else f"{int(self.value)}"

    @classmethod
    def parse(cls, text: str) -> BatchSize:
        raw = text.strip()
        percent = raw.endswith("%")
        number = raw[:-1].strip() if percent else raw
        try:
            value = float(number) if percent else int(number)
        except ValueError:
            raise ActionRefused(
                f"batch size {text!r} is neither a count (5) nor a percentage (20%)") from None
        if percent and not 0 < value <= 100:
            raise ActionRefused(f"batch size {text!r}: a percentage is above 0 and up to 100")
        if not percent and value < 1:
            raise ActionRefused(f"batch size {text!r}: a count is at least 1")
        return cls(float(value), percent)


def parse_batches(text: str) -> tuple[BatchSize, ...]:
    """`1,5,20%`: counts or percentages, the last one repeating."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise ActionRefused("--batches needs at least one size, e.g. 1,10%,25%")
    return tuple(BatchSize.parse(part) for part in parts)


def parse_percent(text: str) -> float:
    raw = text.strip().removesuffix("%").strip()
    try:
        value = float(raw)
    except ValueError:
        raise ActionRefused(f"{text!r} is not a percentage (e.g. 20%)") from None
    if not 0 <= value < 100:
        raise ActionRefused(f"{text!r}: the threshold is from 0% up to below 100%")
    return value


@dataclass(frozen=True)
class RolloutPolicy:
    """What a person chose when creating the job; None/empty values mean "no limit"."""

    batches: tuple[BatchSize, ...] = ()
    approve: bool = False
    abort_above: float | None = None  # percent
    abort_min: int = 1
    abort_action: AbortAction = AbortAction.PAUSE
    max_per_minute: int | None = None
    max_concurrent: int | None = None
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.approve and not self.batches:
            raise ActionRefused("approval is given per batch: give --batches too")
        for name in ("max_per_minute", "max_concurrent", "max_attempts"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ActionRefused(f"--{name.replace('_', '-')} must be at least 1")
        if self.abort_min < 1:
            raise ActionRefused("--abort-min must be at least 1")

    @property
    def is_default(self) -> bool:
        return self == RolloutPolicy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "batches": [str(size) for size in self.batches],
            "approve": self.approve,
            "abort_above": self.abort_above,
            "abort_min": self.abort_min,
            "abort_action": self.abort_action.value,
            "max_per_minute": self.max_per_minute,
            "max_concurrent": self.max_concurrent,
            "max_attempts": self.max_attempts,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RolloutPolicy:
        if not data:
            return cls()
        return cls(
            batches=tuple(BatchSize.parse(text) for text in data.get("batches", [])),
            approve=bool(data.get("approve", False)),
            abort_above=data.get("abort_above"),
            abort_min=int(data.get("abort_min", 1)),
            abort_action=AbortAction(data.get("abort_action", "pause")),
            max_per_minute=data.get("max_per_minute"),
            max_concurrent=data.get("max_concurrent"),
            max_attempts=data.get("max_attempts"),
        )


def batch_sizes(batches: Sequence[BatchSize], total: int) -> list[int]:
    """How many tasks each batch has: sizes in order, the last repeating, every batch at
    least one task, the last one cut to what is left."""
    if total <= 0:
        return []
    if not batches:
        return [total]
    sizes: list[int] = []
    left = total
    index = 0
    while left > 0:
        size = min(batches[min(index, len(batches) - 1)].tasks(total), left)
        sizes.append(size)
        left -= size
        index += 1
    return sizes


def assign_batches(device_names: Sequence[str], batches: Sequence[BatchSize]) -> dict[str, int]:
    """Batch number (1-based) of each device: filled in device-name order (B8)."""
    ordered = sorted(device_names)
    numbers: dict[str, int] = {}
    position = 0
    for number, size in enumerate(batch_sizes(batches, len(ordered)), start=1):
        for name in ordered[position:position + size]:
            numbers[name] = number
        position += size
    return numbers


@dataclass(frozen=True)
class TaskFacts:
    """What the rollout needs of one task."""

    batch: int
    state: TaskState
    attempts: int
    failures: int  # failed attempts so far
    last_failed: bool  # its latest attempt failed
    last_triggered_at: datetime | None = None


@dataclass(frozen=True)
class RolloutState:
    """What a person did to the rollout so far (stored with the job)."""

    approved_through: int = 1  # the highest batch allowed to start
    stopped: bool = False  # the threshold's pause holds new starts
    rearmed_at: datetime | None = None  # the threshold counts attempts after this

    def to_dict(self) -> dict[str, Any]:
        return {"approved_through": self.approved_through, "stopped": self.stopped,
                "rearmed_at": self.rearmed_at.isoformat() if self.rearmed_at else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RolloutState:
        if not data:
            return cls()
        rearmed = data.get("rearmed_at")
        return cls(int(data.get("approved_through", 1)), bool(data.get("stopped", False)),
                    datetime.fromisoformat(rearmed) if rearmed else None)


class Waiting(StrEnum):
    APPROVAL = "approval"
    THRESHOLD = "threshold"


@dataclass(frozen=True)
class RolloutView:
    """Where a rollout stands: what `jobs show` and the window say, and what may start."""

    batches: int
    current_batch: int  # the lowest batch not done (batches + 1 when all are done)
    open_through: int  # tasks of batches up to this one may start
    waiting_for: Waiting | None
    attempted: int
    failed: int
    reason: str | None  # why new starts are held, in words
    over_threshold: bool = False
    done_batches: frozenset[int] = field(default_factory=frozenset)

    def to_dict(self) -> dict[str, Any]:
        return {"batches": self.batches, "current_batch": min(self.current_batch, self.batches),
                "waiting_for": self.waiting_for.value if self.waiting_for else None,
                "attempted": self.attempted, "failed": self.failed}


def _batch_done(tasks: Iterable[TaskFacts]) -> bool:
    return all(t.state.is_finished or t.failures > 0 for t in tasks)


def view(policy: RolloutPolicy, state: RolloutState, tasks: Sequence[TaskFacts]) -> RolloutView:
    """B8: the batches done, the one in progress, whether a person must act, the threshold."""
    count = max((t.batch for t in tasks), default=1)
    by_batch: dict[int, list[TaskFacts]] = {n: [] for n in range(1, count + 1)}
    for task in tasks:
        by_batch.setdefault(task.batch, []).append(task)
    done = frozenset(n for n, members in by_batch.items() if _batch_done(members))
    current = next((n for n in range(1, count + 1) if n not in done), count + 1)
    counted = [t for t in tasks if t.attempts > 0 and (
        state.rearmed_at is None or (t.last_triggered_at is not None
                                     and t.last_triggered_at > state.rearmed_at))]
    attempted = len(counted)
    failed = sum(1 for t in counted if t.last_failed)
    over = (policy.abort_above is not None and attempted >= policy.abort_min
            and failed * 100 > policy.abort_above * attempted)
    open_through = current if current <= count else count
    waiting: Waiting | None = None
    reason: str | None = None
    if policy.approve and current <= count and current > state.approved_through:
        open_through = state.approved_through
        waiting = Waiting.APPROVAL
        reason = f"waiting for approval of batch {current} of {count}"
    if state.stopped or (over and policy.abort_action is AbortAction.PAUSE):
        waiting = Waiting.THRESHOLD
        reason = threshold_reason(failed, attempted, policy.abort_above or 0.0)
    return RolloutView(count, current, open_through, waiting, attempted, failed, reason,
                       over_threshold=over, done_batches=done)


def threshold_reason(failed: int, attempted: int, above: float) -> str:
    return f"rollout stopped: {failed} of {attempted} failed, above {above:g}%"


def may_start_new(rollout: RolloutView, batch: int) -> bool:
    """Whether a task never attempted may start its first attempt now (B8)."""
    if rollout.waiting_for is Waiting.THRESHOLD:
        return False
    return batch <= rollout.open_through


def held_reason(rollout: RolloutView, batch: int) -> str:
    """Why a task of `batch` does not start yet, in words."""
    if rollout.reason is not None and (rollout.waiting_for is Waiting.THRESHOLD
                                       or batch > rollout.open_through):
        return rollout.reason
    return f"waiting for batch {rollout.current_batch} of {rollout.batches}"


def next_start_by_rate(policy: RolloutPolicy, recent_starts: Sequence[datetime],
                       now: datetime) -> datetime | None:
    """B8 rate: None when a task of this job may start now, else when the next may.

    `recent_starts` are the job's task starts within the last minute."""
    if policy.max_per_minute is None:
        return None
    window = sorted(t for t in recent_starts if t > now - RATE_WINDOW)
    if len(window) < policy.max_per_minute:
        return None
    return window[len(window) - policy.max_per_minute] + RATE_WINDOW


def may_run_more(policy: RolloutPolicy, running: int) -> bool:
    """B8 max_concurrent: within the global cap, this job's tasks at once."""
    return policy.max_concurrent is None or running < policy.max_concurrent


def gave_up(policy: RolloutPolicy, failures: int) -> str | None:
    """B8 max_attempts: the reason a task ends Failed after this many failed attempts."""
    if policy.max_attempts is not None and failures >= policy.max_attempts:
        return f"gave up after {policy.max_attempts} attempts"
    return None


def continue_rollout(policy: RolloutPolicy, state: RolloutState, rollout: RolloutView,
                     now: datetime) -> RolloutState:
    """B8: a person continues: the next batch is approved, or the threshold's pause is
    lifted (and the check re-armed on the attempts that follow)."""
    if rollout.waiting_for is None:
        raise ActionRefused("the rollout is not waiting for anyone")
    if rollout.waiting_for is Waiting.THRESHOLD:
        return replace(state, stopped=False, rearmed_at=now)
    return replace(state, approved_through=rollout.current_batch)
