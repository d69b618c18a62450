"""A simulated fleet: N devices in one process, on one asyncio loop.

Used three ways: `jobdesk sim` (a fleet to point the real application at), the test suite
(`async with SimFleet(...)`), and later the GUI's demo mode. Ports are base_port + index,
kept below 32768 because the kernel hands out ephemeral ports above that.
"""

from __future__ import annotations

import csv
import errno
import random
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from jobdesk.devices.profiles import ProfileLibrary
from jobdesk.sim.device import SimDevice
from jobdesk.sim.faults import DeviceFaults, parse_faults
from jobdesk.sim.nrsw import DOCUMENTED_DEFAULTS
from jobdesk.sim.record import Recorder
from jobdesk.sim.server import SimNode

DEFAULT_BASE_PORT = 20022
PORT_LIMIT = 32768
INVENTORY_COLUMNS = ("name", "host", "port", "user", "profile", "tags")


class SimFleet:
    def __init__(
        self,
        devices: int,
        *,
        base_port: int = DEFAULT_BASE_PORT,
        seed: int = 0,
        faults: str | None = None,
        profiles: Sequence[str] = ("netmodule",),
        host: str = "127.0.0.1",
        reboot_seconds: float = 2.0,
        library: ProfileLibrary | None = None,
        record: Path | None = None,
    ) -> None:
        if devices < 1:
            raise ValueError("a fleet needs at least one device")
        if base_port < 1024 or base_port + devices > PORT_LIMIT:
            raise ValueError(
                f"ports {base_port}-{base_port + devices - 1} must lie within 1024-"
                f"{PORT_LIMIT - 1} (higher ports are the kernel's ephemeral range)"
            )
        library = library or ProfileLibrary()
        width = max(3, len(str(devices - 1)))
        names = [f"sim-{i:0{width}d}" for i in range(devices)]
        plan = parse_faults(faults, names, seed)
        self.host = host
        self.seed = seed
        self.recorder = Recorder(record) if record is not None else None
        self.nodes = [
            SimNode(
                _device(i, names[i], base_port + i, profiles[i % len(profiles)], library,
                        plan[i], seed),
                seed,
                host,
                reboot_seconds,
                self.recorder,
            )
            for i in range(devices)
        ]

    @property
    def devices(self) -> list[SimDevice]:
        return [node.device for node in self.nodes]

    def device(self, name: str) -> SimDevice:
        for node in self.nodes:
            if node.device.name == name:
                return node.device
        raise KeyError(name)

    def node(self, name: str) -> SimNode:
        return next(n for n in self.nodes if n.device.name == name)

    async def start(self) -> None:
        try:
            for node in self.nodes:
                try:
                    await node.start()
                except OSError as error:
                    if error.errno == errno.EADDRINUSE:
                        raise OSError(
                            error.errno,
                            f"port {node.device.port} ({node.device.name}) is in use; "
                            "choose another --base-port",
                        ) from error
                    raise
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for node in self.nodes:
            await node.stop()
        if self.recorder is not None:
            self.recorder.close()

    async def __aenter__(self) -> SimFleet:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def rows(self) -> list[dict[str, str]]:
        """Inventory rows in the format `jobdesk devices import` reads."""
        rows = []
        for device in self.devices:
            tags = ["sim", device.family, *device.faults.names]
            rows.append(
                {
                    "name": device.name,
                    "host": self.host,
                    "port": str(device.port),
                    "user": "admin",
                    "profile": device.family,
                    "tags": ";".join(tags),
                }
            )
        return rows

    def write_inventory(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=INVENTORY_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(self.rows())


def _device(index: int, name: str, port: int, profile: str, library: ProfileLibrary,
            faults: DeviceFaults, seed: int) -> SimDevice:
    """A NetModule router emulates its documented `cli` and never reads the `netmodule`
    profile (which is tested against it); any other device answers by its profile."""
    if profile == "netmodule":
        device = SimDevice.create(index, name, port, None, faults, seed)
        device.config.update(DOCUMENTED_DEFAULTS)
        return device
    return SimDevice.create(index, name, port, library.get(profile), faults, seed)


async def start_on_free_ports(devices: int, *, attempts: int = 20, first_port: int = 20000,
                              **options: Any) -> SimFleet:
    """Start a fleet on a random free port range below the ephemeral range.

    Two fleets (a test's and a developer's `jobdesk sim`, or two demos) then never fight over
    ports: a taken range is simply tried elsewhere.
    """
    chooser = random.Random()
    last: OSError | None = None
    for _ in range(attempts):
        base = chooser.randrange(first_port, PORT_LIMIT - devices - 1)
        fleet = SimFleet(devices, base_port=base, **options)
        try:
            await fleet.start()
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            last = error
            continue
        return fleet
    raise OSError(errno.EADDRINUSE, f"no {devices} free ports found: {last}")

