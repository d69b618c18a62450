"""Device side of jobdesk: profiles, the SSH driver and password storage."""

from jobdesk.devices.profiles import Profile, ProfileError, ProfileLibrary
from jobdesk.devices.secrets import SecretsError, SecretStore
from jobdesk.devices.ssh import SshDriver

__all__ = [
    "Profile",
    "ProfileError",
    "ProfileLibrary",
    "SecretStore",
    "SecretsError",
    "SshDriver",
]
