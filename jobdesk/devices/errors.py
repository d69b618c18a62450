"""Turn asyncssh and OS errors into the runtime's typed device errors.

The runtime decides from the type alone whether to retry (offline, timeout) or to stop and
ask a person (refused credentials, changed host key), so the mapping lives in one place.
"""

from __future__ import annotations

import asyncssh

from jobdesk.runtime.driver import (
    AuthenticationRefused,
    DeviceError,
    DeviceTimeout,
    Unreachable,
)
from jobdesk.store.records import DeviceRecord


def where(device: DeviceRecord) -> str:
    return f"{device.name} ({device.host}:{device.port})"


def map_error(error: BaseException, device: DeviceRecord, action: str) -> DeviceError:
    """The typed error for `error`, raised while `action` ran: a phrase the device
    completes ("connecting to", "uploading to"), so every message is a whole sentence."""
    if isinstance(error, DeviceError):
        return error
    at = where(device)
    if isinstance(error, TimeoutError):
        return DeviceTimeout(f"{action} {at} timed out")
    if isinstance(error, asyncssh.PermissionDenied):
        return AuthenticationRefused(
            f"{at} refused the login of user {device.user!r}",
            fix_hint="Check the user, the stored password (jobdesk keeps it in the OS keyring "
            "or its secrets file) or the key file of this device, then retry.",
        )
    if isinstance(error, asyncssh.KeyImportError):
        return AuthenticationRefused(
            f"cannot use the private key {device.key_path!r} for {at}: {error}",
            fix_hint="Point the device's key path at an unencrypted private key (or load "
            "the key into an SSH agent and clear the key path).",
        )
    if isinstance(error, asyncssh.ConnectionLost | asyncssh.SFTPConnectionLost):
        return Unreachable(f"the connection was lost while {action} {at}")
    if isinstance(error, asyncssh.DisconnectError):
        return Unreachable(f"the device closed the connection while {action} {at}: {error.reason}")
    if isinstance(error, asyncssh.ChannelOpenError):
        return Unreachable(f"the device refused a channel while {action} {at}: {error.reason}")
    if isinstance(error, ConnectionRefusedError):
        return Unreachable(f"{at} refused the connection (nothing listens on the port)")
    if isinstance(error, OSError):
        reason = error.strerror or str(error) or type(error).__name__
        return Unreachable(f"cannot reach {at}: {reason}")
    if isinstance(error, asyncssh.Error):
        return DeviceError(f"{action} {at} failed: {error.reason}")
    return DeviceError(f"{action} {at} failed: {type(error).__name__}")
