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
    # Team mode: how long a runtime's claim on a running task holds without a heartbeat
    # (heartbeats come four times as often); a crashed runtime's tasks are taken over then.
    claim_lease_s: int = 60
    # "ssh" for real devices; "package.module:factory" plugs in another driver.
    driver: str = "ssh"
    # Where the jobs are: "" for the SQLite file in the data folder, a file's path, or a
    # team's PostgreSQL server, postgresql://USER@HOST[:PORT]/DBNAME. --db overrides it.
    database: str = ""
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

    @property
    def claim_lease(self) -> timedelta:
        return timedelta(seconds=self.claim_lease_s)

    def step_timeout(self, step_default_s: float) -> float:
        return float(self.step_timeout_s) if self.step_timeout_s > 0 else step_default_s


_DAY = 86_400


@dataclass(frozen=True)
class Range:
    """The values a setting may take, and how to say them."""

    low: int
    high: int
    words: str  # e.g. "1 s to 7 days"

    def __contains__(self, value: int) -> bool:
        return self.low <= value <= self.high


# Every number has a range: a retry interval of 10^12 s or a lifetime beyond the year 9999
# is a typo, and would otherwise surface as an overflow deep inside the runtime.
RANGES: dict[str, Range] = {
    "retry_interval_s": Range(1, 7 * _DAY, "1 s to 7 days (604800 s)"),
    "fire_and_forget_lifetime_s": Range(60, 30 * _DAY, "1 min to 30 days (60 to 2592000 s)"),
    "max_parallel_devices": Range(1, 1000, "1 to 1000"),
    "info_refresh_after_s": Range(60, 365 * _DAY, "1 min to 365 days (60 to 31536000 s)"),
    "cert_renew_before_days": Range(1, 365, "1 to 365 days"),
    "step_timeout_s": Range(0, _DAY, "0 (each step's own) to 24 h (86400 s)"),
    "claim_lease_s": Range(8, 600, "8 s to 10 min (600 s)"),
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
        allowed = RANGES.get(key)
        if allowed is not None and value not in allowed:
            raise SettingsError(
                f"{source}: {key} = {value} is outside its range, {allowed.words}"
            )
        values[key] = value
    return Settings(**values)
