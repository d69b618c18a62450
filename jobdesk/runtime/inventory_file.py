"""Importing an inventory file: one service for the window and the command line.

Both read the same way (UTF-8 with or without a byte-order mark), refuse the same files
(jobdesk's own database among them: reading it through a second descriptor would drop
this process's locks on it) and check each line against the same profiles.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from jobdesk.domain.inventory import (
    InventoryError,
    ParsedInventory,
    RejectedLine,
    parse_inventory_csv,
)
from jobdesk.store import Store


@dataclass(frozen=True)
class ImportResult:
    """What an inventory import did; `error` set means nothing was imported."""

    file_name: str
    added: int = 0
    updated: int = 0
    rejected: list[RejectedLine] = field(default_factory=list)
    error: str | None = None
    # All or nothing was asked and some lines were rejected: nothing was stored.
    refused: bool = False


def read_inventory(path: Path, store: Store, profiles: Collection[str]) -> ParsedInventory:
    """Read and check an inventory file; InventoryError says why the whole file is refused."""
    if store.is_database_file(path):
        raise InventoryError(f"{path.name} is jobdesk's own database, not an inventory")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InventoryError(
            f"the file cannot be read: {error.strerror or error}"
        ) from error
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InventoryError(
            f"the file is not UTF-8 text (byte {error.start} cannot be read); "
            "save it as \"CSV UTF-8\" and import it again"
        ) from error
    return parse_inventory_csv(text, profiles)


def import_inventory(
    path: Path, store: Store, profiles: Collection[str], now: datetime, *,
    all_or_nothing: bool = False,
) -> ImportResult:
    """Read, check and store an inventory: the valid lines are stored, the others reported
    (a re-import only updates what is there already); a bad header refuses the file.

    `all_or_nothing` stores nothing when a line is rejected: a script importing a fleet
    would rather stop than import part of it unnoticed (the CLI without --skip-invalid).
    """
    try:
        parsed = read_inventory(path, store, profiles)
    except InventoryError as error:
        return ImportResult(path.name, error=str(error))
    if all_or_nothing and parsed.rejected:
        return ImportResult(path.name, rejected=list(parsed.rejected), refused=True)
    added, updated = store.devices.upsert_many(parsed.devices, now) if parsed.devices \
        else (0, 0)
    return ImportResult(path.name, added, updated, list(parsed.rejected))
