"""Settings files: defaults, overrides, and errors that name the key."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobdesk.domain import rules
from jobdesk.domain.schedule import FireAndForget
from jobdesk.settings import RANGES, Settings, SettingsError, load_settings, settings_from_dict


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
        ("max_parallel_devices = 0\n", "max_parallel_devices = 0 is outside its range, 1 to"),
        ("retry_interval_s = 1000000000000\n", "retry_interval_s = 1000000000000 is outside"),
        ("fire_and_forget_lifetime_s = 99999999999999999\n", "outside its range, 1 min"),
        ("info_refresh_after_s = 10\n", "info_refresh_after_s = 10 is outside"),
        ("step_timeout_s = -1\n", "step_timeout_s = -1 is outside its range"),
        ("cert_renew_before_days = 366\n", "cert_renew_before_days = 366 is outside"),
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


@pytest.mark.parametrize("key", sorted(RANGES))
def test_every_number_has_a_range_and_its_ends_are_accepted(key: str) -> None:
    allowed = RANGES[key]
    assert settings_from_dict({key: allowed.low}) == Settings(**{key: allowed.low})
    assert settings_from_dict({key: allowed.high}) == Settings(**{key: allowed.high})
    for outside in (allowed.low - 1, allowed.high + 1):
        with pytest.raises(SettingsError, match=f"{key} = {outside} is outside its range"):
            settings_from_dict({key: outside})


@given(
    retry=st.integers(RANGES["retry_interval_s"].low, RANGES["retry_interval_s"].high),
    lifetime=st.integers(RANGES["fire_and_forget_lifetime_s"].low,
                         RANGES["fire_and_forget_lifetime_s"].high),
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1),
                     timezones=st.just(UTC)),
)
def test_any_value_in_range_keeps_the_rules_within_the_calendar(
    retry: int, lifetime: int, now: datetime
) -> None:
    """What the runtime computes from the settings never overflows a datetime."""
    settings = settings_from_dict({"retry_interval_s": retry,
                                   "fire_and_forget_lifetime_s": lifetime})
    schedule = FireAndForget()
    expires = schedule.expires_at(now, settings.fire_and_forget_lifetime)
    next_attempt = rules.next_attempt_after_failure(schedule, now, settings.retry_interval,
                                                    expires)
    assert next_attempt is None or now < next_attempt < expires
    assert rules.extended_expiry(schedule, now, settings.fire_and_forget_lifetime) > now
