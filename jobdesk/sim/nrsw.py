"""The `cli` tool of a simulated NetModule router, written from docs/netmodule.md.

This module, not the `netmodule` profile, decides what a simulated NetModule router
accepts: the profile is tested *against* it, so a profile that sends a command the table in
docs/netmodule.md does not hold fails the tests instead of teaching the simulator to agree.

Answers follow the convention of NetModule's `cli.php` interface (User Manual for NRSW,
HTTP `cli.php` section): a command that changes something answers `OK: <msg>`, a command
that fails answers `ERROR: <msg>` (and exits 1), a command that reads prints what it read.
Every command here carries the source it rests on (`COMMANDS`); see docs/netmodule.md for
which of them the sources at hand could not confirm.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from jobdesk.sim.device import SimDevice

Result = tuple[int, str]
# NRSW parameter names are dotted lower-case words and indexes (`usb.0.enabled`).
PARAMETER_NAME = re.compile(r"^[a-z][a-z0-9_\-]*(\.[a-z0-9_\-]+)*$")
# Values every simulated router starts with: the parameters the sources name.
DOCUMENTED_DEFAULTS = {
    "config.version": "1.8",  # Connectivity Suite manual v2.6, 5.2.1 (snippet example)
    "usb.status": "0",  # same example
    "usb.0.enabled": "0",  # same example
    "admin.password": "admin01",  # NRSW manual, cli.php section (`cli get "admin.password"`)
}


@dataclass(frozen=True)
class CliCommand:
    """One documented command: its words after `cli`, the fault name, and its source."""

    words: tuple[str, ...]
    arguments: tuple[str, ...]
    operation: str  # the name `--faults` uses for it (hang:OP, fail-step:OP)
    source: str


COMMANDS: tuple[CliCommand, ...] = (
    CliCommand(("-l",), (), "info", "NRSW manual, cli.php section: `cli -l`"),
    CliCommand(("get",), ("KEY",), "config_get", "NRSW manual, cli.php section"),
    CliCommand(("status", "summary"), (), "info", "NRSW manual, cli.php section"),
    CliCommand(("status", "-h"), (), "info", "NRSW manual, cli.php section (`status -h`)"),
    CliCommand(("set",), ("KEY", "VALUE"), "config_set", "unverified"),
    CliCommand(("update", "config"), ("FILE",), "config_apply", "unverified"),
    CliCommand(("update", "software"), ("FILE",), "firmware_install", "unverified"),
    CliCommand(("reboot",), (), "reboot", "unverified"),
    CliCommand(("cert", "csr", "--cn"), ("CN",), "csr_create", "unverified"),
    CliCommand(("cert", "install"), ("CERT", "--ca", "CA"), "cert_install", "unverified"),
    CliCommand(("cert", "show"), (), "cert_show", "unverified"),
)


def usage() -> str:
    """What `cli -l` prints: one documented command a line."""
    return "".join(
        " ".join(("cli", *c.words, *c.arguments)) + "\n" for c in COMMANDS
    )


def find(args: list[str]) -> tuple[CliCommand, list[str]] | None:
    """The command these arguments (after `cli`) invoke, and its argument values."""
    for command in COMMANDS:
        size = len(command.words)
        if tuple(args[:size]) != command.words or len(args) - size != len(command.arguments):
            continue
        rest = args[size:]
        literal = [(value, slot) for value, slot in zip(rest, command.arguments, strict=True)
                   if slot.startswith("-")]
        if any(value != slot for value, slot in literal):
            continue
        values = [v for v, s in zip(rest, command.arguments, strict=True) if not s.startswith("-")]
        return command, values
    return None


def operation_of(args: list[str]) -> str:
    """The fault name of a `cli` call (an unknown one is "command")."""
    found = find(args)
    return found[0].operation if found else "command"


def error(message: str) -> Result:
    return 1, f"ERROR: {message.strip()}\n"


def answer(result: Result) -> Result:
    """A device operation's (status, text) as a status line: `OK: text` or `ERROR: text`."""
    status, text = result
    return (0, f"OK: {text.strip()}\n") if status == 0 else error(text)


class NrswCli:
    """Runs `cli ARGS` on one simulated router's state."""

    def __init__(self, device: SimDevice, request_reboot: Callable[[], None]) -> None:
        self.device = device
        self.request_reboot = request_reboot

    def run(self, args: list[str]) -> Result:
        found = find(args)
        if found is None:
            shown = " ".join(args) or "(nothing)"
            return error(f"unknown command: {shown} (see cli -l)")
        command, values = found
        handler = getattr(self, "_" + "_".join(w.strip("-") for w in command.words))
        result: Result = handler(*values)
        return result

    def _known(self, key: str) -> bool:
        return bool(PARAMETER_NAME.match(key)) and key not in self.device.faults.unknown_keys

    # -- reading ----------------------------------------------------------------------

    def _l(self) -> Result:
        return 0, usage()

    def _get(self, key: str) -> Result:
        if not self._known(key):
            return error(f"unknown parameter {key}")
        return 0, self.device.config.get(key, "") + "\n"

    def _status_summary(self) -> Result:
        device = self.device
        lines = [
            f"Product: {device.model}",
            f"Serial: {device.serial}",
            f"Software: {device.firmware}",
            f"Uptime: {int(device.uptime_s)} s",
        ]
        return 0, "\n".join(lines) + "\n"

    def _status_h(self) -> Result:
        return 0, "Usage: cli status summary\n"

    def _cert_show(self) -> Result:
        return 0, self.device.cert_pem

    # -- changing ---------------------------------------------------------------------

    def _set(self, key: str, value: str) -> Result:
        if not self._known(key):
            return error(f"unknown parameter {key}")
        self.device.config[key] = value
        return 0, f"OK: {key} set\n"

    def _update_config(self, path: str) -> Result:
        return answer(self.device.config_apply(path, known=self._known))

    def _update_software(self, path: str) -> Result:
        return answer(self.device.firmware_install(path))

    def _reboot(self) -> Result:
        self.request_reboot()
        return 0, "OK: rebooting\n"

    def _cert_csr_cn(self, common_name: str) -> Result:
        return self.device.csr_create(common_name)

    def _cert_install(self, cert_path: str, ca_path: str) -> Result:
        return answer(self.device.cert_install(cert_path, ca_path))
