"""A job's report as the customer or the next shift reads it: HTML, CSV and JSON.

Built from the dict `jobdesk jobs show --json` prints; the renderers are pure, so these
tests feed them such a dict and read what comes out as a person or a spreadsheet would.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from jobdesk.runtime.report import Report, build_report
from jobdesk.runtime.report_formats import CSV_COLUMNS, render, render_csv, render_html

ZURICH = ZoneInfo("Europe/Zurich")
MADE = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)


def step(name: str, status: str, started: str | None = None, completed: str | None = None,
         message: str | None = None, fix_hint: str | None = None,
         shown_as: str | None = None) -> dict[str, Any]:
    return {"name": name, "status": status, "started_at": started, "skipped_at": None,
            "completed_at": completed, "message": message, "fix_hint": fix_hint,
            "shown_as": shown_as or status}


def task(device: str, state: str, steps: list[dict[str, Any]], *, attempts: int = 1,
         reason: str | None = None, current: str | None = None,
         history: list[list[tuple[str, str]]] | None = None) -> dict[str, Any]:
    runs = history or [[(s["name"], s["status"]) for s in steps]]
    return {
        "device": device, "state": state, "attempt_count": attempts, "reason": reason,
        "current_step": current, "next_attempt_at": None, "steps": steps,
        "attempts": [{"number": n + 1, "steps": [{"name": name, "status": status}
                                                 for name, status in run]}
                     for n, run in enumerate(runs)],
    }


def firmware_job() -> dict[str, Any]:
    """Two routers: one updated, one that came back on the old firmware twice."""
    ok = [step("connect", "Completed", "2026-12-01T21:00:05+00:00", "2026-12-01T21:00:06+00:00",
               "connected", fix_hint="never shown: this step did not fail"),
          step("verify-version", "Completed", "2026-12-01T21:04:00+00:00",
               "2026-12-01T21:04:01+00:00", "running 4.9.0")]
    bad = [step("connect", "Completed", "2026-12-01T21:10:00+00:00",
                "2026-12-01T21:10:01+00:00", "connected"),
           step("verify-version", "Failed", "2025-12-31T22:59:00+00:00",
                "2025-12-31T22:59:30+00:00",
                "the device runs 4.8.0.102, expected 4.9.0",
                fix_hint="check the boot log and flash again")]
    return {
        "id": 7, "name": "Firmware 4.9.0, depot <north>", "type": "firmware-update",
        "state": "Partially Succeeded", "progress": {"done": 2, "total": 2},
        "schedule": {"kind": "scheduled", "from": "2026-12-01", "to": "2026-12-07",
                     "window": "22:00-04:00", "weekdays": ["mon", "tue", "wed", "thu", "fri",
                                                            "sat", "sun"],
                     "tz": "Europe/Zurich"},
        "created_at": "2026-11-30T16:00:00+00:00", "expires_at": "2026-12-08T03:00:00+00:00",
        "cancelled_at": None, "replaced_by": None,
        "tasks": [
            task("r1", "Succeeded", ok),
            task("r2", "Failed", bad, attempts=2, reason="verification failed",
                 current="verify-version",
                 history=[[("connect", "Completed"), ("verify-version", "Failed")],
                          [("connect", "Completed"), ("verify-version", "Failed")]]),
        ],
    }


def report_of(job: dict[str, Any]) -> Report:
    return build_report(job, made_at=MADE, zone=ZURICH, zone_name="Europe/Zurich",
                        made_by="eng@laptop")


def csv_rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff"), "without a BOM spreadsheets misread UTF-8"
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def test_the_summary_counts_tasks_by_state_and_names_the_schedule() -> None:
    report = report_of(firmware_job())
    assert report.counts == (("Succeeded", 1), ("Failed", 1))
    assert "22:00–04:00" in report.schedule and "Europe/Zurich" in report.schedule
    html = render_html(report)
    assert "Partially Succeeded" in html and "2 of 2" in html
    assert "eng@laptop" in html


def test_times_carry_their_zone_and_the_year_only_when_it_is_another() -> None:
    html = render_html(report_of(firmware_job()))
    assert "01 Dec 22:00 CET" in html  # 21:00 UTC shown in Zurich
    assert "31 Dec 2025 23:59 CET" in html  # last year's attempt says its year
    assert "times in Europe/Zurich" in html


def test_a_fix_hint_is_shown_only_where_a_step_failed() -> None:
    report = report_of(firmware_job())
    r1, r2 = report.devices
    assert [s.fix_hint for s in r1.steps] == ["", ""]
    assert r2.steps[1].fix_hint == "check the boot log and flash again"
    assert "never shown" not in render_html(report)
    assert r2.steps[1].attempts == 2 and r1.steps[0].attempts == 1


def test_the_html_is_one_file_for_a4_with_names_escaped() -> None:
    html = render_html(report_of(firmware_job()))
    assert "size: A4" in html
    assert "display: table-header-group" in html  # the header row repeats on every page
    assert not re.search(r"""(src|href)\s*=|url\(|@import""", html), "an external asset"
    assert "depot &lt;north&gt;" in html and "<north>" not in html


def test_the_csv_has_one_row_per_device_and_step_with_iso_times_and_the_zone() -> None:
    rows = csv_rows(render_csv(report_of(firmware_job())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["device"], r["step"], r["step_state"]) for r in rows] == [
        ("r1", "connect", "Completed"), ("r1", "verify-version", "Completed"),
        ("r2", "connect", "Completed"), ("r2", "verify-version", "Failed")]
    assert rows[0]["started_at"] == "2026-12-01T22:00:05+01:00"
    assert {r["zone"] for r in rows} == {"Europe/Zurich"}
    assert rows[3]["fix_hint"] == "check the boot log and flash again"
    assert rows[3]["step_attempts"] == "2"


def test_the_json_keeps_iso_times() -> None:
    data = json.loads(render(report_of(firmware_job()), "json"))
    assert data["job"]["created_at"] == "2026-11-30T17:00:00+01:00"
    assert data["counts"] == {"Succeeded": 1, "Failed": 1}
    failed = data["devices"][1]["steps"][1]
    assert failed["fix_hint"] == "check the boot log and flash again"
    assert data["report"]["zone"] == "Europe/Zurich"


def test_a_job_without_tasks_still_reports() -> None:
    job = {**firmware_job(), "tasks": [], "progress": {"done": 0, "total": 0}}
    report = report_of(job)
    assert "This job has no tasks." in render_html(report)
    assert csv_rows(render_csv(report)) == []


texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=40)


@given(name=texts, message=texts, hint=texts)
def test_any_name_or_message_survives_the_csv(name: str, message: str, hint: str) -> None:
    job = firmware_job()
    job["name"] = name
    job["tasks"][1]["steps"][1]["message"] = message
    job["tasks"][1]["steps"][1]["fix_hint"] = hint
    rows = csv_rows(render_csv(report_of(job)))
    assert len(rows) == 4
    assert {r["job_name"] for r in rows} == {name}
    assert rows[3]["message"] == message and rows[3]["fix_hint"] == hint
