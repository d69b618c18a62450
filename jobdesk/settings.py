"""Settings, declared once with their type, default and meaning, read from a TOML file.

An unknown key or a wrong type is an error that names the key and the file: a typo in
`retry_intervall_s` must not silently leave the default in force on a maintenance night.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    retry_interval_s: int = 300
    fire_and_forget_lifetime_s: int = 1800
    max_parallel_devices: int = 50
    info_refresh_after_s: int = 86400
    cert_renew_before_days: int = 30
    # 0 means: each step's own timeout (spec B7 lists them); otherwise one bound for all.
    step_timeout_s: int = 0
    # "ssh" for real devices; "package.module:factory" plugs in another driver.
    driver: str = "ssh"
    driver_options: dict[str, Any] = field(default_factory=dict)

    @property
    def retry_interval(self) -> timedelta:
        return timedelta(seconds=self.retry_interval_s)

    @property
    def fire_and_forget_lifetime(self) -> timedelta:
        return timedelta(seconds=self.fire_and_forget_lifetime_s)

    @property
    def info_refresh_after(self) -> timedelta:
        return timedelta(seconds=self.info_refresh_after_s)

    @property
    def cert_renew_before(self) -> timedelta:
        return timedelta(days=self.cert_renew_before_days)

    def step_timeout(self, step_default_s: float) -> float:
        return float(self.step_timeout_s) if self.step_timeout_s > 0 else step_default_s


_MINIMUM = {
    "retry_interval_s": 1,
    "fire_and_forget_lifetime_s": 1,
    "max_parallel_devices": 1,
    "info_refresh_after_s": 60,
    "cert_renew_before_days": 1,
    "step_timeout_s": 0,
}


def load_settings(path: Path | None) -> Settings:
    """Read settings; a missing file means defaults (the file is optional)."""
    if path is None or not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"cannot read settings {path}: {error}") from error
    return settings_from_dict(data, source=str(path))


def settings_from_dict(data: dict[str, Any], source: str = "settings") -> Settings:
    known = {f.name: f for f in fields(Settings)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise SettingsError(
                f"{source}: unknown setting {key!r}; known: {', '.join(sorted(known))}"
            )
        default = known[key].default
        if key == "driver_options":
            if not isinstance(value, dict):
                raise SettingsError(f"{source}: driver_options must be a table")
        elif isinstance(value, bool) or not isinstance(value, type(default)):
            kind = {int: "whole number", str: "string"}[type(default)]
            raise SettingsError(f"{source}: {key} must be a {kind}, not {value!r}")
        minimum = _MINIMUM.get(key)
        if minimum is not None and value < minimum:
            raise SettingsError(f"{source}: {key} must be at least {minimum}")
        values[key] = value
    return Settings(**values)
