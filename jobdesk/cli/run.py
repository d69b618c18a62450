"""`jobdesk run`: the runtime without a window."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from typing import Any

from jobdesk import paths
from jobdesk.cli.common import (
    EXIT_ERROR,
    EXIT_NOT_DONE,
    Context,
    seconds,
)


def add_parser(commands: Any) -> None:
    """`run`."""
    run = commands.add_parser("run", help="run the runtime headless")
    run.add_argument("--until-done", action="store_true",
                     help="exit 0 once every user job is finished")
    run.add_argument("--max-seconds", type=seconds,
                     help="stop after this long (exit 3 with --until-done)")


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

    code = asyncio.run(main())
    # The run is over: what it leaves in memory (a fleet's connections) is freed with the
    # process, not collected object by object at exit, which took 0.1-1.5 s after the last
    # task.
    gc.freeze()
    return code


# --- schedule ---------------------------------------------------------------------------
