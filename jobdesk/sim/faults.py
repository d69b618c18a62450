"""Fault injection for the simulated fleet: what can go wrong, and on which devices.

A SPEC is a comma-separated list of `FAULT[:ARG[:ARG...]][@TARGET]`. TARGET is a device
name (`sim-007`), an index (`7`), an index range (`3-5`), a share of the fleet (`10%`,
picked with the fleet's seed, so the same seed hits the same devices) or `all` (the
default). Messages cannot hold `,` or `@`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from jobdesk.devices.profiles import OPERATIONS

# Operations a `hang` or `fail-step` fault may name: profile operations, any info read
# ("info"), any other command ("command") or every command ("*").
STEP_NAMES = frozenset(OPERATIONS) | {"info", "command", "*"}

FAULT_HELP = {
    "offline": ("the port stays closed", "offline@3"),
    "flapping": ("every other connection is dropped at once", "flapping@10%"),
    "auth": ("every login is refused", "auth@sim-002"),
    "hostkey": ("the host key differs from the one this seed gives", "hostkey@0"),
    "slow": ("commands take N seconds longer (default 5)", "slow:8@20%"),
    "hang": ("a command never answers; optional operation (default *)", "hang:config_apply@4"),
    "fail-step": (
        "an operation fails: OP[:EXIT[:MESSAGE]] (default exit 1)",
        "fail-step:firmware_install:5:flash write error@2-3",
    ),
    "drop-upload": ("the connection drops during an SFTP upload", "drop-upload@5%"),
    "reboot": ("a reboot takes N seconds (default: the fleet's --reboot-seconds)", "reboot:30@7"),
    "wrong-firmware": (
        "after install + reboot it reports VERSION (default: the old version)",
        "wrong-firmware@1",
    ),
    "disk-full": ("uploads fail with no space left", "disk-full@sim-004"),
    "unknown-key": (
        "the device does not know these configuration keys: KEY[:KEY...] (reading one "
        "answers 'unknown key', a snippet setting one is rejected)",
        "unknown-key:snmp.enabled@2",
    ),
}


class FaultSpecError(ValueError):
    pass


@dataclass
class DeviceFaults:
    names: list[str] = field(default_factory=list)
    offline: bool = False
    flapping: bool = False
    auth: bool = False
    hostkey: bool = False
    slow_s: float = 0.0
    hang: str | None = None
    fail: dict[str, tuple[int, str]] = field(default_factory=dict)
    drop_upload: bool = False
    reboot_s: float | None = None
    wrong_firmware: str | None = None  # "" keeps the old version
    disk_full: bool = False
    unknown_keys: frozenset[str] = frozenset()

    def fails(self, operation: str) -> tuple[int, str] | None:
        family = "info" if operation.startswith("info.") else operation
        return self.fail.get(operation) or self.fail.get(family) or self.fail.get("*")

    def hangs(self, operation: str) -> bool:
        family = "info" if operation.startswith("info.") else operation
        return self.hang is not None and self.hang in ("*", operation, family)


def _number(text: str, item: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(f"{item!r}: {text!r} is not a number of seconds") from None
    if value < 0:
        raise FaultSpecError(f"{item!r}: seconds cannot be negative")
    return value


def _apply(faults: DeviceFaults, name: str, args: list[str], item: str) -> None:
    if name not in FAULT_HELP:
        raise FaultSpecError(f"{item!r}: unknown fault {name!r} (known: {', '.join(FAULT_HELP)})")
    if name in ("offline", "flapping", "auth", "hostkey", "drop-upload", "disk-full") and args:
        raise FaultSpecError(f"{item!r}: {name} takes no argument")
    if name not in faults.names:
        faults.names.append(name)
    if name == "slow":
        faults.slow_s = _number(args[0], item) if args else 5.0
    elif name == "reboot":
        faults.reboot_s = _number(args[0], item) if args else None
    elif name == "hang":
        faults.hang = _step(args[0] if args else "*", item)
    elif name == "fail-step":
        if not args:
            raise FaultSpecError(f"{item!r}: fail-step needs an operation, e.g. fail-step:reboot")
        step = _step(args[0], item)
        try:
            code = int(args[1]) if len(args) > 1 and args[1] else 1
        except ValueError:
            raise FaultSpecError(f"{item!r}: exit status {args[1]!r} is not a number") from None
        message = ":".join(args[2:]) or f"simulated failure of {step}"
        faults.fail[step] = (code, message)
    elif name == "unknown-key":
        if not [a for a in args if a]:
            raise FaultSpecError(
                f"{item!r}: unknown-key needs a key, e.g. unknown-key:snmp.enabled"
            )
        faults.unknown_keys = faults.unknown_keys | {a for a in args if a}
    elif name == "wrong-firmware":
        faults.wrong_firmware = ":".join(args)
    else:
        setattr(faults, name.replace("-", "_"), True)


def _step(step: str, item: str) -> str:
    if step not in STEP_NAMES:
        raise FaultSpecError(
            f"{item!r}: unknown operation {step!r} (known: {', '.join(sorted(STEP_NAMES))})"
        )
    return step


def _targets(target: str, names: Sequence[str], rng: random.Random, item: str) -> list[int]:
    count = len(names)
    if target in ("", "all"):
        return list(range(count))
    if target.endswith("%"):
        share = _number(target[:-1], item)
        if share > 100:
            raise FaultSpecError(f"{item!r}: a share cannot exceed 100%")
        picked = round(count * share / 100) if share else 0
        return sorted(rng.sample(range(count), max(picked, 1 if share else 0)))
    match = re.fullmatch(r"(\d+)(?:-(\d+))?", target)
    if match:
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if first > last or last >= count:
            raise FaultSpecError(f"{item!r}: indexes {target} are outside 0-{count - 1}")
        return list(range(first, last + 1))
    if target in names:
        return [names.index(target)]
    raise FaultSpecError(f"{item!r}: no device named {target!r}")


def parse_faults(spec: str | None, names: Sequence[str], seed: int) -> list[DeviceFaults]:
    """Per-device faults for a fleet whose devices have these names (in index order)."""
    faults = [DeviceFaults() for _ in names]
    if not spec:
        return faults
    for position, raw in enumerate(spec.split(",")):
        item = raw.strip()
        if not item:
            continue
        body, _, target = item.partition("@")
        name, *args = body.split(":")
        rng = random.Random(f"{seed}/{position}/{name}")
        for index in _targets(target.strip(), names, rng, item):
            _apply(faults[index], name.strip(), args, item)
    return faults


def help_text() -> str:
    lines = [
        "SPEC is comma-separated FAULT[:ARG...][@TARGET]; TARGET is a device name, an index,",
        "a range (3-5), a share (10%, chosen by --seed) or all (default). Faults:",
    ]
    for name, (meaning, example) in FAULT_HELP.items():
        lines.append(f"  {name:<15} {meaning}; e.g. {example}")
    return "\n".join(lines)
