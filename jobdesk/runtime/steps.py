"""What each step of each job type does on a device (spec B7), through the driver interface.

Steps hand results to later steps through the task's context, which is stored after every
step: a retry that resumes at a later step (say, *sign* after *create-csr* succeeded) still
finds what the earlier step produced.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobdesk.domain.payloads import parse_snippet
from jobdesk.runtime.actions import file_sha256
from jobdesk.runtime.ca import LocalCA, SigningRefused, fingerprint, not_after
from jobdesk.runtime.driver import (
    CommandFailed,
    DeviceDriver,
    DeviceError,
    DeviceInfo,
    DeviceSession,
    VerificationFailed,
)
from jobdesk.store.records import DeviceRecord, JobRecord

InventoryUpdate = Callable[..., Awaitable[None]]
OUTPUT_TAIL = 2000  # characters of command output kept in the task's record
UPLOAD_FOLDER = "/tmp"  # where every upload lands on the device (the pre-flight check looks)


@dataclass(frozen=True)
class StepResult:
    message: str | None = None
    context: dict[str, Any] | None = None
    finish_task: bool = False  # the task is done: the steps left are not needed


@dataclass
class StepContext:
    job: JobRecord
    device: DeviceRecord
    data: dict[str, Any]
    driver: DeviceDriver
    ca: LocalCA
    update_inventory: InventoryUpdate
    connect_timeout: float
    timeout: float = 60.0
    # The steps this attempt has completed: a step that consumes an upload made by an
    # earlier attempt first makes sure the file is still on the device.
    ran: set[str] = field(default_factory=set)
    # Steps a person skipped (done by hand): never redone behind their back.
    skipped: frozenset[str] = frozenset()
    _session: DeviceSession | None = field(default=None, repr=False)

    async def session(self) -> DeviceSession:
        """The attempt's connection, opened on first use (a resumed attempt needs one too)."""
        if self._session is None:
            self._session = await self.driver.connect(self.device, timeout=self.connect_timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    @property
    def payload(self) -> dict[str, Any]:
        return self.job.payload

    def remote_path(self, suffix: str) -> str:
        return f"{UPLOAD_FOLDER}/jobdesk-job{self.job.id}-{suffix}"


StepRunner = Callable[[StepContext], Awaitable[StepResult]]


def _info_dict(info: DeviceInfo) -> dict[str, Any]:
    return {
        "model": info.model,
        "serial": info.serial,
        "firmware": info.firmware,
        "boot_id": info.boot_id,
        "cert_expires_at": info.cert_expires_at.isoformat() if info.cert_expires_at else None,
        "cert_fingerprint": info.cert_fingerprint,
    }


async def connect(ctx: StepContext) -> StepResult:
    await ctx.session()
    return StepResult(f"connected to {ctx.device.host}:{ctx.device.port}")


async def upload_snippet(ctx: StepContext) -> StepResult:
    content: str = ctx.payload["content"]
    data = content.encode()
    sent = await (await ctx.session()).upload(
        data, ctx.remote_path("snippet.cfg"), sha256=ctx.payload["sha256"], timeout=ctx.timeout
    )
    return StepResult("uploaded" if sent else "already on the device (same checksum)")


async def _upload_again_if_gone(ctx: StepContext, upload: StepRunner, step: str) -> str:
    """A step resumed in a later attempt (the device may have rebooted and cleared its
    /tmp) checks by checksum that the earlier attempt's upload is still there, and sends
    it again if not, instead of failing "No such file" until the job expires."""
    if step in ctx.ran or step in ctx.skipped:
        return ""
    result = await upload(ctx)
    return "" if result.message and result.message.startswith("already") else (
        "; the upload was gone from the device and was sent again")


async def apply_config(ctx: StepContext) -> StepResult:
    note = await _upload_again_if_gone(ctx, upload_snippet, "upload-snippet")
    await (await ctx.session()).apply_config(ctx.remote_path("snippet.cfg"), timeout=ctx.timeout)
    return StepResult(f"applied{note}")


async def verify_values(ctx: StepContext) -> StepResult:
    expected = parse_snippet(ctx.payload["content"])
    actual = await (await ctx.session()).read_config(sorted(expected), timeout=ctx.timeout)
    errors = actual.errors
    wrong = [
        f"reading {key} failed: {errors[key]}" if key in errors
        else f"{key} is {actual.get(key)!r}, expected {value!r}"
        for key, value in expected.items()
        if actual.get(key) != value
    ]
    if wrong:
        raise VerificationFailed("; ".join(wrong))
    return StepResult(f"{len(expected)} value(s) verified")


async def check_version(ctx: StepContext) -> StepResult:
    info = await (await ctx.session()).read_info(timeout=ctx.timeout)
    wanted = ctx.payload["version"]
    context = {"boot_id_before": info.boot_id, "version_before": info.firmware}
    if info.firmware == wanted:
        return StepResult(f"firmware {wanted} is installed already", context, finish_task=True)
    return StepResult(f"running {info.firmware}, updating to {wanted}", context)


async def upload_image(ctx: StepContext) -> StepResult:
    path = Path(ctx.payload["file"])
    if not path.is_file():
        raise VerificationFailed(
            f"the image {path} is gone from this laptop",
            retryable=False,
            fix_hint="Put the image back at that path (or create a new job), then retry.",
        )
    if file_sha256(path) != ctx.payload["sha256"]:
        raise VerificationFailed(
            f"the image {path} changed since the job was created",
            retryable=False,
            fix_hint="Create a new job with the image you mean to install.",
        )
    sent = await (await ctx.session()).upload(
        path, ctx.remote_path("firmware.img"), sha256=ctx.payload["sha256"], timeout=ctx.timeout
    )
    return StepResult("uploaded, checksum verified" if sent else "already on the device")


async def install_image(ctx: StepContext) -> StepResult:
    note = await _upload_again_if_gone(ctx, upload_image, "upload-image")
    await (await ctx.session()).install_firmware(
        ctx.remote_path("firmware.img"), timeout=ctx.timeout
    )
    return StepResult(f"installed{note}")


async def reboot(ctx: StepContext) -> StepResult:
    """Reboot, remembering the boot id *now*, so wait-online proves this very reboot.

    A firmware attempt resumed after a crash may find the device already restarted on the
    target version (its boot id moved on since check-version): it is not rebooted again.
    """
    session = await ctx.session()
    info = await session.read_info(timeout=ctx.timeout)
    target = ctx.payload.get("version")
    checked_boot = ctx.data.get("boot_id_before")
    if target and info.firmware == target and checked_boot and info.boot_id != checked_boot:
        return StepResult(f"already restarted on {target}; no second reboot",
                          {"boot_id_before": checked_boot})
    await session.reboot(timeout=ctx.timeout)
    await ctx.close()
    return StepResult("reboot requested", {"boot_id_before": info.boot_id})


async def wait_online(ctx: StepContext) -> StepResult:
    await ctx.close()
    session, info = await ctx.driver.wait_online(
        ctx.device, ctx.data.get("boot_id_before"), timeout=ctx.timeout
    )
    ctx._session = session
    return StepResult(f"back online (boot id {info.boot_id})", {"boot_id_before": info.boot_id})


async def verify_version(ctx: StepContext) -> StepResult:
    info = await (await ctx.session()).read_info(timeout=ctx.timeout)
    wanted = ctx.payload["version"]
    if info.firmware != wanted:
        # B3: retried like any failure, from the upload the install consumed (B1); only a
        # wrong model, a changed host key and a refused login fail at once.
        raise VerificationFailed(f"the device runs {info.firmware}, expected {wanted}")
    await ctx.update_inventory(firmware=info.firmware, boot_id=info.boot_id)
    return StepResult(f"running {wanted}")


async def create_csr(ctx: StepContext) -> StepResult:
    csr = await (await ctx.session()).create_csr(ctx.device.name, timeout=ctx.timeout)
    return StepResult("key and signing request created on the device", {"csr": csr})


async def sign_certificate(ctx: StepContext) -> StepResult:
    csr = ctx.data.get("csr")
    if not csr:
        raise VerificationFailed(
            "no signing request from an earlier step",
            fix_hint="Retry the task; if create-csr was skipped, it must run.",
        )
    try:
        cert = ctx.ca.sign(csr, ctx.device.name)
    except SigningRefused as error:
        raise VerificationFailed(str(error), retryable=False) from error
    return StepResult(
        "signed by the local CA", {"certificate": cert, "fingerprint": fingerprint(cert)}
    )


async def install_certificate(ctx: StepContext) -> StepResult:
    cert = ctx.data.get("certificate")
    if not cert:
        raise VerificationFailed("no signed certificate from an earlier step")
    await (await ctx.session()).install_certificate(cert, ctx.ca.cert_pem, timeout=ctx.timeout)
    return StepResult("installed")


async def verify_fingerprint(ctx: StepContext) -> StepResult:
    expected = ctx.data.get("fingerprint")
    actual = await (await ctx.session()).certificate_fingerprint(timeout=ctx.timeout)
    if actual != expected:
        raise VerificationFailed(f"the device serves {actual}, expected {expected}")
    cert = ctx.data["certificate"]
    await ctx.update_inventory(cert_fingerprint=actual, cert_expires_at=not_after(cert))
    return StepResult(f"fingerprint {actual[:16]}… verified")


async def read_info(ctx: StepContext) -> StepResult:
    info = await (await ctx.session()).read_info(timeout=ctx.timeout)
    return StepResult(
        f"{info.model or 'unknown model'}, firmware {info.firmware or 'unknown'}",
        {"info": _info_dict(info)},
    )


async def store_info(ctx: StepContext) -> StepResult:
    from datetime import datetime

    info = dict(ctx.data.get("info") or {})
    if not info:
        raise VerificationFailed("no device information from an earlier step")
    expires = info.pop("cert_expires_at", None)
    fields = {k: v for k, v in info.items() if v is not None}
    if expires:
        fields["cert_expires_at"] = datetime.fromisoformat(expires)
    await ctx.update_inventory(**fields)
    return StepResult("inventory updated")


async def upload_script(ctx: StepContext) -> StepResult:
    path = Path(ctx.payload["file"])
    sent = await (await ctx.session()).upload(
        path, ctx.remote_path("script"), sha256=ctx.payload["sha256"], timeout=ctx.timeout
    )
    return StepResult("uploaded" if sent else "already on the device")


def script_command(command: str, remote_script: str | None) -> str:
    """The command line sent to the device, with the script's path quoted into a variable."""
    import shlex

    if remote_script is None:
        return command
    return f"JOBDESK_SCRIPT={shlex.quote(remote_script)}; export JOBDESK_SCRIPT; {command}"


async def run_command(ctx: StepContext) -> StepResult:
    remote = ctx.remote_path("script") if ctx.payload.get("file") else None
    note = await _upload_again_if_gone(ctx, upload_script, "upload-script") if remote else ""
    line = script_command(ctx.payload["command"], remote)
    result = await (await ctx.session()).run(line, timeout=ctx.timeout)
    tail = result.output[-OUTPUT_TAIL:]
    return StepResult(
        f"exit status {result.exit_status}{note}",
        {"exit_status": result.exit_status, "output": tail},
    )


async def check_exit(ctx: StepContext) -> StepResult:
    status = ctx.data.get("exit_status")
    output = ctx.data.get("output", "")
    if status is None:
        raise VerificationFailed("no exit status from the run step")
    if status != 0:
        last = output.strip().splitlines()[-1] if output.strip() else "no output"
        raise CommandFailed(
            f"exit status {status}: {last}", exit_status=status, output=output
        )
    return StepResult("exit status 0")


STEP_RUNNERS: dict[str, StepRunner] = {
    "connect": connect,
    "upload-snippet": upload_snippet,
    "apply": apply_config,
    "verify-values": verify_values,
    "check-version": check_version,
    "upload-image": upload_image,
    "install": install_image,
    "reboot": reboot,
    "wait-online": wait_online,
    "verify-version": verify_version,
    "create-csr": create_csr,
    "sign": sign_certificate,
    "install-certificate": install_certificate,
    "verify-fingerprint": verify_fingerprint,
    "read-info": read_info,
    "store-info": store_info,
    "upload-script": upload_script,
    "run": run_command,
    "check-exit": check_exit,
}

__all__ = ["STEP_RUNNERS", "DeviceError", "StepContext", "StepResult"]
