"""`jobdesk db`: the database itself (copy, check, a server's password)."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from jobdesk import paths
from jobdesk.cli.common import (
    EXIT_ERROR,
    CliError,
    Parser,
    add_json_flag,
    database_location,
    print_json,
    read_password,
    secret_store,
)
from jobdesk.runtime.loader import database_password
from jobdesk.settings import load_settings
from jobdesk.store import Store
from jobdesk.store.copy import check_database, copy_database
from jobdesk.store.location import parse_location


def add_parser(commands: Any) -> None:
    """`db set-password|copy|check`."""
    db = commands.add_parser(
        "db", help="the database: copy jobs between databases, check one, a server's password")
    db_commands = db.add_subparsers(dest="action", required=True, parser_class=Parser)
    db_password = db_commands.add_parser(
        "set-password",
        help="store the password of a PostgreSQL --db (read from standard input) in the "
        "OS keyring, for when neither PGPASSWORD nor ~/.pgpass gives it",
    )
    db_password.add_argument("url", help="postgresql://USER@HOST[:PORT]/DBNAME")
    db_copy = db_commands.add_parser(
        "copy", help="copy devices, jobs, tasks and steps from one database to another "
        "(SQLite and PostgreSQL in either direction)")
    db_copy.add_argument("source", metavar="SRC", help="a SQLite file or a postgresql:// URL")
    db_copy.add_argument("target", metavar="DST", help="a SQLite file or a postgresql:// URL")
    db_copy.add_argument(
        "--merge", action="store_true",
        help="add to a destination that holds data: a job already there is updated (the "
        "newer of each task wins), never doubled")
    add_json_flag(db_copy)
    db_check = db_commands.add_parser(
        "check", help="the --db database's schema version, counts and integrity")
    add_json_flag(db_check)


def cmd_db(args: argparse.Namespace) -> int:
    """Commands about the database itself; they run before (or without) opening it."""
    if args.action == "set-password":
        location = parse_location(args.url)
        if not location.is_postgres:
            raise CliError("a SQLite file has no password; give a postgresql:// URL")
        secrets = secret_store()
        secrets.set_password(location.secret_key, read_password())
        print(f"password of {location} stored in {secrets.backend}")
        return 0
    settings = load_settings(args.config or paths.default_config())
    password = database_password(paths.data_dir())
    if args.action == "copy":
        source, target = parse_location(args.source), parse_location(args.target)
        if str(source) == str(target):
            raise CliError("the source and the destination are the same database")
        with Store(source, password) as src, Store(target, password) as dst:
            report = copy_database(src, dst, merge=args.merge)
        if args.json:
            print_json(asdict(report))
        else:
            print(f"copied {source} to {target}: {report}")
        return 0
    with Store(database_location(args.db, settings), password) as store:
        checked = check_database(store)
    if args.json:
        print_json({"schema": checked.schema, "counts": checked.counts,
                     "ok": checked.ok, "problems": checked.problems})
    else:
        print(f"schema version {checked.schema}")
        for what, count in checked.counts.items():
            print(f"{what:<14} {count:,}")
        print("integrity: " + ("ok" if checked.ok else "; ".join(checked.problems)))
    return 0 if checked.ok else EXIT_ERROR
