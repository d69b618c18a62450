"""The pre-flight check: the verdict rules (pure), and check_devices with the fake driver."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.payloads import image_models, read_image_header
from jobdesk.domain.preflight import (
    CheckTarget,
    DeviceFacts,
    Verdict,
    connection_blocked,
    judge,
    summary,
    target_for,
)
from jobdesk.runtime.preflight import CheckPlan, check_devices
from jobdesk.store.records import DeviceRecord
from tests.fake_driver import FakeDriver, FakeSession

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RENEW = timedelta(days=30)
SNIPPET = {"ntp.server": "10.0.0.1", "lan.name": "floor 2"}


def verdict_of(target: CheckTarget, facts: DeviceFacts, renew: timedelta = RENEW) -> Any:
    return judge("r1", target, facts, now=NOW, renew_before=renew)


# --- rules --------------------------------------------------------------------------------


@given(free=st.integers(0, 1 << 40), size=st.integers(1, 1 << 40),
       job_type=st.sampled_from([JobType.FIRMWARE_UPDATE, JobType.CONFIG_UPDATE,
                                 JobType.COMMAND]))
def test_an_upload_is_blocked_exactly_when_it_does_not_fit(free: int, size: int,
                                                            job_type: JobType) -> None:
    target = CheckTarget(job_type, upload_bytes=size, snippet=SNIPPET
                         if job_type is JobType.CONFIG_UPDATE else {}, version="2.0")
    verdict = verdict_of(target, DeviceFacts(firmware="1.0", free_bytes=free))
    assert (verdict.verdict is Verdict.BLOCKED) == (free < size)
    assert ("not enough free space" in verdict.reason) == (free < size)


@given(days_left=st.integers(-400, 400), threshold=st.integers(1, 365))
def test_a_certificate_is_due_as_the_renewal_system_job_says(days_left: int,
                                                             threshold: int) -> None:
    expires = NOW + timedelta(days=days_left)
    verdict = verdict_of(CheckTarget(JobType.CERTIFICATE_RENEWAL),
                         DeviceFacts(cert_expires_at=expires), timedelta(days=threshold))
    # The system job renews certificates expiring before now + threshold (store query).
    due = expires < NOW + timedelta(days=threshold)
    assert verdict.verdict is (Verdict.READY if due else Verdict.BLOCKED)
    if not due:
        assert verdict.reason.startswith("certificate not due")
        assert verdict.fix_hint


@given(installed=st.sampled_from(["1.0", "2.0", None]),
       model=st.sampled_from(["NB800", "NG800", None]),
       built_for=st.sets(st.sampled_from(["NB800", "NB1601"]), max_size=2),
       free=st.sampled_from([0, 10, 1000, None]))
def test_firmware_already_installed_is_skip_whatever_else_holds(
        installed: str | None, model: str | None, built_for: set[str], free: int | None) -> None:
    target = CheckTarget(JobType.FIRMWARE_UPDATE, upload_bytes=100, version="2.0",
                         image_models=frozenset(built_for))
    verdict = verdict_of(target, DeviceFacts(model=model, firmware=installed, free_bytes=free))
    if installed == "2.0":
        assert verdict.verdict is Verdict.SKIP  # the job ends at check-version
        return
    wrong_model = bool(built_for) and model is not None and model not in built_for
    no_room = free is not None and free < 100
    assert (verdict.verdict is Verdict.BLOCKED) == (wrong_model or no_room)
    assert ("does not match the image" in verdict.reason) == wrong_model


def test_every_blocking_reason_is_listed_with_its_hint() -> None:
    target = CheckTarget(JobType.FIRMWARE_UPDATE, upload_bytes=500, version="2.0",
                         image_models=frozenset({"NB800"}))
    verdict = verdict_of(target, DeviceFacts(model="NG800", firmware="1.0", free_bytes=10))
    assert verdict.verdict is Verdict.BLOCKED
    assert "model NG800 does not match the image (built for NB800)" in verdict.reason
    assert "not enough free space for the upload: 10 bytes free, 500 bytes needed" \
        in verdict.reason
    assert "image built for this model" in verdict.fix_hint
    assert "Free space" in verdict.fix_hint


def test_config_rules_unknown_keys_block_and_equal_values_skip() -> None:
    target = CheckTarget(JobType.CONFIG_UPDATE, upload_bytes=40, snippet=SNIPPET)
    unknown = verdict_of(target, DeviceFacts(free_bytes=1 << 20,
                                             unknown_keys=frozenset({"lan.name"})))
    assert unknown.verdict is Verdict.BLOCKED
    assert unknown.reason == "configuration key(s) the device does not know: lan.name"
    same = verdict_of(target, DeviceFacts(free_bytes=0, config=dict(SNIPPET)))
    assert (same.verdict, same.reason) == (Verdict.SKIP, "the device has all 2 value(s) already")
    one = verdict_of(target, DeviceFacts(free_bytes=1 << 20, config={"ntp.server": "10.0.0.1"}))
    assert one.verdict is Verdict.READY and one.reason.startswith("1 of 2 value(s) to change")


def test_a_first_seen_host_key_is_named_but_does_not_block() -> None:
    verdict = verdict_of(CheckTarget(JobType.REBOOT), DeviceFacts(new_host_key="SHA256:abc"))
    assert verdict.verdict is Verdict.READY
    assert "host key SHA256:abc not recorded yet" in verdict.reason


@pytest.mark.parametrize(("kind", "expected"), [
    ("unreachable", "unreachable: "), ("timeout", "unreachable: "),
    ("authentication refused", "authentication refused: "),
    ("host key changed", "host key changed: "),
])
def test_connection_failures_are_blocked_under_their_name(kind: str, expected: str) -> None:
    verdict = connection_blocked("r1", kind, "r1 (10.0.0.1:22) said no", "hint")
    assert verdict.verdict is Verdict.BLOCKED
    assert verdict.reason == expected + "r1 (10.0.0.1:22) said no"
    assert verdict.to_dict() == {"device": "r1", "verdict": "blocked",
                                 "reason": verdict.reason, "fix_hint": "hint"}


def test_the_image_header_names_its_models() -> None:
    header = read_image_header(b"JOBDESK-FIRMWARE version=2.0 model=NB800,NB1601\n\0")
    assert image_models(header) == {"NB800", "NB1601"}
    payload = {"file": "/x.img", "size": 10, "version": "2.0", "sha256": "0" * 64}
    assert target_for(JobType.FIRMWARE_UPDATE, payload, header).image_models == {"NB800",
                                                                                 "NB1601"}
    # --model wins over the header; other job types never compare models.
    assert target_for(JobType.FIRMWARE_UPDATE, payload, header,
                      frozenset({"X"})).image_models == {"X"}
    assert target_for(JobType.COMMAND, {"command": "true"}).image_models == frozenset()


# --- check_devices with the fake driver ---------------------------------------------------


def devices(count: int) -> tuple[DeviceRecord, ...]:
    return tuple(DeviceRecord(id=i + 1, name=f"r{count - i:02d}", host="10.0.0.1", port=22,
                              user="admin", profile="netmodule", tags=())
                 for i in range(count))


class CountingDriver(FakeDriver):
    """Counts how many devices are being checked at once."""

    def __init__(self) -> None:
        super().__init__()
        self.active = 0
        self.most = 0

    async def connect(self, device: DeviceRecord, *, timeout: float,
                      record_host_key: bool = True) -> FakeSession:
        assert record_host_key is False  # a check never records a host key
        self.active += 1
        self.most = max(self.most, self.active)
        for _ in range(5):
            await asyncio.sleep(0)  # let the other checks run into the cap
        session = await super().connect(device, timeout=timeout, record_host_key=False)
        return _Closing(self, session)


class _Closing(FakeSession):
    def __init__(self, driver: CountingDriver, inner: FakeSession) -> None:
        super().__init__(driver, inner.state)
        self.new_host_key = inner.new_host_key
        self.counter = driver

    async def close(self) -> None:
        self.counter.active -= 1


def test_the_cap_holds_and_verdicts_come_in_name_order() -> None:
    driver = CountingDriver()
    plan = CheckPlan(CheckTarget(JobType.REBOOT), devices(20))
    verdicts = asyncio.run(check_devices(driver, plan, now=NOW, renew_before=RENEW,
                                         max_parallel=3))
    assert driver.most == 3
    assert [v.device for v in verdicts] == sorted(d.name for d in plan.devices)
    assert {v.verdict for v in verdicts} == {Verdict.READY}


def test_reads_only_and_a_hung_device_is_blocked_within_its_timeout() -> None:
    driver = FakeDriver()
    driver.device("r01").unknown_keys = {"lan.name"}
    driver.device("r02").host_key_known = False
    driver.gate("r03", "read_config")  # never opened: the device hangs
    driver.fail("r04", "connect", "auth", "r04 refused the login")
    plan = CheckPlan(CheckTarget(JobType.CONFIG_UPDATE, upload_bytes=30, snippet=SNIPPET),
                     devices(4))
    verdicts = asyncio.run(check_devices(driver, plan, now=NOW, renew_before=RENEW,
                                         max_parallel=50, timeout=0.3))
    by_name = {v.device: v for v in verdicts}
    assert by_name["r01"].verdict is Verdict.BLOCKED
    assert by_name["r02"].verdict is Verdict.READY and "not recorded yet" in by_name["r02"].reason
    assert driver.device("r02").host_key_known is False  # still not recorded
    assert by_name["r03"].reason.startswith("unreachable: no answer")
    assert by_name["r04"].reason == "authentication refused: r04 refused the login"
    assert summary(verdicts) == "4 device(s): 1 ready, 0 skip, 3 blocked"
    changing = {"upload", "apply_config", "install_firmware", "reboot", "create_csr",
                "install_certificate", "run"}
    assert [c for c in driver.calls if c[1] in changing] == []


def test_an_unreachable_device_without_a_hint_gets_the_connect_steps() -> None:
    from jobdesk.domain.jobtypes import CONNECT

    verdict = connection_blocked("r1", "unreachable", "cannot reach r1: No route to host", None)
    assert verdict.fix_hint == CONNECT.fix_hint
    assert connection_blocked("r1", "authentication refused", "no", None).fix_hint is None
