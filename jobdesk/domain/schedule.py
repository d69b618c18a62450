"""When a job may run: fire-and-forget, or inside daily maintenance windows.

Routers sit in plants all over the world and their maintenance windows are agreed in the
plant's local time ("Mon–Fri 22:00–04:00, Europe/Zurich"), while the laptop that drives the
rollout, the database and the logs all work in UTC.  This module is the one place where local
wall-clock windows are turned into concrete UTC intervals, so every other part of jobdesk can
compare plain aware UTC datetimes and never think about daylight saving time again.

The rules (the specification) in short:

* Everything stored or returned is an aware UTC datetime; a scheduled job's window is read in
  the job's own IANA zone.
* A window with ``to <= from`` crosses midnight and belongs to the weekday on which it opens.
  ``from == to`` (``00:00-00:00``) is a whole day: 24 hours from ``from``.  It needs no
  machinery of its own: it is the crossing window whose close is the next day's opening, so
  whole-day windows on consecutive days touch (no gap, no overlap) and every DST rule below
  applies to it unchanged.
* Daylight saving: a start or end time that falls into a spring-forward gap moves forward to the
  transition instant; an ambiguous (fall-back) wall time takes its first occurrence; a window
  never overlaps the next one (its close is clamped to the next opening) and a window that
  collapses to zero length does not happen that day.

Pure standard library on purpose: the scheduler, the CLI and the UI all import it, and it must be
testable without Qt or a database.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

__all__ = [
    "DEFAULT_LIFETIME",
    "WEEKDAY_NAMES",
    "FireAndForget",
    "Schedule",
    "ScheduleError",
    "Scheduled",
    "Window",
    "local_zone_name",
    "schedule_from_dict",
]

WEEKDAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Short weekday names; the index is ``date.weekday()`` (0 = Monday)."""

_FULL_WEEKDAY_NAMES: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)

DEFAULT_LIFETIME = timedelta(minutes=30)
"""Default lifetime of a fire-and-forget job; the real value is a user setting."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_ONE_DAY = timedelta(days=1)
# Guard rails that keep every date +/- one day and every UTC conversion inside datetime's range.
_MIN_DATE = date(1900, 1, 1)
_MAX_DATE = date(9998, 12, 31)
_DATE_HINT = "use YYYY-MM-DD, e.g. 2026-12-01"
_WINDOW_HINT = "window must look like HH:MM-HH:MM, e.g. 22:00-04:00"
_WEEKDAY_HINT = "use " + ",".join(WEEKDAY_NAMES)


class ScheduleError(ValueError):
    """Invalid schedule input.

    The message is shown to the person who typed the schedule, so it always says what to change,
    not just what is wrong.  It subclasses ``ValueError`` so generic input handling still works.
    """


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _require_aware(instant: datetime, name: str = "instant") -> None:
    """Refuse naive datetimes: a naive value has no defined instant, so comparing it with UTC
    windows would silently use the laptop's zone and roll jobs out at the wrong hour."""
    if not isinstance(instant, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(instant).__name__}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (e.g. datetime.now(UTC)), got {instant!r}")


def _load_zone(name: str) -> ZoneInfo:
    """Load an IANA zone, turning every way of failing into a ScheduleError with a suggestion,
    because the zone name is typed by people and typos are the common case."""
    if not isinstance(name, str):
        raise ScheduleError(
            f"time zone must be an IANA name such as Europe/Zurich, got {type(name).__name__}"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    raise ScheduleError(
        f"unknown time zone {name!r}; use an IANA name such as {_suggest_zone(name)}"
    )


def _suggest_zone(name: str) -> str:
    """The closest known zone name (case-insensitive), or Europe/Zurich as a generic example."""
    try:
        known = {zone.lower(): zone for zone in available_timezones()}
    except OSError:  # no zone database to list; the generic example still helps
        known = {}
    matches = difflib.get_close_matches(name.strip().lower(), list(known), n=1, cutoff=0.6)
    return known[matches[0]] if matches else "Europe/Zurich"


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """Naive local wall-clock time of an instant in a zone."""
    return instant.astimezone(zone).replace(tzinfo=None)


def _resolve_local(day: date, wall_time: time, zone: ZoneInfo) -> datetime:
    """Turn a local date and wall time into one UTC instant, following the DST rules.

    * An existing wall time, including an ambiguous one, maps to its first occurrence (fold=0):
      a window must open at most once a day, and "the first 02:30" is what people expect.
    * A wall time inside a spring-forward gap does not exist; it moves forward to the first
      instant that does exist, i.e. the transition instant.  That instant is found by bisection
      between the two candidate readings of the wall time (pre- and post-transition offset),
      so zones whose shift is not one hour (Australia/Lord_Howe: 30 minutes) need no special
      case.
    """
    naive = datetime.combine(day, wall_time).replace(fold=0, tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall(first, zone) == naive:
        return first
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo_instant, hi_instant = min(first, second), max(first, second)

    def reached(seconds: int) -> bool:
        # Wall-clock time grows monotonically across a gap, so "has the local clock reached the
        # wanted wall time yet?" is false before the transition and true from it on.
        return _wall(_EPOCH + seconds * _SECOND, zone) >= naive

    lo = (lo_instant - _EPOCH) // _SECOND  # floor to whole seconds; zone transitions are whole
    hi = -((_EPOCH - hi_instant) // _SECOND)  # ceil
    if reached(lo):  # defensive: no transition between the candidates after all
        return _EPOCH + lo * _SECOND
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if reached(mid):
            hi = mid
        else:
            lo = mid
    return _EPOCH + hi * _SECOND


def _format_hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def _parse_date(text: str, what: str) -> date:
    """Parse a command-line date; only the strict ISO form, so 03/04 can never be misread."""
    if not isinstance(text, str):
        raise ScheduleError(f"{what} date must be a string like 2026-12-01; {_DATE_HINT}")
    cleaned = text.strip()
    parts = cleaned.split("-")
    if (
        len(parts) != 3
        or [len(p) for p in parts] != [4, 2, 2]
        or not all(p.isascii() and p.isdigit() for p in parts)
    ):
        raise ScheduleError(f"{what} date {text!r} is not a date; {_DATE_HINT}")
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise ScheduleError(
            f"{what} date {text!r} does not exist in the calendar; {_DATE_HINT}"
        ) from None


def _parse_hhmm(text: str, original: str) -> time:
    hours, sep, minutes = text.strip().partition(":")
    if (
        not sep
        or not (1 <= len(hours) <= 2 and hours.isascii() and hours.isdigit())
        or not (len(minutes) == 2 and minutes.isascii() and minutes.isdigit())
    ):
        raise ScheduleError(f"{_WINDOW_HINT} (got {original!r})")
    hour, minute = int(hours), int(minutes)
    if hour > 23 or minute > 59:
        raise ScheduleError(
            f"{_WINDOW_HINT}, with hours 00-23 and minutes 00-59 (got {original!r})"
        )
    return time(hour, minute)


def _parse_window(text: str) -> tuple[time, time]:
    """Parse "HH:MM-HH:MM"; an en dash is accepted too because describe() prints one."""
    if not isinstance(text, str):
        raise ScheduleError(_WINDOW_HINT)
    normalized = text.replace("–", "-")
    if normalized.count("-") != 1:
        raise ScheduleError(f"{_WINDOW_HINT} (got {text!r})")
    start, end = normalized.split("-")
    return _parse_hhmm(start, text), _parse_hhmm(end, text)


def _weekday_index(token: str) -> int:
    name = token.strip().lower()
    if name in WEEKDAY_NAMES:
        return WEEKDAY_NAMES.index(name)
    if name in _FULL_WEEKDAY_NAMES:
        return _FULL_WEEKDAY_NAMES.index(name)
    raise ScheduleError(f"unknown weekday {token.strip()!r}; {_WEEKDAY_HINT}")


def _parse_weekdays(text: str) -> frozenset[int]:
    """Parse "mon,tue,fri", " Mon , sat ", "mon-fri" or "fri-mon" (a range wraps past Sunday)."""
    if not isinstance(text, str):
        raise ScheduleError(f"weekdays must be a list such as mon,tue,fri; {_WEEKDAY_HINT}")
    days: set[int] = set()
    for raw in text.replace("–", "-").split(","):
        token = raw.strip()
        if not token:
            continue  # tolerate "mon,,fri" and trailing commas
        if "-" in token:
            ends = token.split("-")
            if len(ends) != 2:
                raise ScheduleError(
                    f"weekday range {token!r} must look like mon-fri; {_WEEKDAY_HINT}"
                )
            first, last = _weekday_index(ends[0]), _weekday_index(ends[1])
            days.update((first + step) % 7 for step in range((last - first) % 7 + 1))
        else:
            days.add(_weekday_index(token))
    return frozenset(days)


def _describe_weekdays(weekdays: Iterable[int]) -> str:
    """Weekdays for people, e.g. "Mon, Wed–Fri, Sun".

    Runs of three or more days become a range, shorter runs stay a list ("Sat, Sun").
    """
    ordered = sorted(set(weekdays))
    if len(ordered) == 7:
        return "every day"
    runs: list[list[int]] = []
    for day in ordered:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        names = [WEEKDAY_NAMES[d].capitalize() for d in run]
        parts.append(f"{names[0]}–{names[-1]}" if len(run) >= 3 else ", ".join(names))
    return ", ".join(parts)


# --------------------------------------------------------------------------------------------
# Public types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One concrete maintenance window as a half-open UTC interval ``[opens, closes)``.

    Half-open so that back-to-back windows never both claim the boundary instant.
    Both ends are normalised to tzinfo=UTC so that equal windows also print the same.
    """

    opens: datetime
    closes: datetime

    def __post_init__(self) -> None:
        _require_aware(self.opens, "opens")
        _require_aware(self.closes, "closes")
        object.__setattr__(self, "opens", self.opens.astimezone(UTC))
        object.__setattr__(self, "closes", self.closes.astimezone(UTC))
        if self.closes <= self.opens:
            raise ValueError(f"a window must close after it opens: {self.opens} .. {self.closes}")

    def __contains__(self, instant: datetime) -> bool:
        _require_aware(instant)
        return self.opens <= instant < self.closes


@dataclass(frozen=True)
class FireAndForget:
    """Run at once and keep retrying until ``lifetime`` after creation.

    It has no windows: it is always open.  The methods mirror :class:`Scheduled` so callers can
    treat both kinds alike.
    """

    kind: ClassVar[str] = "fire-and-forget"

    def is_open(self, instant: datetime) -> bool:
        """Always true; the instant is still checked so bad callers fail the same way for both
        kinds."""
        _require_aware(instant)
        return True

    def window_at(self, instant: datetime) -> Window | None:
        """Always None: there are no windows; callers use :meth:`is_open`."""
        _require_aware(instant)
        return None

    def next_opening(self, instant: datetime) -> datetime | None:
        """The instant itself: a fire-and-forget job may run right now."""
        _require_aware(instant)
        return instant

    def expires_at(self, created_at: datetime, lifetime: timedelta) -> datetime:
        """``created_at + lifetime``.

        The lifetime is a user setting (default :data:`DEFAULT_LIFETIME`), so it is passed in.
        """
        _require_aware(created_at, "created_at")
        if not isinstance(lifetime, timedelta) or lifetime <= timedelta(0):
            raise ScheduleError(f"lifetime must be a positive duration, got {lifetime!r}")
        return (created_at + lifetime).astimezone(UTC)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}

    def describe(self) -> str:
        return "Fire and forget: runs at once, retries until it expires"


@dataclass(frozen=True)
class Scheduled:
    """Run only inside a daily local-time window, on chosen weekdays, within a date range.

    ``start_date`` and ``end_date`` are inclusive local dates in ``tz``; a window belongs to the
    date on which it opens, so the end date's window may close on the following day.  Every
    constructor path validates, so an existing ``Scheduled`` always has at least one window.
    """

    kind: ClassVar[str] = "scheduled"

    start_date: date
    end_date: date
    window_start: time
    window_end: time
    weekdays: frozenset[int]
    tz: str

    # ---- construction -----------------------------------------------------------------------

    def __post_init__(self) -> None:
        for name in ("start_date", "end_date"):
            value = getattr(self, name)
            # datetime is a subclass of date; a datetime here would smuggle a time of day in.
            if not isinstance(value, date) or isinstance(value, datetime):
                raise ScheduleError(f"{name} must be a date (YYYY-MM-DD), got {value!r}")
            if not _MIN_DATE <= value <= _MAX_DATE:
                raise ScheduleError(
                    f"{name} {value.isoformat()} is out of range; use a date between "
                    f"{_MIN_DATE.isoformat()} and {_MAX_DATE.isoformat()}"
                )
        if self.end_date < self.start_date:
            raise ScheduleError(
                f"end date {self.end_date.isoformat()} is before start date "
                f"{self.start_date.isoformat()}; make the end date the same as or later than "
                "the start date"
            )
        for name in ("window_start", "window_end"):
            value = getattr(self, name)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ScheduleError(f"{name} must be a local time of day (HH:MM), got {value!r}")
            if value.second or value.microsecond:
                # HH:MM is the stored and typed form; seconds would not survive a round trip.
                raise ScheduleError(
                    f"{name} must be whole minutes (HH:MM), got {value.isoformat()}"
                )
        # Equal ends are allowed on purpose: that is a whole day (spec B2), not an empty window.
        self._validate_weekdays()
        _load_zone(self.tz)
        self._validate_has_window()

    def _validate_weekdays(self) -> None:
        raw: Any = self.weekdays
        if isinstance(raw, str) or not isinstance(raw, Iterable):
            raise ScheduleError(
                f"weekdays must be a set of day numbers 0 (Monday) .. 6 (Sunday), got {raw!r}"
            )
        days = frozenset(raw)
        for day in days:
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
                raise ScheduleError(
                    f"weekday {day!r} is not a day number; use 0 (Monday) .. 6 (Sunday)"
                )
        if not days:
            raise ScheduleError(f"no weekday chosen; choose at least one ({_WEEKDAY_HINT})")
        # Accept any iterable (set, list) but store a frozenset so equality and hashing work.
        object.__setattr__(self, "weekdays", days)

    def _validate_has_window(self) -> None:
        if self._last_raw_window() is not None:
            return
        span = f"{self.start_date.isoformat()} to {self.end_date.isoformat()}"
        chosen = ", ".join(WEEKDAY_NAMES[d] for d in sorted(self.weekdays))
        covered = sorted(
            {
                (self.start_date + timedelta(days=offset)).weekday()
                for offset in range(min(7, (self.end_date - self.start_date).days + 1))
            }
        )
        if not self.weekdays.intersection(covered):
            covered_names = ", ".join(WEEKDAY_NAMES[d] for d in covered)
            raise ScheduleError(
                f"the dates {span} contain no window: they cover only {covered_names}, but the "
                f"schedule runs on {chosen}; widen the date range or choose one of "
                f"{covered_names}"
            )
        raise ScheduleError(
            f"the dates {span} contain no window: every window "
            f"{self._window_text('-')} in them vanishes in a daylight-saving change in "
            f"{self.tz}; widen the date range or move the window"
        )

    @classmethod
    def parse(cls, date_from: str, date_to: str, window: str, weekdays: str, tz: str) -> Scheduled:
        """Build a schedule from strings as typed on a command line or in a form.

        ``"2026-12-01", "2026-12-31", "22:00-04:00", "mon-fri,sun", "Europe/Zurich"``.
        Weekday names are case-insensitive, spaces are ignored, ranges may wrap ("fri-mon").
        """
        start_date = _parse_date(date_from, "start")
        end_date = _parse_date(date_to, "end")
        window_start, window_end = _parse_window(window)
        days = _parse_weekdays(weekdays)
        zone_name = tz.strip() if isinstance(tz, str) else tz
        return cls(start_date, end_date, window_start, window_end, days, zone_name)

    # ---- basic properties -------------------------------------------------------------------

    @property
    def crosses_midnight(self) -> bool:
        """True when the window closes on the day after it opens (``to <= from``); a whole
        day does too."""
        return self.window_end <= self.window_start

    @property
    def whole_day(self) -> bool:
        """True for ``from == to`` (``00:00-00:00``): each window lasts a whole day.

        Computing windows needs no such flag (see :attr:`crosses_midnight`); it exists so that
        what is shown to people says "all day" instead of a puzzling "08:00–08:00".
        """
        return self.window_end == self.window_start

    @property
    def zone(self) -> ZoneInfo:
        """The job's zone (ZoneInfo caches instances, so this is cheap)."""
        return ZoneInfo(self.tz)

    @property
    def nominal_length(self) -> timedelta:
        """Wall-clock length of the window, ignoring daylight saving (24 h for a whole day)."""
        start = datetime.combine(_MIN_DATE, self.window_start)
        end = datetime.combine(_MIN_DATE, self.window_end)
        return end - start + (_ONE_DAY if self.crosses_midnight else timedelta(0))

    # ---- windows ----------------------------------------------------------------------------

    def _raw_window(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
        """The window opening on local date ``day`` before overlap clamping, or None when the
        weekday is not chosen or DST collapses the window to nothing."""
        if day.weekday() not in self.weekdays:
            return None
        opens = _resolve_local(day, self.window_start, zone)
        close_day = day + _ONE_DAY if self.crosses_midnight else day
        closes = _resolve_local(close_day, self.window_end, zone)
        if closes <= opens:
            return None
        return opens, closes

    def _last_raw_window(self) -> tuple[datetime, datetime] | None:
        """Scan backwards from the end date; the last window is never clamped (nothing follows)."""
        zone = self.zone
        day = self.end_date
        while day >= self.start_date:
            raw = self._raw_window(day, zone)
            if raw is not None:
                return raw
            day -= _ONE_DAY
        return None

    def _windows_from(self, first_day: date) -> Iterator[Window]:
        """Windows opening on ``first_day`` .. ``end_date``, clamped so none runs into the next.

        One window of look-ahead is enough: only the next opening can cut a window short.
        """
        zone = self.zone
        pending: tuple[datetime, datetime] | None = None
        day = first_day
        while day <= self.end_date:
            raw = self._raw_window(day, zone)
            day += _ONE_DAY
            if raw is None:
                continue
            if pending is not None:
                closes = min(pending[1], raw[0])
                if closes > pending[0]:
                    yield Window(pending[0], closes)
            pending = raw
        if pending is not None:
            yield Window(*pending)

    @cached_property
    def _first(self) -> Window:
        return next(self._windows_from(self.start_date))

    @cached_property
    def _last(self) -> Window:
        raw = self._last_raw_window()
        assert raw is not None  # __post_init__ guarantees at least one window
        return Window(*raw)

    def windows(self, after: datetime | None = None) -> Iterator[Window]:
        """All windows in ascending order whose ``closes`` is later than ``after``.

        Lazy (a multi-year schedule is never materialised) and it starts near ``after``: a
        window that opened the local day before may still be open, so generation starts a
        little before the local date of ``after`` rather than scanning from the start date.
        """
        if after is None:
            return self._windows_from(self.start_date)
        _require_aware(after, "after")
        if after >= self._last.closes:
            return iter(())
        if after < self._first.closes:
            return self._windows_from(self.start_date)
        # Two days back rather than one: belt and braces for a close pushed forward by a gap.
        local_day = after.astimezone(self.zone).date()
        first_day = max(self.start_date, local_day - 2 * _ONE_DAY)
        return (w for w in self._windows_from(first_day) if w.closes > after)

    def window_at(self, instant: datetime) -> Window | None:
        """The window with ``opens <= instant < closes``, or None between windows."""
        _require_aware(instant)
        upcoming = next(self.windows(after=instant), None)
        if upcoming is not None and upcoming.opens <= instant:
            return upcoming
        return None

    def is_open(self, instant: datetime) -> bool:
        return self.window_at(instant) is not None

    def next_opening(self, instant: datetime) -> datetime | None:
        """``instant`` itself while a window is open, else the next window's opening; None once
        the last window has closed (the job can never run again)."""
        _require_aware(instant)
        upcoming = next(self.windows(after=instant), None)
        if upcoming is None:
            return None
        return instant if upcoming.opens <= instant else upcoming.opens

    def open_until(self, instant: datetime) -> datetime | None:
        """When the open time around ``instant`` ends, or None while no window is open.

        Windows that touch count as one stretch: the window's own close would say Monday's
        whole-day window "closes at midnight" although Tuesday's opens at that very instant,
        and people want to know when the job really stops being able to run.
        """
        window = self.window_at(instant)
        if window is None:
            return None
        if self.whole_day and len(self.weekdays) == 7:
            # A whole day closes where the next day's opens (same wall time, same resolution),
            # so every day chosen is one stretch to the end; no need to walk years of windows.
            return self._last.closes
        closes = window.closes
        for later in self.windows(after=closes):
            if later.opens != closes:
                break
            closes = later.closes
        return closes

    def expires_at(
        self, created_at: datetime | None = None, lifetime: timedelta | None = None
    ) -> datetime:
        """Close of the date range's last window.

        The arguments are accepted and ignored so callers can call ``expires_at(created,
        lifetime)`` on any schedule without checking its kind.
        """
        return self._last.closes

    def first_window(self) -> Window:
        return self._first

    def last_window(self) -> Window:
        return self._last

    # ---- presentation -------------------------------------------------------------------------

    def _window_text(self, dash: str) -> str:
        return f"{_format_hhmm(self.window_start)}{dash}{_format_hhmm(self.window_end)}"

    def hours_text(self) -> str:
        """The daily window for people: "08:00–12:00", "22:00–04:00 (next day)",
        "all day (00:00–00:00)" or "all day (08:00–08:00 next day)".

        A whole day is named as such: "00:00–00:00" alone reads like a window of no length.
        """
        hours = self._window_text("–")
        if self.whole_day:
            # From midnight the close "00:00" needs no day; from 08:00 it does.
            next_day = "" if self.window_start == time(0) else " next day"
            return f"all day ({hours}{next_day})"
        return hours + (" (next day)" if self.crosses_midnight else "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, in the same strings :meth:`parse` accepts."""
        return {
            "kind": self.kind,
            "from": self.start_date.isoformat(),
            "to": self.end_date.isoformat(),
            "window": self._window_text("-"),
            "weekdays": [WEEKDAY_NAMES[d] for d in sorted(self.weekdays)],
            "tz": self.tz,
        }

    def describe(self) -> str:
        """One line for people, e.g.
        "Mon–Fri 22:00–04:00 (next day), Europe/Zurich, from 2026-12-01 to 2026-12-31"."""
        days = _describe_weekdays(self.weekdays)
        hours = self.hours_text()
        if self.start_date == self.end_date:
            span = f"on {self.start_date.isoformat()}"
        else:
            span = f"from {self.start_date.isoformat()} to {self.end_date.isoformat()}"
        return f"{days} {hours}, {self.tz}, {span}"


Schedule = FireAndForget | Scheduled


def schedule_from_dict(data: Mapping[str, Any]) -> Schedule:
    """Inverse of ``to_dict``; stored data is untrusted (hand-edited files, old versions), so
    every problem becomes a ScheduleError rather than a KeyError or TypeError."""
    if not isinstance(data, Mapping):
        raise ScheduleError(f"a schedule must be a mapping with a 'kind', got {data!r}")
    kind = data.get("kind")
    if kind == FireAndForget.kind:
        return FireAndForget()
    if kind != Scheduled.kind:
        raise ScheduleError(
            f"unknown schedule kind {kind!r}; use {FireAndForget.kind!r} or {Scheduled.kind!r}"
        )
    missing = [key for key in ("from", "to", "window", "weekdays", "tz") if key not in data]
    if missing:
        raise ScheduleError(f"scheduled schedule lacks {', '.join(missing)}; add them")
    weekdays = data["weekdays"]
    if isinstance(weekdays, list | tuple):
        if not all(isinstance(day, str) for day in weekdays):
            raise ScheduleError(f"weekdays must be names ({_WEEKDAY_HINT}), got {weekdays!r}")
        weekdays = ",".join(weekdays)
    return Scheduled.parse(data["from"], data["to"], data["window"], weekdays, data["tz"])


def local_zone_name() -> str:
    """The laptop's IANA zone name: the default zone for a new scheduled job.

    Uses tzlocal (which knows how to ask Windows, macOS and Linux) and falls back to "UTC" when
    it is missing or returns something zoneinfo cannot load, so a new job never starts invalid.
    """
    try:
        from tzlocal import get_localzone_name
    except ImportError:
        return "UTC"
    try:
        name = get_localzone_name()
    except Exception:  # tzlocal raises assorted errors on odd system configurations
        return "UTC"
    if not name:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return "UTC"
    return name
