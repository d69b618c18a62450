"""Choosing the device driver a runtime uses: the SSH driver, or one named in settings.

A `module:factory` setting lets a site plug in its own driver (and lets tests drive the
whole CLI against a scripted fake) without the runtime knowing about either.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from jobdesk.runtime.driver import DeviceDriver
from jobdesk.settings import Settings, SettingsError


def load_driver(settings: Settings, data_dir: Path) -> DeviceDriver:
    if settings.driver == "ssh":
        from jobdesk.devices.ssh import create_ssh_driver

        return create_ssh_driver(data_dir, **settings.driver_options)
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
