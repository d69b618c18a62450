"""The pre-flight check's verdict per device (spec B8): ready, skip or blocked, and why.

A check reads facts from each device (its model, firmware, free space, which configuration
keys it knows, its certificate's expiry) and this module alone decides what they mean for
the job that would be created. It is pure, so every rule is tested without a device, and
the command line and the window give the same answer for the same facts.

The order of the rules follows what the job would do: a device with nothing to do is
`skip` even if something else would have stopped it (a firmware job that finds its version
installed ends at check-version, before any upload); otherwise every reason that would stop
it is listed, so one check shows everything a person has to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from jobdesk.domain.jobtypes import CONNECT, JobType
from jobdesk.domain.payloads import image_models, parse_snippet

DEVICE_TIMEOUT_S = 30.0  # one device's connect and reads together (the connect step's own)


class Verdict(StrEnum):
    READY = "ready"
    SKIP = "skip"  # nothing to do on this device
    BLOCKED = "blocked"  # the job would fail here (or, for a certificate, has no business)


@dataclass(frozen=True)
class DeviceVerdict:
    device: str
    verdict: Verdict
    reason: str
    fix_hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "verdict": self.verdict.value, "reason": self.reason,
                "fix_hint": self.fix_hint}


@dataclass(frozen=True)
class CheckTarget:
    """What the job would do, from its type and payload (no device needed)."""

    type: JobType
    upload_bytes: int = 0  # the file the job uploads (0: none)
    snippet: Mapping[str, str] = field(default_factory=dict)  # a configuration update's values
    version: str | None = None  # a firmware update's target version
    image_models: frozenset[str] = frozenset()  # models the image is built for (empty: unsaid)

    @property
    def reads_info(self) -> bool:
        return self.type in (JobType.FIRMWARE_UPDATE, JobType.CERTIFICATE_RENEWAL)


@dataclass(frozen=True)
class DeviceFacts:
    """What a check read from one device (None: not read, or the device could not say)."""

    model: str | None = None
    firmware: str | None = None
    free_bytes: int | None = None
    config: Mapping[str, str] = field(default_factory=dict)
    unknown_keys: frozenset[str] = frozenset()
    cert_expires_at: datetime | None = None
    new_host_key: str | None = None  # fingerprint of a first-seen key, accepted unrecorded


def target_for(job_type: JobType, payload: Mapping[str, Any],
               image_header: Mapping[str, str] | None = None,
               models: frozenset[str] = frozenset()) -> CheckTarget:
    """The check's view of a job payload (as `build_payload` makes it); `models`, when
    given, overrides what the image header says it is built for."""
    snippet = parse_snippet(payload["content"]) if payload.get("content") else {}
    named = models or (image_models(dict(image_header)) if image_header else frozenset())
    return CheckTarget(
        type=job_type,
        upload_bytes=int(payload.get("size") or 0) if payload.get("file") else 0,
        snippet=snippet,
        version=payload.get("version"),
        image_models=named if job_type is JobType.FIRMWARE_UPDATE else frozenset(),
    )


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} bytes"  # pragma: no cover


def judge(device: str, target: CheckTarget, facts: DeviceFacts, *, now: datetime,
          renew_before: timedelta) -> DeviceVerdict:
    """The verdict for one device that answered, from what was read on it."""
    notes: list[str] = []
    if facts.new_host_key:
        notes.append(f"host key {facts.new_host_key} not recorded yet (the job records it on "
                     "its first connection)")

    def result(verdict: Verdict, reason: str, hint: str | None = None) -> DeviceVerdict:
        return DeviceVerdict(device, verdict, "; ".join([reason, *notes]), hint)

    if target.type is JobType.FIRMWARE_UPDATE and target.version is not None \
            and facts.firmware == target.version:
        return result(Verdict.SKIP, f"firmware {target.version} is installed already")
    if target.type is JobType.CONFIG_UPDATE and target.snippet and not facts.unknown_keys \
            and all(facts.config.get(k) == v for k, v in target.snippet.items()):
        return result(Verdict.SKIP, f"the device has all {len(target.snippet)} value(s) already")

    reasons: list[str] = []
    hints: list[str] = []
    if target.type is JobType.FIRMWARE_UPDATE and target.image_models and facts.model \
            and facts.model not in target.image_models:
        reasons.append(f"model {facts.model} does not match the image (built for "
                       f"{', '.join(sorted(target.image_models))})")
        hints.append("Use the image built for this model, or drop the device from the job.")
    if target.type is JobType.CONFIG_UPDATE:
        unknown = sorted(k for k in target.snippet if k in facts.unknown_keys)
        if unknown:
            reasons.append(f"configuration key(s) the device does not know: {', '.join(unknown)}")
            hints.append("Check the keys' spelling and the device's firmware version (older "
                         "firmware lacks newer keys); remove them from the snippet.")
    if target.upload_bytes and facts.free_bytes is not None \
            and facts.free_bytes < target.upload_bytes:
        reasons.append(f"not enough free space for the upload: {_size(facts.free_bytes)} free, "
                       f"{_size(target.upload_bytes)} needed")
        hints.append("Free space on the device (old images, logs), then check again.")
    if target.type is JobType.CERTIFICATE_RENEWAL and facts.cert_expires_at is not None:
        due_from = facts.cert_expires_at - renew_before
        if now <= due_from:  # as the renewal system job: due once expiry < now + threshold
            days = renew_before.days
            reasons.append(f"certificate not due: valid until "
                           f"{facts.cert_expires_at.date().isoformat()}, renewed from "
                           f"{due_from.date().isoformat()} ({days} days before it expires)")
            hints.append("Drop the device from the job; the renewal system job renews it "
                         "when it is due (cert_renew_before_days).")
    if reasons:
        return result(Verdict.BLOCKED, "; ".join(reasons), " ".join(hints))
    return result(Verdict.READY, _ready_reason(target, facts))


def _ready_reason(target: CheckTarget, facts: DeviceFacts) -> str:
    parts: list[str] = []
    if target.type is JobType.FIRMWARE_UPDATE:
        parts.append(f"runs {facts.firmware or 'an unknown version'}, updates to {target.version}")
        if target.image_models and not facts.model:
            parts.append("model unknown: not compared with the image")
    elif target.type is JobType.CONFIG_UPDATE:
        changed = sum(1 for k, v in target.snippet.items() if facts.config.get(k) != v)
        parts.append(f"{changed} of {len(target.snippet)} value(s) to change")
    elif target.type is JobType.CERTIFICATE_RENEWAL:
        parts.append(f"certificate expires {facts.cert_expires_at.date().isoformat()}"
                     if facts.cert_expires_at else "no readable certificate: one is created")
    else:
        parts.append("reachable")
    if target.upload_bytes:
        parts.append(f"{_size(facts.free_bytes)} free for {_size(target.upload_bytes)}"
                     if facts.free_bytes is not None else "free space unknown")
    return "; ".join(parts)


def connection_blocked(device: str, kind: str, message: str,
                       fix_hint: str | None) -> DeviceVerdict:
    """The verdict for a device that could not be read: `kind` is the device error's kind
    (unreachable, timeout, authentication refused, host key changed, ...)."""
    category = "unreachable" if kind in ("unreachable", "timeout") else kind
    detail = message if message.startswith(category) else f"{category}: {message}"
    if fix_hint is None and category == "unreachable":
        fix_hint = CONNECT.fix_hint  # what the job's connect step would say
    return DeviceVerdict(device, Verdict.BLOCKED, detail, fix_hint)


def summary(verdicts: list[DeviceVerdict]) -> str:
    """One line: how many of each verdict."""
    counts = {v: sum(1 for d in verdicts if d.verdict is v) for v in Verdict}
    return (f"{len(verdicts)} device(s): {counts[Verdict.READY]} ready, "
            f"{counts[Verdict.SKIP]} skip, {counts[Verdict.BLOCKED]} blocked")
