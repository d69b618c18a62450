"""A simulated fleet on a thread of its own, for the demo and the self-test.

The window's process hosts it beside the runtime: its own asyncio loop in its own thread,
so the devices answer while the runtime works, and `stop()` leaves nothing running.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from jobdesk.sim.fleet import SimFleet, start_on_free_ports


class BackgroundFleet:
    def __init__(self, devices: int, *, seed: int = 0, faults: str | None = None,
                 reboot_seconds: float = 2.0) -> None:
        self.devices = devices
        self.seed = seed
        self.faults = faults
        self.reboot_seconds = reboot_seconds
        self.fleet: SimFleet | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="jobdesk-sim",
                                        daemon=True)

    def start(self, timeout: float = 30.0) -> SimFleet:
        """Listen on free loopback ports (below the ephemeral range); return the fleet."""
        self._thread.start()
        future: Future[SimFleet] = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.fleet = future.result(timeout)
        return self.fleet

    async def _start(self) -> SimFleet:
        return await start_on_free_ports(self.devices, seed=self.seed, faults=self.faults,
                                         reboot_seconds=self.reboot_seconds)

    def stop(self, timeout: float = 15.0) -> None:
        if not self._thread.is_alive():
            return
        if self.fleet is not None:
            future = asyncio.run_coroutine_threadsafe(self.fleet.stop(), self._loop)
            future.result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._loop.close()
