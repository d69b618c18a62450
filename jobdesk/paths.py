"""Where jobdesk keeps its files: the platform's own places, via platformdirs."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "jobdesk"


def default_database() -> Path:
    return Path(platformdirs.user_data_dir(APP, appauthor=False)) / "jobdesk.db"


def default_config() -> Path:
    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "settings.toml"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP, appauthor=False))


def profiles_dir() -> Path:
    """Device profiles of the user's own, beside the settings file."""
    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "profiles"


def private_folder(folder: Path) -> Path:
    """Create `folder` (and its parents) readable by its owner only, whatever the umask.

    Used for jobdesk's own folders (the data folder, the local CA): they hold device
    passwords, host keys and a CA key. An existing one of the user's is tightened to 0700.
    """
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = folder.stat()
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        os.chmod(folder, 0o700)
    return folder
