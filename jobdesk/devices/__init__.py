"""Device side of jobdesk: profiles, the SSH driver and password storage.

The names are loaded on first use: importing the SSH stack (asyncssh, cryptography) costs
about 100 ms, which `jobdesk --version` and most commands never need.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "Profile": "jobdesk.devices.profiles",
    "ProfileError": "jobdesk.devices.profiles",
    "ProfileLibrary": "jobdesk.devices.profiles",
    "SecretStore": "jobdesk.devices.secrets",
    "SecretsError": "jobdesk.devices.secrets",
    "SshDriver": "jobdesk.devices.ssh",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'jobdesk.devices' has no attribute {name!r}")
    return getattr(import_module(home), name)
