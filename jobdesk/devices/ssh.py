"""The SSH device driver: asyncssh connections (exec + SFTP) for a whole fleet on one loop.

One driver serves every device: the known-hosts file is parsed once and shared, private
keys are read once per path, and nothing runs in a thread per device; only keyring and
local-file reads go through asyncio's small shared worker pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from pathlib import Path
from typing import Any

import asyncssh
from asyncssh.encryption import get_default_encryption_algs
from asyncssh.public_key import load_default_keypairs

from jobdesk.devices.errors import map_error, where
from jobdesk.devices.known_hosts import TrustStore, Verdict, fingerprint
from jobdesk.devices.profiles import ProfileError, ProfileLibrary
from jobdesk.devices.secrets import SecretsError, SecretStore
from jobdesk.devices.session import SshSession
from jobdesk.runtime.driver import (
    AuthenticationRefused,
    DeviceError,
    DeviceInfo,
    DeviceTimeout,
    HostKeyMismatch,
    Incompatible,
)
from jobdesk.store.records import DeviceRecord

RECONNECT_DELAY = 1.0  # seconds between attempts while a device reboots
ATTEMPT_TIMEOUT = 10.0  # longest single connect attempt inside wait_online
NEVER_ANSWERED = "it never answered"
# AES-GCM first: asyncssh builds two ChaCha20 cipher contexts for every packet (its default
# first choice), against one call on a context made once per key for AES-GCM; with
# ~160 packets a device that is most of the client's own CPU per device. Every OpenSSH
# since 6.2 offers AES-GCM; a server that does not agrees on the next one in the list.
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


def cipher_preference() -> list[str]:
    """asyncssh's default ciphers, the cheapest per packet first."""
    defaults = [alg.decode() for alg in get_default_encryption_algs()]
    return [*(c for c in PREFERRED_CIPHERS if c in defaults),
            *(c for c in defaults if c not in PREFERRED_CIPHERS)]


class _Client(asyncssh.SSHClient):
    """Checks the server's host key against jobdesk's trust store (trust on first use), and
    lets a closed connection be freed at once (see `connection_lost`)."""

    def __init__(self, trust: TrustStore, device: DeviceRecord, *, record: bool = True) -> None:
        self._trust = trust
        self._device = device
        self._record = record
        self._conn: asyncssh.SSHClientConnection | None = None
        self.changed_key: asyncssh.SSHKey | None = None
        self.new_key: asyncssh.SSHKey | None = None

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        self._conn = conn

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is over: break the one reference cycle asyncssh leaves in it.

        An asyncssh connection keeps its packet handler as a bound method of itself, so a
        closed connection (and the ~60 objects hanging off it: options, config, logger,
        ciphers, socket) is freed only by the garbage collector's full pass. At 200 devices
        at once those passes held the interpreter 30-80 ms each, and the window's thread
        with it. With the cycle broken, reference counting frees each connection as it
        closes. asyncssh calls this from its cleanup, after the last packet was handled;
        `bool()` is False, "no more input", the handler asyncssh itself sets while it waits.
        """
        conn, self._conn = self._conn, None
        if conn is not None and hasattr(conn, "_recv_handler"):
            conn._recv_handler = bool

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        judge = self._trust.check if self._record else self._trust.judge
        verdict = judge(self._device.host, self._device.port, key)
        if verdict is Verdict.CHANGED:
            self.changed_key = key
            return False
        if verdict is Verdict.NEW:
            self.new_key = key
        return True


class SshDriver:
    def __init__(
        self,
        known_hosts_path: Path,
        secrets: SecretStore,
        profiles: ProfileLibrary,
        *,
        reconnect_delay: float = RECONNECT_DELAY,
        keepalive_interval: float = 15.0,
    ) -> None:
        self.trust = TrustStore(known_hosts_path)
        self.secrets = secrets
        self.profiles = profiles
        self.reconnect_delay = reconnect_delay
        self.keepalive_interval = keepalive_interval
        self._keys: dict[str, asyncssh.SSHKey] = {}
        self._options: asyncssh.SSHClientConnectionOptions | None = None
        self._sessions: weakref.WeakSet[SshSession] = weakref.WeakSet()

    async def _credentials(self, device: DeviceRecord) -> dict[str, Any]:
        """Key file, else stored password, else asyncssh's defaults (agent, ~/.ssh)."""
        options: dict[str, Any] = {}
        try:
            password = await asyncio.to_thread(self.secrets.get_password, device.name)
        except SecretsError as error:
            raise AuthenticationRefused(str(error)) from None
        if password is not None:
            options["password"] = password
        if device.key_path:
            key = self._keys.get(device.key_path)
            if key is None:
                path = str(Path(device.key_path).expanduser())
                try:
                    key = await asyncio.to_thread(asyncssh.read_private_key, path)
                except OSError as error:
                    raise AuthenticationRefused(
                        f"cannot read the private key {path} of {device.name}: {error.strerror}",
                        fix_hint="Fix the device's key path in the inventory.",
                    ) from None
                self._keys[device.key_path] = key
            options["client_keys"] = [key]
            options["agent_path"] = None
        elif password is not None:
            options["client_keys"] = None  # password only: no agent keys to exhaust MaxAuthTries
        return options

    async def _base_options(self) -> asyncssh.SSHClientConnectionOptions:
        """Options every connection shares, prepared once.

        Left to itself asyncssh reads ~/.ssh's default keys and looks up the local user for
        every connection; for a thousand devices that is a thousand times the same files.
        """
        if self._options is None:
            self._options = await asyncio.to_thread(self._build_options)
        return self._options

    def _build_options(self) -> asyncssh.SSHClientConnectionOptions:
        return asyncssh.SSHClientConnectionOptions(
            known_hosts=([], [], []),  # every key goes through _Client's check
            x509_trusted_certs=None,
            config=None,
            keepalive_interval=self.keepalive_interval,
            client_keys=load_default_keypairs(),
            encryption_algs=cipher_preference(),
        )

    async def connect(
        self, device: DeviceRecord, *, timeout: float, record_host_key: bool = True
    ) -> SshSession:
        try:
            profile = self.profiles.get(device.profile)
        except ProfileError as error:
            raise Incompatible(
                str(error), fix_hint="Fix the profile file or set another profile for the device."
            ) from None
        client = _Client(self.trust, device, record=record_host_key)
        try:
            async with asyncio.timeout(timeout):
                options = await self._credentials(device)
                conn, _ = await asyncssh.create_connection(
                    lambda: client,
                    device.host,
                    device.port,
                    options=await self._base_options(),
                    username=device.user,
                    **options,
                )
        except TimeoutError:
            raise DeviceTimeout(
                f"connecting to {where(device)} took longer than {timeout:g} s"
            ) from None
        except asyncssh.HostKeyNotVerifiable as error:
            raise self._mismatch(device, client) from error
        except (asyncssh.Error, OSError, asyncssh.KeyImportError) as error:
            raise map_error(error, device, "connecting to") from error
        session = SshSession(conn, device, profile)
        if not record_host_key and client.new_key is not None:
            session.new_host_key = fingerprint(client.new_key)
        self._sessions.add(session)
        return session

    def _mismatch(self, device: DeviceRecord, client: _Client) -> DeviceError:
        offered = fingerprint(client.changed_key) if client.changed_key else "unknown"
        known = ", ".join(fingerprint(k) for k in self.trust.keys_for(device.host, device.port))
        return HostKeyMismatch(
            f"{where(device)} offered host key {offered}, but jobdesk knows it as {known}",
            fix_hint=self.trust.fix_hint(device.host, device.port),
        )

    async def wait_online(
        self, device: DeviceRecord, previous_boot_id: str | None, *, timeout: float
    ) -> tuple[SshSession, DeviceInfo]:
        """Reconnect until the device answers with another boot id: proof it rebooted."""
        deadline = time.monotonic() + timeout
        last_problem = NEVER_ANSWERED
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceTimeout(
                    f"{where(device)} was not back within {timeout:g} s ({last_problem})",
                    fix_hint="Check the device's power and console; it may be stuck in the "
                    "boot loader or on the fallback image.",
                )
            attempt = min(left, ATTEMPT_TIMEOUT)
            try:
                session = await self.connect(device, timeout=attempt)
            except (AuthenticationRefused, HostKeyMismatch, Incompatible):
                raise
            except DeviceError as error:
                # An attempt cut short by the deadline says nothing about the device: what
                # an earlier one learned (it answered with the same boot id) stays the reason.
                if not (isinstance(error, DeviceTimeout) and attempt < ATTEMPT_TIMEOUT
                        and last_problem != NEVER_ANSWERED):
                    last_problem = f"last attempt: {error}"
            else:
                try:
                    info = await session.read_info(timeout=max(0.1, deadline - time.monotonic()))
                except DeviceError as error:
                    await session.close()
                    last_problem = f"last attempt: {error}"
                else:
                    if previous_boot_id is None or info.boot_id != previous_boot_id:
                        return session, info
                    await session.close()
                    last_problem = "it still runs with the same boot id (no reboot happened)"
            await asyncio.sleep(min(self.reconnect_delay, max(0.0, deadline - time.monotonic())))

    async def aclose(self) -> None:
        for session in list(self._sessions):
            with contextlib.suppress(Exception):
                await session.close()
