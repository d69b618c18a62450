"""`jobdesk jobs report`: a job's report to hand over, as HTML, CSV or JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobdesk.cli.common import JOB_ID, CliError, Context, bring_states_up_to_now
from jobdesk.domain.schedule import local_zone_name
from jobdesk.runtime.report import make_report
from jobdesk.runtime.report_formats import FORMATS, render, save_report


def add_parser(job_commands: Any) -> None:
    """`jobs report ID --format html|csv|json [-o FILE] [--tz ZONE]`."""
    report = job_commands.add_parser(
        "report", help="a job's report to hand over: summary, then every device and step",
        description="The job's summary (state, tasks by state, schedule, when it was created "
        "and expires), then per device and per step the state, start and end times with "
        "their zone, attempts, message and fix hint. HTML prints on A4 and needs nothing "
        "but the file; CSV opens in a spreadsheet (UTF-8, ISO 8601 times and a zone "
        "column); JSON is for scripts.",
    )
    report.add_argument("id", type=JOB_ID, help="the job's id (see `jobdesk jobs list`)")
    report.add_argument("--format", choices=FORMATS, default="html",
                        help="html (default), csv or json")
    report.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write the report to FILE (default: standard output)")
    report.add_argument("--tz", metavar="ZONE",
                        help="IANA time zone the times are shown in (default: this laptop's)")


def cmd_report(ctx: Context, args: argparse.Namespace) -> int:
    zone_name = args.tz or local_zone_name()
    try:
        ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"--tz {zone_name!r} is not an IANA time zone, e.g. Europe/Zurich") from None
    if args.output is not None and not args.output.parent.is_dir():
        raise CliError(f"no folder {args.output.parent} to write {args.output.name} into")
    bring_states_up_to_now(ctx)
    report = make_report(ctx.store, args.id, now=ctx.clock.now(), zone_name=zone_name)
    text = render(report, args.format)
    if args.output is None:
        sys.stdout.write(text)
    else:
        save_report(text, args.output)
        print(f"report of job {args.id} written to {args.output}", file=sys.stderr)
    return 0
