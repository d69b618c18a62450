"""`jobdesk sim`: run a simulated fleet until interrupted.

It prints `ready` (and nothing else on stdout) once every device listens, so a script or
a test can wait for that line before it connects.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from jobdesk.devices.profiles import ProfileError
from jobdesk.sim.faults import FaultSpecError, help_text
from jobdesk.sim.fleet import DEFAULT_BASE_PORT, SimFleet


async def _serve(fleet: SimFleet, inventory: Path | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):  # before `ready`: a signal may follow it
        with contextlib.suppress(NotImplementedError, AttributeError):  # Windows
            loop.add_signal_handler(signum, stop.set)
    async with fleet:
        if inventory is not None:
            fleet.write_inventory(inventory)
        print("ready", flush=True)
        await stop.wait()


def run_fleet(
    devices: int,
    base_port: int = DEFAULT_BASE_PORT,
    seed: int = 0,
    faults: str | None = None,
    inventory: Path | None = None,
    *,
    profiles: tuple[str, ...] = ("netmodule",),
    reboot_seconds: float = 2.0,
    record: Path | None = None,
) -> int:
    """Serve the fleet until SIGINT/SIGTERM; returns the process exit status."""
    fleet = SimFleet(
        devices,
        base_port=base_port,
        seed=seed,
        faults=faults,
        profiles=profiles,
        reboot_seconds=reboot_seconds,
        record=record,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(fleet, inventory))
    return 0


def build_parser(prog: str = "jobdesk sim") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run simulated routers (SSH + SFTP on 127.0.0.1) to try jobdesk without "
        "hardware. Log in as admin with any password.",
        epilog=help_text()
        + "\n\nExample: jobdesk sim --devices 50 --inventory sim.csv "
        "--faults 'offline@3,slow:4@10%,fail-step:config_apply:2:bad key@sim-007'\n"
        "then: jobdesk devices import sim.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--devices", type=int, required=True, help="how many devices")
    parser.add_argument(
        "--base-port", type=int, default=DEFAULT_BASE_PORT,
        help=f"port of the first device; device i listens on base+i (default {DEFAULT_BASE_PORT})",
    )
    parser.add_argument("--seed", type=int, default=0, help="same seed, same keys and faults")
    parser.add_argument("--faults", metavar="SPEC", help="faults to inject (see below)")
    parser.add_argument(
        "--inventory", type=Path, metavar="FILE.csv", help="write the fleet's inventory here"
    )
    parser.add_argument(
        "--profiles", default="netmodule",
        help="comma-separated profiles, assigned round-robin (default netmodule); a "
        "netmodule router emulates NetModule's documented cli (docs/netmodule.md), any other "
        "answers its profile's commands",
    )
    parser.add_argument(
        "--reboot-seconds", type=float, default=2.0, help="how long a reboot takes (default 2)"
    )
    parser.add_argument(
        "--record", type=Path, metavar="FILE.jsonl",
        help="append one JSON line per command and upload a device receives: "
        '{"device", "at", "kind": "exec"|"upload", "command"|"path", "exit"}',
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    profiles = tuple(p.strip() for p in args.profiles.split(",") if p.strip())
    try:
        return run_fleet(
            args.devices,
            args.base_port,
            args.seed,
            args.faults,
            args.inventory,
            profiles=profiles or ("netmodule",),
            reboot_seconds=args.reboot_seconds,
            record=args.record,
        )
    except (ValueError, FaultSpecError, ProfileError, OSError) as error:
        print(f"jobdesk sim: {error}", file=sys.stderr)
        return 2
