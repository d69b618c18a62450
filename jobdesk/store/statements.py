"""Every hand-written statement of the store, in one place, written for SQLite and PostgreSQL.

Portable means: `?` placeholders (`Sql` translates them), identifiers that are keywords
somewhere quoted (`"user"` is the role name in PostgreSQL), TRUE/FALSE for booleans,
aggregates with one argument (no two-argument MAX), no REPLACE, UPDATE … RETURNING and
INSERT … ON CONFLICT as both have them. What truly differs — the database's clock and the
row locks of a claim — comes from the backend module (`sqlite.py`, `postgres.py`) and is
filled in once, when a store opens: `Statements(dialect)`.

Column lists that records are read with (`JOB_COLUMNS`, …) live here too; the converters in
`store/jobs.py` read rows in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

JOB_COLUMNS = (
    "id, name, type, system, purpose, payload, schedule, state, progress_done, "
    "progress_total, created_at, expires_at, cancelled_at, replaced_by_id, next_attempt_at, "
    "rollout"
)
TASK_COLUMNS = (
    "id, job_id, device_id, device_name, state, attempts, last_triggered_at, "
    "next_attempt_at, current_step, reason, cancel_requested, context, updated_at, claimed_by, "
    "cancel_requested_at, batch, failures, held"
)
STEP_COLUMNS = (
    "id, position, name, status, started_at, skipped_at, completed_at, message, fix_hint"
)
DEVICE_COLUMNS = (
    'id, name, host, port, "user", profile, key_path, model, serial, firmware, '
    "boot_id, info_updated_at, last_seen_at, cert_expires_at, cert_fingerprint"
)

# A task with its job, as the lifecycle needs them (`queue._facts` reads this order).
FACTS = (
    "SELECT t.id, t.job_id, t.device_id, t.state, t.attempts, t.cancel_requested, "
    "t.reason, j.cancelled_at, j.replaced_by_id, j.expires_at, j.schedule, j.state, "
    "t.interrupted, t.cancel_requested_at, t.next_attempt_at, t.failures, j.rollout, t.batch "
    "FROM task t JOIN job j ON j.id = t.job_id"
)

# --- reading records -------------------------------------------------------------------------

JOB = f"SELECT {JOB_COLUMNS} FROM job WHERE id = ?"
TASK = f"SELECT {TASK_COLUMNS} FROM task WHERE id = ?"
STEP = f"SELECT {STEP_COLUMNS} FROM step WHERE id = ?"
STEPS_OF_TASK = f"SELECT {STEP_COLUMNS} FROM step WHERE task_id = ? ORDER BY position"
DEVICE = f"SELECT {DEVICE_COLUMNS} FROM device WHERE id = ?"
TAGS_OF_DEVICE = "SELECT tag FROM device_tag WHERE device_id = ?"
TASKS_OF_JOB_SINCE = (
    f"SELECT {TASK_COLUMNS} FROM task WHERE job_id = ? AND updated_at >= ? "
    "ORDER BY device_name"
)
STEPS_OF_JOB_SINCE = (
    "SELECT s.task_id, " + ", ".join(f"s.{c.strip()}" for c in STEP_COLUMNS.split(","))
    + " FROM step s JOIN task t ON t.id = s.task_id WHERE t.job_id = ? AND t.updated_at >= ? "
    "ORDER BY s.task_id, s.position"
)

# The history of attempts (spec B1): every step each attempt ran, oldest attempt first.
_RUN_COLUMNS = (
    "r.task_id, r.step_id, s.name, s.position, r.attempt, r.status, r.started_at, "
    "r.skipped_at, r.completed_at, r.message"
)
RUNS_OF_TASK = (
    f"SELECT {_RUN_COLUMNS} FROM step_run r JOIN step s ON s.id = r.step_id "
    "WHERE r.task_id = ? ORDER BY r.attempt, s.position"
)
RUNS_OF_JOB_SINCE = (
    f"SELECT {_RUN_COLUMNS} FROM step_run r JOIN step s ON s.id = r.step_id "
    "JOIN task t ON t.id = r.task_id WHERE t.job_id = ? AND t.updated_at >= ? "
    "AND r.attempt >= ? * t.attempts ORDER BY r.task_id, r.attempt, s.position"
)


def jobs_by_id(count: int) -> str:
    return f"SELECT {JOB_COLUMNS} FROM job WHERE id IN ({_marks(count)})"


# --- creating jobs ---------------------------------------------------------------------------

INSERT_TASK = (
    "INSERT INTO task (job_id, device_id, device_name, state, attempts, next_attempt_at, "
    "cancel_requested, interrupted, context, updated_at, batch, held, reason) "
    "VALUES (?, ?, ?, ?, 0, ?, FALSE, FALSE, '{}', ?, ?, ?, ?)"
)
TASK_IDS_OF_JOB = "SELECT id FROM task WHERE job_id = ?"
INSERT_STEP = "INSERT INTO step (task_id, position, name, status, fix_hint) VALUES (?, ?, ?, ?, ?)"

# --- job state -------------------------------------------------------------------------------

JOB_FOR_REFRESH = (
    "SELECT state, progress_done, progress_total, attempted, next_attempt_at, "
    "cancelled_at, replaced_by_id, expires_at, schedule, rollout FROM job WHERE id = ?"
)
# A rollout's view of its tasks (spec B8).
ROLLOUT_TASKS = (
    "SELECT id, batch, state, attempts, failures, last_failed, last_triggered_at, held, "
    "reason FROM task WHERE job_id = ? ORDER BY device_name"
)
CANCEL_WAITING_TASK = (
    "UPDATE task SET state = ?, reason = ?, next_attempt_at = NULL, held = FALSE, "
    "interrupted = FALSE, updated_at = ? WHERE id = ? AND state IN ('Scheduled', 'Rescheduled')"
)
HOLD_TASK = (
    "UPDATE task SET held = TRUE, next_attempt_at = ?, reason = ?, updated_at = ? "
    "WHERE id = ? AND state IN ('Scheduled', 'Rescheduled')"
)
RELEASE_TASK = (
    "UPDATE task SET held = FALSE, next_attempt_at = ?, reason = NULL, updated_at = ? "
    "WHERE id = ? AND held AND state IN ('Scheduled', 'Rescheduled')"
)
SET_ROLLOUT = "UPDATE job SET rollout = ? WHERE id = ?"
RECENT_STARTS_OF_JOB = (
    "SELECT last_triggered_at FROM task WHERE job_id = ? AND last_triggered_at > ?"
)
RUNNING_OF_JOB = "SELECT COUNT(*) FROM task WHERE job_id = ? AND state = 'Running'"
POSTPONE_TASK = "UPDATE task SET next_attempt_at = ?, updated_at = ? WHERE id = ?"
FAILED_ATTEMPT = "UPDATE task SET failures = failures + 1, last_failed = TRUE WHERE id = ?"
TASK_TALLY = (
    "SELECT state, COUNT(*), MAX(attempts), MIN(next_attempt_at) FROM task "
    "WHERE job_id = ? GROUP BY state"
)

# --- due work --------------------------------------------------------------------------------


def _marks(count: int) -> str:
    return ", ".join("?" for _ in range(count))


# Busy devices are left out by the caller, not in SQL: PostgreSQL's planner takes a filter
# `device_id NOT IN (…)` for very selective and then sorts every due task instead of walking
# the index in order (9 ms instead of 1 at a million tasks).
INTERRUPTED_TASKS = (
    # No condition on the time: with one, SQLite's planner may take the big index of all
    # waiting tasks and filter it; so only the small one of interrupted tasks serves.
    "SELECT id, device_id, next_attempt_at FROM task WHERE interrupted "
    "ORDER BY next_attempt_at, id LIMIT ?"
)
DUE_TASKS = (
    "SELECT id, device_id, next_attempt_at FROM task WHERE next_attempt_at IS NOT NULL "
    "AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?"
)


# --- steps -----------------------------------------------------------------------------------

BEGIN_STEP = (
    "UPDATE step SET status = ?, started_at = ?, completed_at = NULL, message = NULL "
    "WHERE id = ?"
)
CURRENT_STEP = (
    "UPDATE task SET current_step = (SELECT name FROM step WHERE id = ?), updated_at = ? "
    "WHERE id = ?"
)
COMPLETE_STEP = "UPDATE step SET status = ?, completed_at = ?, message = ? WHERE id = ?"
STEPS_LEFT_AFTER = (
    "SELECT id FROM step WHERE task_id = ? AND status NOT IN (?, ?) AND "
    "position > (SELECT position FROM step WHERE id = ?)"
)
TASK_CONTEXT = "SELECT context FROM task WHERE id = ?"
TASK_CANCEL_REQUEST = "SELECT cancel_requested, cancel_requested_at FROM task WHERE id = ?"
STEPS_NOT_DONE = "SELECT COUNT(*) FROM step WHERE task_id = ? AND status NOT IN (?, ?)"
RUNNING_STEP_BACK = (
    "UPDATE step SET status = ?, message = ?, started_at = NULL WHERE task_id = ? AND status = ?"
)
# A step that runs again after a failed verification: Pending in the plan, its earlier run
# kept in `step_run`.
RERUN_STEP = (
    "UPDATE step SET status = ?, started_at = NULL, completed_at = NULL, skipped_at = NULL, "
    "message = ? WHERE id = ?"
)
# The run of a step in the task's current attempt (`attempts + ?`: 1 for a step a person
# skips between attempts, which the next attempt takes as it is).
RUN_BEGIN = (
    "INSERT INTO step_run (task_id, step_id, attempt, status, started_at) "
    "SELECT s.task_id, s.id, t.attempts, ?, ? FROM step s JOIN task t ON t.id = s.task_id "
    "WHERE s.id = ? ON CONFLICT (step_id, attempt) DO UPDATE SET status = excluded.status, "
    "started_at = excluded.started_at, skipped_at = NULL, completed_at = NULL, message = NULL"
)
RUN_SKIPPED = (
    "INSERT INTO step_run (task_id, step_id, attempt, status, skipped_at, message) "
    "SELECT s.task_id, s.id, t.attempts + ?, ?, ?, ? FROM step s "
    "JOIN task t ON t.id = s.task_id WHERE s.id = ? ON CONFLICT (step_id, attempt) DO UPDATE "
    "SET status = excluded.status, skipped_at = excluded.skipped_at, "
    "message = excluded.message"
)
RUN_COMPLETE = (
    "UPDATE step_run SET status = ?, completed_at = ?, message = ? "
    "WHERE step_id = ? AND status = ?"
)
RUN_FAIL = "UPDATE step_run SET status = ?, message = ? WHERE step_id = ? AND status = ?"
RUNS_INTERRUPTED = "UPDATE step_run SET status = ?, message = ? WHERE task_id = ? AND status = ?"
FREE_DEVICE = (
    "UPDATE device SET busy_task_id = NULL "
    "WHERE id = (SELECT device_id FROM task WHERE id = ?) AND busy_task_id = ?"
)
MARK_DEVICE_BUSY = "UPDATE device SET busy_task_id = ? WHERE id = ? AND busy_task_id IS NULL"
JOBS_OVERDUE = (
    "SELECT id, schedule FROM job WHERE next_attempt_at IS NOT NULL AND next_attempt_at < ? "
    "AND cancelled_at IS NULL AND replaced_by_id IS NULL"
)


def skip_steps(count: int) -> str:
    return f"UPDATE step SET status = ?, skipped_at = ?, message = ? WHERE id IN ({_marks(count)})"


def update_row(table: str, columns: Sequence[str]) -> str:
    """UPDATE some columns of one row by id."""
    assignments = ", ".join(f'"{name}" = ?' for name in columns)
    return f'UPDATE "{table}" SET {assignments} WHERE id = ?'


# --- copying and checking (`store/copy.py`) ----------------------------------------------------

COPY_JOB_IDENTITIES = "SELECT id, uuid, updated_at FROM job"
COPY_DEVICE_NAMES = "SELECT id, name FROM device"
COPY_TASKS_OF_JOB = "SELECT * FROM task WHERE job_id = ? ORDER BY id"
COPY_STEPS_OF_TASK = "SELECT * FROM step WHERE task_id = ? ORDER BY position"
COPY_TASK_IDENTITIES = "SELECT id, device_name, updated_at FROM task WHERE job_id = ?"
INSERT_TAG = "INSERT INTO device_tag (device_id, tag) VALUES (?, ?)"
DELETE_STEPS_OF_TASK = "DELETE FROM step WHERE task_id = ?"
DELETE_RUNS_OF_TASK = "DELETE FROM step_run WHERE task_id = ?"
COPY_RUNS_OF_TASK = "SELECT * FROM step_run WHERE task_id = ? ORDER BY id"
DELETE_TASK = "DELETE FROM task WHERE id = ?"
COUNT_RUNNING = "SELECT COUNT(*) FROM task WHERE state = 'Running'"


def count(table: str) -> str:
    return f'SELECT COUNT(*) FROM "{table}"'


def all_rows(table: str) -> str:
    return f'SELECT * FROM "{table}" ORDER BY id'


def insert_returning_id(table: str, columns: Sequence[str]) -> str:
    names = ", ".join(f'"{name}"' for name in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({_marks(len(columns))}) RETURNING id'


# What must hold in every jobdesk database, whichever the backend: (what, query counting
# the rows that break it).
INVARIANTS = (
    ("waiting tasks without a next attempt, or others with one",
     "SELECT COUNT(*) FROM task WHERE (state IN ('Scheduled', 'Rescheduled')) <> "
     "(next_attempt_at IS NOT NULL)"),
    ("devices marked busy by a task that is not running on them",
     "SELECT COUNT(*) FROM device d WHERE d.busy_task_id IS NOT NULL AND NOT EXISTS "
     "(SELECT 1 FROM task t WHERE t.id = d.busy_task_id AND t.state = 'Running' "
     "AND t.device_id = d.id)"),
    ("tasks of a missing job", "SELECT COUNT(*) FROM task t WHERE NOT EXISTS "
     "(SELECT 1 FROM job j WHERE j.id = t.job_id)"),
    ("steps of a missing task", "SELECT COUNT(*) FROM step s WHERE NOT EXISTS "
     "(SELECT 1 FROM task t WHERE t.id = s.task_id)"),
    ("step runs of a missing step", "SELECT COUNT(*) FROM step_run r WHERE NOT EXISTS "
     "(SELECT 1 FROM step s WHERE s.id = r.step_id AND s.task_id = r.task_id)"),
    ("jobs whose task count is off", "SELECT COUNT(*) FROM job j WHERE j.progress_total <> "
     "(SELECT COUNT(*) FROM task t WHERE t.job_id = j.id)"),
)



class Statements:
    """The statements that need the backend's clock or row locks, filled in once."""

    def __init__(self, dialect: ModuleType) -> None:
        now, claim_lock = dialect.NOW_US, dialect.CLAIM_LOCK
        row_lock, skip_locked = dialect.ROW_LOCK, dialect.SKIP_LOCKED
        self.now = f"SELECT {now}"
        # Due tasks, one per free device and interrupted ones first, with the task and
        # device rows locked (skipped when another runtime holds them).
        self.claim_candidates = (
            f"{FACTS} JOIN device d ON d.id = t.device_id "
            "WHERE t.id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY "
            "device_id ORDER BY interrupted DESC, next_attempt_at, id) AS place FROM ("
            "SELECT * FROM (SELECT id, device_id, interrupted, next_attempt_at FROM task "
            "WHERE interrupted ORDER BY next_attempt_at, id LIMIT ?) AS resumed "
            "UNION ALL SELECT * FROM (SELECT id, device_id, interrupted, next_attempt_at "
            "FROM task WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, id LIMIT ?) AS waiting) AS due "
            "WHERE next_attempt_at <= ?) AS ranked WHERE place = 1) "
            "AND t.next_attempt_at IS NOT NULL AND t.next_attempt_at <= ? "
            "AND d.busy_task_id IS NULL "
            f"ORDER BY t.interrupted DESC, t.next_attempt_at, t.id LIMIT ?{claim_lock}"
        )
        self.claim_one = (
            f"{FACTS} JOIN device d ON d.id = t.device_id WHERE t.id = ? "
            "AND t.next_attempt_at IS NOT NULL AND t.next_attempt_at <= ? "
            f"AND d.busy_task_id IS NULL{claim_lock}"
        )
        # The start of an attempt, written only if the task is still due.
        self.start = (
            "UPDATE task SET state = ?, attempts = attempts + 1, last_triggered_at = ?, "
            "next_attempt_at = NULL, reason = NULL, interrupted = FALSE, claimed_by = ?, "
            f"lease_until = {now} + ?, fence = fence + 1, updated_at = ? "
            "WHERE id = ? AND state IN (?, ?) AND next_attempt_at IS NOT NULL "
            "AND next_attempt_at <= ? RETURNING fence"
        )
        # Waiting tasks a sweep changes, locked; one a runtime is claiming right now is
        # skipped (its claim decides), so a sweep never turns a just-claimed task back.
        self.waiting_expired_or_deviceless = (
            f"{FACTS} WHERE t.next_attempt_at IS NOT NULL "
            f"AND (j.expires_at <= ? OR t.device_id IS NULL){skip_locked}"
        )
        self.overdue_tasks_of_job = (
            f"{FACTS} WHERE t.job_id = ? AND t.next_attempt_at IS NOT NULL "
            f"AND t.next_attempt_at < ?{skip_locked}"
        )
        self.held = (
            f"{FACTS} WHERE t.id = ? AND t.claimed_by = ? AND t.fence = ? AND t.state = ?"
            f"{row_lock}"
        )
        self.holds = (
            "SELECT t.job_id FROM task t WHERE t.id = ? AND t.claimed_by = ? AND t.fence = ? "
            f"AND t.state = ?{row_lock}"
        )
        self.renew = (
            f"UPDATE task SET lease_until = {now} + ? WHERE claimed_by = ? AND state = ?"
        )
        self._recover = (
            "SELECT t.claimed_by, t.lease_until, " + FACTS[len("SELECT "):]
            + " WHERE t.state = ?{condition} ORDER BY t.id" + skip_locked
        )
        self._expired = f" AND (t.lease_until IS NULL OR t.lease_until < {now}"
        self.lead_insert = (
            "INSERT INTO runtime_lease (id, owner, host, pid, heartbeat_at) "
            f"VALUES (1, ?, ?, ?, {now}) ON CONFLICT (id) DO NOTHING"
        )
        self.lead = (
            f"UPDATE runtime_lease SET owner = ?, host = ?, pid = ?, heartbeat_at = {now} "
            f"WHERE id = 1 AND (owner = ? OR heartbeat_at < {now} - ?)"
        )

    def recover(self, *, expired_only: bool, same_host: bool) -> str:
        """Running tasks to take over: all of them, or those whose lease ran out (and those
        of this host's runtimes, whose processes are then checked)."""
        condition = ""
        if expired_only:
            condition = self._expired
            if same_host:
                condition += " OR t.claimed_by LIKE ? ESCAPE '\\'"
            condition += ")"
        return self._recover.replace("{condition}", condition)
