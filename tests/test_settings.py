"""Settings files: defaults, overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobdesk.settings import Settings, SettingsError, load_settings


def test_a_missing_file_means_the_documented_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "none.toml")
    assert settings == Settings()
    assert (settings.retry_interval_s, settings.fire_and_forget_lifetime_s,
            settings.max_parallel_devices, settings.info_refresh_after_s,
            settings.cert_renew_before_days) == (300, 1800, 50, 86400, 30)


def test_values_from_the_file_override_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("retry_interval_s = 60\nmax_parallel_devices = 200\nstep_timeout_s = 90\n")
    settings = load_settings(path)
    assert settings.retry_interval.total_seconds() == 60
    assert settings.max_parallel_devices == 200
    assert settings.step_timeout(30) == 90


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("retry_interval_s = '5 minutes'\n", "retry_interval_s must be a whole number"),
        ("max_parallel_devices = 0\n", "max_parallel_devices must be at least 1"),
        ("retry = 5\n", "unknown setting 'retry'"),
        ("retry_interval_s = \n", "cannot read settings"),
        ("max_parallel_devices = true\n", "max_parallel_devices must be a whole number"),
    ],
)
def test_bad_values_are_refused_with_the_key_and_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=message) as error:
        load_settings(path)
    assert str(path) in str(error.value)
