"""What every command shares: exit codes, the errors shown in one line, argument types,
the context built from the global options, and the plain-text and JSON printers."""

from __future__ import annotations

import argparse
import json
import logging
import math
import socket
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jobdesk import paths
from jobdesk.devices.profiles import ProfileError, ProfileLibrary
from jobdesk.devices.secrets import SecretsError
from jobdesk.domain.inventory import InventoryError
from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.payloads import PayloadError
from jobdesk.domain.rules import ActionRefused
from jobdesk.domain.schedule import Scheduled, ScheduleError, local_zone_name
from jobdesk.domain.text import printable
from jobdesk.runtime.actions import JobService
from jobdesk.runtime.clock import SystemClock
from jobdesk.runtime.loader import database_password
from jobdesk.settings import Settings, SettingsError, load_settings
from jobdesk.store import PeeweeException, Store
from jobdesk.store.copy import CopyRefused
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


def whole_number(low: int, high: int, what: str) -> Any:
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


JOB_ID = whole_number(1, MAX_INTEGER, "a job id")
LIMIT = whole_number(1, MAX_INTEGER, "--limit")
OFFSET = whole_number(0, MAX_INTEGER, "--offset")


def seconds(text: str) -> float:
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


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """--json: the same facts as JSON with ISO 8601 times, for scripts."""
    parser.add_argument("--json", action="store_true",
                        help="print JSON (ISO 8601 times) for scripts instead of text")


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line on stderr, as every other error
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} — see '{self.prog} --help'\n")


def add_job_arguments(parser: argparse.ArgumentParser) -> None:
    """A job's type, targets and payload: `jobs create` and `check` take the same ones."""
    parser.add_argument("--type", required=True, choices=[t.value for t in JobType],
                        help="what the job does on each device")
    parser.add_argument("--device", action="append", default=[], dest="devices",
                        metavar="NAME", help="a target device by name (repeatable)")
    parser.add_argument("--tag", action="append", default=[], dest="tags", metavar="TAG",
                        help="every device with this tag (repeatable)")
    parser.add_argument("--file", type=Path,
                        help="config-update: the snippet; firmware-update: the image; "
                        "command: a script to upload and run")
    parser.add_argument("--command", dest="command_line", metavar="COMMAND",
                        help="command: the command line to run on each device")
    parser.add_argument("--version", dest="target_version", metavar="VERSION",
                        help="firmware-update: the version the image installs (checked "
                        "after the reboot)")


def job_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The JobRequest fields `add_job_arguments` gave."""
    return {
        "type": JobType.parse(args.type),
        "devices": args.devices,
        "tags": args.tags,
        "file": args.file,
        "command": args.command_line,
        "version": args.target_version,
    }


def add_schedule_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD",
                        help="the first date a window opens on (in --tz)")
    parser.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD",
                        help="the last date a window opens on (in --tz)")
    parser.add_argument(
        "--window", metavar="HH:MM-HH:MM",
        help="daily window in --tz; an end at or before the start closes the next day "
        "(22:00-04:00), equal times are all day (00:00-00:00)",
    )
    parser.add_argument("--weekdays", metavar="mon,tue,...",
                        help="the days a window opens on, e.g. mon,tue,wed,thu,fri")
    parser.add_argument("--tz", metavar="ZONE", help="IANA time zone (default: this laptop's)")


def schedule_from_args(args: argparse.Namespace, required: bool) -> Scheduled | None:
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
    if given:
        check_db_folder(given)
    return parse_location(given or settings.database or paths.default_database())


def check_db_folder(given: str) -> None:
    """A --db file must be in a folder that exists: a typo must not create folders and an
    empty database that then looks like a fleet without jobs."""
    location = parse_location(given)
    if location.path is not None and not location.path.parent.is_dir():
        raise CliError(f"--db {given}: there is no folder {location.path.parent} "
                       "(create it first, or give an existing one)")


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    """Columns padded to their widest cell; every cell on one line (names come from
    people and devices: line breaks, escapes and direction overrides are shown escaped)."""
    cells = [[printable(str(c)) if c is not None else "" for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line.rstrip())
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())



def secret_store() -> Any:
    from jobdesk.devices.secrets import SecretStore

    return SecretStore(paths.data_dir())


def read_password() -> str:
    """One line from standard input: never an argument (it would show in `ps` and history)."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("password: ")
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise CliError("no password on standard input")
    return line


# --- jobs -------------------------------------------------------------------------------


def bring_states_up_to_now(ctx: Context) -> None:
    """Job states depend on the clock (a window opened or closed since the runtime last
    looked); a reader gets them current when it can. A locked or read-only database just
    shows the stored states: reading must never fail because of it."""
    if ctx.store.read_only is not None:
        return
    try:
        ctx.store.queue.bring_up_to_date(ctx.clock.now(), socket.gethostname())
    except (PeeweeException, sqlite3.Error) as error:
        logging.getLogger(__name__).info("states not refreshed: %s", error)
