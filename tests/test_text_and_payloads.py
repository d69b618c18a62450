"""Text from people and devices: snippets refuse control characters, shown names are one
line, and a job name is checked before it is stored."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobdesk.domain.payloads import PayloadError, parse_snippet
from jobdesk.domain.text import NAME_LIMIT, name_problem, printable


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("motd = \x1b[31mred\n", "U+001B"),
        ("a = 1\nb = x\x07\n", "U+0007"),
        ("a = x\x0by\n", "U+000B"),
        ("a = x\u2028y\n", "U+2028"),
        ("# comment \x1b]0;title\x07\na = 1\n", "U+001B"),
        ("a = x\ty\n", "U+0009"),
        ("a = \x00\n", "U+0000"),
    ],
)
def test_any_control_character_in_a_snippet_is_refused(text: str, code: str) -> None:
    with pytest.raises(PayloadError, match=re.escape(code)):
        parse_snippet(text)


def test_tabs_around_the_equals_sign_and_windows_line_ends_are_fine() -> None:
    assert parse_snippet("a\t=\t1\r\nb = 2\r\n") == {"a": "1", "b": "2"}


@given(st.text())
def test_a_snippet_value_never_carries_a_control_character(text: str) -> None:
    try:
        values = parse_snippet(text)
    except PayloadError:
        return
    for value in values.values():
        assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in value)


def test_shown_names_are_one_line_without_direction_tricks() -> None:
    assert printable("night\nreboot") == "night\\nreboot"
    assert printable("\u202eexe.txt") == "\\u202eexe.txt"
    assert printable("\x1b[2Jclear") == "\\x1b[2Jclear"
    assert printable("Zürich 東京") == "Zürich 東京"
    long = printable("x" * 500)
    assert len(long) == NAME_LIMIT and long.endswith("…")


@given(st.text())
def test_a_shown_name_is_always_one_printable_line(text: str) -> None:
    shown = printable(text)
    assert len(shown) <= NAME_LIMIT
    assert shown == shown.strip("\n") and len(shown.splitlines()) <= 1
    assert "\u202e" not in shown and "\x1b" not in shown


def test_a_job_name_is_checked_before_it_is_stored() -> None:
    assert name_problem("FW 4.9 for trains") is None
    assert name_problem("   ") == "a job needs a name"
    assert "line breaks" in (name_problem("one\ntwo") or "")
    assert f"at most {NAME_LIMIT}" in (name_problem("x" * (NAME_LIMIT + 1)) or "")
