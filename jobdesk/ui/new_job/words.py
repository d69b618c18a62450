"""Small wording helpers the New-job dialog's parts share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from jobdesk.ui.words import sentence

__all__ = ["duration_text", "names_text", "sentence"]

_LIST_NAMES_MAX = 8


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
