"""`jobdesk paths`: every place jobdesk reads or writes."""

from __future__ import annotations

import argparse
from typing import Any

from jobdesk import paths
from jobdesk.cli.common import (
    add_json_flag,
    database_location,
    print_json,
)
from jobdesk.devices.secrets import FILE_NAME as SECRETS_FILE
from jobdesk.settings import SettingsError, load_settings
from jobdesk.store.location import Location, LocationError


def add_parser(commands: Any) -> None:
    """`paths`."""
    where = commands.add_parser("paths", help="where jobdesk keeps its files")
    add_json_flag(where)


def cmd_paths(args: argparse.Namespace) -> int:
    """Every place jobdesk reads or writes, so a person can back up or clean up."""
    data = paths.data_dir()
    where = {
        "database": str(_paths_location(args)),
        "settings": str(args.config or paths.default_config()),
        "profiles": str(paths.profiles_dir()),
        "known_hosts": str(data / "known_hosts"),
        "local_ca": str(data / "ca"),
        "secrets_file": str(data / SECRETS_FILE),
        "logs": str(paths.log_dir() / "jobdesk.log"),
    }
    if args.json:
        print_json(where)
    else:
        width = max(len(k) for k in where)
        for key, value in where.items():
            print(f"{key.replace('_', ' '):<{width}}  {value}")
    return 0


def _paths_location(args: argparse.Namespace) -> Location | str:
    try:
        settings = load_settings(args.config or paths.default_config())
        return database_location(args.db, settings)
    except (SettingsError, LocationError) as error:
        return f"(cannot tell: {error})"
