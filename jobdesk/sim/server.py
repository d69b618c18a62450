"""One simulated device on the network: an asyncssh server on its own loopback port.

Host keys are ed25519 keys derived from (seed, device index), so a restarted simulator
with the same seed presents the same keys and jobdesk's known-hosts entries stay valid;
the `hostkey` fault derives another key, which must trip jobdesk's changed-key check.
A reboot really closes the port for the reboot's duration, so jobdesk has to poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

import asyncssh
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jobdesk.sim.device import SimDevice
from jobdesk.sim.record import Recorder
from jobdesk.sim.sftp import MemorySFTPServer
from jobdesk.sim.shell import Result, SimShell

log = logging.getLogger(__name__)
REBOOT_GRACE = 0.2  # seconds between answering `reboot` and going down


def host_key(seed: int, index: int, *, changed: bool = False) -> asyncssh.SSHKey:
    """The device's ed25519 host key, a pure function of (seed, index)."""
    label = "changed" if changed else "v1"
    material = hashlib.sha256(f"jobdesk-sim/{seed}/{index}/{label}".encode()).digest()
    private = Ed25519PrivateKey.from_private_bytes(material)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return asyncssh.import_private_key(pem)


class _SimSSHServer(asyncssh.SSHServer):
    """Logins: any user, with or without a password or key, unless `auth` is set.

    A simulated device asks for no credentials so that importing the fleet's inventory is
    all a user does to reach it; with the `auth` fault it refuses every login.
    """

    def __init__(self, node: SimNode) -> None:
        self.node = node
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        device = self.node.device
        device.connections_seen += 1
        self.node.connections.add(conn)
        if device.faults.flapping and device.connections_seen % 2 == 0:
            asyncio.get_running_loop().call_soon(conn.abort)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.node.connections.discard(self.conn)

    def begin_auth(self, username: str) -> bool:
        return self.node.device.faults.auth  # False: no authentication needed

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return not self.node.device.faults.auth

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return not self.node.device.faults.auth

    def kbdint_auth_supported(self) -> bool:
        return False


class SimNode:
    """Listens for one device, runs its commands and performs its reboots."""

    def __init__(self, device: SimDevice, seed: int, host: str, reboot_s: float,
                 recorder: Recorder | None = None) -> None:
        self.device = device
        self.recorder = recorder
        self.host = host
        self.reboot_s = device.faults.reboot_s if device.faults.reboot_s is not None else reboot_s
        self.key = host_key(seed, device.index, changed=device.faults.hostkey)
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._reboot_task: asyncio.Task[None] | None = None

    @property
    def listening(self) -> bool:
        return self._acceptor is not None

    async def start(self) -> None:
        if self.device.faults.offline or self._acceptor is not None:
            return
        self._acceptor = await asyncssh.create_server(
            lambda: _SimSSHServer(self),
            self.host,
            self.device.port,
            server_host_keys=[self.key],
            process_factory=self._handle,
            sftp_factory=lambda chan: MemorySFTPServer(chan, self.device, self.recorder),
            allow_scp=False,
            x509_trusted_certs=None,
            config=None,
            reuse_address=True,
        )

    async def stop(self) -> None:
        if self._reboot_task is not None:
            self._reboot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reboot_task
        await self._go_down()

    async def _go_down(self) -> None:
        acceptor, self._acceptor = self._acceptor, None
        if acceptor is not None:
            acceptor.close()
            await acceptor.wait_closed()
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()

    def request_reboot(self) -> None:
        if self._reboot_task is None or self._reboot_task.done():
            self._reboot_task = asyncio.get_running_loop().create_task(self._reboot())

    async def _reboot(self) -> None:
        await asyncio.sleep(REBOOT_GRACE)
        await self._go_down()
        await asyncio.sleep(self.reboot_s)
        self.device.finish_reboot()
        await self.start()

    async def _before(self, operation: str, process: asyncssh.SSHServerProcess) -> Result | None:
        """Faults that act on a command: slow, hang and fail-step."""
        faults = self.device.faults
        if faults.slow_s:
            await asyncio.sleep(faults.slow_s)
        if faults.hangs(operation):
            await process.wait_closed()  # never answers; ends when the client gives up
            return -1, ""
        return faults.fails(operation)

    async def _handle(self, process: asyncssh.SSHServerProcess) -> None:
        command = process.command
        try:
            if command is None:
                status, output = 1, "sim: interactive shells are not supported\n"
            else:
                shell = SimShell(
                    self.device, self.request_reboot, lambda op: self._before(op, process)
                )
                status, output = await shell.run_line(command)
                if self.recorder is not None:
                    self.recorder.executed(self.device.name, command, status)
                if output and not output.endswith("\n") and status != 0:
                    output += "\n"
            process.stdout.write(output)
            process.exit(status)
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            process.close()  # the client went away first
        except Exception:
            log.exception("simulated device %s failed on %r", self.device.name, command)
            with contextlib.suppress(Exception):
                process.exit(70)
