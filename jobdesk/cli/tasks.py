"""`jobdesk tasks`: act on one device's task of a job."""

from __future__ import annotations

import argparse
from typing import Any

from jobdesk.cli.common import (
    JOB_ID,
    Context,
    Parser,
    add_json_flag,
    bring_states_up_to_now,
    print_json,
)
from jobdesk.cli.jobs import extend_command
from jobdesk.domain.rules import ActionRefused, JobExpired
from jobdesk.domain.times import format_instant


def add_parser(commands: Any) -> None:
    """`tasks cancel|retry|skip-step`."""
    tasks = commands.add_parser("tasks", help="act on one device's task of a job")
    task_commands = tasks.add_subparsers(dest="action", required=True, parser_class=Parser)
    for name, text in (("cancel", "cancel a task"), ("retry", "retry a task now")):
        sub = task_commands.add_parser(name, help=text)
        sub.add_argument("job", type=JOB_ID, help="the job's id")
        sub.add_argument("device", help="the device whose task it is")
        add_json_flag(sub)
        if name == "retry":
            sub.add_argument(
                "--extend", action="store_true",
                help="a fire-and-forget job that expired gets a new lifetime from now",
            )
    skip = task_commands.add_parser(
        "skip-step", help="mark a failed or pending step Skipped (you fixed it by hand)"
    )
    skip.add_argument("job", type=JOB_ID, help="the job's id")
    skip.add_argument("device", help="the device whose task it is")
    skip.add_argument("step", help="the step's name, as `jobdesk jobs show ID` lists it")
    add_json_flag(skip)


def cmd_tasks(ctx: Context, args: argparse.Namespace) -> int:
    service = ctx.service
    # A task's state may be behind the clock (expired, or left Running by a runtime that
    # is gone): the action is judged on what is true now, as `jobs show` would show it.
    bring_states_up_to_now(ctx)
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
            raise ActionRefused(expired.extend_first(extend_command(ctx, args.job))) from None
        result = task.to_dict()
        text = (f"task of {args.device} in job {args.job} will run at "
                f"{format_instant(task.next_attempt_at)}")
    else:
        step = service.skip_step(args.job, args.device, args.step)
        result = step.to_dict()
        text = (f"step {step.name} of {args.device} in job {args.job} is Skipped; the next "
                "attempt continues after it (`jobdesk tasks retry` to run it now)")
    if args.json:
        print_json(result)
    else:
        print(text)
    return 0


# --- check ------------------------------------------------------------------------------
