"""Helpers for tests that run the SSH driver against the in-process simulated fleet.

Each test starts its own small fleet on a random base port below 32768 (retrying when a
port is taken), so tests stay independent and can run next to a developer's `jobdesk sim`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from jobdesk.devices import ProfileLibrary, SecretStore, SshDriver
from jobdesk.sim import SimFleet
from jobdesk.sim.fleet import start_on_free_ports
from jobdesk.store.records import DeviceRecord

PASSWORD = "s3cret-Pa55word!"


async def start_fleet(devices: int = 1, **options: Any) -> SimFleet:
    """A started fleet; the caller stops it (use `async with running(...)`)."""
    return await start_on_free_ports(devices, **options)


class running:
    """`async with running(3, seed=1) as fleet:` – start_fleet as a context manager."""

    def __init__(self, devices: int = 1, **options: Any) -> None:
        self.devices = devices
        self.options = options
        self.fleet: SimFleet | None = None

    async def __aenter__(self) -> SimFleet:
        self.fleet = await start_fleet(self.devices, **self.options)
        return self.fleet

    async def __aexit__(self, *exc: object) -> None:
        assert self.fleet is not None
        await self.fleet.stop()


def make_driver(tmp: Path, **options: Any) -> SshDriver:
    secrets = SecretStore(tmp / "data", use_keyring=False)
    return SshDriver(tmp / "known_hosts", secrets, ProfileLibrary(), **options)


def records(fleet: SimFleet, driver: SshDriver | None = None) -> list[DeviceRecord]:
    """The fleet's inventory rows as DeviceRecords (with the password stored, if a driver)."""
    result = []
    for number, row in enumerate(fleet.rows(), start=1):
        if driver is not None:
            driver.secrets.set_password(row["name"], PASSWORD)
        result.append(
            DeviceRecord(
                id=number,
                name=row["name"],
                host=row["host"],
                port=int(row["port"]),
                user=row["user"],
                profile=row["profile"],
                tags=tuple(row["tags"].split(";")),
            )
        )
    return result


def record(fleet: SimFleet, driver: SshDriver | None = None, index: int = 0) -> DeviceRecord:
    return records(fleet, driver)[index]


def moved(device: DeviceRecord, **changes: Any) -> DeviceRecord:
    return replace(device, **changes)
