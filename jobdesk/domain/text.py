"""Names as they are shown in a terminal or a table: one line, no tricks.

A job name is typed by a person (or pasted from anywhere): a line break would split a
table row, a right-to-left override would make the row read backwards, an escape
sequence would recolour a terminal. Shown names have such characters escaped and are cut
to a length a table can hold.
"""

from __future__ import annotations

import unicodedata

NAME_LIMIT = 200
# Control characters, format characters (the bidirectional overrides and isolates among
# them) and the Unicode line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def printable(text: str, limit: int = NAME_LIMIT) -> str:
    """`text` on one line: hidden characters as \\n, \\x1b or \\u202e, at most `limit` long."""
    shown = "".join(
        character.encode("unicode_escape").decode("ascii")
        if unicodedata.category(character) in _HIDDEN_CATEGORIES else character
        for character in text
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def name_problem(name: str) -> str | None:
    """Why a name a person typed cannot be a job's name, or None when it can."""
    if not name.strip():
        return "a job needs a name"
    if len(name) > NAME_LIMIT:
        return f"a job name has at most {NAME_LIMIT} characters (this one has {len(name)})"
    for character in name:
        if unicodedata.category(character) in ("Cc", "Zl", "Zp"):
            return (f"a job name cannot hold control characters or line breaks "
                    f"(found U+{ord(character):04X})")
    return None
