"""Device profiles: the command lines each operation uses on one family of devices.

Profiles are data (TOML files), not code, so a technician can adapt jobdesk to another
router CLI without a new release. Each template is an argument vector written as a shell
line: it is split once with `shlex`, and every `{placeholder}` must be a whole word. When a
command is rendered, each word is quoted with `shlex.quote`, so a value such as
`x'; rm -rf /` reaches the device as one literal argument and can never become shell
syntax. Scripts that need a shell pass values as positional arguments: `sh -c '... "$1"'
name {path}`. The simulator reverses the templates of profiles it has no emulation for; a
NetModule router is emulated from its documentation instead (jobdesk/sim/nrsw.py), so the
`netmodule` profile is tested against the device rather than against itself.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jobdesk.resources import resource_path

# Operation -> the placeholders its template must use (and the only ones it may use).
OPERATIONS: dict[str, frozenset[str]] = {
    "sha256": frozenset({"path"}),
    "config_get": frozenset({"key"}),
    "config_set": frozenset({"key", "value"}),
    "config_dump": frozenset(),
    "config_apply": frozenset({"path"}),
    "firmware_install": frozenset({"path"}),
    "reboot": frozenset(),
    "csr_create": frozenset({"common_name"}),
    "cert_install": frozenset({"cert_path", "ca_path"}),
    "cert_show": frozenset(),
}
REQUIRED_OPERATIONS = (
    "sha256",
    "config_apply",
    "firmware_install",
    "reboot",
    "csr_create",
    "cert_install",
    "cert_show",
)
INFO_FIELDS = ("model", "serial", "firmware", "boot_id", "uptime_s")
REQUIRED_INFO = ("firmware", "boot_id")

_PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WHOLE = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_PICK = re.compile(r"^(line:[A-Za-z0-9_.\-]+|word:\d+)$")


class ProfileError(ValueError):
    """A profile is missing or malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class Template:
    """One command line as words; a word is either literal text or a placeholder name."""

    source: str
    words: tuple[str, ...]
    slots: tuple[str | None, ...]  # placeholder name per word, None for literal words

    @classmethod
    def parse(cls, source: str, allowed: frozenset[str], where: str) -> Template:
        try:
            words = tuple(shlex.split(source))
        except ValueError as error:
            raise ProfileError(f"{where}: cannot split {source!r}: {error}") from None
        if not words:
            raise ProfileError(f"{where}: the command is empty")
        slots: list[str | None] = []
        for word in words:
            whole = _WHOLE.match(word)
            if whole:
                name = whole.group(1)
                if name not in allowed:
                    known = ", ".join(f"{{{n}}}" for n in sorted(allowed)) or "none"
                    raise ProfileError(
                        f"{where}: unknown placeholder {{{name}}} (allowed here: {known})"
                    )
                if name in slots:
                    raise ProfileError(f"{where}: placeholder {{{name}}} is used twice")
                slots.append(name)
            elif _PLACEHOLDER.search(word):
                raise ProfileError(
                    f"{where}: placeholder in {word!r} must be a whole word; pass values "
                    "to sh -c scripts as positional arguments (\"$1\")"
                )
            else:
                slots.append(None)
        missing = allowed - {s for s in slots if s}
        if missing:
            names = ", ".join(f"{{{n}}}" for n in sorted(missing))
            raise ProfileError(f"{where}: the command must use {names}")
        return cls(source, words, tuple(slots))

    def render(self, values: Mapping[str, str]) -> str:
        """The command line, every word quoted: values can only ever be single arguments."""
        argv: list[str] = []
        for word, slot in zip(self.words, self.slots, strict=True):
            if slot is None:
                argv.append(word)
                continue
            value = values[slot]
            if not isinstance(value, str) or "\x00" in value:
                raise ValueError(f"value for {{{slot}}} must be text without NUL characters")
            argv.append(value)
        return shlex.join(argv)

    def match(self, argv: list[str]) -> dict[str, str] | None:
        """The placeholder values if `argv` is this template rendered, else None."""
        if len(argv) != len(self.words):
            return None
        values: dict[str, str] = {}
        for arg, word, slot in zip(argv, self.words, self.slots, strict=True):
            if slot is not None:
                values[slot] = arg
            elif arg != word:
                return None
        return values


@dataclass(frozen=True)
class InfoSource:
    """Where one DeviceInfo field comes from: a command and how to pick the value."""

    template: Template
    pick: str | None = None  # None: whole output; "line:KEY"; "word:N"

    def extract(self, output: str) -> str | None:
        text = output.replace("\x00", "").strip()
        if self.pick is None:
            return text or None
        kind, _, arg = self.pick.partition(":")
        if kind == "word":
            words = text.split()
            index = int(arg)
            return words[index] if index < len(words) else None
        for line in text.splitlines():
            match = re.match(r"^\s*([^:=\s]+)\s*[:=]\s*(.*)$", line)
            if match and match.group(1) == arg:
                return match.group(2).strip().strip("\"'") or None
        return None


@dataclass(frozen=True)
class StatusLine:
    """How a device's tool reports success and failure in its output, as NetModule's
    `cli.php` does with `OK: <msg>` / `ERROR: <msg>` lines: a command can print `ERROR:`
    and still exit 0, so the line decides, and its message is what a person reads."""

    ok: str = ""
    error: str = ""
    unknown_key: re.Pattern[str] | None = None  # an error that means "no such key"
    incompatible: re.Pattern[str] | None = None  # an error that means "not for this model"


@dataclass(frozen=True)
class Answer:
    """A command's outcome read through the profile: the data, or the device's message."""

    ok: bool
    body: str  # the output without the status line
    message: str  # the status line's message, else the output's last line
    unknown_key: bool = False
    incompatible: bool = False


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    source: Path
    commands: dict[str, Template]
    info: dict[str, InfoSource]
    incompatible_exit: frozenset[int] = field(default_factory=frozenset)
    # Exit statuses of config_get that mean "this device has no such key" (not merely
    # "not set"): the pre-flight check blocks a snippet that sets such a key.
    unknown_key_exit: frozenset[int] = field(default_factory=frozenset)
    status_line: StatusLine = field(default_factory=StatusLine)

    def answer(self, exit_status: int, output: str) -> Answer:
        """Read one command's exit status and output by this profile's conventions."""
        status = self.status_line
        lines = output.splitlines()
        message = next((ln[len(status.error):].strip() for ln in lines
                        if status.error and ln.startswith(status.error)), None)
        failed = exit_status != 0 or message is not None
        if status.ok and lines and lines[0].startswith(status.ok):
            ok_message = lines[0][len(status.ok):].strip()
            lines = lines[1:]
            message = message if message is not None else ok_message
        if message is None:
            tail = output.strip().splitlines()
            message = tail[-1] if tail else "no output"
        body = "\n".join(lines) + ("\n" if lines and output.endswith("\n") else "")
        return Answer(
            ok=not failed,
            body=body if not failed else output,
            message=message,
            unknown_key=failed and (exit_status in self.unknown_key_exit or bool(
                status.unknown_key and status.unknown_key.search(message))),
            incompatible=failed and (exit_status in self.incompatible_exit or bool(
                status.incompatible and status.incompatible.search(message))),
        )

    def has(self, operation: str) -> bool:
        return operation in self.commands

    def render(self, operation: str, **values: str) -> str:
        try:
            template = self.commands[operation]
        except KeyError:
            raise ProfileError(
                f"profile {self.name!r} ({self.source}) has no command for {operation!r}"
            ) from None
        return template.render(values)

    def match(self, argv: list[str]) -> tuple[str, dict[str, str]] | None:
        """Which operation produced this argument vector (the simulator's generic-linux
        device answers by it; tests classify recorded commands with it)."""
        for operation, template in self.commands.items():
            values = template.match(argv)
            if values is not None:
                return operation, values
        for info_field, source in self.info.items():
            if source.template.match(argv) is not None:
                return f"info.{info_field}", {}
        return None


def parse_profile(name: str, text: str, source: Path) -> Profile:
    """Build a profile from TOML text; every problem is reported with the file's path."""
    where = str(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{where}: not valid TOML: {error}") from None
    unknown = set(data) - {"name", "description", "commands", "info", "exit_status",
                           "status_line"}
    if unknown:
        raise ProfileError(f"{where}: unknown section(s) {', '.join(sorted(unknown))}")
    if data.get("name", name) != name:
        raise ProfileError(f"{where}: name {data['name']!r} differs from the file name {name!r}")
    commands_raw = data.get("commands")
    if not isinstance(commands_raw, dict):
        raise ProfileError(f"{where}: missing [commands] table")
    commands: dict[str, Template] = {}
    for operation, template in commands_raw.items():
        if operation not in OPERATIONS:
            raise ProfileError(
                f"{where}: unknown operation {operation!r} in [commands] "
                f"(known: {', '.join(OPERATIONS)})"
            )
        if not isinstance(template, str):
            raise ProfileError(f"{where}: commands.{operation} must be a string")
        commands[operation] = Template.parse(
            template, OPERATIONS[operation], f"{where}: commands.{operation}"
        )
    missing = [op for op in REQUIRED_OPERATIONS if op not in commands]
    if "config_get" not in commands and "config_dump" not in commands:
        missing.append("config_get or config_dump")
    if missing:
        raise ProfileError(f"{where}: [commands] lacks {', '.join(missing)}")
    info = _parse_info(data.get("info"), where)
    exits = data.get("exit_status", {})
    incompatible = _exit_list(exits, "incompatible", where)
    unknown_key = _exit_list(exits, "unknown_key", where)
    return Profile(
        name=name,
        description=str(data.get("description", "")),
        source=source,
        commands=commands,
        info=info,
        incompatible_exit=frozenset(incompatible),
        unknown_key_exit=frozenset(unknown_key),
        status_line=_parse_status_line(data.get("status_line", {}), where),
    )


def _parse_status_line(raw: object, where: str) -> StatusLine:
    if not isinstance(raw, dict) or set(raw) - {"ok", "error", "unknown_key", "incompatible"} \
            or not all(isinstance(v, str) for v in raw.values()):
        raise ProfileError(
            f"{where}: [status_line] takes text values ok, error, unknown_key, incompatible"
        )
    patterns: dict[str, re.Pattern[str] | None] = {}
    for name in ("unknown_key", "incompatible"):
        try:
            patterns[name] = re.compile(raw[name]) if raw.get(name) else None
        except re.error as error:
            raise ProfileError(f"{where}: status_line.{name} is not a pattern: {error}") from None
    return StatusLine(ok=raw.get("ok", ""), error=raw.get("error", ""), **patterns)


def _exit_list(exits: object, name: str, where: str) -> list[int]:
    listed = exits.get(name, []) if isinstance(exits, dict) else None
    if not isinstance(listed, list) or not all(isinstance(i, int) for i in listed):
        raise ProfileError(f"{where}: exit_status.{name} must be a list of integers")
    return listed


def _parse_info(raw: object, where: str) -> dict[str, InfoSource]:
    if not isinstance(raw, dict):
        raise ProfileError(f"{where}: missing [info] table")
    info: dict[str, InfoSource] = {}
    for info_field, spec in raw.items():
        if info_field not in INFO_FIELDS:
            raise ProfileError(
                f"{where}: unknown field {info_field!r} in [info] (known: {', '.join(INFO_FIELDS)})"
            )
        command, pick = (spec, None) if isinstance(spec, str) else _info_table(spec)
        if not isinstance(command, str) or (pick is not None and not _PICK.match(str(pick))):
            raise ProfileError(
                f"{where}: info.{info_field} must be a command string or "
                "{ command = \"...\", pick = \"line:KEY\" | \"word:N\" }"
            )
        template = Template.parse(command, frozenset(), f"{where}: info.{info_field}")
        info[info_field] = InfoSource(template, pick)
    missing = [f for f in REQUIRED_INFO if f not in info]
    if missing:
        raise ProfileError(f"{where}: [info] lacks {', '.join(missing)}")
    return info


def _info_table(spec: object) -> tuple[object, object]:
    if not isinstance(spec, dict) or set(spec) - {"command", "pick"}:
        return None, None
    return spec.get("command"), spec.get("pick")


def builtin_profiles_dir() -> Path:
    """The shipped profiles: next to the package, or inside a PyInstaller bundle."""
    return resource_path("profiles")


class ProfileLibrary:
    """Profiles by name: the user's folder first (so a shipped profile can be adapted)."""

    def __init__(self, user_dir: Path | None = None, builtin_dir: Path | None = None) -> None:
        self.user_dir = user_dir
        self.builtin_dir = builtin_dir or builtin_profiles_dir()
        self._cache: dict[str, Profile] = {}

    def _folders(self) -> list[Path]:
        return [d for d in (self.user_dir, self.builtin_dir) if d is not None]

    def names(self) -> list[str]:
        found = {p.stem for d in self._folders() if d.is_dir() for p in d.glob("*.toml")}
        return sorted(found)

    def problems(self) -> list[str]:
        """The user's profiles that cannot be used, or that replace a built-in one.

        Said when jobdesk starts: a broken profile would otherwise surface only when a job
        reaches a device that uses it, and an override would go unnoticed.
        """
        if self.user_dir is None or not self.user_dir.is_dir():
            return []
        builtin = {p.stem for p in self.builtin_dir.glob("*.toml")}
        found: list[str] = []
        for path in sorted(self.user_dir.glob("*.toml")):
            try:
                parse_profile(path.stem, path.read_text(encoding="utf-8"), path)
            except (OSError, UnicodeDecodeError) as error:
                found.append(f"the profile {path} cannot be read: {error}")
            except ProfileError as error:
                found.append(f"the profile {path} cannot be used: {error}")
            if path.stem in builtin:
                found.append(f"the profile {path} replaces the built-in {path.stem!r} profile")
        return found

    def get(self, name: str) -> Profile:
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        if not re.match(r"^[A-Za-z0-9_.\-]+$", name) or name.startswith("."):
            raise ProfileError(f"profile name {name!r} may hold only letters, digits, . _ -")
        for folder in self._folders():
            path = folder / f"{name}.toml"
            if path.is_file():
                try:
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as error:
                    raise ProfileError(f"{path}: cannot read: {error}") from None
                profile = parse_profile(name, text, path)
                self._cache[name] = profile
                return profile
        looked = ", ".join(str(d) for d in self._folders())
        raise ProfileError(
            f"no profile named {name!r} (looked in {looked}); "
            f"available: {', '.join(self.names()) or 'none'}"
        )
