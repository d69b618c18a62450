"""Store benchmark: due tasks, job pages and task state changes on a large database.

Builds (or reuses) a database with 100,000 jobs and 1,000,000 tasks with their steps on
1,000 devices, then measures the store calls the runtime and the window make most often:

* `TaskQueue.due(now, 50, busy_devices)`, on this database and on one 10x smaller;
* `JobRepository.list(...)`, a page of 200 jobs, filtered by state and unfiltered;
* task state changes per second: `claim_due` -> `begin_step` -> `complete_step` (or `fail_step`),
  each its own write transaction, exactly as the runtime calls them.

Usage: .venv/bin/python bench/store_bench.py [--jobs 100000] [--tasks-per-job 10]
       [--db PATH] [--keep]

The databases are generated through `Store(path)` (schema and migrations of the product),
then filled with raw `executemany` in transactions of about ten thousand rows. All instants
are relative to an "anchor" (the generation time, rounded to the minute), which is recovered
from the data when a database is reused, so a reused database measures the same thing.
The state-change loop writes, so it runs on a scratch copy: the generated database stays
as generated and can be reused with `--keep`.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jobdesk.domain.jobtypes import JOB_TYPES, JobType, StepSpec
from jobdesk.domain.schedule import schedule_from_dict
from jobdesk.domain.states import JobState, StepStatus, TaskState
from jobdesk.store.database import Store
from jobdesk.store.models import MODELS
from jobdesk.store.queue import Attempt, TaskQueue

US = 1_000_000
MINUTE = 60 * US
HOUR = 60 * MINUTE
DAY = 24 * HOUR
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

HISTORY = 730 * DAY  # the jobs were created over the last two years
UNFINISHED_SHARE = 0.03  # unfinished jobs, all among the newest 10 % of the jobs
SYSTEM_SHARE = 0.10
DUE_SHARE = 0.25  # waiting tasks (of jobs with an open window) due within the past hour
JOBS_PER_TRANSACTION = 200  # 200 jobs + 2,000 tasks + ~8,000 steps per transaction
BUSY_DEVICES = 20  # devices the runtime is working on while it asks for due tasks
RETRY_INTERVAL = timedelta(seconds=300)
FAIL_SHARE = 0.10  # attempts that fail at some step in the state-change loop
CLAIM_BATCH = 32  # tasks the runtime claims in one transaction (runtime.engine.CLAIM_BATCH)

TARGET_DUE_MS = 5.0
TARGET_PAGE_MS = 20.0
TARGET_CHANGES_PER_S = 2000.0

USER_TYPES = (
    (JobType.CONFIG_UPDATE, 40),
    (JobType.COMMAND, 25),
    (JobType.FIRMWARE_UPDATE, 15),
    (JobType.REBOOT, 10),
    (JobType.DEVICE_INFO, 5),
    (JobType.CERTIFICATE_RENEWAL, 5),
)
SYSTEM_TYPES = ((JobType.DEVICE_INFO, 60), (JobType.CERTIFICATE_RENEWAL, 40))
ERRORS = (
    "timeout: no result within 30 s",
    "connection refused by 10.20.30.40:22",
    "authentication failed for user admin",
    "the device did not come back online within 300 s",
    "verification failed: value 'gsm.apn' is 'internet', expected 'm2m.example'",
)


# --- generation -----------------------------------------------------------------------


def _steps_of(job_type: JobType) -> tuple[StepSpec, ...]:
    return JOB_TYPES[job_type].steps_for(has_file=False)


def _pick(rng: random.Random, weighted: tuple[tuple[JobType, int], ...]) -> JobType:
    return rng.choices([t for t, _ in weighted], [w for _, w in weighted])[0]


def _us(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(microseconds=1)


def _instant(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def _schedule(anchor: int, *, open_now: bool, created: int) -> dict[str, Any]:
    """A daily UTC window that is open at the anchor (or closed, for a paused job)."""
    hour = _instant(anchor).hour
    start, end = (hour - 2, hour + 4) if open_now else (hour + 6, hour + 10)
    start, end = start % 24, end % 24
    return {
        "kind": "scheduled",
        "from": _instant(created).date().isoformat(),
        "to": _instant(anchor + 60 * DAY).date().isoformat(),
        "window": f"{start:02d}:00-{end:02d}:00",
        "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "tz": "UTC",
    }


def _old_schedule(rng: random.Random, created: int) -> dict[str, Any]:
    if rng.random() < 0.75:
        return {"kind": "fire-and-forget"}
    day = _instant(created).date()
    return {
        "kind": "scheduled",
        "from": day.isoformat(),
        "to": (day + timedelta(days=rng.randrange(1, 14))).isoformat(),
        "window": rng.choice(["22:00-04:00", "01:00-05:00", "20:00-23:00"]),
        "weekdays": ["mon", "tue", "wed", "thu", "fri"],
        "tz": rng.choice(["Europe/Zurich", "Europe/Berlin", "America/Chicago", "Asia/Tokyo"]),
    }


@dataclass
class _Rows:
    jobs: list[tuple] = field(default_factory=list)
    tasks: list[tuple] = field(default_factory=list)
    steps: list[tuple] = field(default_factory=list)
    next_task: int = 1
    next_step: int = 1


def _add_steps(
    rows: _Rows, task_id: int, specs: tuple[StepSpec, ...], outcome: str, start: int, rng
) -> int:
    """Steps of one task; outcome: "done", "failed" (at a random step) or "pending"."""
    fail_at = rng.randrange(len(specs)) if outcome == "failed" else len(specs)
    at = start
    for position, spec in enumerate(specs):
        started = completed = message = None
        if outcome == "pending" or position > fail_at:
            status = StepStatus.PENDING.value
        elif position == fail_at:
            status, started, message = StepStatus.FAILED.value, at, rng.choice(ERRORS)
            at += 30 * US
        else:
            status, started, completed = StepStatus.COMPLETED.value, at, at + 20 * US
            at += 20 * US
        rows.steps.append(
            (rows.next_step, task_id, position, spec.name, status, started, None, completed,
             message, spec.fix_hint)
        )
        rows.next_step += 1
    return at


def _add_job(rows: _Rows, rng: random.Random, job_id: int, n_jobs: int, tasks_per_job: int,
             n_devices: int, anchor: int) -> None:
    created = anchor - MINUTE - (n_jobs - job_id) * (HISTORY // n_jobs)
    system = rng.random() < SYSTEM_SHARE
    job_type = _pick(rng, SYSTEM_TYPES if system else USER_TYPES)
    specs = _steps_of(job_type)
    unfinished = job_id > 0.9 * n_jobs and rng.random() < UNFINISHED_SHARE / 0.1
    devices = rng.sample(range(1, n_devices + 1), tasks_per_job)
    payload: dict[str, Any] = {}
    if job_type is JobType.CONFIG_UPDATE:
        payload = {"file": f"apn-{job_id % 97}.cfg", "sha256": f"{rng.getrandbits(256):064x}"}
    elif job_type is JobType.COMMAND:
        payload = {"command": "cli status -v"}

    if not unfinished:
        roll = rng.random()
        state = (JobState.SUCCEEDED if roll < 0.84 else
                 JobState.PARTIALLY_SUCCEEDED if roll < 0.92 else JobState.FAILED)
        n_ok = {JobState.SUCCEEDED: tasks_per_job, JobState.FAILED: 0}.get(
            state, rng.randrange(1, max(2, tasks_per_job))
        )
        schedule = _old_schedule(rng, created)
        last = created
        for k, device in enumerate(devices):
            ok = k < n_ok
            start = created + rng.randrange(2 * HOUR)
            end = _add_steps(rows, rows.next_task, specs, "done" if ok else "failed", start, rng)
            last = max(last, end)
            rows.tasks.append(
                (rows.next_task, job_id, device, f"rtr-{device:04d}",
                 TaskState.SUCCEEDED.value if ok else TaskState.FAILED.value,
                 1 if ok else rng.randrange(1, 4), start, None, None,
                 None if ok else rng.choice(ERRORS), 0, "{}", end)
            )
            rows.next_task += 1
        rows.jobs.append(
            (job_id, f"{job_type.value} #{job_id}", job_type.value, int(system),
             job_type.value if system else None, json.dumps(payload, sort_keys=True),
             json.dumps(schedule, sort_keys=True), state.value, tasks_per_job, tasks_per_job,
             1, created, last + 30 * MINUTE, None, None, last)
        )
        return

    roll = rng.random()
    state = (JobState.SCHEDULED if roll < 0.3 else
             JobState.RUNNING if roll < 0.8 else JobState.PAUSED)
    if state is JobState.PAUSED:
        schedule = _schedule(anchor, open_now=False, created=created)
        opening = schedule_from_dict(schedule).next_opening(_instant(anchor))
        assert opening is not None
        paused_until = _us(opening)
    elif rng.random() < 0.6:
        schedule = {"kind": "fire-and-forget"}
    else:
        schedule = _schedule(anchor, open_now=True, created=created)
    job_due = rng.random() < DUE_SHARE

    def waiting_at() -> int:
        if state is JobState.PAUSED:
            return paused_until
        if state is JobState.SCHEDULED:  # one first attempt for every task of the job
            return anchor - rng.randrange(HOUR) if job_due else anchor + rng.randrange(7 * DAY)
        if rng.random() < DUE_SHARE:
            return anchor - rng.randrange(HOUR)
        return anchor + rng.randrange(7 * DAY)

    first_at = waiting_at()
    finished = 0
    for k, device in enumerate(devices):
        start = anchor - rng.randrange(1, 3 * DAY)
        roll = rng.random()
        if state is JobState.SCHEDULED:
            outcome = "pending"
        elif k == 0 or roll < 0.4:  # the first task succeeded: the job was attempted
            outcome = "done"
        elif roll < 0.5:
            outcome = "failed"
        else:
            outcome = "waiting"
        if k == tasks_per_job - 1 and finished == tasks_per_job - 1:
            outcome = "waiting"  # an unfinished job keeps at least one open task
        steps_outcome = {"waiting": "failed"}.get(outcome, outcome)
        end = _add_steps(rows, rows.next_task, specs, steps_outcome, start, rng)
        if outcome == "done":
            task = (TaskState.SUCCEEDED.value, 1, start, None, None)
        elif outcome == "failed":
            task = (TaskState.FAILED.value, 3, start, None, rng.choice(ERRORS))
        elif outcome == "waiting":
            task = (TaskState.RESCHEDULED.value, rng.randrange(1, 3), start, waiting_at(),
                    rng.choice(ERRORS))
        else:
            task = (TaskState.SCHEDULED.value, 0, None, first_at, None)
            end = created
        finished += outcome in ("done", "failed")
        rows.tasks.append(
            (rows.next_task, job_id, device, f"rtr-{device:04d}", *task[:2], task[2], task[3],
             None, task[4], 0, "{}", end)
        )
        rows.next_task += 1
    rows.jobs.append(
        (job_id, f"{job_type.value} #{job_id}", job_type.value, int(system),
         job_type.value if system else None, json.dumps(payload, sort_keys=True),
         json.dumps(schedule, sort_keys=True), state.value, finished, tasks_per_job,
         int(state is not JobState.SCHEDULED), created, anchor + 30 * DAY, None, None,
         anchor - MINUTE)
    )


_INSERT_JOB = (
    "INSERT INTO job (id, name, type, system, purpose, payload, schedule, state, progress_done,"
    " progress_total, attempted, created_at, expires_at, cancelled_at, replaced_by_id,"
    " updated_at) VALUES (" + ",".join("?" * 16) + ")"
)
_INSERT_TASK = (
    "INSERT INTO task (id, job_id, device_id, device_name, state, attempts, last_triggered_at,"
    " next_attempt_at, current_step, reason, cancel_requested, context, updated_at)"
    " VALUES (" + ",".join("?" * 13) + ")"
)
_INSERT_STEP = (
    "INSERT INTO step (id, task_id, position, name, status, started_at, skipped_at,"
    " completed_at, message, fix_hint) VALUES (" + ",".join("?" * 10) + ")"
)


def generate(path: Path, n_jobs: int, tasks_per_job: int, n_devices: int, seed: int) -> float:
    """Create the database at `path` from scratch; returns the seconds it took."""
    started = time.perf_counter()
    for leftover in _files_of(path):
        leftover.unlink(missing_ok=True)
    rng = random.Random(seed)
    anchor = int(time.time()) // 60 * 60 * US
    with Store(path) as store:  # the product's schema, indexes and migrations
        db = store.db
        conn = db.connection()
        conn.execute("PRAGMA synchronous=OFF")  # generation only; Store opens it normally
        conn.execute("PRAGMA cache_size=-262144")
        with db.atomic():
            conn.executemany(
                "INSERT INTO device (id, name, host, port, user, profile, created_at, model,"
                " firmware) VALUES (?, ?, ?, 22, 'admin', 'netmodule', ?, ?, ?)",
                [(d, f"rtr-{d:04d}", f"10.{d // 250}.{d % 250}.1", anchor - HISTORY,
                  rng.choice(["NB800", "NB1601", "NB2800"]), "4.8.0.102")
                 for d in range(1, n_devices + 1)],
            )
            conn.executemany(
                "INSERT INTO device_tag (device_id, tag) VALUES (?, ?)",
                [(d, tag) for d in range(1, n_devices + 1)
                 for tag in (f"site-{d % 40:02d}", f"ring-{d % 4}")],
            )
        rows = _Rows()
        for job_id in range(1, n_jobs + 1):
            _add_job(rows, rng, job_id, n_jobs, tasks_per_job, n_devices, anchor)
            if job_id % JOBS_PER_TRANSACTION == 0 or job_id == n_jobs:
                with db.atomic():
                    conn.executemany(_INSERT_JOB, rows.jobs)
                    conn.executemany(_INSERT_TASK, rows.tasks)
                    conn.executemany(_INSERT_STEP, rows.steps)
                rows.jobs.clear()
                rows.tasks.clear()
                rows.steps.clear()
        columns = {row[1] for row in conn.execute('PRAGMA table_info("job")')}
        if "next_attempt_at" in columns:  # a job's earliest waiting task, where the store has it
            with db.atomic():
                conn.execute(
                    "UPDATE job SET next_attempt_at = (SELECT MIN(t.next_attempt_at) FROM task t"
                    " WHERE t.job_id = job.id AND t.next_attempt_at IS NOT NULL)"
                    " WHERE state IN ('Scheduled', 'Running', 'Paused')"
                )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - started


def _files_of(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _has_size(path: Path, n_jobs: int, tasks_per_job: int) -> bool:
    if not path.exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            jobs = conn.execute("SELECT COUNT(*), MAX(id) FROM job").fetchone()
            tasks = conn.execute("SELECT COUNT(*) FROM task").fetchone()[0]
            steps = conn.execute("SELECT COUNT(*) FROM step").fetchone()[0]
            for model in MODELS:  # generated by an older jobdesk: generate again
                table = model._meta.table_name
                have = {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}
                if not set(model._meta.columns) <= have:
                    return False
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return jobs == (n_jobs, n_jobs) and tasks == n_jobs * tasks_per_job and steps > 0


def prepare(path: Path, n_jobs: int, tasks_per_job: int, n_devices: int, seed: int,
            created: list[Path]) -> None:
    label = f"{n_jobs:,} jobs / {n_jobs * tasks_per_job:,} tasks"
    if _has_size(path, n_jobs, tasks_per_job):
        print(f"reusing {path} ({label}, {_size_mb(path):,.0f} MB)")
        return
    print(f"generating {path} ({label}) ...", flush=True)
    seconds = generate(path, n_jobs, tasks_per_job, n_devices, seed)
    created.append(path)
    conn = sqlite3.connect(str(path))
    steps, waiting = conn.execute(
        "SELECT (SELECT COUNT(*) FROM step),"
        " (SELECT COUNT(*) FROM task WHERE next_attempt_at IS NOT NULL)"
    ).fetchone()
    conn.close()
    print(f"  generated in {seconds:.1f} s: {steps:,} steps, {waiting:,} waiting tasks,"
          f" {_size_mb(path):,.0f} MB")


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in _files_of(path) if p.exists()) / 1e6


def anchor_of(store: Store) -> datetime:
    """The generation instant: the newest job was created one minute before it."""
    (newest,) = store.db.execute_sql("SELECT MAX(created_at) FROM job").fetchone()
    return _instant(newest + MINUTE)


# --- measuring ------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    samples_ms: list[float]
    target_ms: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.samples_ms, n=20, method="inclusive")[18]

    def line(self) -> str:
        verdict = ""
        if self.target_ms is not None:
            ok = self.p95 <= self.target_ms
            verdict = f"  target <= {self.target_ms:g} ms (p95): {'PASS' if ok else 'FAIL'}"
        return (f"  {self.name:<46} median {self.median:7.3f} ms   p95 {self.p95:7.3f} ms"
                f"   (n={len(self.samples_ms)}){verdict}")


def measure(name: str, call: Callable[[], Any], reps: int, target_ms: float | None = None,
            warmup: int = 5) -> Result:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    result = Result(name, samples, target_ms)
    print(result.line(), flush=True)
    return result


class _SqlCapture(logging.Handler):
    """Peewee logs every statement it runs as (sql, params) at DEBUG level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[tuple[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, tuple) and len(record.msg) == 2:
            self.statements.append(record.msg)


def explain(store: Store, title: str, call: Callable[[], Any]) -> list[str]:
    """Run `call`, and print the query plan of each SELECT it ran (the exact SQL)."""
    logger = logging.getLogger("peewee")
    capture, level = _SqlCapture(), logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.DEBUG)
    try:
        call()
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)
    lines = [f"EXPLAIN QUERY PLAN -- {title}"]
    for sql, params in capture.statements:
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        lines.append(f"  {sql}")
        lines.append(f"    params: {list(params)}")
        if store.is_postgres:
            for (detail,) in store.db.execute_sql("EXPLAIN " + sql, params).fetchall():
                lines.append("      " + detail)
            continue
        plan = store.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        depth: dict[int, int] = {0: 0}
        for node, parent, _, detail in plan:
            depth[node] = depth.get(parent, 0) + 1
            lines.append("    " + "  " * depth[node] + detail)
    print("\n".join(lines))
    return lines


def load_into_postgres(source: Path, url: str) -> str:
    """The generated SQLite database, copied into a fresh PostgreSQL database (COPY)."""
    started = time.perf_counter()
    with Store(url) as store:
        connection = store.db.connection()
        lite = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            for table in ("device", "device_tag", "job", "task", "step"):
                theirs = [row[1] for row in lite.execute(f'PRAGMA table_info("{table}")')]
                names = ", ".join(f'"{c}"' for c in theirs)
                cursor = lite.execute(f'SELECT {names} FROM "{table}"')
                with connection.cursor() as pg, pg.copy(
                    f'COPY "{table}" ({names}) FROM STDIN'
                ) as copy:
                    for row in cursor:
                        copy.write_row(row)
                connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f'COALESCE((SELECT MAX(id) FROM "{table}"), 1))')
            connection.execute("ANALYZE")
            connection.commit()
        finally:
            lite.close()
    print(f"  loaded {source.name} into PostgreSQL in {time.perf_counter() - started:.1f} s")
    return url


def bench_due(store: Store, label: str, reps: int) -> Result:
    now = anchor_of(store)
    rng = random.Random(7)
    busy = rng.sample(range(1, 1001), BUSY_DEVICES)
    picked = store.queue.due(now, 50, busy)
    print(f"  ({label}: due() returns {len(picked)} task ids; {BUSY_DEVICES} devices busy)")
    return measure(f"due(now, 50, busy) -- {label}", lambda: store.queue.due(now, 50, busy),
                   reps, TARGET_DUE_MS)


def bench_pages(store: Store, reps: int) -> list[Result]:
    jobs = store.jobs
    (failed,) = store.db.execute_sql(
        "SELECT COUNT(*) FROM job WHERE system = FALSE AND state = 'Failed'"
    ).fetchone()
    (running,) = store.db.execute_sql(
        "SELECT COUNT(*) FROM job WHERE system = FALSE AND state = 'Running'"
    ).fetchone()
    print(f"  ({failed:,} user jobs Failed, {running:,} Running)")
    results = [measure("list() unfiltered, first page", lambda: jobs.list(system=False),
                       reps, TARGET_PAGE_MS)]
    last = max(0, failed - 200)
    for offset in sorted({0, min(1000, last), min(5000, last), last}):
        results.append(measure(
            f"list(state='Failed', offset={offset:,})",
            lambda offset=offset: jobs.list(system=False, state="Failed", limit=200,
                                            offset=offset),
            reps, TARGET_PAGE_MS,
        ))
    results.append(measure("list(state='Running'), first page",
                           lambda: jobs.list(system=False, state="Running"), reps,
                           TARGET_PAGE_MS))
    return results


@dataclass
class ChangeStats:
    changes: int = 0
    seconds: float = 0.0
    tasks_claimed: int = 0
    tasks_succeeded: int = 0
    tasks_failed: int = 0
    clock_jumps: int = 0
    per_call: dict[str, list[float]] = field(default_factory=dict)

    def timed(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        name = call.__name__
        started = time.perf_counter()
        value = call(*args, **kwargs)
        self.per_call.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        return value

    @property
    def rate(self) -> float:
        return self.changes / self.seconds


def _attempt(queue: TaskQueue, attempt: Attempt, now: Callable[[], datetime],
             stats: ChangeStats, fail_at: int) -> None:
    """One attempt's steps, as the runtime's `_run_attempt` calls the store for them."""
    hold = attempt.hold
    pending = [s for s in attempt.steps if not StepStatus(s.status).is_done]
    for index, step in enumerate(pending):
        stop = stats.timed(queue.begin_step, hold, step.id, now())
        stats.changes += 1
        if stop is not None:
            return
        if index == fail_at:
            stats.timed(
                queue.fail_step, hold, step.id, now(),
                message="timeout: no result within 30 s", retryable=True,
                retry_interval=RETRY_INTERVAL,
            )
            stats.changes += 1
            stats.tasks_failed += 1
            return
        done = stats.timed(queue.complete_step, hold, step.id, now(), message="ok")
        stats.changes += 1
        if done:
            stats.tasks_succeeded += 1
            return


def bench_state_changes(store: Store, seconds: float) -> ChangeStats:
    """The runtime's sequence, one attempt after the other, on due tasks.

    The clock is the anchor plus the time elapsed; when nothing is due the clock jumps to
    the next due task (where the runtime would sleep), so the loop measures the store only.
    Each claim, begin_step, complete_step and fail_step call that changed something counts
    as one state change; the due() and next_due_at() calls are inside the measured time.
    """
    rng = random.Random(11)
    queue = store.queue
    stats = ChangeStats()
    anchor = anchor_of(store)
    skew = timedelta(0)
    started = time.perf_counter()

    def now() -> datetime:
        return anchor + skew + timedelta(seconds=time.perf_counter() - started)

    while time.perf_counter() - started < seconds:
        attempts, changes = stats.timed(queue.claim_due, "bench", now(), CLAIM_BATCH)
        stats.changes += len(changes) - len(attempts)  # tasks ended or moved, not started
        if not attempts:
            next_at = queue.next_due_at()
            if next_at is None:
                print("  the queue ran empty")
                break
            if not changes:
                skew += max(timedelta(0), next_at - now())
                stats.clock_jumps += 1
            continue
        for attempt in attempts:
            stats.changes += 1
            stats.tasks_claimed += 1
            pending = sum(not StepStatus(s.status).is_done for s in attempt.steps)
            fail_at = rng.randrange(pending) if rng.random() < FAIL_SHARE else -1
            _attempt(queue, attempt, now, stats, fail_at)
            if time.perf_counter() - started >= seconds:
                break
    stats.seconds = time.perf_counter() - started
    return stats


def sql_floor(store: Store, reps: int = 200) -> tuple[list[int], float]:
    """Diagnosis: what the same statements cost in SQLite alone, without building them.

    Records the exact SQL and parameters Peewee sends for one claim and the begin_step /
    complete_step calls of its attempt, then replays them through `execute_sql`, one write
    transaction per call as before. Returns the statements per call and the calls per second.
    """
    logger = logging.getLogger("peewee")
    capture, level = _SqlCapture(), logger.level
    calls: list[list[tuple[str, Any]]] = []
    now = anchor_of(store) + timedelta(days=8)  # every waiting task is due by then

    def recorded(call: Callable[[], Any]) -> Any:
        capture.statements.clear()
        value = call()
        calls.append(list(capture.statements))
        return value

    logger.addHandler(capture)
    logger.setLevel(logging.DEBUG)
    try:
        for task_id in store.queue.due(now, 50, ()):
            attempt, _ = recorded(lambda task_id=task_id: store.queue.claim(task_id, now))
            if attempt is not None:
                break
            calls.clear()
        assert attempt is not None, "no task could be claimed"
        for step in attempt.steps:
            recorded(lambda step=step: store.queue.begin_step(attempt.hold, step.id, now))
            if recorded(lambda step=step: store.queue.complete_step(
                attempt.hold, step.id, now, message="ok"
            )):
                break
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)
    started = time.perf_counter()
    for _ in range(reps):
        for statements in calls:
            with store.transaction():
                for sql, params in statements:
                    cursor = store.db.execute_sql(sql, params)
                    if cursor.description is not None:
                        cursor.fetchall()
    rate = reps * len(calls) / (time.perf_counter() - started)
    return [len(statements) for statements in calls], rate



# --- main -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--tasks-per-job", type=int, default=10)
    parser.add_argument("--devices", type=int, default=1_000)
    parser.add_argument("--db", type=Path, default=None,
                        help="database file (reused when it has the right size); the 10x "
                             "smaller one is written next to it with '-small' in its name")
    parser.add_argument("--keep", action="store_true",
                        help="keep the databases this run generated (for a later --db reuse)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="duration of the state-change loop")
    parser.add_argument("--reps", type=int, default=300, help="repetitions per query")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--postgres", action="store_true",
                        help="measure on PostgreSQL: a throwaway server (Debian's postgresql "
                             "package) loaded with the generated data")
    args = parser.parse_args(argv)
    if args.tasks_per_job > args.devices:
        parser.error("--tasks-per-job cannot exceed --devices (one task per device and job)")

    tpj = args.tasks_per_job
    default = Path(tempfile.gettempdir()) / "jobdesk-bench" / f"store-{args.jobs}x{tpj}.sqlite"
    big = args.db or default
    small_jobs = max(1, args.jobs // 10)
    small = big.with_name(f"{big.stem}-small{big.suffix}")
    created: list[Path] = []
    cluster: Any = None
    print(f"python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}")
    try:
        prepare(big, args.jobs, tpj, args.devices, args.seed, created)
        prepare(small, small_jobs, tpj, args.devices, args.seed, created)
        big_at: Path | str = big
        small_at: Path | str = small
        if args.postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.postgres_cluster import Cluster, find_binaries

            binaries = find_binaries()
            if binaries is None:
                raise SystemExit("--postgres needs PostgreSQL: apt-get install postgresql")
            cluster = Cluster(binaries)
            print(f"PostgreSQL from {binaries}")
            big_at = load_into_postgres(big, cluster.new_database())
            small_at = load_into_postgres(small, cluster.new_database())

        results: list[Result] = []
        print("\nDue tasks (TaskQueue.due):")
        with Store(small_at) as store:
            results.append(bench_due(store, f"{small_jobs * tpj:,} tasks", args.reps * 3))
        with Store(big_at) as store:
            results.append(bench_due(store, f"{args.jobs * tpj:,} tasks", args.reps * 3))
            print("\nPage of 200 jobs (JobRepository.list):")
            results.extend(bench_pages(store, args.reps))
            print()
            now = anchor_of(store)
            busy = random.Random(7).sample(range(1, args.devices + 1), BUSY_DEVICES)
            explain(store, "due tasks", lambda: store.queue.due(now, 50, busy))
            explain(store, "page of failed user jobs",
                    lambda: store.jobs.list(system=False, state="Failed", offset=1000))
            explain(store, "first page of user jobs", lambda: store.jobs.list(system=False))

        scratch = big.with_name(f"{big.stem}-scratch{big.suffix}")
        if not args.postgres:  # the loop writes; the generated database stays as is
            shutil.copyfile(big, scratch)
        try:
            with Store(scratch if not args.postgres else big_at) as store:
                print(f"\nTask state changes ({args.seconds:g} s, claim -> begin_step -> "
                      "complete_step | fail_step, one transaction each):")
                stats = bench_state_changes(store, args.seconds)
                per_call, floor = sql_floor(store)
        finally:
            for path in _files_of(scratch):
                path.unlink(missing_ok=True)
        for name, samples in stats.per_call.items():
            print(Result(f"{name}() [{len(samples):,} calls]", samples).line())
        ok = stats.rate >= TARGET_CHANGES_PER_S
        print(f"  {stats.changes:,} state changes in {stats.seconds:.2f} s "
              f"({stats.tasks_claimed:,} attempts: {stats.tasks_succeeded:,} succeeded, "
              f"{stats.tasks_failed:,} failed and rescheduled; {stats.clock_jumps} clock jumps)")
        print(f"  => {stats.rate:,.0f} changes/s   target >= {TARGET_CHANGES_PER_S:,.0f}/s: "
              f"{'PASS' if ok else 'FAIL'}")
        print(f"  diagnosis: statements per call of one attempt (claim, then begin/complete per"
              f" step): {per_call};\n  the same SQL replayed through execute_sql, one write"
              f" transaction per call: {floor:,.0f} calls/s")

        print("\nSummary:")
        failures = [r for r in results if r.target_ms is not None and r.p95 > r.target_ms]
        for r in results:
            print(r.line())
        print(f"  state changes: {stats.rate:,.0f}/s  {'PASS' if ok else 'FAIL'}")
        return 0 if ok and not failures else 1
    finally:
        if cluster is not None:
            cluster.stop()
        if not args.keep:
            for path in created:
                for file in _files_of(path):
                    file.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
