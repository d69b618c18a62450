"""`jobdesk jobs`: create, list, show, cancel, continue and extend jobs."""

from __future__ import annotations

import argparse
import re
from datetime import date, datetime, timedelta
from typing import Any

from jobdesk.cli import job_report
from jobdesk.cli.common import (
    JOB_ID,
    LIMIT,
    MESSAGE_LIMIT,
    OFFSET,
    CliError,
    Context,
    Parser,
    add_job_arguments,
    add_json_flag,
    add_schedule_arguments,
    bring_states_up_to_now,
    job_fields,
    print_json,
    schedule_from_args,
    table,
)
from jobdesk.domain.rollout import AbortAction, RolloutPolicy, parse_batches, parse_percent
from jobdesk.domain.rules import ActionRefused, duration_text, parse_duration
from jobdesk.domain.schedule import FireAndForget, Scheduled
from jobdesk.domain.states import JobState
from jobdesk.domain.text import printable
from jobdesk.domain.times import format_instant
from jobdesk.runtime.actions import JobRequest
from jobdesk.runtime.report import job_json


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


def add_parser(commands: Any) -> None:
    """`jobs create|list|show|cancel|continue|extend|report`."""
    jobs = commands.add_parser(
        "jobs", help="create, list, show, cancel, continue, extend and report jobs")
    job_commands = jobs.add_subparsers(dest="action", required=True, parser_class=Parser)
    create = job_commands.add_parser("create", help="create a job")
    add_job_arguments(create)
    create.add_argument("--name", required=True, help="the job's name, as lists show it")
    create.add_argument("--replace", action="store_true",
                        help="replace unfinished jobs of the same type on these devices")
    add_schedule_arguments(create)
    create.add_argument("--scheduled", action="store_true",
                        help="run only in the maintenance windows --from, --to, --window, "
                        "--weekdays and --tz give (default: at once, fire and forget)")
    _add_rollout_arguments(create)
    add_json_flag(create)
    listing = job_commands.add_parser("list", help="list jobs (system jobs hidden)")
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="user and system jobs")
    which.add_argument("--system", action="store_true", help="only system jobs")
    listing.add_argument("--state", help="only jobs in this state, e.g. failed, "
                         "partially-succeeded, \"Cancelled Manually\"")
    listing.add_argument("--limit", type=LIMIT, help="at most this many (default: all)")
    listing.add_argument("--offset", type=OFFSET, default=0,
                         help="skip this many of the newest first")
    add_json_flag(listing)
    show = job_commands.add_parser("show", help="a job with its tasks and steps")
    show.add_argument("id", type=JOB_ID, help="the job's id (see `jobdesk jobs list`)")
    add_json_flag(show)
    cancel = job_commands.add_parser("cancel", help="cancel a job")
    cancel.add_argument("id", type=JOB_ID, help="the job's id")
    add_json_flag(cancel)
    proceed = job_commands.add_parser(
        "continue", help="continue a rollout that waits for a person",
        description="A rollout waits for a person after each batch (--approve-batches) or "
        "when too many tasks failed (--abort-above … --abort-action pause). Continuing "
        "approves the next batch, or lets new tasks start again and counts failures anew "
        "from now.",
    )
    proceed.add_argument("id", type=JOB_ID, help="the job's id")
    add_json_flag(proceed)
    extend = job_commands.add_parser(
        "extend", help="give a job a later Expires At, so its expired tasks can be retried",
        description="Give a job a later Expires At. Tasks that failed because the job "
        "expired stay Failed: retry them afterwards with `jobdesk tasks retry ID DEVICE`. "
        "A cancelled or replaced job cannot be extended.",
    )
    extend.add_argument("id", type=JOB_ID, help="the job's id")
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
    job_report.add_parser(job_commands)


def cmd_jobs(ctx: Context, args: argparse.Namespace) -> int:
    if args.action == "create":
        return _create_job(ctx, args)
    store = ctx.store
    if args.action == "list":
        bring_states_up_to_now(ctx)
        state = JobState.parse(args.state).value if args.state else None
        system: bool | None = None if args.all else bool(args.system)
        records = store.jobs.list(system=system, state=state, limit=args.limit,
                                  offset=args.offset)
        if args.json:
            print_json([r.to_dict() for r in records])
        else:
            table(
                [
                    (r.id, r.name, r.type, r.state, f"{r.progress_done}/{r.progress_total}",
                     format_instant(r.created_at), format_instant(r.expires_at))
                    for r in records
                ],
                ("ID", "NAME", "TYPE", "STATE", "DONE", "CREATED", "EXPIRES"),
            )
        return 0
    if args.action == "show":
        bring_states_up_to_now(ctx)
        if args.json:
            print_json(job_json(store, args.id))
        else:
            _print_job(store.jobs.detail(args.id))
        return 0
    if args.action == "cancel":
        record = ctx.service.cancel_job(args.id)
        if args.json:
            print_json(record.to_dict())
        else:
            print(f"job {record.id} is {record.state}")
        return 0
    if args.action == "continue":
        bring_states_up_to_now(ctx)
        record = ctx.service.continue_rollout(args.id)
        if args.json:
            print_json(record.to_dict())
        else:
            waiting = record.rollout_reason
            print(f"job {record.id} continues: {record.state}"
                  + (f" ({waiting})" if waiting else ""))
        return 0
    if args.action == "extend":
        return _extend_job(ctx, args)
    if args.action == "report":
        return job_report.cmd_report(ctx, args)
    raise CliError(f"unknown jobs action {args.action}")  # pragma: no cover


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
    schedule = schedule_from_args(args, required=args.scheduled)
    if schedule is not None and not args.scheduled:
        raise CliError("schedule options need --scheduled")
    request = JobRequest(
        name=args.name,
        **job_fields(args),
        schedule=schedule or FireAndForget(),
        replace=args.replace,
        rollout=_rollout(args),
    )
    record = ctx.service.create(request)
    if args.json:
        print_json(record.to_dict())
    else:
        print(f"created job {record.id} ({record.name}), {record.progress_total} task(s), "
              f"{record.state}, expires {format_instant(record.expires_at)}")
    return 0


def _extend_job(ctx: Context, args: argparse.Namespace) -> int:
    """`jobs extend`: the new Expires At (with --json, the job as `jobs show` prints it)."""
    record = ctx.service.extend_job(args.id, to=args.to, by=args.by)
    if args.json:
        print_json(job_json(ctx.store, record.id))
        return 0
    from jobdesk.domain.schedule import schedule_from_dict

    schedule = schedule_from_dict(record.schedule)
    ends = (f" (its dates now end on {schedule.end_date.isoformat()})"
            if isinstance(schedule, Scheduled) else "")
    print(f"job {record.id} now expires {format_instant(record.expires_at)}{ends}; "
          f"failed tasks stay Failed until retried: jobdesk tasks retry {record.id} DEVICE")
    return 0


def extend_command(ctx: Context, job_id: int) -> str:
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
    created, expires = format_instant(record.created_at), format_instant(record.expires_at)
    print(f"Created {created}, expires {expires}")
    for task in record.tasks:
        progress = task.step_progress
        print(
            f"\n  {task.device}: {task.state}, step {task.current_step or '-'} "
            f"({progress.done}/{progress.total}), attempts {task.attempts}"
            + (f", next {format_instant(task.next_attempt_at)}" if task.next_attempt_at else "")
        )
        if task.reason:
            print(f"    reason: {printable(task.reason, MESSAGE_LIMIT)}")
        if task.cancel_requested_at and task.state != "Cancelled":
            print(f"    cancel requested {format_instant(task.cancel_requested_at)}")
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
        at = format_instant(when, seconds=True) if when else "-"
        line = f"        {run.name:<20} {run.status:<10} {at:<19}"
        if run.message:
            line += f" {printable(run.message, MESSAGE_LIMIT)}"
        print(line)


# --- tasks ------------------------------------------------------------------------------
