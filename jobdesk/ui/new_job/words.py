"""Small wording helpers the New-job dialog's parts share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

_LIST_NAMES_MAX = 8


def sentence(message: str) -> str:
    """Domain messages start in lower case (they also end up mid-sentence in the CLI)."""
    return message[:1].upper() + message[1:] if message else message


def duration_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % 60 == 0 and minutes >= 60:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def names_text(names: Sequence[str]) -> str:
    """At most eight names, then how many more: a message box must stay readable."""
    shown = ", ".join(names[:_LIST_NAMES_MAX])
    more = len(names) - _LIST_NAMES_MAX
    return f"{shown} and {more} more" if more > 0 else shown
