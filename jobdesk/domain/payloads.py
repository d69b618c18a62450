"""What a job carries to its devices, and the configuration snippet format.

A snippet is lines of `key = value` (blank lines and `#` comments allowed). It is parsed
here, once, so that creating a job refuses a malformed snippet before anything reaches a
device, and verifying a device compares exactly the keys the snippet set.
"""

from __future__ import annotations

import re

_KEY = re.compile(r"^[A-Za-z0-9_.\-\[\]/]+$")


class PayloadError(ValueError):
    pass


def parse_snippet(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise PayloadError(f"snippet line {number}: expected 'key = value', got {raw!r}")
        if not _KEY.match(key):
            raise PayloadError(
                f"snippet line {number}: key {key!r} may hold only letters, digits and . _ - / []"
            )
        if "\n" in value or "\x00" in value:
            raise PayloadError(f"snippet line {number}: value has a control character")
        values[key] = value
    if not values:
        raise PayloadError("the snippet sets no value; write lines such as 'ntp.server = 10.0.0.1'")
    return values
