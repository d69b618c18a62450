"""`jobdesk` without a command, and `jobdesk demo`: the desktop window."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from jobdesk.cli.common import (
    EXIT_ERROR,
    USER_ERRORS,
    CliError,
    check_db_folder,
)
from jobdesk.store.location import LocationError, parse_location


def add_parser(commands: Any) -> None:
    """`demo` (the window without a command needs no parser of its own)."""
    demo = commands.add_parser(
        "demo", help="the window with a simulated fleet and sample jobs (temporary database)"
    )
    demo.add_argument("--quit-after", type=float, help=argparse.SUPPRESS)


def open_window(args: argparse.Namespace) -> int:
    """No command: the desktop window, on the same database and settings as the CLI."""
    try:
        from jobdesk.ui.app import run_window
    except ImportError as error:  # Qt's system libraries are missing
        print(f"jobdesk: error: cannot open the window: {error}", file=sys.stderr)
        return EXIT_ERROR
    try:
        if args.db:
            check_db_folder(args.db)
        return run_window(args.db, args.config)
    except (CliError, *USER_ERRORS) as error:
        print(f"jobdesk: error: {error}", file=sys.stderr)
        return EXIT_ERROR


def open_demo(args: argparse.Namespace) -> int:
    try:
        from jobdesk.ui.demo import run_demo
    except ImportError as error:
        print(f"jobdesk: error: cannot open the window: {error}", file=sys.stderr)
        return EXIT_ERROR
    try:
        location = parse_location(args.db) if args.db else None
        if args.db:
            check_db_folder(args.db)
    except (LocationError, CliError) as error:
        print(f"jobdesk: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    if location is not None and location.path is None:
        print("jobdesk: error: the demo makes its own SQLite file; give --db a file name",
              file=sys.stderr)
        return EXIT_ERROR
    return run_demo(location.path if location else None, quit_after=args.quit_after)
