"""The command line: the scripting face of jobdesk.

Names, exit codes and JSON fields are a contract with users' scripts: add, never rename.
Every command exits 0 on success and otherwise prints one line `jobdesk: error: ...` on
stderr (exit 1); a command line argparse cannot read gets one line naming the command and
its help, `jobdesk jobs create: error: ... — see 'jobdesk jobs create --help'` (exit 2);
`run --until-done` exits 3 when `--max-seconds` passes first; `check` exits 4 when some
device is blocked.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from jobdesk import __version__
from jobdesk.cli import check, db, devices, jobs, run, schedule, tasks, where, window
from jobdesk.cli.common import EXIT_ERROR, USER_ERRORS, CliError, Context, Parser
from jobdesk.store import PeeweeException


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="jobdesk", description=__doc__.splitlines()[0],
        epilog="Without a command, jobdesk opens its window on the same database and "
        "settings (--db, --config); `jobdesk demo` opens it on a simulated fleet. "
        "`jobdesk COMMAND --help` tells more about each command.",
    )
    parser.add_argument(
        "--db", metavar="FILE|URL",
        help="the database: a SQLite file (default: the data folder's) or a team's "
        "PostgreSQL server, postgresql://USER@HOST[:PORT]/DBNAME",
    )
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="settings file (TOML; default: the one `jobdesk paths` names)")
    parser.add_argument("--version", action="version", version=f"jobdesk {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="run one job against a simulated device offscreen; exit 0 if OK")
    commands = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    for group in (devices, jobs, tasks, check, run, schedule):
        group.add_parser(commands)
    commands.add_parser(
        "sim", help="a simulated fleet of devices (see `jobdesk sim --help`)", add_help=False
    )
    window.add_parser(commands)
    db.add_parser(commands)
    where.add_parser(commands)
    return parser


COMMANDS = {
    "devices": devices.cmd_devices,
    "jobs": jobs.cmd_jobs,
    "tasks": tasks.cmd_tasks,
    "run": run.cmd_run,
    "check": check.cmd_check,
}


def chosen_parser(parser: argparse.ArgumentParser,
                  args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)parser of the command `args` names: `jobdesk jobs create`'s for
    `jobs create`, so its errors point to that command's help."""
    for dest in ("command", "action"):
        name = getattr(args, dest, None)
        found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not found or name not in found[0].choices:
            break
        parser = found[0].choices[name]
    return parser


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
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command they were given to, with its help
        chosen_parser(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.self_test:
        try:
            from jobdesk.ui.selftest import run_self_test

            return run_self_test()
        except ImportError as error:  # Qt's system libraries are missing
            print(f"self-test FAILED: cannot load Qt: {error} "
                  "(on Debian/Ubuntu: apt-get install libgl1 libegl1)")
            return 1
    if args.command == "paths":
        return where.cmd_paths(args)
    if args.command == "demo":
        return window.open_demo(args)
    if args.command is None:
        return window.open_window(args)
    ctx: Context | None = None
    try:
        if args.command == "schedule":
            ctx = None
            return schedule.cmd_schedule(schedule.ScheduleContext(), args)
        if args.command == "db":
            return db.cmd_db(args)
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
