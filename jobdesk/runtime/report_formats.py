"""A job's report as HTML (to print or mail), CSV (for a spreadsheet) or JSON (for scripts).

Pure functions of a `Report`. The HTML is one file with its style inline and no external
asset, laid out for A4: the customer may open it years later, offline, or print it. The
CSV is UTF-8 with a byte-order mark (without it spreadsheet programs guess a legacy code
page and mangle names), one row per device and step, times in ISO 8601 with a zone
column. The JSON keeps ISO times too. Times for people follow `domain/times`.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from jobdesk.domain.times import format_instant
from jobdesk.runtime.report import DeviceSection, Report, make_report
from jobdesk.store import Store

FORMATS = ("html", "csv", "json")
SUFFIXES = {"html": ".html", "csv": ".csv", "json": ".json"}

CSV_COLUMNS = (
    "job_id", "job_name", "device", "task_state", "task_attempts", "task_reason",
    "step", "step_state", "started_at", "finished_at", "zone", "step_attempts",
    "message", "fix_hint",
)


def render(report: Report, fmt: str) -> str:
    """The report in `fmt` (one of FORMATS)."""
    if fmt == "html":
        return render_html(report)
    if fmt == "csv":
        return render_csv(report)
    if fmt == "json":
        return render_json(report)
    raise ValueError(f"no report format {fmt!r}; use {', '.join(FORMATS)}")


def _shown(report: Report, value: datetime | None) -> str:
    return format_instant(value, now=report.made_at, zone=report.zone)


def _iso(report: Report, value: datetime | None) -> str | None:
    """ISO 8601 in the report's zone, to the second (a spreadsheet shows no more)."""
    if value is None:
        return None
    return value.astimezone(report.zone).replace(microsecond=0).isoformat()


# --- JSON ---------------------------------------------------------------------------------


def render_json(report: Report) -> str:
    data: dict[str, Any] = {
        "report": {"made_at": _iso(report, report.made_at), "made_by": report.made_by,
                   "zone": report.zone_name},
        "job": {
            "id": report.job_id, "name": report.name, "type": report.type,
            "state": report.state, "schedule": report.schedule,
            "created_at": _iso(report, report.created_at),
            "expires_at": _iso(report, report.expires_at),
            "cancelled_at": _iso(report, report.cancelled_at),
            "replaced_by": report.replaced_by,
            "progress": {"done": report.done, "total": report.total},
        },
        "counts": dict(report.counts),
        "devices": [
            {
                "device": section.device, "state": section.state,
                "attempts": section.attempts, "reason": section.reason or None,
                "next_attempt_at": _iso(report, section.next_attempt_at),
                "steps": [
                    {"name": step.name, "state": step.state,
                     "started_at": _iso(report, step.started_at),
                     "finished_at": _iso(report, step.finished_at),
                     "attempts": step.attempts, "message": step.message or None,
                     "fix_hint": step.fix_hint or None}
                    for step in section.steps
                ],
            }
            for section in report.devices
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --- CSV ----------------------------------------------------------------------------------


def render_csv(report: Report) -> str:
    """UTF-8 text starting with a byte-order mark; CRLF line ends, as RFC 4180 has them."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for section in report.devices:
        task = [report.job_id, report.name, section.device, section.state,
                section.attempts, section.reason]
        if not section.steps:
            writer.writerow([*task, "", "", "", "", report.zone_name, "", "", ""])
        for step in section.steps:
            writer.writerow([
                *task, step.name, step.state, _iso(report, step.started_at) or "",
                _iso(report, step.finished_at) or "", report.zone_name, step.attempts,
                step.message, step.fix_hint,
            ])
    return out.getvalue()


# --- HTML ---------------------------------------------------------------------------------

_STYLE = """
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
* { box-sizing: border-box; }
body { font: 9.5pt/1.35 "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: #111;
       margin: 0 auto; max-width: 186mm; padding: 8mm 0; }
h1 { font-size: 15pt; margin: 0 0 2mm 0; }
h2 { font-size: 11.5pt; margin: 6mm 0 2mm 0; }
p.meta { color: #444; margin: 0 0 4mm 0; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
th, td { text-align: left; vertical-align: top; padding: 1.2mm 1.5mm;
         overflow-wrap: anywhere; word-break: break-word; }
table.facts th { width: 28%; color: #444; font-weight: normal; }
table.facts td, table.facts th { border-bottom: 0.3mm solid #ddd; }
table.counts { width: auto; }
table.counts td { padding-right: 6mm; }
table.steps thead th { border-bottom: 0.5mm solid #333; background: #f0f0f0; }
table.steps thead { display: table-header-group; }
table.steps { font-size: 8.5pt; }
table.steps td { border-bottom: 0.2mm solid #ddd; }
table.steps th, table.steps td { padding: 1mm 1.2mm; }
tbody.device { break-inside: auto; }
tr { break-inside: avoid; page-break-inside: avoid; }
tr.device { break-after: avoid; page-break-after: avoid; }
tr.device th { background: #e8eef6; border-top: 0.5mm solid #333; font-weight: bold; }
tr.device th span { font-weight: normal; }
.fix { color: #6b3d00; margin-top: 0.8mm; }
.fix::before { content: "Fix: "; font-weight: bold; }
.s-succeeded, .s-completed { color: #126b2a; }
.s-failed { color: #b00020; font-weight: bold; }
.s-partially-succeeded, .s-rescheduled, .s-paused { color: #8a5a00; }
.s-cancelled, .s-cancelled-manually, .s-replaced, .s-skipped { color: #555; }
.s-running, .s-scheduled { color: #0b4f9c; }
@media screen { body { padding: 8mm; } }
"""

_COLUMNS = (("Step", "15%"), ("State", "13%"), ("Started", "16%"), ("Finished", "16%"),
            ("Tries", "6%"), ("Message and fix hint", "34%"))


def render_html(report: Report) -> str:
    title = f"Job {report.job_id}: {report.name}"
    made = _shown(report, report.made_at)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)} – report</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(report.type)} job · report made {escape(made)} by '
        f"{escape(report.made_by)} · times in {escape(report.zone_name)}</p>",
        _summary(report),
        "<h2>Devices and steps</h2>",
        _steps_table(report),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _state(text: str) -> str:
    """A state in its colour; "Failed, runs again" is coloured as Failed."""
    slug = "".join(c if c.isalnum() else "-" for c in text.split(",")[0].strip().lower())
    return f'<span class="state s-{escape(slug)}">{escape(text)}</span>'


def _summary(report: Report) -> str:
    facts: list[tuple[str, str]] = [
        ("State", _state(report.state)),
        ("Tasks done", f"{report.done} of {report.total}"),
        ("Schedule", escape(report.schedule)),
        ("Created", escape(_shown(report, report.created_at))),
        ("Expires", escape(_shown(report, report.expires_at))),
    ]
    if report.cancelled_at is not None:
        facts.append(("Cancelled", escape(_shown(report, report.cancelled_at))))
    if report.replaced_by is not None:
        facts.append(("Replaced by", f"job {report.replaced_by}"))
    rows = "".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in facts)
    counts = "".join(f"<tr><td>{_state(state)}</td><td>{number}</td></tr>"
                     for state, number in report.counts) or "<tr><td>no tasks</td></tr>"
    return (f'<table class="facts">{rows}</table>'
            f'<h2>Tasks by state</h2><table class="counts">{counts}</table>')


def _steps_table(report: Report) -> str:
    cols = "".join(f'<col style="width:{width}">' for _, width in _COLUMNS)
    head = "".join(f"<th>{name}</th>" for name, _ in _COLUMNS)
    bodies = "".join(_device_rows(report, section) for section in report.devices)
    if not bodies:
        bodies = (f'<tbody><tr><td colspan="{len(_COLUMNS)}">This job has no tasks.</td></tr>'
                  "</tbody>")
    return (f'<table class="steps"><colgroup>{cols}</colgroup>'
            f"<thead><tr>{head}</tr></thead>{bodies}</table>")


def _device_rows(report: Report, section: DeviceSection) -> str:
    about = [f"{section.attempts} attempt{'s' if section.attempts != 1 else ''}"]
    if section.next_attempt_at is not None:
        about.append(f"next attempt {_shown(report, section.next_attempt_at)}")
    if section.reason:
        about.append(section.reason)
    header = (f'<tr class="device"><th colspan="{len(_COLUMNS)}">{escape(section.device)} · '
              f"{_state(section.state)} <span>· {escape(' · '.join(about))}</span></th></tr>")
    rows = []
    for step in section.steps:
        text = escape(step.message)
        if step.fix_hint:
            text += f'<div class="fix">{escape(step.fix_hint)}</div>'
        rows.append(
            f"<tr><td>{escape(step.name)}</td><td>{_state(step.state)}</td>"
            f"<td>{escape(_shown(report, step.started_at))}</td>"
            f"<td>{escape(_shown(report, step.finished_at))}</td>"
            f"<td>{step.attempts}</td><td>{text}</td></tr>")
    return f'<tbody class="device">{header}{"".join(rows)}</tbody>'


def save_report(text: str, path: Path) -> Path:
    """Write a rendered report; CSV keeps its own CRLF line ends (newline="")."""
    path.write_text(text, encoding="utf-8", newline="")
    return path


def export_report(store: Store, job_id: int, fmt: str, path: Path, *, now: datetime,
                  zone_name: str) -> Path:
    """Make, render and write a job's report (the window's *Export report…*)."""
    report = make_report(store, job_id, now=now, zone_name=zone_name)
    return save_report(render(report, fmt), path)
