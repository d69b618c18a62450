"""One way to write an instant for people: in the window, the report and the terminal.

Field engineers compare what jobdesk shows with the clock on the wall, with a job's
maintenance window in a customer's zone and with a colleague's notes from the last
shift. So every shown time carries its zone's abbreviation ("28 Nov 06:10 CET"), the
format is the same everywhere, and the year appears only when it is not the current
one (in the zone the time is shown in), which keeps tables narrow without ever being
ambiguous across a new year. Machine-readable output (JSON, CSV cells for
spreadsheets) keeps ISO 8601; this module is for eyes.

Pure: no Qt, no database. The zone defaults to the laptop's, passed in explicitly where
a test or a report needs another one.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

_DAY = "%d %b"
_DAY_WITH_YEAR = "%d %b %Y"


def local_zone() -> tzinfo:
    """The laptop's zone, as the operating system reports it now."""
    zone = datetime.now().astimezone().tzinfo
    return zone if zone is not None else UTC


def zone_label(value: datetime) -> str:
    """The abbreviation of an aware instant's zone ("CET", "UTC", "+03")."""
    name = value.tzname() or ""
    if name and name[0] in "+-" and name.endswith("00") and len(name) == 5:
        name = name[:3]  # "+0300" → "+03", as the tz database writes unnamed offsets
    return name or "UTC"


def format_instant(
    value: datetime | None,
    *,
    now: datetime | None = None,
    zone: tzinfo | None = None,
    seconds: bool = False,
    with_zone: bool = True,
) -> str:
    """`value` for people: "28 Nov 06:10 CET", or "28 Nov 2025 06:10 CET" in another year.

    `now` decides which year is "current" (defaults to the real clock); `zone` is the
    zone to show the instant in (the laptop's by default). Naive values are taken as UTC,
    the store's convention. An empty string for None, so table cells stay empty.
    """
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    shown_zone = zone if zone is not None else local_zone()
    shown = value.astimezone(shown_zone)
    current = (now or datetime.now(UTC))
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    day_format = _DAY if current.astimezone(shown_zone).year == shown.year else _DAY_WITH_YEAR
    clock = "%H:%M:%S" if seconds else "%H:%M"
    text = shown.strftime(f"{day_format} {clock}")
    return f"{text} {zone_label(shown)}" if with_zone else text


def format_span(
    start: datetime,
    end: datetime,
    *,
    zone: tzinfo,
    zone_name: str,
    now: datetime | None = None,
    here: tzinfo | None = None,
) -> str:
    """A window as its zone writes it, and as the laptop does when the two differ.

    "Tue 01 Dec 22:00–04:00 Europe/Zurich · 21:00–03:00 UTC here": the job's zone is
    the one the customer agreed to, the laptop's is the one the engineer sits in.
    """
    text = _span_in(start, end, zone, now) + f" {zone_name}"
    laptop = here if here is not None else local_zone()
    if start.astimezone(laptop).utcoffset() != start.astimezone(zone).utcoffset():
        local_start = start.astimezone(laptop)
        text += f" · {_span_in(start, end, laptop, now, day=False)} {zone_label(local_start)} here"
    return text


def _span_in(start: datetime, end: datetime, zone: tzinfo, now: datetime | None,
             *, day: bool = True) -> str:
    begin = start.astimezone(zone)
    finish = end.astimezone(zone)
    current = (now or datetime.now(UTC)).astimezone(zone)
    prefix = ""
    if day:
        day_format = "%a %d %b" if begin.year == current.year else "%a %d %b %Y"
        prefix = begin.strftime(day_format) + " "
    clock = f"{begin.strftime('%H:%M')}–{finish.strftime('%H:%M')}"
    if finish.date() != begin.date():
        clock += " (+1 day)" if (finish.date() - begin.date()).days == 1 else (
            f" ({finish.strftime('%d %b')})")
    return prefix + clock
