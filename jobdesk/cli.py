"""The command line: the scripting face of jobdesk.

Names, exit codes and JSON fields are a contract with users' scripts: add, never rename.
Every command exits 0 on success and otherwise prints one line `jobdesk: error: ...` on
stderr; `run --until-done` exits 3 when `--max-seconds` passes first; `check` exits 4 when
some device is blocked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import re
import signal
import socket
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from peewee import PeeweeException

from jobdesk import __version__, paths
from jobdesk.devices.profiles import ProfileError, ProfileLibrary
from jobdesk.devices.secrets import FILE_NAME as SECRETS_FILE
from jobdesk.devices.secrets import SecretsError
from jobdesk.domain.inventory import InventoryError, make_device
from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.payloads import PayloadError
from jobdesk.domain.preflight import DEVICE_TIMEOUT_S
from jobdesk.domain.rollout import AbortAction, RolloutPolicy, parse_batches, parse_percent
from jobdesk.domain.rules import ActionRefused, JobExpired, duration_text, parse_duration
from jobdesk.domain.schedule import FireAndForget, Scheduled, ScheduleError, local_zone_name
from jobdesk.domain.states import JobState
from jobdesk.domain.text import printable
from jobdesk.runtime.actions import JobRequest, JobService, remove_device
from jobdesk.runtime.clock import SystemClock
from jobdesk.runtime.inventory_file import import_inventory
from jobdesk.runtime.loader import database_password
from jobdesk.settings import Settings, SettingsError, load_settings
from jobdesk.store import Store
from jobdesk.store.copy import CopyRefused, check_database, copy_database
from jobdesk.store.devices import DeviceError
from jobdesk.store.faults import StoreUnwritable
from jobdesk.store.jobs import NotFound
from jobdesk.store.location import Location, LocationError, parse_location
from jobdesk.store.migrations import SchemaNeedsUpgrade, SchemaTooNew
from jobdesk.store.opened import DatabaseFileError, DatabaseServerError
from jobdesk.store.queue import RuntimeBusy

MESSAGE_LIMIT = 2000  # characters of a device's message shown per line
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_DONE = 3
EXIT_BLOCKED = 4  # `check`: some device is blocked

USER_ERRORS = (
    ActionRefused,
    PayloadError,
    ScheduleError,
    InventoryError,
    DeviceError,
    NotFound,
    SettingsError,
    DatabaseFileError,
    SchemaTooNew,
    SchemaNeedsUpgrade,
    StoreUnwritable,
    RuntimeBusy,
    SecretsError,
    ProfileError,
    LocationError,
    DatabaseServerError,
    CopyRefused,
)


class CliError(Exception):
    pass


# SQLite's (and PostgreSQL's bigint) largest integer: ids and counts beyond it cannot exist.
MAX_INTEGER = 2**63 - 1


def _whole(low: int, high: int, what: str) -> Any:
    """An argparse type for a whole number within [low, high], refused in one line."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be {low} to {high}, not {value}")
        return value

    return parse


JOB_ID = _whole(1, MAX_INTEGER, "a job id")
LIMIT = _whole(1, MAX_INTEGER, "--limit")
OFFSET = _whole(0, MAX_INTEGER, "--offset")


def _seconds(text: str) -> float:
    """--max-seconds: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"must be a positive number of seconds, not {text!r}"
        )
    return value


def _duration(text: str) -> timedelta:
    """--by: a duration such as 30m, 2h, 1d or 1h30m."""
    try:
        return parse_duration(text)
    except ActionRefused as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _new_end(text: str) -> date | datetime:
    """--to of `jobs extend`: a date (a scheduled job's new end date) or an instant with
    its offset (a fire-and-forget job's new Expires At). Which one a job takes is the
    domain's to say; this only reads what was typed, strictly, so 03/04 is never misread."""
    cleaned = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", cleaned):
        try:
            return date.fromisoformat(cleaned)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} does not exist in the calendar; use YYYY-MM-DD") from None
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a date (YYYY-MM-DD) nor an instant with its offset "
            "(e.g. 2026-12-01T18:00+01:00)") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs its offset, e.g. {cleaned}+01:00")
    return value


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line on stderr, as every other error
        self.exit(EXIT_USAGE, f"jobdesk: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="jobdesk", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", metavar="FILE|URL",
        help="the database: a SQLite file (default: the data folder's) or a team's "
        "PostgreSQL server, postgresql://USER@HOST[:PORT]/DBNAME",
    )
    parser.add_argument("--config", type=Path, help="settings file (TOML)")
    parser.add_argument("--version", action="version", version=f"jobdesk {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="run one job against a simulated device offscreen; exit 0 if OK")
    commands = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")

    devices = commands.add_parser("devices", help="the device inventory")
    device_commands = devices.add_subparsers(dest="action", required=True, parser_class=Parser)
    add = device_commands.add_parser("add", help="add one device")
    add.add_argument("name")
    add.add_argument("--host", required=True)
    add.add_argument("--port", type=int)
    add.add_argument("--user")
    add.add_argument("--profile")
    add.add_argument("--tag", action="append", default=[], dest="tags")
    add.add_argument("--key", type=Path, help="private key file for SSH")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the device's password from standard input")
    add.add_argument("--json", action="store_true")
    password = device_commands.add_parser(
        "set-password", help="store a device's password (read from standard input)"
    )
    password.add_argument("name")
    imp = device_commands.add_parser("import", help="import devices from a CSV file")
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--skip-invalid", action="store_true",
        help="import the valid lines and report the rejected ones (default: all or nothing)",
    )
    imp.add_argument("--json", action="store_true")
    lst = device_commands.add_parser("list", help="list devices")
    lst.add_argument("--json", action="store_true")
    rm = device_commands.add_parser("remove", help="remove a device")
    rm.add_argument("name")

    jobs = commands.add_parser("jobs", help="create, list, show and cancel jobs")
    job_commands = jobs.add_subparsers(dest="action", required=True, parser_class=Parser)
    create = job_commands.add_parser("create", help="create a job")
    _add_job_arguments(create)
    create.add_argument("--name", required=True)
    create.add_argument("--replace", action="store_true",
                        help="replace unfinished jobs of the same type on these devices")
    _add_schedule_arguments(create)
    create.add_argument("--scheduled", action="store_true")
    _add_rollout_arguments(create)
    create.add_argument("--json", action="store_true")
    listing = job_commands.add_parser("list", help="list jobs (system jobs hidden)")
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="user and system jobs")
    which.add_argument("--system", action="store_true", help="only system jobs")
    listing.add_argument("--state")
    listing.add_argument("--limit", type=LIMIT, help="at most this many (default: all)")
    listing.add_argument("--offset", type=OFFSET, default=0,
                         help="skip this many of the newest first")
    listing.add_argument("--json", action="store_true")
    show = job_commands.add_parser("show", help="a job with its tasks and steps")
    show.add_argument("id", type=JOB_ID)
    show.add_argument("--json", action="store_true")
    cancel = job_commands.add_parser("cancel", help="cancel a job")
    cancel.add_argument("id", type=JOB_ID)
    cancel.add_argument("--json", action="store_true")
    proceed = job_commands.add_parser(
        "continue", help="continue a rollout that waits for a person",
        description="A rollout waits for a person after each batch (--approve-batches) or "
        "when too many tasks failed (--abort-above … --abort-action pause). Continuing "
        "approves the next batch, or lets new tasks start again and counts failures anew "
        "from now.",
    )
    proceed.add_argument("id", type=JOB_ID)
    proceed.add_argument("--json", action="store_true")
    extend = job_commands.add_parser(
        "extend", help="give a job a later Expires At, so its expired tasks can be retried",
        description="Give a job a later Expires At. Tasks that failed because the job "
        "expired stay Failed: retry them afterwards with `jobdesk tasks retry ID DEVICE`. "
        "A cancelled or replaced job cannot be extended.",
    )
    extend.add_argument("id", type=JOB_ID)
    new_end = extend.add_mutually_exclusive_group(required=True)
    new_end.add_argument(
        "--to", type=_new_end, metavar="DATE|INSTANT",
        help="a scheduled job: the new last date of its date range (YYYY-MM-DD; it then "
        "expires when that date's last window closes); a fire-and-forget job: the new "
        "Expires At, with its offset (2026-12-01T18:00+01:00)",
    )
    new_end.add_argument(
        "--by", type=_duration, metavar="DURATION",
        help="a fire-and-forget job: this much longer (30m, 2h, 1d, 1h30m), counted from "
        "now if it has expired already",
    )
    extend.add_argument("--json", action="store_true",
                        help="print the job as `jobs show --json` does")

    tasks = commands.add_parser("tasks", help="act on one device's task of a job")
    task_commands = tasks.add_subparsers(dest="action", required=True, parser_class=Parser)
    for name, text in (("cancel", "cancel a task"), ("retry", "retry a task now")):
        sub = task_commands.add_parser(name, help=text)
        sub.add_argument("job", type=JOB_ID)
        sub.add_argument("device")
        sub.add_argument("--json", action="store_true")
        if name == "retry":
            sub.add_argument(
                "--extend", action="store_true",
                help="a fire-and-forget job that expired gets a new lifetime from now",
            )
    skip = task_commands.add_parser(
        "skip-step", help="mark a failed or pending step Skipped (you fixed it by hand)"
    )
    skip.add_argument("job", type=JOB_ID)
    skip.add_argument("device")
    skip.add_argument("step")
    skip.add_argument("--json", action="store_true")

    check = commands.add_parser(
        "check", help="pre-flight check: would a job work on its devices? (reads only)",
        description="Read every target device once, change nothing, and say per device: "
        "ready, skip (nothing to do) or blocked (with the reason). Exit 0 when none is "
        f"blocked, {EXIT_BLOCKED} when some are.")
    _add_job_arguments(check)
    check.add_argument("--model", action="append", default=[], dest="models",
                       metavar="MODEL",
                       help="firmware-update: a model the image is built for (repeatable; "
                       "default: what the image's header says)")
    check.add_argument("--timeout", type=_seconds, default=DEVICE_TIMEOUT_S,
                       help=f"seconds per device (default {DEVICE_TIMEOUT_S:g})")
    check.add_argument("--json", action="store_true")

    run = commands.add_parser("run", help="run the runtime headless")
    run.add_argument("--until-done", action="store_true",
                     help="exit 0 once every user job is finished")
    run.add_argument("--max-seconds", type=_seconds,
                     help="stop after this long (exit 3 with --until-done)")

    sched = commands.add_parser("schedule", help="schedule tools")
    sched_commands = sched.add_subparsers(dest="action", required=True, parser_class=Parser)
    preview = sched_commands.add_parser("preview", help="the next windows of a schedule")
    _add_schedule_arguments(preview)
    preview.add_argument("--count", type=_whole(1, 1000, "--count"), default=5,
                         help="how many windows to show (1 to 1000)")
    preview.add_argument("--now", help="ISO 8601 instant with offset (default: now)")
    preview.add_argument("--json", action="store_true")

    commands.add_parser(
        "sim", help="a simulated fleet of devices (see `jobdesk sim --help`)", add_help=False
    )
    demo = commands.add_parser(
        "demo", help="the window with a simulated fleet and sample jobs (temporary database)"
    )
    demo.add_argument("--quit-after", type=float, help=argparse.SUPPRESS)
    db = commands.add_parser(
        "db", help="the database: copy jobs between databases, check one, a server's password")
    db_commands = db.add_subparsers(dest="action", required=True, parser_class=Parser)
    db_password = db_commands.add_parser(
        "set-password",
        help="store the password of a PostgreSQL --db (read from standard input) in the "
        "OS keyring, for when neither PGPASSWORD nor ~/.pgpass gives it",
    )
    db_password.add_argument("url", help="postgresql://USER@HOST[:PORT]/DBNAME")
    db_copy = db_commands.add_parser(
        "copy", help="copy devices, jobs, tasks and steps from one database to another "
        "(SQLite and PostgreSQL in either direction)")
    db_copy.add_argument("source", metavar="SRC", help="a SQLite file or a postgresql:// URL")
    db_copy.add_argument("target", metavar="DST", help="a SQLite file or a postgresql:// URL")
    db_copy.add_argument(
        "--merge", action="store_true",
        help="add to a destination that holds data: a job already there is updated (the "
        "newer of each task wins), never doubled")
    db_copy.add_argument("--json", action="store_true")
    db_check = db_commands.add_parser(
        "check", help="the --db database's schema version, counts and integrity")
    db_check.add_argument("--json", action="store_true")

    where = commands.add_parser("paths", help="where jobdesk keeps its files")
    where.add_argument("--json", action="store_true")
    return parser


def _add_job_arguments(parser: argparse.ArgumentParser) -> None:
    """A job's type, targets and payload: `jobs create` and `check` take the same ones."""
    parser.add_argument("--type", required=True, choices=[t.value for t in JobType])
    parser.add_argument("--device", action="append", default=[], dest="devices")
    parser.add_argument("--tag", action="append", default=[], dest="tags")
    parser.add_argument("--file", type=Path)
    parser.add_argument("--command", dest="command_line")
    parser.add_argument("--version", dest="target_version")


def _job_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The JobRequest fields `_add_job_arguments` gave."""
    return {
        "type": JobType.parse(args.type),
        "devices": args.devices,
        "tags": args.tags,
        "file": args.file,
        "command": args.command_line,
        "version": args.target_version,
    }


def _add_schedule_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD")
    parser.add_argument(
        "--window", metavar="HH:MM-HH:MM",
        help="daily window in --tz; an end at or before the start closes the next day "
        "(22:00-04:00), equal times are all day (00:00-00:00)",
    )
    parser.add_argument("--weekdays", metavar="mon,tue,...")
    parser.add_argument("--tz", metavar="ZONE", help="IANA time zone (default: this laptop's)")


def _schedule(args: argparse.Namespace, required: bool) -> Scheduled | None:
    given = [args.date_from, args.date_to, args.window, args.weekdays]
    if not required and not any(given) and args.tz is None:
        return None
    names = ("--from", "--to", "--window", "--weekdays")
    missing = [n for n, v in zip(names, given, strict=True) if not v]
    if missing:
        raise CliError(f"a scheduled job needs {', '.join(missing)}")
    return Scheduled.parse(
        args.date_from, args.date_to, args.window, args.weekdays, args.tz or local_zone_name()
    )


class Context:
    """What every command needs, built once from the global options."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.config_path: Path = args.config or paths.default_config()
        if args.config is not None and not args.config.exists():
            raise CliError(f"no settings file at {args.config}")
        self.settings: Settings = load_settings(self.config_path)
        self.location = database_location(args.db, self.settings)
        self.clock = SystemClock()
        self.profiles = ProfileLibrary(user_dir=paths.profiles_dir())
        self._store: Store | None = None
        for problem in self.profiles.problems():
            print(f"jobdesk: warning: {problem}", file=sys.stderr)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.location, database_password(paths.data_dir()))
        return self._store

    @property
    def service(self) -> JobService:
        return JobService(self.store, self.settings, self.clock)

    def describe(self, error: BaseException) -> str:
        """A database error in words: the condition (disk full, locked, read-only) if it is
        one, with the database's path."""
        fault = self._store.fault_of(error) if self._store is not None else None
        if fault is not None:
            return f"{fault}; nothing was changed (try again once that is fixed)"
        return f"database {self.location}: {error}"

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def database_location(given: str | None, settings: Settings) -> Location:
    """--db, else the `database` setting, else the SQLite file in the data folder."""
    return parse_location(given or settings.database or paths.default_database())


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    """Columns padded to their widest cell; every cell on one line (names come from
    people and devices: line breaks, escapes and direction overrides are shown escaped)."""
    cells = [[printable(str(c)) if c is not None else "" for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line.rstrip())
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _short(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else ""


# --- devices ----------------------------------------------------------------------------


def cmd_devices(ctx: Context, args: argparse.Namespace) -> int:
    store = ctx.store
    if args.action == "add":
        key = str(args.key.expanduser().resolve()) if args.key else None
        if args.key is not None and not args.key.expanduser().is_file():
            raise CliError(f"no key file at {args.key}")
        device = make_device(
            args.name, args.host, args.port, args.user, args.profile, args.tags, key,
            known_profiles=ctx.profiles.names(),
        )
        secret = _read_password() if args.password_stdin else None
        record = store.devices.add(device, ctx.clock.now())
        if secret is not None:
            _secrets().set_password(record.name, secret)
        if args.json:
            _print_json(record.to_dict())
        else:
            print(f"added {record.name} ({record.host}:{record.port})")
    elif args.action == "import":
        result = import_inventory(args.file, store, ctx.profiles.names(), ctx.clock.now(),
                                  all_or_nothing=not args.skip_invalid)
        if result.error is not None:
            raise InventoryError(result.error)
        if result.refused:
            shown = "; ".join(str(r) for r in result.rejected[:3])
            more = len(result.rejected) - 3
            raise CliError(
                f"{args.file}: {len(result.rejected)} invalid line(s) ({shown}"
                f"{f'; and {more} more' if more > 0 else ''}); nothing was imported "
                "(fix them, or pass --skip-invalid)"
            )
        for rejected in result.rejected:
            print(f"{args.file}: skipped {rejected}", file=sys.stderr)
        added, updated = result.added, result.updated
        if args.json:
            _print_json(
                {
                    "added": added,
                    "updated": updated,
                    "rejected": [
                        {"line": r.line, "text": r.text, "problem": r.problem}
                        for r in result.rejected
                    ],
                }
            )
        else:
            print(f"added {added}, updated {updated}, rejected {len(result.rejected)}")
    elif args.action == "list":
        records = store.devices.list()
        if args.json:
            _print_json([r.to_dict() for r in records])
        else:
            _table(
                [
                    (r.name, f"{r.host}:{r.port}", r.profile, r.model, r.firmware,
                     _short(r.last_seen_at), ";".join(r.tags))
                    for r in records
                ],
                ("NAME", "ADDRESS", "PROFILE", "MODEL", "FIRMWARE", "LAST SEEN", "TAGS"),
            )
    elif args.action == "remove":
        remove_device(store, paths.data_dir(), args.name)
        print(f"removed {args.name}")
    elif args.action == "set-password":
        store.devices.get(args.name)
        secrets = _secrets()
        secrets.set_password(args.name, _read_password())
        print(f"password of {args.name} stored in {secrets.backend}")
    return 0


def _secrets() -> Any:
    from jobdesk.devices.secrets import SecretStore

    return SecretStore(paths.data_dir())


def _read_password() -> str:
    """One line from standard input: never an argument (it would show in `ps` and history)."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("password: ")
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise CliError("no password on standard input")
    return line


# --- jobs -------------------------------------------------------------------------------


def cmd_jobs(ctx: Context, args: argparse.Namespace) -> int:
    if args.action == "create":
        return _create_job(ctx, args)
    store = ctx.store
    if args.action == "list":
        _bring_states_up_to_now(ctx)
        state = JobState.parse(args.state).value if args.state else None
        system: bool | None = None if args.all else bool(args.system)
        records = store.jobs.list(system=system, state=state, limit=args.limit,
                                  offset=args.offset)
        if args.json:
            _print_json([r.to_dict() for r in records])
        else:
            _table(
                [
                    (r.id, r.name, r.type, r.state, f"{r.progress_done}/{r.progress_total}",
                     _short(r.created_at), _short(r.expires_at))
                    for r in records
                ],
                ("ID", "NAME", "TYPE", "STATE", "DONE", "CREATED", "EXPIRES"),
            )
        return 0
    if args.action == "show":
        _bring_states_up_to_now(ctx)
        record = store.jobs.detail(args.id)
        if args.json:
            data = record.to_dict()
            data["tasks"] = [t.to_dict() for t in record.tasks]
            _print_json(data)
        else:
            _print_job(record)
        return 0
    if args.action == "cancel":
        record = ctx.service.cancel_job(args.id)
        if args.json:
            _print_json(record.to_dict())
        else:
            print(f"job {record.id} is {record.state}")
        return 0
    if args.action == "continue":
        _bring_states_up_to_now(ctx)
        record = ctx.service.continue_rollout(args.id)
        if args.json:
            _print_json(record.to_dict())
        else:
            waiting = record.rollout_reason
            print(f"job {record.id} continues: {record.state}"
                  + (f" ({waiting})" if waiting else ""))
        return 0
    if args.action == "extend":
        return _extend_job(ctx, args)
    raise CliError(f"unknown jobs action {args.action}")  # pragma: no cover


def _bring_states_up_to_now(ctx: Context) -> None:
    """Job states depend on the clock (a window opened or closed since the runtime last
    looked); a reader gets them current when it can. A locked or read-only database just
    shows the stored states: reading must never fail because of it."""
    if ctx.store.read_only is not None:
        return
    try:
        ctx.store.queue.bring_up_to_date(ctx.clock.now(), socket.gethostname())
    except (PeeweeException, sqlite3.Error) as error:
        logging.getLogger(__name__).info("states not refreshed: %s", error)


def _add_rollout_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "safe rollout", "batches, approval, a failure threshold and limits (all optional; "
        "without them every task may start at once)")
    group.add_argument("--batches", metavar="SIZES",
                       help="tasks per batch in device-name order, counts or percentages, "
                       "the last repeating: 1,10%%,25%%; the next batch starts when each task "
                       "of the current one has finished or failed once")
    group.add_argument("--approve-batches", action="store_true",
                       help="wait for `jobdesk jobs continue ID` after each batch")
    group.add_argument("--abort-above", metavar="PERCENT",
                       help="stop when more than this share of attempted tasks failed "
                       "their latest attempt (e.g. 20%%)")
    group.add_argument("--abort-min", type=int, default=1, metavar="N",
                       help="attempted tasks before the threshold applies (default 1)")
    group.add_argument("--abort-action", choices=["pause", "cancel"], default="pause",
                       help="pause: nothing new starts until continued; cancel: tasks not "
                       "started yet are cancelled (default pause)")
    group.add_argument("--max-per-minute", type=int, metavar="N",
                       help="at most N task starts of this job per minute")
    group.add_argument("--max-concurrent", type=int, metavar="N",
                       help="at most N tasks of this job at once (within the global cap)")
    group.add_argument("--max-attempts", type=int, metavar="N",
                       help="a task fails for good after N failed attempts (default: "
                       "retried until the job expires)")


def _rollout(args: argparse.Namespace) -> RolloutPolicy | None:
    policy = RolloutPolicy(
        batches=parse_batches(args.batches) if args.batches else (),
        approve=args.approve_batches,
        abort_above=parse_percent(args.abort_above) if args.abort_above else None,
        abort_min=args.abort_min,
        abort_action=AbortAction(args.abort_action),
        max_per_minute=args.max_per_minute,
        max_concurrent=args.max_concurrent,
        max_attempts=args.max_attempts,
    )
    return None if policy.is_default else policy


def _create_job(ctx: Context, args: argparse.Namespace) -> int:
    schedule = _schedule(args, required=args.scheduled)
    if schedule is not None and not args.scheduled:
        raise CliError("schedule options need --scheduled")
    request = JobRequest(
        name=args.name,
        **_job_fields(args),
        schedule=schedule or FireAndForget(),
        replace=args.replace,
        rollout=_rollout(args),
    )
    record = ctx.service.create(request)
    if args.json:
        _print_json(record.to_dict())
    else:
        print(f"created job {record.id} ({record.name}), {record.progress_total} task(s), "
              f"{record.state}, expires {_short(record.expires_at)}")
    return 0


def _extend_job(ctx: Context, args: argparse.Namespace) -> int:
    """`jobs extend`: the new Expires At (with --json, the job as `jobs show` prints it)."""
    record = ctx.service.extend_job(args.id, to=args.to, by=args.by)
    if args.json:
        shown = ctx.store.jobs.detail(record.id)
        data = shown.to_dict()
        data["tasks"] = [t.to_dict() for t in shown.tasks]
        _print_json(data)
        return 0
    from jobdesk.domain.schedule import schedule_from_dict

    schedule = schedule_from_dict(record.schedule)
    ends = (f" (its dates now end on {schedule.end_date.isoformat()})"
            if isinstance(schedule, Scheduled) else "")
    print(f"job {record.id} now expires {_short(record.expires_at)}{ends}; failed tasks stay "
          f"Failed until retried: jobdesk tasks retry {record.id} DEVICE")
    return 0


def _extend_command(ctx: Context, job_id: int) -> str:
    """How to extend an expired job, for the refusal of `tasks retry`."""
    from jobdesk.domain.schedule import schedule_from_dict

    schedule = schedule_from_dict(ctx.store.jobs.get(job_id).schedule)
    if isinstance(schedule, Scheduled):
        return f"jobdesk jobs extend {job_id} --to YYYY-MM-DD (a later end date)"
    lifetime = duration_text(ctx.settings.fire_and_forget_lifetime)
    return f"jobdesk jobs extend {job_id} --by {lifetime}, or retry with --extend"


def _print_job(record: Any) -> None:
    print(f"Job {record.id}: {printable(record.name)} "
          f"({record.type}{', system' if record.system else ''})")
    print(f"State: {record.state}, {record.progress_done}/{record.progress_total} tasks done")
    if record.rollout and record.rollout.get("view"):
        view = record.rollout["view"]
        print(f"Rollout: batch {view['current_batch']} of {view['batches']}, "
              f"{view['failed']} of {view['attempted']} attempted failed"
              + (f"; {record.rollout_reason} (jobdesk jobs continue {record.id})"
                 if record.rollout_reason else ""))
    from jobdesk.domain.schedule import schedule_from_dict

    print(f"Schedule: {schedule_from_dict(record.schedule).describe()}")
    print(f"Created {_short(record.created_at)}, expires {_short(record.expires_at)}")
    for task in record.tasks:
        progress = task.step_progress
        print(
            f"\n  {task.device}: {task.state}, step {task.current_step or '-'} "
            f"({progress.done}/{progress.total}), attempts {task.attempts}"
            + (f", next {_short(task.next_attempt_at)}" if task.next_attempt_at else "")
        )
        if task.reason:
            print(f"    reason: {printable(task.reason, MESSAGE_LIMIT)}")
        if task.cancel_requested_at and task.state != "Cancelled":
            print(f"    cancel requested {_short(task.cancel_requested_at)}")
        for step, label in zip(task.steps, task.step_labels(), strict=True):
            line = f"    {step.name:<20} {label:<22}"
            if step.message:
                line += f" {printable(step.message, MESSAGE_LIMIT)}"
            print(line)
            if step.status == "Failed" and step.fix_hint:
                print(f"      fix: {printable(step.fix_hint, MESSAGE_LIMIT)}")
        history = task.attempts_history()
        if len(history) > 1 or (history and history[-1][0] != task.attempts):
            print("    history:")
            for number, runs in history:
                print(f"      attempt {number}:")
                _print_runs(runs)
        skipped = task.skipped_for_next_attempt()
        if skipped:
            print("    skipped for the next attempt:")
            _print_runs(skipped)


def _print_runs(runs: Any) -> None:
    for run in runs:
        when = run.completed_at or run.skipped_at or run.started_at
        at = when.astimezone().strftime("%Y-%m-%d %H:%M:%S") if when else "-"
        line = f"        {run.name:<20} {run.status:<10} {at:<19}"
        if run.message:
            line += f" {printable(run.message, MESSAGE_LIMIT)}"
        print(line)


# --- tasks ------------------------------------------------------------------------------


def cmd_tasks(ctx: Context, args: argparse.Namespace) -> int:
    service = ctx.service
    # A task's state may be behind the clock (expired, or left Running by a runtime that
    # is gone): the action is judged on what is true now, as `jobs show` would show it.
    _bring_states_up_to_now(ctx)
    if args.action == "cancel":
        task = service.cancel_task(args.job, args.device)
        result: dict[str, Any] = task.to_dict()
        text = f"task of {args.device} in job {args.job}: " + (
            "cancel requested; the running step finishes first"
            if task.cancel_requested else task.state
        )
    elif args.action == "retry":
        try:
            task = service.retry_task(args.job, args.device, extend=args.extend)
        except JobExpired as expired:
            raise ActionRefused(expired.extend_first(_extend_command(ctx, args.job))) from None
        result = task.to_dict()
        text = f"task of {args.device} in job {args.job} will run at {_short(task.next_attempt_at)}"
    else:
        step = service.skip_step(args.job, args.device, args.step)
        result = step.to_dict()
        text = (f"step {step.name} of {args.device} in job {args.job} is Skipped; the next "
                "attempt continues after it (`jobdesk tasks retry` to run it now)")
    if args.json:
        _print_json(result)
    else:
        print(text)
    return 0


# --- check ------------------------------------------------------------------------------


def cmd_check(ctx: Context, args: argparse.Namespace) -> int:
    """`check`: the pre-flight verdict of every target device; nothing is changed."""
    from jobdesk.domain.preflight import Verdict, summary
    from jobdesk.runtime.loader import load_driver
    from jobdesk.runtime.preflight import plan_check, run_check

    if not args.devices and not args.tags:
        raise CliError("name the devices to check with --device or --tag")
    request = JobRequest(name="pre-flight check", **_job_fields(args))
    plan = plan_check(ctx.store, request, models=args.models)
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    driver = load_driver(ctx.settings, paths.data_dir(), paths.profiles_dir())
    verdicts = run_check(driver, plan, ctx.settings, ctx.clock.now(), timeout=args.timeout)
    if args.json:
        _print_json([v.to_dict() for v in verdicts])
    else:
        _table([(v.device, v.verdict.value, v.reason) for v in verdicts],
               ("DEVICE", "VERDICT", "REASON"))
        print(summary(verdicts))
        for verdict in verdicts:
            if verdict.verdict is Verdict.BLOCKED and verdict.fix_hint:
                print(f"  {verdict.device}: {printable(verdict.fix_hint)}")
    blocked = any(v.verdict is Verdict.BLOCKED for v in verdicts)
    return EXIT_BLOCKED if blocked else 0


# --- run --------------------------------------------------------------------------------


def cmd_run(ctx: Context, args: argparse.Namespace) -> int:
    from jobdesk.runtime.ca import LocalCA
    from jobdesk.runtime.engine import Engine
    from jobdesk.runtime.loader import load_driver

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("asyncssh").setLevel(logging.WARNING)  # one line per connection else
    driver = load_driver(ctx.settings, paths.data_dir(), paths.profiles_dir())
    # A scripted run waits for the user's jobs only: it makes no housekeeping jobs of its own.
    engine = Engine(ctx.store, ctx.settings, ctx.clock, driver, LocalCA(paths.data_dir() / "ca"),
                    system_jobs=not args.until_done)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, engine.request_stop)
        try:
            outcome = await engine.run(until_done=args.until_done, max_seconds=args.max_seconds)
        finally:
            await driver.aclose()
        if outcome.store_problem:
            left = (f"; {outcome.abandoned} task(s) are left for the next start, which runs "
                    "their last step again" if outcome.abandoned else "")
            print(f"jobdesk: the database could not be written: {outcome.store_problem}{left}",
                  file=sys.stderr)
        if args.until_done and not outcome.finished:
            print("jobdesk: not done: unfinished jobs remain", file=sys.stderr)
            return EXIT_NOT_DONE
        return EXIT_ERROR if outcome.store_problem else 0

    return asyncio.run(main())


# --- schedule ---------------------------------------------------------------------------


def cmd_schedule(ctx: Context, args: argparse.Namespace) -> int:
    schedule = _schedule(args, required=True)
    assert schedule is not None
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError as error:
            raise CliError(f"--now {args.now!r} is not an ISO 8601 instant") from error
        if now.tzinfo is None:
            raise CliError("--now needs an offset, e.g. 2026-12-01T21:00:00+01:00")
    else:
        now = ctx.clock.now()
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(schedule.tz)
    windows = []
    for window in schedule.windows(after=now):
        windows.append(
            {
                "opens": window.opens.astimezone(zone).isoformat(),
                "closes": window.closes.astimezone(zone).isoformat(),
            }
        )
        if len(windows) >= args.count:
            break
    if args.json:
        _print_json(windows)
    else:
        print(schedule.describe())
        for window in windows:
            print(f"  {window['opens']}  ->  {window['closes']}")
        if not windows:
            print("  no window left after", now.isoformat())
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """Commands about the database itself; they run before (or without) opening it."""
    if args.action == "set-password":
        location = parse_location(args.url)
        if not location.is_postgres:
            raise CliError("a SQLite file has no password; give a postgresql:// URL")
        secrets = _secrets()
        secrets.set_password(location.secret_key, _read_password())
        print(f"password of {location} stored in {secrets.backend}")
        return 0
    settings = load_settings(args.config or paths.default_config())
    password = database_password(paths.data_dir())
    if args.action == "copy":
        source, target = parse_location(args.source), parse_location(args.target)
        if str(source) == str(target):
            raise CliError("the source and the destination are the same database")
        with Store(source, password) as src, Store(target, password) as dst:
            report = copy_database(src, dst, merge=args.merge)
        if args.json:
            _print_json(asdict(report))
        else:
            print(f"copied {source} to {target}: {report}")
        return 0
    with Store(database_location(args.db, settings), password) as store:
        checked = check_database(store)
    if args.json:
        _print_json({"schema": checked.schema, "counts": checked.counts,
                     "ok": checked.ok, "problems": checked.problems})
    else:
        print(f"schema version {checked.schema}")
        for what, count in checked.counts.items():
            print(f"{what:<14} {count:,}")
        print("integrity: " + ("ok" if checked.ok else "; ".join(checked.problems)))
    return 0 if checked.ok else EXIT_ERROR


COMMANDS = {
    "devices": cmd_devices,
    "jobs": cmd_jobs,
    "tasks": cmd_tasks,
    "run": cmd_run,
    "schedule": cmd_schedule,
    "check": cmd_check,
}


def _open_window(args: argparse.Namespace) -> int:
    """No command: the desktop window, on the same database and settings as the CLI."""
    try:
        from jobdesk.ui.app import run_window
    except ImportError as error:  # Qt's system libraries are missing
        print(f"jobdesk: error: cannot open the window: {error}", file=sys.stderr)
        return EXIT_ERROR
    try:
        return run_window(args.db, args.config)
    except (CliError, *USER_ERRORS) as error:
        print(f"jobdesk: error: {error}", file=sys.stderr)
        return EXIT_ERROR


def _open_demo(args: argparse.Namespace) -> int:
    try:
        from jobdesk.ui.demo import run_demo
    except ImportError as error:
        print(f"jobdesk: error: cannot open the window: {error}", file=sys.stderr)
        return EXIT_ERROR
    try:
        location = parse_location(args.db) if args.db else None
    except LocationError as error:
        print(f"jobdesk: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    if location is not None and location.path is None:
        print("jobdesk: error: the demo makes its own SQLite file; give --db a file name",
              file=sys.stderr)
        return EXIT_ERROR
    return run_demo(location.path if location else None, quit_after=args.quit_after)


def cmd_paths(args: argparse.Namespace) -> int:
    """Every place jobdesk reads or writes, so a person can back up or clean up."""
    data = paths.data_dir()
    where = {
        "database": str(_paths_location(args)),
        "settings": str(args.config or paths.default_config()),
        "profiles": str(paths.profiles_dir()),
        "known_hosts": str(data / "known_hosts"),
        "local_ca": str(data / "ca"),
        "secrets_file": str(data / SECRETS_FILE),
        "logs": str(paths.log_dir() / "jobdesk.log"),
    }
    if args.json:
        _print_json(where)
    else:
        width = max(len(k) for k in where)
        for key, value in where.items():
            print(f"{key.replace('_', ' '):<{width}}  {value}")
    return 0


def _paths_location(args: argparse.Namespace) -> Location | str:
    try:
        settings = load_settings(args.config or paths.default_config())
        return database_location(args.db, settings)
    except (SettingsError, LocationError) as error:
        return f"(cannot tell: {error})"


def _sim_arguments(argv: Sequence[str]) -> list[str] | None:
    """The arguments after `sim`, which the simulator parses itself (it has its own help)."""
    position = 0
    while position < len(argv):
        token = argv[position]
        if token in ("--db", "--config"):
            position += 2
        elif token.startswith(("--db=", "--config=")):
            position += 1
        else:
            return list(argv[position + 1 :]) if token == "sim" else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    sim_args = _sim_arguments(argv)
    if sim_args is not None:
        from jobdesk.sim.cli import main as sim_main

        return sim_main(sim_args)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        try:
            from jobdesk.ui.selftest import run_self_test

            return run_self_test()
        except ImportError as error:  # Qt's system libraries are missing
            print(f"self-test FAILED: cannot load Qt: {error} "
                  "(on Debian/Ubuntu: apt-get install libgl1 libegl1)")
            return 1
    if args.command == "paths":
        return cmd_paths(args)
    if args.command == "demo":
        return _open_demo(args)
    if args.command is None:
        return _open_window(args)
    ctx: Context | None = None
    try:
        if args.command == "schedule":
            ctx = None
            return cmd_schedule(_ScheduleContext(), args)
        if args.command == "db":
            return cmd_db(args)
        ctx = Context(args)
        return COMMANDS[args.command](ctx, args)
    except (CliError, *USER_ERRORS) as error:
        print(f"jobdesk: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except (ValueError, LookupError) as error:
        print(f"jobdesk: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except (PeeweeException, sqlite3.Error) as error:
        print(f"jobdesk: error: {ctx.describe(error) if ctx else error}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # the reader went away (`| head`): not an error of ours
        return 0
    except OSError as error:
        print(f"jobdesk: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if ctx is not None:
            ctx.close()


class _ScheduleContext:
    """`schedule preview` needs only a clock: it opens no database."""

    clock = SystemClock()


if __name__ == "__main__":
    sys.exit(main())
