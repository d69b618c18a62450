"""What the window needs, built once and passed down: no globals, no singletons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jobdesk.devices.profiles import ProfileLibrary
from jobdesk.runtime.actions import JobService
from jobdesk.runtime.clock import Clock
from jobdesk.runtime.driver import DeviceDriver
from jobdesk.runtime.give_way import GiveWay
from jobdesk.settings import Settings
from jobdesk.store import Store


@dataclass
class AppContext:
    store: Store
    settings: Settings
    clock: Clock
    config_path: Path
    data_dir: Path
    log_path: Path | None = None
    profiles_dir: Path | None = None  # the user's own device profiles
    # Makes a driver for a pre-flight check (*Check devices…*); None: the one the settings
    # name. A check gets its own driver: the runtime's lives on the runtime's thread.
    driver_factory: Callable[[], DeviceDriver] | None = None
    # Raised while the window's thread shows results or repaints; the runtime hosted in
    # the window and the window's store thread wait on it (runtime/give_way.py).
    give_way: GiveWay = field(default_factory=GiveWay)

    @property
    def service(self) -> JobService:
        return JobService(self.store, self.settings, self.clock)

    def profile_names(self) -> list[str]:
        """The device profiles a device may name: built-in and the user's own."""
        return ProfileLibrary(user_dir=self.profiles_dir).names()
