"""The SSH driver against a real OpenSSH server, through the generic-linux profile.

The test starts Debian's /usr/sbin/sshd on a loopback port with a throwaway host key, its
own config and a temporary authorized_keys file (`AuthorizedKeysFile`), and logs in as
the user running the tests with a fresh ed25519 key: as root this needs
`PermitRootLogin prohibit-password`; as another user, sshd runs unprivileged and can only
log that same user in, which is all the test needs. It skips when sshd is not installed
(`apt-get install openssh-server`) or, when not root, when /run/sshd is missing.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import os
import random
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

from jobdesk.devices import ProfileLibrary, SecretStore, SshDriver
from jobdesk.store.records import DeviceRecord

SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not SSHD.exists(), reason="needs /usr/sbin/sshd (apt-get install openssh-server)"
    ),
]


@dataclass
class Sshd:
    port: int
    user: str
    key_path: Path


def _write_key(path: Path, key: asyncssh.SSHKey) -> None:
    path.write_bytes(key.export_private_key("openssh"))
    path.chmod(0o600)


def _wait_listening(port: int, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            detail = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"sshd exited: {detail}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("sshd did not start listening")


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    if not PRIVSEP_DIR.is_dir():
        if os.geteuid() != 0:
            pytest.skip(f"sshd needs {PRIVSEP_DIR}; create it as root")
        PRIVSEP_DIR.mkdir(mode=0o755)  # what the openssh-server package's tmpfiles.d does
    host_key, client_key = tmp_path / "host_ed25519", tmp_path / "client_ed25519"
    _write_key(host_key, asyncssh.generate_private_key("ssh-ed25519"))
    key = asyncssh.generate_private_key("ssh-ed25519")
    _write_key(client_key, key)
    authorized = tmp_path / "authorized_keys"
    authorized.write_bytes(key.export_public_key("openssh"))
    port = random.randrange(20000, 32000)
    config = tmp_path / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
        f"PidFile {tmp_path / 'sshd.pid'}\nAuthorizedKeysFile {authorized}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        "Subsystem sftp internal-sftp\nMaxStartups 100\n"
    )
    process = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_listening(port, process, time.monotonic() + 10)
        yield Sshd(port, getpass.getuser(), client_key)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


def test_generic_linux_profile_on_a_real_sshd(sshd: Sshd, tmp_path: Path) -> None:
    device = DeviceRecord(
        id=1, name="real", host="127.0.0.1", port=sshd.port, user=sshd.user,
        profile="generic-linux", tags=(), key_path=str(sshd.key_path),
    )
    driver = SshDriver(
        tmp_path / "known_hosts", SecretStore(tmp_path / "data", use_keyring=False),
        ProfileLibrary(),
    )

    async def scenario() -> None:
        session = await driver.connect(device, timeout=10)
        result = await session.run("echo hello", timeout=10)
        assert (result.exit_status, result.output) == (0, "hello\n")
        info = await session.read_info(timeout=10)
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        assert info.boot_id == boot_id
        assert info.uptime_s is not None and info.uptime_s > 0
        assert info.firmware  # VERSION_ID from /etc/os-release
        data = os.urandom(200_000)
        digest = hashlib.sha256(data).hexdigest()
        remote = str(tmp_path / "upload folder" / "image.bin")
        Path(remote).parent.mkdir()
        assert await session.upload(data, remote, sha256=digest, timeout=10)
        assert Path(remote).read_bytes() == data
        assert not await session.upload(data, remote, sha256=digest, timeout=10)
        assert [p.name for p in Path(remote).parent.iterdir()] == ["image.bin"]
        await session.close()
        await driver.aclose()

    asyncio.run(scenario())
    assert (tmp_path / "known_hosts").read_text().startswith(f"[127.0.0.1]:{sshd.port} ")
