"""`jobdesk devices`: the device inventory."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from jobdesk import paths
from jobdesk.cli.common import (
    CliError,
    Context,
    Parser,
    add_json_flag,
    print_json,
    read_password,
    secret_store,
    table,
)
from jobdesk.domain.inventory import (
    DEFAULT_PORT,
    DEFAULT_PROFILE,
    DEFAULT_USER,
    InventoryError,
    make_device,
)
from jobdesk.domain.text import printable
from jobdesk.domain.times import format_instant
from jobdesk.runtime.actions import remove_device
from jobdesk.runtime.inventory_file import import_inventory


def add_parser(commands: Any) -> None:
    """`devices add|set-password|import|list|remove|probe`."""
    devices = commands.add_parser("devices", help="the device inventory")
    device_commands = devices.add_subparsers(dest="action", required=True, parser_class=Parser)
    add = device_commands.add_parser("add", help="add one device")
    add.add_argument("name", help="the device's name, unique in the inventory")
    add.add_argument("--host", required=True, help="its address: a host name or IP address")
    add.add_argument("--port", type=int, help=f"its SSH port (default {DEFAULT_PORT})")
    add.add_argument("--user", help=f"the SSH user (default {DEFAULT_USER})")
    add.add_argument("--profile",
                     help=f"the device profile: how to talk to this model (default "
                     f"{DEFAULT_PROFILE}; see the profiles folder of `jobdesk paths`)")
    add.add_argument("--tag", action="append", default=[], dest="tags", metavar="TAG",
                     help="a tag to pick the device by in jobs (repeatable)")
    add.add_argument("--key", type=Path, help="private key file for SSH")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the device's password from standard input")
    add_json_flag(add)
    password = device_commands.add_parser(
        "set-password", help="store a device's password (read from standard input)"
    )
    password.add_argument("name", help="the device's name")
    imp = device_commands.add_parser("import", help="import devices from a CSV file")
    imp.add_argument("file", type=Path,
                     help="CSV with the columns name,host,port,user,profile,tags (tags "
                     "separated by ;); a device already there is updated")
    imp.add_argument(
        "--skip-invalid", action="store_true",
        help="import the valid lines and report the rejected ones (default: all or nothing)",
    )
    add_json_flag(imp)
    lst = device_commands.add_parser("list", help="list devices")
    add_json_flag(lst)
    rm = device_commands.add_parser("remove", help="remove a device")
    rm.add_argument("name", help="the device's name")
    probe = device_commands.add_parser(
        "probe", help="send a device only read commands and show whether its profile "
        "understood the answers"
    )
    probe.add_argument("name", help="the device's name")
    probe.add_argument("--timeout", type=float, default=30.0,
                       help="seconds for the connection and each command (default 30)")


def cmd_devices(ctx: Context, args: argparse.Namespace) -> int:
    store = ctx.store
    if args.action == "add":
        key = str(args.key.expanduser().resolve()) if args.key else None
        if args.key is not None and not args.key.expanduser().is_file():
            raise CliError(f"no key file at {args.key}")
        device = make_device(
            args.name, args.host, args.port, args.user, args.profile, args.tags, key,
            known_profiles=ctx.profiles.names(),
        )
        secret = read_password() if args.password_stdin else None
        record = store.devices.add(device, ctx.clock.now())
        if secret is not None:
            secret_store().set_password(record.name, secret)
        if args.json:
            print_json(record.to_dict())
        else:
            print(f"added {record.name} ({record.host}:{record.port})")
    elif args.action == "import":
        result = import_inventory(args.file, store, ctx.profiles.names(), ctx.clock.now(),
                                  all_or_nothing=not args.skip_invalid)
        if result.error is not None:
            raise InventoryError(result.error)
        if result.refused:
            shown = "; ".join(str(r) for r in result.rejected[:3])
            more = len(result.rejected) - 3
            raise CliError(
                f"{args.file}: {len(result.rejected)} invalid line(s) ({shown}"
                f"{f'; and {more} more' if more > 0 else ''}); nothing was imported "
                "(fix them, or pass --skip-invalid)"
            )
        for rejected in result.rejected:
            print(f"{args.file}: skipped {rejected}", file=sys.stderr)
        added, updated = result.added, result.updated
        if args.json:
            print_json(
                {
                    "added": added,
                    "updated": updated,
                    "rejected": [
                        {"line": r.line, "text": r.text, "problem": r.problem}
                        for r in result.rejected
                    ],
                }
            )
        else:
            print(f"added {added}, updated {updated}, rejected {len(result.rejected)}")
    elif args.action == "list":
        records = store.devices.list()
        if args.json:
            print_json([r.to_dict() for r in records])
        else:
            table(
                [
                    (r.name, f"{r.host}:{r.port}", r.profile, r.model, r.firmware,
                     format_instant(r.last_seen_at), ";".join(r.tags))
                    for r in records
                ],
                ("NAME", "ADDRESS", "PROFILE", "MODEL", "FIRMWARE", "LAST SEEN", "TAGS"),
            )
    elif args.action == "remove":
        remove_device(store, paths.data_dir(), args.name)
        print(f"removed {args.name}")
    elif args.action == "probe":
        return cmd_devices_probe(ctx, args)
    elif args.action == "set-password":
        store.devices.get(args.name)
        secrets = secret_store()
        secrets.set_password(args.name, read_password())
        print(f"password of {args.name} stored in {secrets.backend}")
    return 0


def cmd_devices_probe(ctx: Context, args: argparse.Namespace) -> int:
    """`devices probe NAME`: read commands only; exit 1 if the profile missed a field."""
    from jobdesk.devices import ProfileLibrary
    from jobdesk.runtime.driver import DeviceError as Unreachable
    from jobdesk.runtime.loader import load_driver
    from jobdesk.runtime.probe import probe, render

    device = ctx.store.devices.get(args.name)
    profile = ProfileLibrary(user_dir=paths.profiles_dir()).get(device.profile)
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    driver = load_driver(ctx.settings, paths.data_dir(), paths.profiles_dir())

    async def main() -> int:
        try:
            session = await driver.connect(device, timeout=args.timeout)
            try:
                report = await probe(session, device.name, profile, timeout=args.timeout)
            finally:
                await session.close()
        except Unreachable as error:
            hint = f" ({error.fix_hint})" if error.fix_hint else ""
            raise CliError(f"{device.name}: {error}{hint}") from error
        finally:
            await driver.aclose()
        for line in render(report).splitlines():
            print(printable(line, limit=10_000))
        return 0 if report.ok else 1

    return asyncio.run(main())
