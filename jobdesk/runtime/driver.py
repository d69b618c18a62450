"""The device-driver interface the runtime talks to, and the errors drivers raise.

Every call takes a timeout and may be cancelled. Errors are typed so the runtime can tell
what retrying can fix (a device offline for a minute) from what it cannot (a changed host
key, refused credentials) and fail the latter at once, with a hint a technician can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from jobdesk.store.records import DeviceRecord


class DeviceError(Exception):
    """A device operation failed. `retryable` says whether a later attempt may succeed."""

    kind = "device error"
    retryable = True

    def __init__(self, message: str, *, fix_hint: str | None = None) -> None:
        super().__init__(message)
        self.fix_hint = fix_hint

    def __str__(self) -> str:
        return f"{self.kind}: {self.args[0]}"


class Unreachable(DeviceError):
    kind = "unreachable"


class AuthenticationRefused(DeviceError):
    kind = "authentication refused"
    retryable = False


class HostKeyMismatch(DeviceError):
    kind = "host key changed"
    retryable = False


class DeviceTimeout(DeviceError):
    kind = "timeout"


class CommandFailed(DeviceError):
    kind = "command failed"

    def __init__(
        self, message: str, *, exit_status: int, output: str = "", fix_hint: str | None = None
    ) -> None:
        super().__init__(message, fix_hint=fix_hint)
        self.exit_status = exit_status
        self.output = output


class VerificationFailed(DeviceError):
    kind = "verification failed"

    def __init__(self, message: str, *, retryable: bool = True, fix_hint: str | None = None):
        super().__init__(message, fix_hint=fix_hint)
        self.retryable = retryable


class Incompatible(DeviceError):
    """The payload cannot fit this device (firmware for another model)."""

    kind = "incompatible"
    retryable = False


class ConfigValues(dict[str, str]):
    """Values read from a device's configuration, by key. `errors` holds, for each key the
    device could not read, the device's own answer (what a person needs to see); `unknown`
    the keys among them that the device says it does not know at all (its profile names
    the exit statuses or the error wording that mean so), which no snippet can set."""

    def __init__(self, values: dict[str, str] | None = None,
                 errors: dict[str, str] | None = None,
                 unknown: set[str] | None = None) -> None:
        super().__init__(values or {})
        self.errors: dict[str, str] = dict(errors or {})
        self.unknown: set[str] = set(unknown or ())


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    output: str


@dataclass(frozen=True)
class DeviceInfo:
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    boot_id: str | None = None
    uptime_s: float | None = None
    cert_expires_at: datetime | None = None
    cert_fingerprint: str | None = None


class DeviceSession(Protocol):
    """One connection to one device, for the length of an attempt."""

    # The SHA-256 fingerprint of a host key seen for the first time on a connection opened
    # with record_host_key=False (a pre-flight check): accepted, as trust on first use
    # would, but not recorded. None when the key was known.
    new_host_key: str | None

    async def run(self, command: str, *, timeout: float) -> CommandResult: ...

    async def upload(
        self, source: Path | bytes, remote_path: str, *, sha256: str, timeout: float
    ) -> bool:
        """Put a file on the device; False when it already had the same sha256.

        Verifies the checksum on the device afterwards (VerificationFailed otherwise).
        """
        ...

    async def read_info(self, *, timeout: float) -> DeviceInfo: ...

    async def apply_config(self, remote_path: str, *, timeout: float) -> None: ...

    async def read_config(self, keys: list[str], *, timeout: float) -> ConfigValues: ...

    async def free_space(self, folder: str, *, timeout: float) -> int | None:
        """Bytes free for an upload into `folder`; None when the device cannot say."""
        ...

    async def install_firmware(self, remote_path: str, *, timeout: float) -> None: ...

    async def reboot(self, *, timeout: float) -> None:
        """Ask the device to reboot; returns once the request is accepted."""
        ...

    async def create_csr(self, common_name: str, *, timeout: float) -> str:
        """Create a new key on the device and return its PEM signing request."""
        ...

    async def install_certificate(self, cert_pem: str, ca_pem: str, *, timeout: float) -> None: ...

    async def certificate_fingerprint(self, *, timeout: float) -> str:
        """SHA-256 fingerprint (hex) of the certificate the device now uses."""
        ...

    async def close(self) -> None: ...


class DeviceDriver(Protocol):
    async def connect(
        self, device: DeviceRecord, *, timeout: float, record_host_key: bool = True
    ) -> DeviceSession:
        """Open a session. With record_host_key=False (reading only) a first-seen host key
        is accepted for this connection without being recorded; a changed one is refused
        either way (HostKeyMismatch)."""
        ...

    async def wait_online(
        self, device: DeviceRecord, previous_boot_id: str | None, *, timeout: float
    ) -> tuple[DeviceSession, DeviceInfo]:
        """Reconnect until the device is back with another boot id (proof of a reboot)."""
        ...

    async def aclose(self) -> None: ...
