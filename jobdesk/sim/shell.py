"""What a simulated device does with a command line.

The line is split with `shlex` exactly as a shell would split it, so a quoted value stays
one argument. On an emulated NetModule router `cli ...` runs the documented CLI
(jobdesk.sim.nrsw), never the profile; on other devices each simple command is first matched
against the device's profile templates (the reverse of rendering them) and dispatched to
that operation. Otherwise a few POSIX basics run (echo, true, false, exit N, sleep N, cat,
sha256sum, uname, rm), enough for the command job type, and `cat` also reads the two Linux
files a device's identity comes from (/proc/uptime, /proc/sys/kernel/random/boot_id).
`;`, `&&`, `||` and `NAME=value` assignments work; pipes do not.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Awaitable, Callable

from jobdesk.sim.device import SimDevice
from jobdesk.sim.nrsw import NrswCli, operation_of

Result = tuple[int, str]
RebootRequest = Callable[[], None]
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"
UPTIME_FILE = "/proc/uptime"
_VAR = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")


class ExitShell(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def split_line(line: str) -> list[tuple[str, list[str]]]:
    """(connector before it, words) for each simple command of a line."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    parts: list[tuple[str, list[str]]] = []
    connector, words = ";", []
    for token in lexer:
        if token in (";", "&&", "||", "|", "&", ";;"):
            parts.append((connector, words))
            connector, words = token, []
        else:
            words.append(token)
    parts.append((connector, words))
    return [(c, w) for c, w in parts if w or c in ("|", "&")]


class SimShell:
    """Runs command lines on one device; hooks let the server add faults and reboots."""

    def __init__(
        self,
        device: SimDevice,
        request_reboot: RebootRequest,
        before_operation: Callable[[str], Awaitable[Result | None]],
    ) -> None:
        self.device = device
        self.request_reboot = request_reboot
        self.before_operation = before_operation
        self.env: dict[str, str] = {}

    async def run_line(self, line: str) -> Result:
        try:
            parts = split_line(line)
        except ValueError as error:
            return 2, f"sh: syntax error: {error}\n"
        status, output = 0, []
        try:
            for connector, words in parts:
                if connector in ("|", "&"):
                    return 2, "sim: pipes and background jobs are not supported\n"
                if (connector == "&&" and status != 0) or (connector == "||" and status == 0):
                    continue
                status, text = await self.run_words(words)
                output.append(text)
        except ExitShell as done:
            return done.status, "".join(output)
        return status, "".join(output)

    async def run_words(self, words: list[str]) -> Result:
        while words and _ASSIGN.match(words[0]):
            name, _, value = words[0].partition("=")
            self.env[name] = value
            words = words[1:]
        if not words:
            return 0, ""
        words = [self._expand(w) for w in words]
        profile = self.device.profile
        if profile is None:  # an emulated NetModule router: its own `cli`, no profile
            injected = await self.before_operation(_emulated_operation(words))
            if injected is not None:
                return injected
            if words[0] == "cli":
                return NrswCli(self.device, self.request_reboot).run(words[1:])
            return await self._builtin(words)
        matched = profile.match(words)
        operation = matched[0] if matched else "command"
        injected = await self.before_operation(operation)
        if injected is not None:
            return injected
        if matched is not None:
            return self._operation(matched[0], matched[1], words)
        return await self._builtin(words)

    def _expand(self, word: str) -> str:
        match = _VAR.match(word)
        if match is None:
            return word
        return self.env.get(match.group(1) or match.group(2), "")

    def _operation(self, operation: str, values: dict[str, str], words: list[str]) -> Result:
        device = self.device
        if operation.startswith("info."):
            return device.info_output(words)
        if operation == "reboot":
            self.request_reboot()
            return 0, "rebooting\n"
        handler = getattr(device, operation)
        result: Result = handler(**values)
        return result

    async def _builtin(self, words: list[str]) -> Result:
        name, args = words[0], words[1:]
        device = self.device
        if name == "echo":
            newline = not (args and args[0] == "-n")
            text = " ".join(args[1:] if not newline else args)
            return 0, text + ("\n" if newline else "")
        if name in ("true", ":", "export"):
            return 0, ""
        if name == "false":
            return 1, ""
        if name == "exit":
            raise ExitShell(_int(args[0]) if args else 0)
        if name == "sleep":
            await asyncio.sleep(float(args[0]) if args else 0)
            return 0, ""
        if name == "cat":
            if args == [BOOT_ID_FILE]:
                return 0, device.boot_id + "\n"
            if args == [UPTIME_FILE]:
                return 0, f"{device.uptime_s:.2f} {device.uptime_s:.2f}\n"
            missing = [p for p in args if p not in device.files]
            if missing:
                return 1, f"cat: {missing[0]}: No such file or directory\n"
            return 0, "".join(device.files[p].decode(errors="replace") for p in args)
        if name == "sha256sum" and len(args) == 1:
            return device.sha256(args[0])
        if name == "rm":
            for path in (a for a in args if not a.startswith("-")):
                device.files.pop(path, None)
            return 0, ""
        if name == "uname":
            return 0, _uname(device, args) + "\n"
        if name == "hostname":
            return 0, device.name + "\n"
        if name == "sh" and args and args[0] != "-c":
            return await self._script(args[0])
        return 127, f"sh: {name}: command not found (simulated device)\n"

    async def _script(self, path: str) -> Result:
        data = self.device.files.get(path)
        if data is None:
            return 127, f"sh: {path}: No such file or directory\n"
        status, output = 0, []
        for line in data.decode(errors="replace").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                status, text = await self.run_line(line)
                output.append(text)
        return status, "".join(output)


def _emulated_operation(words: list[str]) -> str:
    """The name `--faults` knows a command on an emulated NetModule router by."""
    if words[0] == "cli":
        return operation_of(words[1:])
    if words[0] == "sha256sum":
        return "sha256"
    if words[0] == "cat" and words[1:] in ([BOOT_ID_FILE], [UPTIME_FILE]):
        return "info"
    return "command"


def _int(text: str) -> int:
    try:
        return int(text) & 0xFF
    except ValueError:
        return 2


def _uname(device: SimDevice, args: list[str]) -> str:
    parts = {"-s": "Linux", "-n": device.name, "-r": "5.15.0-sim", "-m": "aarch64"}
    if not args:
        return "Linux"
    if "-a" in args:
        return " ".join(parts.values())
    return " ".join(parts.get(a, "?") for a in args)
