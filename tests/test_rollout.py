"""Safe rollouts (spec B8): the rules as pure functions, then the runtime driving a fleet
through batches, approval, the failure threshold, the rate and the attempt limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobdesk.domain import rollout
from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.rollout import (
    AbortAction,
    BatchSize,
    RolloutPolicy,
    RolloutState,
    TaskFacts,
    Waiting,
)
from jobdesk.domain.rules import ActionRefused
from jobdesk.domain.states import TaskState
from jobdesk.runtime.actions import JobRequest
from tests.conftest import Harness

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

# --- the rules ------------------------------------------------------------------------------


def test_batches_are_counts_or_percentages_the_last_repeating() -> None:
    sizes = rollout.parse_batches("1,5,20%")
    assert rollout.batch_sizes(sizes, 100) == [1, 5, 20, 20, 20, 20, 14]
    assert rollout.batch_sizes(sizes, 3) == [1, 2]
    assert rollout.batch_sizes(rollout.parse_batches("10%"), 7) == [1, 1, 1, 1, 1, 1, 1]
    assert rollout.batch_sizes((), 7) == [7]
    for bad in ("", "0", "x", "0%", "150%", "-2"):
        with pytest.raises(ActionRefused):
            rollout.parse_batches(bad)


@given(sizes=st.lists(st.one_of(st.integers(1, 50).map(lambda n: BatchSize(n)),
                                st.integers(1, 100).map(lambda p: BatchSize(p, True))),
                      min_size=1, max_size=5),
       total=st.integers(0, 400))
def test_every_task_is_in_exactly_one_batch_of_at_most_its_size(
    sizes: list[BatchSize], total: int
) -> None:
    found = rollout.batch_sizes(sizes, total)
    assert sum(found) == total and all(size >= 1 for size in found)
    for index, size in enumerate(found):
        assert size <= sizes[min(index, len(sizes) - 1)].tasks(total)


def test_batches_are_filled_in_device_name_order() -> None:
    batches = rollout.assign_batches(["r3", "r1", "r4", "r2"], rollout.parse_batches("1,2"))
    assert batches == {"r1": 1, "r2": 2, "r3": 2, "r4": 3}


def facts(*states: tuple[int, TaskState, int, int]) -> list[TaskFacts]:
    """(batch, state, attempts, failures) per task; the latest attempt failed if any did."""
    return [TaskFacts(batch, state, attempts, failures, failures > 0 and
                      state is not TaskState.SUCCEEDED, NOW)
            for batch, state, attempts, failures in states]


S, R, OK, F = TaskState.SCHEDULED, TaskState.RESCHEDULED, TaskState.SUCCEEDED, TaskState.FAILED


def test_the_next_batch_opens_when_each_task_finished_or_failed_once() -> None:
    policy = RolloutPolicy(batches=rollout.parse_batches("1,2"))
    first = rollout.view(policy, RolloutState(), facts((1, TaskState.RUNNING, 1, 0),
                                                       (2, S, 0, 0), (2, S, 0, 0)))
    assert (first.current_batch, first.open_through, first.waiting_for) == (1, 1, None)
    assert not rollout.may_start_new(first, 2)
    failed_once = rollout.view(policy, RolloutState(), facts((1, R, 1, 1), (2, S, 0, 0)))
    assert failed_once.open_through == 2 and rollout.may_start_new(failed_once, 2)


def test_approval_holds_each_batch_after_the_first_until_a_person_continues() -> None:
    policy = RolloutPolicy(batches=rollout.parse_batches("1"), approve=True)
    tasks = facts((1, OK, 1, 0), (2, S, 0, 0), (3, S, 0, 0))
    waiting = rollout.view(policy, RolloutState(), tasks)
    assert waiting.waiting_for is Waiting.APPROVAL
    assert waiting.reason == "waiting for approval of batch 2 of 3"
    approved = rollout.continue_rollout(policy, RolloutState(), waiting, NOW)
    assert approved.approved_through == 2
    assert rollout.may_start_new(rollout.view(policy, approved, tasks), 2)
    with pytest.raises(ActionRefused, match="not waiting"):
        rollout.continue_rollout(policy, approved, rollout.view(policy, approved, tasks), NOW)


def test_the_threshold_applies_once_enough_tasks_were_attempted_and_is_exceeded() -> None:
    policy = RolloutPolicy(abort_above=20.0, abort_min=5)
    four = facts((1, F, 1, 1), (1, OK, 1, 0), (1, OK, 1, 0), (1, OK, 1, 0), (1, S, 0, 0))
    assert not rollout.view(policy, RolloutState(), four).over_threshold  # 4 < abort_min
    five = four[:4] + facts((1, OK, 1, 0))
    at = rollout.view(policy, RolloutState(), five)
    assert (at.failed, at.attempted, at.over_threshold) == (1, 5, False)  # 20% is not above
    six = five + facts((1, R, 1, 1))
    over = rollout.view(policy, RolloutState(), six)
    assert over.over_threshold and over.waiting_for is Waiting.THRESHOLD
    assert over.reason == "rollout stopped: 2 of 6 failed, above 20%"
    # Continuing re-arms the check on the attempts that follow.
    lifted = rollout.continue_rollout(policy, RolloutState(stopped=True), over, NOW)
    assert rollout.view(policy, lifted, six).waiting_for is None


@given(limit=st.integers(1, 10), starts=st.lists(st.integers(0, 119), max_size=30))
def test_the_rate_never_lets_more_than_n_starts_into_any_minute(limit: int,
                                                                starts: list[int]) -> None:
    policy = RolloutPolicy(max_per_minute=limit)
    times = [NOW - timedelta(seconds=s) for s in starts]
    recent = [t for t in times if t > NOW - timedelta(minutes=1)]
    later = rollout.next_start_by_rate(policy, times, NOW)
    if len(recent) < limit:
        assert later is None
    else:
        assert later is not None and later > NOW
        # At `later`, fewer than `limit` of the starts are within the minute before it.
        assert sum(1 for t in recent if t > later - timedelta(minutes=1)) < limit


def test_a_policy_refuses_what_cannot_work() -> None:
    with pytest.raises(ActionRefused, match="--batches"):
        RolloutPolicy(approve=True)
    with pytest.raises(ActionRefused, match="at least 1"):
        RolloutPolicy(max_per_minute=0)
    assert RolloutPolicy.from_dict(RolloutPolicy(
        batches=rollout.parse_batches("1,10%"), abort_above=5.0,
        abort_action=AbortAction.CANCEL, max_attempts=3).to_dict()).max_attempts == 3


# --- the runtime on a fleet -----------------------------------------------------------------


def fleet(h: Harness, count: int) -> list[str]:
    names = [f"r{n}" for n in range(1, count + 1)]
    h.add_devices(*names)
    return names


def create(h: Harness, names: list[str], policy: RolloutPolicy) -> int:
    return h.service.create(JobRequest("reboot", JobType.REBOOT, devices=names,
                                       rollout=policy)).id


def tasks(h: Harness, job_id: int) -> dict[str, tuple[str, int]]:
    return {t.device: (t.state, t.attempts) for t in h.store.jobs.detail(job_id).tasks}


def test_a_failing_canary_stops_the_rollout_before_the_second_batch(harness: Harness) -> None:
    h = harness
    names = fleet(h, 5)
    h.driver.fail("r1", "reboot", "unreachable", "no route to host")
    job_id = create(h, names, RolloutPolicy(batches=rollout.parse_batches("1,100%"),
                                            abort_above=0.0))
    h.run(h.cycle())
    h.clock.advance(minutes=1)
    h.run(h.cycle())
    job = h.store.jobs.get(job_id)
    assert job.state == "Paused"
    assert job.rollout_reason == "rollout stopped: 1 of 1 failed, above 0%"
    assert tasks(h, job_id)["r1"] == ("Rescheduled", 1)
    assert all(tasks(h, job_id)[n][1] == 0 for n in names[1:])  # never touched
    assert h.driver.count("r2", "connect") == 0
    shown = h.store.jobs.detail(job_id)
    assert shown.to_dict()["rollout"]["waiting_for"] == "threshold"
    assert [t.batch for t in shown.tasks] == [1, 2, 2, 2, 2]


def test_approval_gates_each_batch(harness: Harness) -> None:
    h = harness
    names = fleet(h, 3)
    job_id = create(h, names, RolloutPolicy(batches=rollout.parse_batches("1"), approve=True))
    h.run(h.cycle())
    assert tasks(h, job_id) == {"r1": ("Succeeded", 1), "r2": ("Scheduled", 0),
                                "r3": ("Scheduled", 0)}
    job = h.store.jobs.get(job_id)
    assert job.state == "Paused"
    assert job.rollout_reason == "waiting for approval of batch 2 of 3"
    h.run(h.cycle())
    assert tasks(h, job_id)["r2"] == ("Scheduled", 0)  # still waiting for a person
    h.service.continue_rollout(job_id)
    h.run(h.cycle())
    assert tasks(h, job_id)["r2"] == ("Succeeded", 1) and tasks(h, job_id)["r3"][1] == 0
    assert h.store.jobs.get(job_id).rollout_reason == "waiting for approval of batch 3 of 3"
    h.service.continue_rollout(job_id)
    h.run(h.cycle())
    assert h.store.jobs.get(job_id).state == "Succeeded"


def test_the_threshold_cancels_what_has_not_started_and_gives_up_on_the_rest(
    harness: Harness,
) -> None:
    h = harness
    names = fleet(h, 4)
    for name in ("r1", "r2"):
        h.driver.fail(name, "reboot", "unreachable", "no route to host")
    policy = RolloutPolicy(abort_above=20.0, abort_min=2, abort_action=AbortAction.CANCEL,
                           max_concurrent=2, max_attempts=1)
    job_id = create(h, names, policy)
    h.run(h.cycle())
    h.clock.advance(seconds=5)
    h.run(h.cycle())
    found = {t.device: t for t in h.store.jobs.detail(job_id).tasks}
    assert found["r1"].state == found["r2"].state == "Failed"
    assert found["r1"].reason.startswith("gave up after 1 attempts")
    assert found["r3"].state == found["r4"].state == "Cancelled"
    assert found["r3"].reason == "rollout stopped: 2 of 2 failed, above 20%"
    assert h.driver.count("r3", "connect") == 0
    assert h.store.jobs.get(job_id).state == "Failed"  # B4.3: none succeeded


def test_the_rate_limits_starts_per_minute(harness: Harness) -> None:
    h = harness
    names = fleet(h, 5)
    job_id = create(h, names, RolloutPolicy(max_per_minute=2))
    h.run(h.cycle())
    h.run(h.cycle())
    assert sum(1 for _, attempts in tasks(h, job_id).values() if attempts) == 2
    h.clock.advance(seconds=61)
    h.run(h.cycle())
    h.run(h.cycle())
    assert sum(1 for _, attempts in tasks(h, job_id).values() if attempts) == 4
