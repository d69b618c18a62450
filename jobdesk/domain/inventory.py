"""Device entries as people type them: validation and the inventory CSV format.

The CSV header is `name,host,port,user,profile,tags` (tags separated by `;`). Every line
is checked before anything is stored, and each problem is reported with its line number,
so a typo on line 312 of a fleet export does not leave a half-imported inventory.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection
from dataclasses import dataclass

COLUMNS = ("name", "host", "port", "user", "profile", "tags")
REQUIRED = ("name", "host")
DEFAULT_PORT = 22
DEFAULT_USER = "admin"
DEFAULT_PROFILE = "netmodule"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,62}$")
_HOST = re.compile(r"^[A-Za-z0-9_.:\-\[\]%]{1,253}$")
_USER = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_TAG = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class InventoryError(ValueError):
    pass


@dataclass(frozen=True)
class DeviceInput:
    name: str
    host: str
    port: int = DEFAULT_PORT
    user: str = DEFAULT_USER
    profile: str = DEFAULT_PROFILE
    tags: tuple[str, ...] = ()
    key_path: str | None = None


def make_device(
    name: str,
    host: str,
    port: int | str | None = None,
    user: str | None = None,
    profile: str | None = None,
    tags: tuple[str, ...] | list[str] = (),
    key_path: str | None = None,
    known_profiles: Collection[str] | None = None,
) -> DeviceInput:
    """Validate one device entry; the error says which field and what is allowed.

    With `known_profiles`, a profile that is not among them is refused here, when the
    device is added, rather than at its first job.
    """
    name, host = (name or "").strip(), (host or "").strip()
    if not _NAME.match(name):
        raise InventoryError(
            f"name {name!r}: use 1-63 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    if not _HOST.match(host):
        raise InventoryError(f"host {host!r} is not a host name or IP address")
    if port is None or str(port).strip() == "":
        port_number = DEFAULT_PORT
    else:
        try:
            port_number = int(str(port).strip())
        except ValueError:
            raise InventoryError(f"port {port!r} is not a number") from None
        if not 1 <= port_number <= 65535:
            raise InventoryError(f"port {port_number} is outside 1-65535")
    user = (user or "").strip() or DEFAULT_USER
    if not _USER.match(user):
        raise InventoryError(f"user {user!r}: use letters, digits, '.', '_' or '-'")
    profile = (profile or "").strip() or DEFAULT_PROFILE
    if not _USER.match(profile):
        raise InventoryError(f"profile {profile!r}: use letters, digits, '.', '_' or '-'")
    if known_profiles is not None and profile not in known_profiles:
        raise InventoryError(
            f"profile {profile!r} is not known; known profiles: "
            f"{', '.join(sorted(known_profiles)) or 'none'}"
        )
    clean_tags = []
    for tag in tags:
        tag = tag.strip()
        if not tag:
            continue
        if not _TAG.match(tag):
            raise InventoryError(f"tag {tag!r}: use letters, digits, '.', '_' or '-'")
        clean_tags.append(tag)
    return DeviceInput(
        name=name,
        host=host,
        port=port_number,
        user=user,
        profile=profile,
        tags=tuple(sorted(set(clean_tags))),
        key_path=key_path,
    )


@dataclass(frozen=True)
class RejectedLine:
    line: int
    text: str
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}"


@dataclass(frozen=True)
class ParsedInventory:
    devices: list[DeviceInput]
    rejected: list[RejectedLine]


def parse_inventory_csv(
    text: str, known_profiles: Collection[str] | None = None
) -> ParsedInventory:
    """Parse an inventory; a missing or unknown column refuses the whole file."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InventoryError("the file is empty; the first line must be the header "
                             f"{','.join(COLUMNS)}") from None
    except csv.Error as error:
        raise InventoryError(f"line 1: {error}") from None
    columns = [c.strip().lower().lstrip("\ufeff") for c in header]
    missing = [c for c in REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in COLUMNS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        raise InventoryError(
            f"line 1: {'; '.join(problems)}; the header must be {','.join(COLUMNS)}"
        )
    devices: list[DeviceInput] = []
    rejected: list[RejectedLine] = []
    seen: dict[str, int] = {}
    line_number = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            rejected.append(RejectedLine(reader.line_num, "", str(error)))
            continue
        line_number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        text_line = ",".join(row)
        if len(row) != len(columns):
            rejected.append(
                RejectedLine(
                    line_number, text_line, f"{len(row)} fields, the header has {len(columns)}"
                )
            )
            continue
        values = dict(zip(columns, row, strict=True))
        try:
            device = make_device(
                values["name"],
                values["host"],
                values.get("port"),
                values.get("user"),
                values.get("profile"),
                tuple(values.get("tags", "").split(";")),
                known_profiles=known_profiles,
            )
        except InventoryError as error:
            rejected.append(RejectedLine(line_number, text_line, str(error)))
            continue
        if device.name in seen:
            rejected.append(
                RejectedLine(
                    line_number, text_line,
                    f"name {device.name!r} appears already on line {seen[device.name]}",
                )
            )
            continue
        seen[device.name] = line_number
        devices.append(device)
    return ParsedInventory(devices, rejected)
