"""Choosing the device driver a runtime uses: the SSH driver, or one named in settings.

A `module:factory` setting lets a site plug in its own driver (and lets tests drive the
whole CLI against a scripted fake) without the runtime knowing about either.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path

from jobdesk.runtime.driver import DeviceDriver
from jobdesk.settings import Settings, SettingsError
from jobdesk.store.location import Location


def load_driver(
    settings: Settings, data_dir: Path, profiles_dir: Path | None = None
) -> DeviceDriver:
    """The driver the settings name; the SSH driver keeps its trust in `data_dir`."""
    if settings.driver == "ssh":
        from jobdesk.devices import ProfileLibrary, SecretStore, SshDriver

        if settings.driver_options:
            raise SettingsError("the ssh driver takes no driver_options")
        return SshDriver(
            data_dir / "known_hosts",
            SecretStore(data_dir),
            ProfileLibrary(user_dir=profiles_dir),
        )
    module_name, sep, attribute = settings.driver.partition(":")
    if not sep or not module_name or not attribute:
        raise SettingsError(
            f"driver {settings.driver!r}: use \"ssh\" or \"package.module:factory\""
        )
    try:
        module = importlib.import_module(module_name)
        factory = getattr(module, attribute)
    except (ImportError, AttributeError) as error:
        raise SettingsError(f"driver {settings.driver!r} cannot be loaded: {error}") from error
    return factory(**settings.driver_options)


def database_password(data_dir: Path) -> Callable[[Location], str | None]:
    """Where a PostgreSQL password comes from when libpq's own ways do not give one.

    PGPASSWORD wins; otherwise a password stored with `jobdesk db set-password` (the OS
    keyring, or the private secrets file); otherwise libpq reads ~/.pgpass itself.
    """

    def lookup(location: Location) -> str | None:
        if os.environ.get("PGPASSWORD"):
            return None
        from jobdesk.devices import SecretStore

        return SecretStore(data_dir).get_password(location.secret_key)

    return lookup
