"""The runtime: one asyncio event loop that picks due tasks and drives their steps.

One loop serves hundreds of devices without a thread each. Database calls go to a single
worker thread, so a slow disk or a lock held by another process never stalls the device
conversations, and the database sees one writer from this runtime at a time.

The rules it applies (spec B3): one task per device at a time, at most
`max_parallel_devices` devices at once, and an attempt is never interrupted inside a step:
cancel, expiry, a closing window or a stop request end it only before the next step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

import schedule as duty_schedule

from jobdesk.domain.jobtypes import STEPS_BY_NAME
from jobdesk.domain.states import StepStatus, TaskState, is_terminal_state
from jobdesk.runtime.actions import JobService
from jobdesk.runtime.ca import LocalCA
from jobdesk.runtime.clock import Clock
from jobdesk.runtime.driver import DeviceDriver, DeviceError
from jobdesk.runtime.events import (
    DeviceChanged,
    Event,
    EventSink,
    JobChanged,
    JobFinished,
    NeedsAttention,
    RuntimeProblem,
    RuntimeStatus,
    StoreStatus,
    TaskChanged,
)
from jobdesk.runtime.give_way import GiveWay
from jobdesk.runtime.health import StoreHealth
from jobdesk.runtime.steps import STEP_RUNNERS, StepContext, StepResult
from jobdesk.settings import Settings
from jobdesk.store import Store
from jobdesk.store.faults import StoreFault, StoreUnwritable
from jobdesk.store.queue import Attempt, Change, LeaseLost, runtime_id
from jobdesk.store.records import StepRecord

log = logging.getLogger(__name__)
T = TypeVar("T")

POLL_INTERVAL_S = 1.0  # how soon work created by another process is noticed
FLUSH_INTERVAL_S = 0.25  # how often job states follow their tasks while attempts run
# Attempts started per pass: a fleet ramps up in steps of this many, so the window's thread
# (sharing the interpreter) is never held back by one burst of hundreds of claims.
CLAIM_BATCH = 32
LEASE_STALE_AFTER = timedelta(seconds=60)
CONNECT_TIMEOUT_S = 30.0
# A write the database refuses (full disk, lock) is tried again after these pauses.
WRITE_RETRY_FIRST_S = 0.25
WRITE_RETRY_MAX_S = 5.0
# After a stop was asked for, outcomes that cannot be written are given up after this long:
# their tasks stay Running in the database and the next start recovers them.
STOP_WRITE_GRACE_S = 10.0


@dataclass(frozen=True)
class RunOutcome:
    finished: bool  # with until_done: every user job reached a terminal state
    timed_out: bool
    # Why the database could not be written when the runtime stopped, if it could not.
    store_problem: str | None = None
    abandoned: int = 0  # outcomes left for the next start's recovery


class WriteAbandoned(Exception):
    """A write given up because the runtime is stopping and the database refuses it."""

    def __init__(self, fault: StoreFault) -> None:
        super().__init__(fault.message)
        self.fault = fault


def _after_window(give_way: GiveWay, call: Callable[[], T]) -> T:
    """A database call of the runtime, once the window is not busy (on the db thread)."""
    give_way.wait_for_window()
    return call()


class Engine:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Clock,
        driver: DeviceDriver,
        ca: LocalCA,
        on_event: EventSink | None = None,
        *,
        system_jobs: bool = True,
        give_way: GiveWay | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.driver = driver
        self.ca = ca
        self.jobs = JobService(store, settings, clock)
        self._on_event = on_event
        self._system_jobs = system_jobs
        self._owner = runtime_id(socket.gethostname())  # the format recovery reads back
        self._db_thread = ThreadPoolExecutor(1, thread_name_prefix="jobdesk-db")
        self._give_way = give_way  # the window's, when it hosts this runtime
        self._attempts: dict[int, asyncio.Task[None]] = {}  # task id -> attempt
        self._busy_devices: set[int] = set()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._duties = duty_schedule.Scheduler()
        self._background: set[asyncio.Task[Any]] = set()
        self._announced: set[int] = set()  # finished jobs already announced
        self._dirty: set[int] = set()  # jobs whose tasks changed since the last flush
        self._last_flush = 0.0
        self._stop_event: asyncio.Event | None = None
        self._stop_began: float | None = None
        self._deadline: float | None = None  # monotonic time `run` must end by
        self._abandoned = 0
        self._lease_held = False
        self._stop_listening: Callable[[], None] | None = None
        # Several runtimes may share a PostgreSQL database; one of them leads.
        self._team = store.is_postgres
        self._leader = not self._team
        self.health = StoreHealth(lambda problem: self._emit(StoreStatus(problem)))

    def set_event_sink(self, sink: EventSink | None) -> None:
        """Where events go; set before `run`. The sink is called on the runtime's thread."""
        self._on_event = sink

    # --- thread-safe controls -------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the runtime to stop: running steps finish, nothing new starts."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._begin_stop)
        else:
            self._stopping = True

    def wake(self) -> None:
        """New work was created in this process: look for it now, not at the next poll."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    @property
    def running_tasks(self) -> int:
        return len(self._attempts)

    # --- plumbing -------------------------------------------------------------------

    async def _db(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        call = partial(function, *args, **kwargs)
        if self._give_way is not None:
            call = partial(_after_window, self._give_way, call)
        return await loop.run_in_executor(self._db_thread, call)

    def _emit(self, event: Event) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:  # a broken listener must not stop the runtime
            log.exception("event listener failed")

    def _emit_changes(self, changes: list[Change]) -> None:
        for change in changes:
            if change.task_id is not None:
                self._emit(TaskChanged(change.job_id, change.task_id))
            self._emit(JobChanged(change.job_id))

    async def _announce_if_finished(self, job_ids: set[int]) -> None:
        """Tell once when a job the runtime worked on reaches a terminal state."""
        if not job_ids or self._on_event is None:
            return
        rows = await self._db(self.store.jobs.rows, sorted(job_ids))
        for record in rows.values():
            terminal = is_terminal_state(record.state)
            if terminal and record.id not in self._announced:
                self._announced.add(record.id)
                self._emit(JobFinished(record.id, record.name, record.state, record.system,
                                       record.progress_done, record.progress_total))
            elif not terminal:
                self._announced.discard(record.id)

    def _emit_status(self, state: str) -> None:
        self._emit(RuntimeStatus(state, len(self._attempts), len(self._busy_devices)))

    def _begin_stop(self) -> None:
        if self._stop_began is None:
            self._stop_began = time.monotonic()
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._stop_event is not None:
            self._stop_event.set()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- duties ---------------------------------------------------------------------

    async def start(self) -> None:
        """Take the lease, recover from a crash, and run the periodic duties once.

        A database that cannot be written at start (locked, full) is waited for; a stop
        asked for meanwhile ends the wait (WriteAbandoned).
        """
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stop_event = asyncio.Event()
        if self._stopping:
            self._stop_event.set()
        if self.store.read_only is not None:
            raise StoreUnwritable(self.store.read_only)
        self._emit_status("starting")
        queue = self.store.queue
        if self._team:
            # Any number of runtimes: take over only tasks whose claim ran out, and run the
            # clock's duties (job states, system jobs) if this one leads.
            self._leader = await self._write(lambda: queue.lead(
                self._owner, socket.gethostname(), LEASE_STALE_AFTER))
            self._lease_held = self._leader
            recovered = await self._write(lambda: queue.recover_interrupted(
                self.clock.now(), expired_only=True, host=socket.gethostname()))
        else:
            await self._write(lambda: queue.acquire_lease(
                self._owner, socket.gethostname(), self.clock.now(), LEASE_STALE_AFTER))
            self._lease_held = self._leader = True
            recovered = await self._write(lambda: queue.recover_interrupted(self.clock.now()))
        self._emit_changes(recovered)
        # Work created or freed by other processes (another laptop's job, a device another
        # runtime finished with) wakes this one at once; the poll stays as the fallback.
        self._stop_listening = await self._db(self.store.listen, self.wake)
        await self.sweep()
        await self.create_system_jobs()
        self._duties.every(30).seconds.do(lambda: self._spawn(self.sweep()))
        heartbeat_s = max(1, self.settings.claim_lease_s // 4)
        self._duties.every(heartbeat_s).seconds.do(lambda: self._spawn(self._heartbeat()))
        self._duties.every(1).hours.do(lambda: self._spawn(self.create_system_jobs()))
        self._emit_status("running")

    async def sweep(self) -> None:
        if not self._leader:
            return  # another runtime of the team runs the clock's duties
        try:
            changes = await self._db(self.store.queue.sweep, self.clock.now())
            self._emit_changes(changes)
            await self._announce_if_finished({c.job_id for c in changes})
        except Exception as error:
            self._problem("sweeping expired work failed", error)
        else:
            self.health.recovered()

    async def create_system_jobs(self) -> None:
        if not self._system_jobs or not self._leader:
            return
        try:
            for job in await self._db(self.jobs.create_system_jobs):
                self._emit(JobChanged(job.id))
        except Exception as error:
            self._problem("creating system jobs failed", error)

    async def _heartbeat(self) -> None:
        """Keep this runtime's claims (and, alone on SQLite, its lease; in a team, the
        leadership); in a team, also take over the tasks of runtimes that died."""
        queue = self.store.queue
        try:
            await self._db(queue.renew, self._owner, self.settings.claim_lease)
            if self._team:
                self._leader = await self._db(queue.lead, self._owner, socket.gethostname(),
                                              LEASE_STALE_AFTER)
                self._lease_held = self._leader
                recovered = await self._db(queue.recover_interrupted, self.clock.now(),
                                           expired_only=True, host=socket.gethostname())
                self._emit_changes(recovered)
                if recovered:
                    self._dirty.update(change.job_id for change in recovered)
                    if self._wake is not None:
                        self._wake.set()
                return
            kept = await self._db(queue.renew_lease, self._owner, self.clock.now())
        except Exception as error:
            self._problem("renewing the runtime's claims failed", error)
            return
        if not kept:
            # Another runtime took over this database: two would run every task twice.
            self._emit(RuntimeProblem("another jobdesk runtime took over this database; "
                                      "this one stops after its running steps"))
            self._begin_stop()

    def _problem(self, what: str, error: BaseException) -> None:
        """An error the runtime survives: a database condition is reported once (by
        `health`), anything else in one log line with its traceback at DEBUG."""
        fault = self.store.fault_of(error)
        if fault is not None:
            self.health.failed(fault)
            return
        log.error("%s: %s", what, error)
        log.debug("%s", what, exc_info=error)
        self._emit(RuntimeProblem(f"{what}: {error}"))

    async def _write(self, call: Callable[[], T]) -> T:
        """Run a write on the database thread until the database takes it.

        A full disk or another program's lock does not lose what a device did: the write
        is tried again with growing pauses, and the attempt that made it waits (starting
        nothing new on its device). Once a stop was asked for, a write still refused after
        STOP_WRITE_GRACE_S is given up (WriteAbandoned); its task stays Running in the
        database and the next start recovers it as interrupted.
        """
        delay = WRITE_RETRY_FIRST_S
        while True:
            try:
                result = await self._db(call)
            except Exception as error:
                fault = self.store.fault_of(error)
                if fault is None:
                    raise
                self.health.failed(fault)
                if self._stopping and self._stop_began is not None and (
                    time.monotonic() - self._stop_began >= STOP_WRITE_GRACE_S
                ):
                    raise WriteAbandoned(fault) from error
                await self._pause(delay)
                delay = min(delay * 2, WRITE_RETRY_MAX_S)
                continue
            self.health.recovered()
            return result

    async def _pause(self, seconds: float) -> None:
        """Wait before a retry: cut short by a stop (unless stopping already) and never
        past the run's deadline."""
        if self._deadline is not None:
            seconds = max(0.0, min(seconds, self._deadline - time.monotonic()))
        if self._stopping or self._stop_event is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), timeout=seconds)

    # --- the loop -------------------------------------------------------------------

    async def run(
        self, *, until_done: bool = False, max_seconds: float | None = None
    ) -> RunOutcome:
        """Run until stopped (or, with `until_done`, until every user job is terminal).

        `max_seconds` and a stop are honoured whatever the database does: a locked or
        full database is waited for inside the time left, never past it.
        """
        began = time.monotonic()
        self._deadline = began + max_seconds if max_seconds is not None else None
        finished = timed_out = False
        try:
            # WriteAbandoned: stopped while the database refused the lease; nothing ran.
            with contextlib.suppress(WriteAbandoned):
                await self.start()
            failures = 0
            while not self._stopping:
                if self._deadline is not None and time.monotonic() >= self._deadline:
                    timed_out = True
                    break
                # Cleared before this pass looks: an attempt that ends while the pass (or
                # the sleep's own query) runs still wakes the sleep at once.
                if self._wake is not None:
                    self._wake.clear()
                try:
                    self._duties.run_pending()
                    claimed = await self.run_pass()
                    if self._dirty and (
                        not self._attempts
                        or time.monotonic() - self._last_flush >= FLUSH_INTERVAL_S
                    ):
                        await self.flush()
                    finished = (
                        until_done
                        and not self._attempts
                        and not self._dirty
                        and await self._db(self.store.jobs.all_finished)
                    )
                except Exception as error:
                    # A locked or full database must not end the runtime: say so, wait, retry.
                    self._problem("looking for due work failed", error)
                    failures += 1
                    await self._pause(min(WRITE_RETRY_FIRST_S * 2 ** failures,
                                          WRITE_RETRY_MAX_S))
                    continue
                failures = 0
                if finished:
                    break
                await self._sleep_until_due(claimed)
        finally:
            await self.shutdown()
        problem = self.health.describe() or None
        return RunOutcome(finished=finished, timed_out=timed_out and not finished,
                          store_problem=problem, abandoned=self._abandoned)

    async def _sleep_until_due(self, claimed: int) -> None:
        """Wait for the next due task, a freed device, new work, or the next poll.

        Never a busy loop: with every device slot taken, or with due tasks only on busy
        devices, the runtime waits until an attempt ends (which wakes it).
        """
        assert self._wake is not None
        room = self.settings.max_parallel_devices - len(self._busy_devices)
        delay = POLL_INTERVAL_S
        if self._deadline is not None:
            delay = max(0.0, min(delay, self._deadline - time.monotonic()))
        if room > 0 and claimed >= CLAIM_BATCH:
            delay = 0.0  # the batch was full: more is probably due right now
        elif room > 0:
            next_due = await self._db(self.store.queue.next_due_at)
            if next_due is not None and next_due > self.clock.now():
                delay = min(delay, (next_due - self.clock.now()).total_seconds())
        if delay <= 0:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def run_pass(self) -> int:
        """Claim every due task there is room for and start its attempt; returns how many."""
        room = min(self.settings.max_parallel_devices - len(self._busy_devices), CLAIM_BATCH)
        if room <= 0 or self._stopping or (self.health.failing and self._attempts):
            # While the database refuses writes, nothing new starts: the attempts in
            # flight retry theirs, and their success clears the condition. With none in
            # flight, the claim below is what tries the database again.
            return 0
        attempts, changes = await self._db(
            self.store.queue.claim_due, self._owner, self.clock.now(), room,
            lease=self.settings.claim_lease,
            refresh=False,
        )
        self.health.recovered()
        self._dirty.update(change.job_id for change in changes)
        self._emit_changes(changes)
        started = 0
        for attempt in attempts:
            self._busy_devices.add(attempt.device.id)
            self._attempts[attempt.task.id] = asyncio.get_running_loop().create_task(
                self._run_attempt(attempt), name=f"task-{attempt.task.id}"
            )
            started += 1
        if started:
            self._emit_status("running")
        return started

    async def drain(self) -> None:
        """Wait until every attempt in flight has ended (tests and shutdown).

        Nothing is in flight after it: a database condition whose writes work again has
        ended, without waiting for more writes to prove it (`StoreHealth.settle`).
        """
        while self._attempts:
            await asyncio.gather(*list(self._attempts.values()), return_exceptions=True)
        await self.flush()
        self.health.settle()

    async def flush(self) -> None:
        """Bring the jobs the attempts touched up to date (state, progress, next run).

        Attempts only mark their job; refreshing it here, a few times a second, costs one
        count per job instead of one per step of every task of a thousand-device job.
        """
        if not self._dirty:
            return
        job_ids, self._dirty = sorted(self._dirty), set()
        self._last_flush = time.monotonic()
        try:
            results = await self._db(self.store.jobs.refresh_many, job_ids, self.clock.now())
        except Exception as error:
            self._dirty.update(job_ids)
            self._problem("updating job states failed", error)
            return
        for job_id, _old, _new in results:
            self._emit(JobChanged(job_id))
        await self._announce_if_finished({job_id for job_id, _old, new in results
                                          if is_terminal_state(new)})

    async def shutdown(self) -> None:
        """Stop: let running steps finish, record the interrupted attempts, free the lease."""
        self._begin_stop()
        self._emit_status("stopping")
        if self._stop_listening is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._stop_listening)
            self._stop_listening = None
        await self.drain()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self._lease_held:
            try:
                await self._db(self.store.queue.release_lease, self._owner)
                self._lease_held = False
            except Exception as error:
                # A lease that is not released is taken over by the next start on this host.
                self._problem("releasing the runtime lease failed", error)
        if self._abandoned:
            log.warning(
                "%d task(s) stopped without their outcome saved (%s); the next start runs "
                "their last step again", self._abandoned, self.health.describe(),
            )
        self._emit_status("stopped")
        with contextlib.suppress(Exception):
            await self._db(self.store.release_connection)
        self._db_thread.shutdown(wait=True)

    # --- one attempt ----------------------------------------------------------------

    async def _run_attempt(self, attempt: Attempt) -> None:
        task_id = attempt.task.id
        job_id = attempt.job.id
        context = StepContext(
            job=attempt.job,
            device=attempt.device,
            data=dict(attempt.task.context),
            driver=self.driver,
            ca=self.ca,
            update_inventory=partial(self._update_inventory, attempt.device.id),
            connect_timeout=self.settings.step_timeout(CONNECT_TIMEOUT_S),
            skipped=frozenset(step.name for step in attempt.steps
                              if step.status == StepStatus.SKIPPED.value),
        )
        self._emit(TaskChanged(job_id, task_id))
        self._emit(JobChanged(job_id))
        queue = self.store.queue
        hold = attempt.hold
        pending = [step for step in attempt.steps if not StepStatus(step.status).is_done]
        try:
            if not pending:  # every step was skipped by a person: the task is complete
                await self._write(lambda: queue.finish_if_done(hold, self.clock.now()))
                return
            if self._stopping:
                await self._write(lambda: queue.interrupt(hold, self.clock.now(),
                                                          "runtime stopped"))
                return
            first = pending[0].id
            stop = await self._write(lambda: queue.begin_step(hold, first, self.clock.now(),
                                                              refresh=False))
            self._dirty.add(job_id)
            self._emit(TaskChanged(job_id, task_id))
            if stop is not None:
                return
            for position, step in enumerate(pending):
                result = await self._run_step(attempt, step.id, step.name, context)
                if result is None:
                    return  # failed: recorded by _run_step
                following = pending[position + 1] if position + 1 < len(pending) else None
                if not await self._record_step(attempt, step.id, following, result):
                    return
        except LeaseLost as lost:
            # The laptop slept past its lease and another runtime took the task over: what
            # this attempt did is not recorded twice.
            log.warning("%s", lost)
        except WriteAbandoned:
            # Stopping while the database refuses writes: the task stays Running in the
            # database and the next start recovers it as interrupted.
            self._abandoned += 1
        except Exception as error:  # a bug, not a database condition: record and go on
            self._problem(f"task {task_id} on {attempt.device.name}", error)
            reason = f"internal error: {error}"
            with contextlib.suppress(Exception):
                await self._write(lambda: queue.interrupt(hold, self.clock.now(), reason))
        finally:
            try:
                await context.close()
            except Exception:
                log.debug("closing the session of task %s failed", task_id, exc_info=True)
            self._busy_devices.discard(attempt.device.id)
            self._attempts.pop(task_id, None)
            self._emit(TaskChanged(job_id, task_id))
            self._emit(JobChanged(job_id))
            self._emit_status("running" if not self._stopping else "stopping")
            if self._wake is not None:
                self._wake.set()  # a device is free: due work may start

    async def _record_step(self, attempt: Attempt, step_id: int, following: StepRecord | None,
                           result: StepResult) -> bool:
        """Save a completed step and begin the next; False when the attempt ends here.

        The step completed when its result came back: that time is saved even when the
        database takes the write only later. The next step begins when it is written.
        """
        queue = self.store.queue
        task_id, job_id, hold = attempt.task.id, attempt.job.id, attempt.hold
        completed_at = self.clock.now()
        if following is None or self._stopping:
            done = await self._write(lambda: queue.complete_step(
                hold, step_id, completed_at, message=result.message,
                context=result.context, finish_task=result.finish_task, refresh=False,
            ))
            self._dirty.add(job_id)
            if not done:
                await self._write(lambda: queue.interrupt(hold, self.clock.now(),
                                                          "runtime stopped"))
            return False
        done, stop = await self._write(lambda: queue.complete_and_begin(
            hold, step_id, following.id, completed_at, begin_at=self.clock.now(),
            message=result.message, context=result.context,
            finish_task=result.finish_task, refresh=False,
        ))
        self._dirty.add(job_id)
        self._emit(TaskChanged(job_id, task_id))
        return not done and stop is None

    async def _run_step(
        self, attempt: Attempt, step_id: int, step_name: str, context: StepContext
    ) -> StepResult | None:
        """Run one step on the device; None when it failed (and the failure is recorded)."""
        spec = STEPS_BY_NAME[step_name]
        timeout = self.settings.step_timeout(spec.timeout_s)
        context.timeout = timeout
        runner = STEP_RUNNERS[step_name]
        task_id = attempt.task.id
        try:
            result: StepResult = await asyncio.wait_for(runner(context), timeout=timeout)
        except DeviceError as error:
            await self._fail(attempt, step_id, step_name, str(error), error.retryable,
                             error.fix_hint)
            return None
        except TimeoutError:
            await self._fail(attempt, step_id, step_name,
                             f"timeout: no result within {timeout:g} s", True, None)
            return None
        except Exception as error:
            log.error("step %s of task %s failed unexpectedly: %s", step_name, task_id, error)
            log.debug("step %s failed", step_name, exc_info=error)
            await self._fail(attempt, step_id, step_name, f"internal error: {error}", True, None)
            return None
        if result.context:
            context.data.update(result.context)
        context.ran.add(step_name)
        return result

    async def _fail(
        self,
        attempt: Attempt,
        step_id: int,
        step_name: str,
        message: str,
        retryable: bool,
        fix_hint: str | None,
    ) -> None:
        failed_at = self.clock.now()
        task = await self._write(lambda: self.store.queue.fail_step(
            attempt.hold,
            step_id,
            failed_at,
            message=message,
            retryable=retryable,
            retry_interval=self.settings.retry_interval,
            fix_hint=fix_hint,
            refresh=False,
        ))
        self._dirty.add(attempt.job.id)
        if task.state == TaskState.FAILED.value and not retryable:
            self._emit(
                NeedsAttention(attempt.job.id, task.id, attempt.device.name, step_name, message)
            )

    async def _update_inventory(self, device_id: int, **fields: Any) -> None:
        seen_at = self.clock.now()
        await self._write(lambda: self.store.devices.update_info(device_id, seen_at, **fields))
        self._emit(DeviceChanged(device_id))

