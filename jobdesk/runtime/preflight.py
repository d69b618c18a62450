"""The pre-flight check (`jobdesk check`, *Check devices…*): read each target device once and
say, before a job exists, whether it is ready, has nothing to do, or would be blocked.

It only reads. On each device it opens one connection (a first-seen host key is accepted
for that connection but not recorded, a changed one is refused as always), runs the reads
the job type needs — device information, the snippet's keys, the upload folder's free
space — and closes it. It never uploads, applies, installs or reboots, and it writes
nothing to the database: `plan_check` only reads the inventory and the payload file.
Devices are checked side by side under the same cap as the runtime
(`max_parallel_devices`), each under its own deadline, so a fleet takes about as long as
connecting to each device once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.payloads import read_image_header
from jobdesk.domain.preflight import (
    DEVICE_TIMEOUT_S,
    CheckTarget,
    DeviceFacts,
    DeviceVerdict,
    connection_blocked,
    judge,
    target_for,
)
from jobdesk.runtime.actions import JobRequest, build_payload
from jobdesk.runtime.driver import DeviceDriver, DeviceError, DeviceSession
from jobdesk.runtime.steps import UPLOAD_FOLDER
from jobdesk.settings import Settings
from jobdesk.store import Store
from jobdesk.store.records import DeviceRecord

HEADER_BYTES = 4096  # an image's header line is read from at most this many first bytes


@dataclass(frozen=True)
class CheckPlan:
    """What a check needs, prepared from a job request without touching any device."""

    target: CheckTarget
    devices: tuple[DeviceRecord, ...]


def _image_header(path: Path) -> dict[str, str] | None:
    with path.open("rb") as handle:
        head = handle.read(HEADER_BYTES)
    return read_image_header(head) if b"\n" in head else None


def plan_check(store: Store, request: JobRequest, *, models: Sequence[str] = ()) -> CheckPlan:
    """The devices and the check's view of the payload, refused in words as `jobs create`
    would refuse them (the same `build_payload`), reading the database only."""
    payload = build_payload(request, store.is_database_file)
    devices = store.devices.resolve(request.devices, request.tags)
    header = (_image_header(Path(payload["file"]))
              if request.type is JobType.FIRMWARE_UPDATE and payload.get("file") else None)
    target = target_for(request.type, payload, header, frozenset(m for m in models if m))
    return CheckPlan(target, tuple(devices))


async def _read_facts(session: DeviceSession, target: CheckTarget, timeout: float) -> DeviceFacts:
    """The reads this job type needs, side by side on the one connection."""
    calls: dict[str, Any] = {}
    if target.reads_info:
        calls["info"] = session.read_info(timeout=timeout)
    if target.snippet:
        calls["config"] = session.read_config(sorted(target.snippet), timeout=timeout)
    if target.upload_bytes:
        calls["free"] = session.free_space(UPLOAD_FOLDER, timeout=timeout)
    values = dict(zip(calls, await asyncio.gather(*calls.values()), strict=True))
    info = values.get("info")
    config = values.get("config")
    return DeviceFacts(
        model=info.model if info else None,
        firmware=info.firmware if info else None,
        free_bytes=values.get("free"),
        config=dict(config) if config is not None else {},
        unknown_keys=frozenset(config.unknown) if config is not None else frozenset(),
        cert_expires_at=info.cert_expires_at if info else None,
        new_host_key=getattr(session, "new_host_key", None),
    )


async def check_device(driver: DeviceDriver, device: DeviceRecord, target: CheckTarget, *,
                       now: datetime, renew_before: timedelta,
                       timeout: float = DEVICE_TIMEOUT_S) -> DeviceVerdict:
    """One device's verdict; every failure becomes a `blocked` verdict with its reason."""
    session: DeviceSession | None = None
    try:
        async with asyncio.timeout(timeout):
            session = await driver.connect(device, timeout=timeout, record_host_key=False)
            facts = await _read_facts(session, target, timeout)
    except TimeoutError:
        return connection_blocked(
            device.name, "timeout",
            f"no answer from {device.host}:{device.port} within {timeout:g} s", None)
    except DeviceError as error:
        return connection_blocked(device.name, error.kind, str(error.args[0]), error.fix_hint)
    finally:
        if session is not None:
            await session.close()
    return judge(device.name, target, facts, now=now, renew_before=renew_before)


async def check_devices(driver: DeviceDriver, plan: CheckPlan, *, now: datetime,
                        renew_before: timedelta, max_parallel: int,
                        timeout: float = DEVICE_TIMEOUT_S,
                        on_verdict: Callable[[DeviceVerdict], None] | None = None,
                        ) -> list[DeviceVerdict]:
    """Every device's verdict, in device-name order; at most `max_parallel` at once."""
    limit = asyncio.Semaphore(max(1, max_parallel))

    async def one(device: DeviceRecord) -> DeviceVerdict:
        async with limit:
            verdict = await check_device(driver, device, plan.target, now=now,
                                         renew_before=renew_before, timeout=timeout)
        if on_verdict is not None:
            on_verdict(verdict)
        return verdict

    verdicts = await asyncio.gather(*(one(d) for d in plan.devices))
    return sorted(verdicts, key=lambda v: v.device)


def run_check(driver: DeviceDriver, plan: CheckPlan, settings: Settings, now: datetime, *,
              timeout: float = DEVICE_TIMEOUT_S) -> list[DeviceVerdict]:
    """`check_devices` on a loop of its own (the CLI, the window's check thread); closes
    the driver afterwards."""

    async def main() -> list[DeviceVerdict]:
        try:
            return await check_devices(
                driver, plan, now=now, renew_before=settings.cert_renew_before,
                max_parallel=settings.max_parallel_devices, timeout=timeout)
        finally:
            await driver.aclose()

    return asyncio.run(main())
