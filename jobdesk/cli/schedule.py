"""`jobdesk schedule`: schedule tools that open no database."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from jobdesk.cli.common import (
    CliError,
    Context,
    Parser,
    add_json_flag,
    add_schedule_arguments,
    print_json,
    schedule_from_args,
    whole_number,
)
from jobdesk.runtime.clock import SystemClock


def add_parser(commands: Any) -> None:
    """`schedule preview`."""
    sched = commands.add_parser("schedule", help="schedule tools")
    sched_commands = sched.add_subparsers(dest="action", required=True, parser_class=Parser)
    preview = sched_commands.add_parser("preview", help="the next windows of a schedule")
    add_schedule_arguments(preview)
    preview.add_argument("--count", type=whole_number(1, 1000, "--count"), default=5,
                         help="how many windows to show (1 to 1000)")
    preview.add_argument("--now", help="ISO 8601 instant with offset (default: now)")
    add_json_flag(preview)


def cmd_schedule(ctx: Context, args: argparse.Namespace) -> int:
    schedule = schedule_from_args(args, required=True)
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
        print_json(windows)
    else:
        print(schedule.describe())
        for window in windows:
            print(f"  {window['opens']}  ->  {window['closes']}")
        if not windows:
            print("  no window left after", now.isoformat())
    return 0


class ScheduleContext:
    """`schedule preview` needs only a clock: it opens no database."""

    clock = SystemClock()
