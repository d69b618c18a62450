"""Device passwords: in the OS keyring when there is one, else in a private file.

Passwords never go to the database (it is copied around for support), to logs, to command
lines or to exception messages. A laptop without a usable keyring (a headless Linux box,
a CI runner) falls back to `secrets.json` in the data folder, created with mode 0600;
entries written there stay readable after a keyring appears, so nothing is lost.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from jobdesk.paths import private_folder

log = logging.getLogger(__name__)

SERVICE = "jobdesk"
FILE_NAME = "secrets.json"


class SecretsError(RuntimeError):
    """The secrets file cannot be read or written (the message never holds a secret)."""


def _usable_keyring() -> Any | None:
    """The keyring backend if one works here; None for keyring's fail/null backends."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken backend configuration is "no keyring"
        return None
    if isinstance(backend, fail.Keyring) or type(backend).__module__.endswith(".null"):
        return None
    if getattr(backend, "priority", 1) <= 0:
        return None
    return backend


class SecretStore:
    def __init__(self, data_dir: Path, *, use_keyring: bool | None = None) -> None:
        """`use_keyring=None` picks the OS keyring when usable; False forces the file."""
        self.path = data_dir / FILE_NAME
        self._keyring = _usable_keyring() if use_keyring in (None, True) else None
        if use_keyring and self._keyring is None:
            raise SecretsError("no usable OS keyring on this machine")
        self._file_cache: dict[str, str] | None = None
        self._file_stamp: tuple[int, int] | None = None

    @property
    def backend(self) -> str:
        return "keyring" if self._keyring is not None else f"file {self.path}"

    def set_password(self, device_name: str, password: str) -> None:
        if self._keyring is not None:
            try:
                self._keyring.set_password(SERVICE, device_name, password)
            except Exception as error:
                log.warning(
                    "keyring refused the password of %s (%s); using %s",
                    device_name, type(error).__name__, self.path,
                )
            else:
                self._drop_from_file(device_name)
                return
        data = dict(self._read_file())
        data[device_name] = password
        self._write_file(data)

    def get_password(self, device_name: str) -> str | None:
        if self._keyring is not None:
            try:
                value = self._keyring.get_password(SERVICE, device_name)
            except Exception as error:
                log.warning("keyring lookup for %s failed (%s)", device_name, type(error).__name__)
            else:
                if value is not None:
                    return str(value)
        return self._read_file().get(device_name)

    def delete(self, device_name: str) -> None:
        if self._keyring is not None:
            with contextlib.suppress(Exception):  # not stored there: nothing to delete
                self._keyring.delete_password(SERVICE, device_name)
        self._drop_from_file(device_name)

    def _drop_from_file(self, device_name: str) -> None:
        data = self._read_file()
        if device_name in data:
            data = {k: v for k, v in data.items() if k != device_name}
            self._write_file(data)

    def _read_file(self) -> dict[str, str]:
        """The file's passwords, read again whenever the file changed on disk.

        `jobdesk devices set-password` may run while the window's runtime is working: the
        next attempt must use the new password, not the one cached at start.
        """
        try:
            stamp: tuple[int, int] | None = (self.path.stat().st_mtime_ns,
                                              self.path.stat().st_size)
        except FileNotFoundError:
            stamp = None
        except OSError as error:
            raise SecretsError(f"cannot read {self.path}: {error.strerror}") from None
        if self._file_cache is not None and stamp == self._file_stamp:
            return self._file_cache
        self._file_stamp = stamp
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._file_cache = {}
            return self._file_cache
        except OSError as error:
            raise SecretsError(f"cannot read {self.path}: {error.strerror}") from None
        try:
            data = json.loads(raw)
        except ValueError:
            raise SecretsError(
                f"{self.path} is not valid JSON; fix or delete it and set the passwords again"
            ) from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise SecretsError(f"{self.path} must map device names to passwords")
        self._tighten()
        self._file_cache = data
        return data

    def _tighten(self) -> None:
        """Repair a file someone made readable by others (on POSIX systems)."""
        if os.name == "posix" and self.path.stat().st_mode & 0o077:
            os.chmod(self.path, 0o600)

    def _write_file(self, data: dict[str, str]) -> None:
        """Write atomically: a crash leaves the old file or the new one, never half of one."""
        private_folder(self.path.parent)
        descriptor, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".secrets-")
        try:
            os.chmod(temp, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
            os.replace(temp, self.path)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise SecretsError(f"cannot write {self.path}: {error.strerror}") from None
        self._file_cache = None  # read back (and stamped) on next use
