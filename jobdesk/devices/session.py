"""One SSH connection to one device, speaking the device's profile.

Every public call runs under one deadline (`asyncio.timeout`) that covers all the commands
and transfers it needs, and it leaves nothing behind when cancelled: processes and SFTP
sessions are closed without waiting for a device that may no longer answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import asyncssh
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from jobdesk.devices.errors import map_error, where
from jobdesk.devices.profiles import Profile
from jobdesk.runtime.driver import (
    CommandFailed,
    CommandResult,
    ConfigValues,
    DeviceInfo,
    DeviceTimeout,
    Incompatible,
    VerificationFailed,
)
from jobdesk.store.records import DeviceRecord

T = TypeVar("T")
CHUNK = 4 << 20  # bytes read from a local file at a time (in a worker thread)
PARALLEL_COMMANDS = 4  # commands in flight on one connection (OpenSSH allows 10 sessions)
_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----.*?-----END \1-----", re.S)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def last_line(output: str) -> str:
    lines = output.strip().splitlines()
    return lines[-1] if lines else "no output"


def pem_block(output: str, label: str) -> str | None:
    for match in _PEM.finditer(output):
        if match.group(1) == label:
            return match.group(0) + "\n"
    return None


def _pair(result: CommandResult) -> tuple[int, str]:
    return result.exit_status, result.output


def parse_config_dump(text: str) -> dict[str, str]:
    """`key = value` lines, the last occurrence winning (appended snippets override)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.strip() and not key.lstrip().startswith("#"):
            values[key.strip()] = value.strip()
    return values


class _Output(asyncssh.SSHClientSession[str]):
    """A command's merged output and exit status; `finished` resolves when its channel closes.

    It keeps no reference to its channel, so nothing of a finished command is left in a
    reference cycle.
    """

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.exit_status: int | None = None
        self.finished: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: str, datatype: asyncssh.DataType) -> None:
        self.chunks.append(data)

    def exit_status_received(self, status: int) -> None:
        self.exit_status = status

    def connection_lost(self, exc: Exception | None) -> None:
        if self.finished.done():
            return
        if exc is None:
            self.finished.set_result(self.exit_status)
        else:
            self.finished.set_exception(exc)


class SshSession:
    def __init__(
        self, conn: asyncssh.SSHClientConnection, device: DeviceRecord, profile: Profile
    ) -> None:
        self.conn = conn
        self.device = device
        self.profile = profile
        self._closed = False
        self.new_host_key: str | None = None

    # -- plumbing ---------------------------------------------------------------------

    async def _guard(self, action: str, timeout: float, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` under one deadline and translate whatever goes wrong."""
        try:
            async with asyncio.timeout(timeout):
                return await work()
        except TimeoutError:
            raise DeviceTimeout(
                f"{action} {where(self.device)} took longer than {timeout:g} s"
            ) from None
        except (asyncssh.Error, OSError) as error:
            raise map_error(error, self.device, action) from error

    async def _exec(self, command: str) -> CommandResult:
        # A bare session, not `create_process`: a process builds readers, writers, locks and
        # codecs that hold one another in cycles, which only the garbage collector frees, and
        # its full passes hold the interpreter (and so the window) for up to 100 ms at 200
        # devices at once. The output is read as it arrives, stderr merged into it.
        channel, output = await self.conn.create_session(
            _Output, command, encoding="utf-8", errors="replace"
        )
        try:
            status = await output.finished
        finally:
            channel.close()  # no wait_closed: a hung device must not hold a cancelled call
        return CommandResult(-1 if status is None else status, "".join(output.chunks))

    async def _op(self, operation: str, **values: str) -> str:
        """Run one profile operation; a non-zero exit is a CommandFailed with the output."""
        command = self.profile.render(operation, **values)
        result = await self._exec(command)
        answer = self.profile.answer(result.exit_status, result.output)
        if not answer.ok:
            # The device's own message (an `ERROR:` status line's) is what a person reads.
            message = (
                f"{operation} on {self.device.name} exited with {result.exit_status}: "
                f"{answer.message}"
            )
            if answer.incompatible:
                raise Incompatible(message, fix_hint="Use the image built for this model.")
            raise CommandFailed(message, exit_status=result.exit_status, output=result.output)
        return answer.body

    async def _remote_sha256(self, path: str) -> str | None:
        result = await self._exec(self.profile.render("sha256", path=path))
        words = result.output.split()
        if result.exit_status != 0 or not words or not _SHA256.match(words[0].lower()):
            return None
        return words[0].lower()

    # -- DeviceSession ----------------------------------------------------------------

    async def run(self, command: str, *, timeout: float) -> CommandResult:
        return await self._guard("running a command on", timeout, lambda: self._exec(command))

    async def upload(
        self, source: Path | bytes, remote_path: str, *, sha256: str, timeout: float
    ) -> bool:
        return await self._guard(
            "uploading to", timeout, lambda: self._upload(source, remote_path, sha256.lower())
        )

    async def _upload(self, source: Path | bytes, remote_path: str, sha256: str) -> bool:
        if await self._remote_sha256(remote_path) == sha256:
            return False
        # One temporary name per target: a retry after a dropped connection overwrites the
        # partial file it left, instead of piling up partial images on the device.
        temp = f"{remote_path}.jobdesk.part"
        sftp = await self.conn.start_sftp_client()
        try:
            try:
                await self._send(sftp, source, temp)
                actual = await self._remote_sha256(temp)
                if actual != sha256:
                    raise VerificationFailed(
                        f"{remote_path} on {self.device.name} has sha256 {actual or 'unknown'} "
                        f"after the upload, expected {sha256}",
                        fix_hint="The link or the device's storage corrupted the file; retry.",
                    )
                await self._rename(sftp, temp, remote_path)
            except BaseException:
                await _quietly(sftp.remove(temp))
                raise
        except asyncssh.SFTPError as error:
            raise self._sftp_failure(error, remote_path) from error
        finally:
            sftp.exit()
        return True

    async def _send(self, sftp: asyncssh.SFTPClient, source: Path | bytes, temp: str) -> None:
        async with sftp.open(temp, "wb") as remote:
            if isinstance(source, bytes):
                await remote.write(source)
                return
            with source.open("rb") as local:
                while chunk := await asyncio.to_thread(local.read, CHUNK):
                    await remote.write(chunk)

    async def _rename(self, sftp: asyncssh.SFTPClient, temp: str, final: str) -> None:
        try:
            await sftp.posix_rename(temp, final)
        except asyncssh.SFTPOpUnsupported:
            with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                await sftp.remove(final)
            await sftp.rename(temp, final)

    def _sftp_failure(self, error: asyncssh.SFTPError, path: str) -> Exception:
        reason = str(error.reason)
        if isinstance(
            error, asyncssh.SFTPNoSpaceOnFilesystem | asyncssh.SFTPQuotaExceeded
        ) or "space" in reason.lower():
            return VerificationFailed(
                f"no space left on {self.device.name} for {path}",
                retryable=False,
                fix_hint="Free space on the device (old images, logs), then retry the task.",
            )
        if isinstance(error, asyncssh.SFTPConnectionLost):
            return map_error(error, self.device, "uploading to")
        return CommandFailed(
            f"uploading {path} to {self.device.name} failed: {reason}",
            exit_status=error.code,
            output=reason,
        )

    async def read_info(self, *, timeout: float) -> DeviceInfo:
        return await self._guard("reading the information of", timeout, self._read_info)

    async def _read_info(self) -> DeviceInfo:
        # The certificate is read side by side with the rest: one round of commands less.
        cert_show = self.profile.render("cert_show")
        commands = {src.template.source for src in self.profile.info.values()} | {cert_show}
        outputs = await self._gather({c: self._exec(c) for c in sorted(commands)})
        values: dict[str, str | None] = {}
        for field_name, src in self.profile.info.items():
            answer = self.profile.answer(*_pair(outputs[src.template.source]))
            values[field_name] = src.extract(answer.body) if answer.ok else None
        expires, cert_fingerprint = _cert_facts(pem_block(outputs[cert_show].output,
                                                          "CERTIFICATE"))
        uptime = values.get("uptime_s")
        return DeviceInfo(
            model=values.get("model"),
            serial=values.get("serial"),
            firmware=values.get("firmware"),
            boot_id=values.get("boot_id"),
            uptime_s=_float_or_none(uptime),
            cert_expires_at=expires,
            cert_fingerprint=cert_fingerprint,
        )

    async def _gather(self, calls: dict[str, Awaitable[CommandResult]]) -> dict[str, CommandResult]:
        """Run commands side by side on this connection, a few at a time."""
        limit = asyncio.Semaphore(PARALLEL_COMMANDS)

        async def one(call: Awaitable[CommandResult]) -> CommandResult:
            async with limit:
                return await call

        tasks = [asyncio.ensure_future(one(c)) for c in calls.values()]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            raise
        return dict(zip(calls, results, strict=True))

    async def apply_config(self, remote_path: str, *, timeout: float) -> None:
        await self._guard(
            "applying configuration on", timeout, lambda: self._op("config_apply", path=remote_path)
        )

    async def read_config(self, keys: list[str], *, timeout: float) -> ConfigValues:
        return await self._guard(
            "reading configuration of", timeout, lambda: self._read_config(keys)
        )

    async def _read_config(self, keys: list[str]) -> ConfigValues:
        if not self.profile.has("config_get"):
            values = parse_config_dump(await self._op("config_dump"))
            return ConfigValues({k: values[k] for k in keys if k in values})
        commands = {k: self._exec(self.profile.render("config_get", key=k)) for k in keys}
        results = await self._gather(commands)
        found = ConfigValues()
        for key, result in results.items():
            answer = self.profile.answer(*_pair(result))
            if answer.ok:
                found[key] = answer.body.rstrip("\r\n")
            elif result.exit_status >= 126 or result.exit_status < 0:
                raise CommandFailed(
                    f"config_get on {self.device.name} exited with {result.exit_status}: "
                    f"{last_line(result.output)}",
                    exit_status=result.exit_status,
                    output=result.output,
                )
            else:
                # The device could not read the key (unknown, not allowed): its own words
                # are what a person needs, not "None, expected …".
                found.errors[key] = f"exit status {result.exit_status}: {answer.message}"
                if answer.unknown_key:
                    found.unknown.add(key)
        return found

    async def free_space(self, folder: str, *, timeout: float) -> int | None:
        return await self._guard(
            "reading the free space of", timeout, lambda: self._free_space(folder)
        )

    async def _free_space(self, folder: str) -> int | None:
        """Through SFTP's statvfs: the same server and file system the upload writes to,
        and no command a device profile would have to know. None when the server lacks
        the statvfs@openssh.com extension (the check then says it could not tell)."""
        sftp = await self.conn.start_sftp_client()
        try:
            stats = await sftp.statvfs(folder)
        except asyncssh.SFTPConnectionLost:
            raise
        except asyncssh.SFTPError:
            return None
        finally:
            sftp.exit()
        return int(stats.bavail) * int(stats.frsize or stats.bsize)

    async def install_firmware(self, remote_path: str, *, timeout: float) -> None:
        await self._guard(
            "installing firmware on",
            timeout,
            lambda: self._op("firmware_install", path=remote_path),
        )

    async def reboot(self, *, timeout: float) -> None:
        await self._guard("rebooting", timeout, self._reboot)

    async def _reboot(self) -> None:
        try:
            result = await self._exec(self.profile.render("reboot"))
        except (asyncssh.DisconnectError, ConnectionResetError, BrokenPipeError):
            return  # the device went down before answering: the request was accepted
        if result.exit_status not in (0, -1):  # -1: the link dropped as the device went down
            raise CommandFailed(
                f"reboot on {self.device.name} exited with {result.exit_status}: "
                f"{last_line(result.output)}",
                exit_status=result.exit_status,
                output=result.output,
            )

    async def create_csr(self, common_name: str, *, timeout: float) -> str:
        return await self._guard(
            "creating a signing request on", timeout, lambda: self._create_csr(common_name)
        )

    async def _create_csr(self, common_name: str) -> str:
        output = await self._op("csr_create", common_name=common_name)
        csr = pem_block(output, "CERTIFICATE REQUEST") or pem_block(
            output, "NEW CERTIFICATE REQUEST"
        )
        if csr is None:
            raise VerificationFailed(
                f"{self.device.name} printed no signing request: {last_line(output)}"
            )
        return csr

    async def install_certificate(self, cert_pem: str, ca_pem: str, *, timeout: float) -> None:
        await self._guard(
            "installing a certificate on", timeout, lambda: self._install_cert(cert_pem, ca_pem)
        )

    async def _install_cert(self, cert_pem: str, ca_pem: str) -> None:
        paths = {}
        for label, pem in (("cert", cert_pem), ("ca", ca_pem)):
            data = pem.encode()
            digest = hashlib.sha256(data).hexdigest()
            paths[label] = f"/tmp/jobdesk-{label}-{digest[:16]}.pem"
            await self._upload(data, paths[label], digest)
        await self._op("cert_install", cert_path=paths["cert"], ca_path=paths["ca"])

    async def certificate_fingerprint(self, *, timeout: float) -> str:
        return await self._guard(
            "reading the certificate of", timeout, self._certificate_fingerprint
        )

    async def _certificate_fingerprint(self) -> str:
        output = await self._op("cert_show")
        _, found = _cert_facts(pem_block(output, "CERTIFICATE"))
        if found is None:
            raise VerificationFailed(f"{self.device.name} shows no readable certificate")
        return found

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.conn.close()


def _cert_facts(pem: str | None) -> tuple[datetime | None, str | None]:
    if pem is None:
        return None, None
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return None, None
    return cert.not_valid_after_utc, cert.fingerprint(hashes.SHA256()).hex()


def _float_or_none(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


async def _quietly(call: Awaitable[object], timeout: float = 2.0) -> None:
    """Best-effort cleanup that never outlives a short deadline nor raises."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(call, timeout)
