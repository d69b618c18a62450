"""The domain's refusals and corners that the scenario tests do not reach."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from jobdesk.domain import rules
from jobdesk.domain.inventory import InventoryError, make_device, parse_inventory_csv
from jobdesk.domain.jobtypes import JOB_TYPES, JobType
from jobdesk.domain.payloads import PayloadError, parse_snippet
from jobdesk.domain.schedule import (
    FireAndForget,
    Scheduled,
    ScheduleError,
    local_zone_name,
    schedule_from_dict,
)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"port": "eighty"}, "not a number"),
        ({"port": 70000}, "outside 1-65535"),
        ({"user": "ad min"}, "user 'ad min'"),
        ({"profile": "net module"}, "profile 'net module'"),
        ({"profile": "cisco", "known_profiles": ("netmodule",)}, "is not known"),
        ({"profile": "cisco", "known_profiles": ()}, "known profiles: none"),
        ({"tags": ("ok", "bad tag")}, "tag 'bad tag'"),
    ],
)
def test_a_device_entry_is_refused_with_the_field_named(fields: dict, message: str) -> None:
    with pytest.raises(InventoryError, match=message):
        make_device("r1", "10.0.0.1", **fields)


def test_empty_tags_are_dropped_and_tags_sorted() -> None:
    assert make_device("r1", "10.0.0.1", tags=(" b ", "", "a")).tags == ("a", "b")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ('"unclosed\n', "line 1"),
        ("name,host,colour\n", "unknown column"),
        ("name\n", "missing column"),
    ],
)
def test_an_inventory_header_that_cannot_be_used_refuses_the_file(text: str,
                                                                 message: str) -> None:
    with pytest.raises(InventoryError, match=message):
        parse_inventory_csv(text)


def test_job_types_parse_and_title_and_a_script_adds_its_upload() -> None:
    assert JobType.parse(" Reboot ") is JobType.REBOOT
    assert JobType.REBOOT.title
    with pytest.raises(ValueError, match="unknown job type 'flash'"):
        JobType.parse("flash")
    command = JOB_TYPES[JobType.COMMAND]
    assert [s.name for s in command.steps_for(has_file=True)] == [
        "connect", "upload-script", "run", "check-exit"]
    assert "upload-script" not in [s.name for s in command.steps_for(has_file=False)]


def test_a_snippet_key_with_odd_characters_is_refused() -> None:
    with pytest.raises(PayloadError, match="may hold only"):
        parse_snippet("ntp server = 1\n")


def test_task_counts_and_a_schedule_with_no_window_left() -> None:
    counts = rules.TaskCounts.of(["Scheduled", "Running", "Rescheduled", "Succeeded", "?"])
    assert counts.open == 3 and counts.unknown == 1
    nightly = Scheduled.parse("2026-12-01", "2026-12-02", "22:00-04:00", "mon-sun", "UTC")
    late = datetime(2026, 12, 3, 12, tzinfo=UTC)
    with pytest.raises(rules.ActionRefused, match="no window left"):
        rules.first_attempt_at(nightly, late, datetime(2026, 12, 4, tzinfo=UTC))


def test_schedules_refuse_what_is_not_what_they_hold() -> None:
    with pytest.raises(TypeError):
        FireAndForget().is_open("now")  # type: ignore[arg-type]
    with pytest.raises(ScheduleError):
        Scheduled.parse("2026-12-01", "2026-12-02", 2200, "mon", "UTC")  # type: ignore[arg-type]
    with pytest.raises(ScheduleError):
        Scheduled.parse("2026-12-01", "2026-12-02", "22:00-04:00", 1, "UTC")  # type: ignore[arg-type]
    with pytest.raises(ScheduleError, match="local time of day"):
        Scheduled(date(2026, 12, 1), date(2026, 12, 2), "22:00",  # type: ignore[arg-type]
                  time(4), frozenset({0}), "UTC")
    with pytest.raises(ScheduleError, match="set of day numbers"):
        Scheduled(date(2026, 12, 1), date(2026, 12, 2), time(22), time(4),
                  "mon", "UTC")  # type: ignore[arg-type]
    nightly = schedule_from_dict(Scheduled.parse(
        "2026-12-01", "2026-12-02", "22:00-04:00", "mon-sun", "UTC").to_dict())
    assert isinstance(nightly, Scheduled)
    assert nightly.nominal_length.total_seconds() == 6 * 3600


def test_the_laptops_zone_falls_back_to_utc_when_it_cannot_be_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tzlocal

    def broken() -> str:
        raise RuntimeError("no zone configured")

    monkeypatch.setattr(tzlocal, "get_localzone_name", broken)
    assert local_zone_name() == "UTC"
    monkeypatch.setattr(tzlocal, "get_localzone_name", lambda: "")
    assert local_zone_name() == "UTC"
