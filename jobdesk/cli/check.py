"""`jobdesk check`: the pre-flight check, which changes nothing."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from jobdesk import paths
from jobdesk.cli.common import (
    EXIT_BLOCKED,
    CliError,
    Context,
    add_job_arguments,
    add_json_flag,
    job_fields,
    print_json,
    seconds,
    table,
)
from jobdesk.domain.preflight import DEVICE_TIMEOUT_S
from jobdesk.domain.text import printable
from jobdesk.runtime.actions import JobRequest


def add_parser(commands: Any) -> None:
    """`check`."""
    check = commands.add_parser(
        "check", help="pre-flight check: would a job work on its devices? (reads only)",
        description="Read every target device once, change nothing, and say per device: "
        "ready, skip (nothing to do) or blocked (with the reason). Exit 0 when none is "
        f"blocked, {EXIT_BLOCKED} when some are.")
    add_job_arguments(check)
    check.add_argument("--model", action="append", default=[], dest="models",
                       metavar="MODEL",
                       help="firmware-update: a model the image is built for (repeatable; "
                       "default: what the image's header says)")
    check.add_argument("--timeout", type=seconds, default=DEVICE_TIMEOUT_S,
                       help=f"seconds per device (default {DEVICE_TIMEOUT_S:g})")
    add_json_flag(check)


def cmd_check(ctx: Context, args: argparse.Namespace) -> int:
    """`check`: the pre-flight verdict of every target device; nothing is changed."""
    from jobdesk.domain.preflight import Verdict, summary
    from jobdesk.runtime.loader import load_driver
    from jobdesk.runtime.preflight import plan_check, run_check

    if not args.devices and not args.tags:
        raise CliError("name the devices to check with --device or --tag")
    request = JobRequest(name="pre-flight check", **job_fields(args))
    plan = plan_check(ctx.store, request, models=args.models)
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    driver = load_driver(ctx.settings, paths.data_dir(), paths.profiles_dir())
    verdicts = run_check(driver, plan, ctx.settings, ctx.clock.now(), timeout=args.timeout)
    if args.json:
        print_json([v.to_dict() for v in verdicts])
    else:
        table([(v.device, v.verdict.value, v.reason) for v in verdicts],
               ("DEVICE", "VERDICT", "REASON"))
        print(summary(verdicts))
        for verdict in verdicts:
            if verdict.verdict is Verdict.BLOCKED and verdict.fix_hint:
                print(f"  {verdict.device}: {printable(verdict.fix_hint)}")
    blocked = any(v.verdict is Verdict.BLOCKED for v in verdicts)
    return EXIT_BLOCKED if blocked else 0


# --- run --------------------------------------------------------------------------------
