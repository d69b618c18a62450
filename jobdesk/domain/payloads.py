"""What a job carries to its devices, and the configuration snippet format.

A snippet is lines of `key = value` (blank lines and `#` comments allowed). It is parsed
here, once, so that creating a job refuses a malformed snippet before anything reaches a
device, and verifying a device compares exactly the keys the snippet set.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_KEY = re.compile(r"^[A-Za-z0-9_.\-\[\]/]+$")
# Characters that `str.splitlines` treats as line ends besides \n and \r: a value holding
# one would silently become two lines.
_ODD_LINE_ENDS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


class PayloadError(ValueError):
    pass


def _control_character(text: str) -> str | None:
    """The first control character in `text` (tabs included), as U+XXXX."""
    for character in text:
        if unicodedata.category(character) == "Cc":
            return f"U+{ord(character):04X}"
    return None


def parse_snippet(text: str) -> dict[str, str]:
    """The snippet's values; any control character in a line is refused (it would reach
    the device's configuration, or a terminal, as something else than what was written)."""
    odd = _ODD_LINE_ENDS.search(text)
    if odd is not None:
        number = text.count("\n", 0, odd.start()) + 1
        raise PayloadError(
            f"snippet line {number}: control character U+{ord(odd.group()):04X} is not "
            "allowed"
        )
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        # Tabs may separate a key from its value; every other control character is refused,
        # in comments too (the whole file reaches the device).
        control = _control_character(line.replace("\t", " "))
        if control is not None:
            raise PayloadError(
                f"snippet line {number}: control character {control} is not allowed"
            )
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
        if "\t" in value:
            raise PayloadError(
                f"snippet line {number}: control character U+0009 (a tab) is not allowed "
                "in a value"
            )
        values[key] = value
    if not values:
        raise PayloadError("the snippet sets no value; write lines such as 'ntp.server = 10.0.0.1'")
    return values


# Firmware images may start with one header line naming their version and the models they
# are built for: `JOBDESK-FIRMWARE version=4.9.0.7 model=NB800[,NB1601]`. The simulated
# devices refuse to install an image for another model; the pre-flight check reads the same
# line so it can say so before anything is uploaded.
FIRMWARE_MAGIC = b"JOBDESK-FIRMWARE"


def read_image_header(data: bytes) -> dict[str, str]:
    """The `key=value` fields of an image's first line (only its version when it has none)."""
    first = data.split(b"\n", 1)[0]
    if not first.startswith(FIRMWARE_MAGIC):
        return {"version": f"unknown-{hashlib.sha256(data).hexdigest()[:8]}"}
    fields = first[len(FIRMWARE_MAGIC) :].decode(errors="replace").split()
    return dict(f.split("=", 1) for f in fields if "=" in f)


def image_models(header: dict[str, str]) -> frozenset[str]:
    """The models an image header names (empty: the image does not say)."""
    return frozenset(m for m in header.get("model", "").split(",") if m)
