"""jobdesk's own known-hosts file: trust on first use, and never accept a changed key.

The file is parsed once per driver and shared by every connection (asyncssh re-reads a
known-hosts *path* on each connect, which makes a fleet-wide run quadratic). A key seen for
the first time is recorded in memory and appended to the file at once. A different key for
a known host is refused: only a person who checked the device can decide it is legitimate,
and the error says how to remove the old entry. The format is OpenSSH's, so `ssh-keygen -R`
and `ssh -o UserKnownHostsFile=...` work on it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import asyncssh

from jobdesk.paths import private_folder

log = logging.getLogger(__name__)


class Verdict(Enum):
    KNOWN = "known"
    NEW = "new"  # first sight: recorded
    CHANGED = "changed"


def host_pattern(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key: asyncssh.SSHKey) -> str:
    return key.get_fingerprint("sha256")


@dataclass
class _FileStamp:
    mtime_ns: int
    size: int


class TrustStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._keys: dict[str, list[asyncssh.SSHKey]] = {}
        self._stamp: _FileStamp | None = None
        self._folder_ready = False  # the private folder is made (or checked) once
        self._load()

    def _current_stamp(self) -> _FileStamp | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return _FileStamp(stat.st_mtime_ns, stat.st_size)

    def _load(self) -> None:
        self._keys = {}
        self._stamp = self._current_stamp()
        if self._stamp is None:
            return
        text = self.path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            fields = line.split()
            if not fields or fields[0].startswith("#") or fields[0].startswith("@"):
                continue
            if len(fields) < 3 or fields[0].startswith("|"):
                log.warning("%s line %d: not a plain host key entry, ignored", self.path, number)
                continue
            try:
                key = asyncssh.import_public_key(f"{fields[1]} {fields[2]}")
            except (asyncssh.KeyImportError, ValueError):
                log.warning("%s line %d: unreadable key, ignored", self.path, number)
                continue
            for pattern in fields[0].split(","):
                self._keys.setdefault(pattern, []).append(key)

    def keys_for(self, host: str, port: int) -> list[asyncssh.SSHKey]:
        return list(self._keys.get(host_pattern(host, port), []))

    def check(self, host: str, port: int, key: asyncssh.SSHKey) -> Verdict:
        """Judge an offered key; a first-seen key is recorded before this returns."""
        verdict = self.judge(host, port, key)
        if verdict is Verdict.NEW:
            self._record(host_pattern(host, port), key)
        return verdict

    def judge(self, host: str, port: int, key: asyncssh.SSHKey) -> Verdict:
        """Judge an offered key without recording anything (a pre-flight check reads only)."""
        pattern = host_pattern(host, port)
        known = self._keys.get(pattern)
        if known and key in known:
            return Verdict.KNOWN
        if known and self._current_stamp() != self._stamp:
            self._load()  # someone edited the file (ssh-keygen -R): judge by what it says now
            return self.judge(host, port, key)
        if known:
            return Verdict.CHANGED
        return Verdict.NEW

    def _record(self, pattern: str, key: asyncssh.SSHKey) -> None:
        self._keys.setdefault(pattern, []).append(key)
        line = f"{pattern} {key.export_public_key('openssh').decode().strip()}\n"
        if not self._folder_ready:
            private_folder(self.path.parent)
            self._folder_ready = True
        # One small append per new device: a short, local write.
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            handle.write(line)
        self._stamp = self._current_stamp()
        log.info("recorded the host key of %s (%s)", pattern, fingerprint(key))

    def forget(self, host: str, port: int) -> int:
        """Remove a host's entries (after a person checked the device); returns how many."""
        pattern = host_pattern(host, port)
        if self._current_stamp() is None:
            return 0
        kept: list[str] = []
        removed = 0
        for line in self.path.read_text(encoding="utf-8").splitlines():
            fields = line.split()
            if fields and pattern in fields[0].split(","):
                removed += 1
            else:
                kept.append(line)
        temp = self.path.with_name(self.path.name + ".tmp")
        temp.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
        os.replace(temp, self.path)
        self._load()
        return removed

    def fix_hint(self, host: str, port: int) -> str:
        pattern = host_pattern(host, port)
        return (
            "Check the key on the device itself (console: ssh-keygen -lf "
            "/etc/ssh/ssh_host_ed25519_key.pub). If the change is expected (device replaced "
            f"or reset), remove the old entry with: ssh-keygen -R '{pattern}' -f '{self.path}' "
            "and retry; otherwise treat it as an attack and do not connect."
        )
