"""Where jobdesk keeps its files: the platform's own places, via platformdirs."""

from __future__ import annotations

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
