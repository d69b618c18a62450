"""The pre-flight check over the real SSH driver and a simulated fleet with one device per
blocking reason; the fleet's record proves that nothing but reads reached any device."""

from __future__ import annotations

import asyncio
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jobdesk.devices.known_hosts import host_pattern
from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.payloads import read_image_header
from jobdesk.domain.preflight import Verdict, target_for
from jobdesk.runtime.preflight import CheckPlan, check_devices
from jobdesk.sim import firmware_image, host_key
from jobdesk.sim.fleet import SimFleet
from jobdesk.sim.record import read_record
from tests.sim_fixtures import make_driver, records, start_fleet

SNIPPET = "ntp.server = 10.0.0.1\nlan.name = plant floor 2\nsnmp.enabled = true\n"
NEW_FIRMWARE = "4.9.0.7"
# One device per reason: healthy, offline, refused login, changed host key, full disk,
# a snippet key it does not know, healthy but never connected to, healthy and up to date.
FAULTS = "offline@1,auth@2,hostkey@3,disk-full@4,unknown-key:snmp.enabled@5"
READS = {"config_get", "config_dump", "cert_show", "sha256"}  # profile operations that read


def trust_all_but(fleet: SimFleet, path: Path, unknown: int) -> bytes:
    """known_hosts with every device's original key except `unknown`'s (never seen)."""
    lines = []
    for device in fleet.devices:
        if device.index != unknown:
            key = host_key(fleet.seed, device.index).export_public_key("openssh").decode()
            lines.append(f"{host_pattern(fleet.host, device.port)} {key.strip()}\n")
    path.write_text("".join(lines))
    return path.read_bytes()


def test_one_device_per_reason_and_nothing_but_reads_reaches_the_fleet(tmp_path: Path) -> None:
    record = tmp_path / "record.jsonl"

    async def scenario() -> None:
        fleet = await start_fleet(8, faults=FAULTS, record=record)
        driver = make_driver(tmp_path)
        try:
            known = trust_all_but(fleet, tmp_path / "known_hosts", unknown=6)
            driver.trust._load()
            devices = tuple(records(fleet, driver))
            up_to_date = fleet.devices[7]
            up_to_date.config.update({"ntp.server": "10.0.0.1", "lan.name": "plant floor 2",
                                      "snmp.enabled": "true"})
            up_to_date.firmware = NEW_FIRMWARE
            before = [(d.firmware, dict(d.config), dict(d.files), d.boot_id, d.reboots)
                      for d in fleet.devices]
            now = datetime.now(UTC)

            async def check(job_type: JobType, payload: dict[str, object],
                            renew: int = 30, header: dict[str, str] | None = None
                            ) -> dict[str, tuple[Verdict, str]]:
                plan = CheckPlan(target_for(job_type, payload, header), devices)
                verdicts = await check_devices(driver, plan, now=now,
                                               renew_before=timedelta(days=renew),
                                               max_parallel=50, timeout=5)
                assert [v.device for v in verdicts] == sorted(d.name for d in devices)
                return {v.device: (v.verdict, v.reason) for v in verdicts}

            config = await check(JobType.CONFIG_UPDATE, {
                "file": "/x.cfg", "size": len(SNIPPET), "content": SNIPPET})
            assert config["sim-000"][0] is Verdict.READY
            assert config["sim-000"][1].startswith("3 of 3 value(s) to change")
            assert config["sim-001"][0] is Verdict.BLOCKED
            assert config["sim-001"][1].startswith("unreachable: ")
            assert config["sim-002"][1].startswith("authentication refused: ")
            assert config["sim-003"][1].startswith("host key changed: ")
            assert config["sim-004"][1].startswith(
                "not enough free space for the upload: 0 bytes free")
            assert config["sim-005"] == (
                Verdict.BLOCKED, "configuration key(s) the device does not know: snmp.enabled")
            assert config["sim-006"][0] is Verdict.READY
            assert "not recorded yet" in config["sim-006"][1]
            assert config["sim-007"][0] is Verdict.SKIP
            assert {d: v for d, (v, _) in config.items() if v is Verdict.BLOCKED}.keys() == {
                "sim-001", "sim-002", "sim-003", "sim-004", "sim-005"}

            model = fleet.devices[0].model
            image = firmware_image(NEW_FIRMWARE, model=model, size=100_000)
            firmware = await check(JobType.FIRMWARE_UPDATE, {
                "file": "/x.img", "size": len(image), "version": NEW_FIRMWARE},
                header=read_image_header(image))
            assert firmware["sim-007"][0] is Verdict.SKIP
            for device in fleet.devices:
                if device.index in (0, 6):
                    assert firmware[device.name][0] is (
                        Verdict.READY if device.model == model else Verdict.BLOCKED)
                if device.index in (4, 5, 6) and device.model != model:
                    assert f"model {device.model} does not match the image (built for " \
                           f"{model})" in firmware[device.name][1]
            assert "not enough free space" in firmware["sim-004"][1]

            cert = await check(JobType.CERTIFICATE_RENEWAL, {})  # sim certs: 90 days left
            assert cert["sim-000"][0] is Verdict.BLOCKED
            assert cert["sim-000"][1].startswith("certificate not due: valid until ")
            soon = await check(JobType.CERTIFICATE_RENEWAL, {}, renew=100)
            assert soon["sim-000"][0] is Verdict.READY

            after = [(d.firmware, dict(d.config), dict(d.files), d.boot_id, d.reboots)
                     for d in fleet.devices]
            assert after == before  # no device changed in any way
            assert (tmp_path / "known_hosts").read_bytes() == known  # sim-006 not recorded
        finally:
            await driver.aclose()
            await fleet.stop()

    asyncio.run(scenario())

    entries = read_record(record)
    assert entries, "the record shows the reads"
    assert [e for e in entries if e["kind"] != "exec"] == []  # no upload at all
    profile_of = {}
    from jobdesk.devices.profiles import ProfileLibrary

    netmodule = ProfileLibrary().get("netmodule")
    for entry in entries:
        matched = netmodule.match(shlex.split(entry["command"]))
        assert matched is not None, entry
        operation = matched[0]
        assert operation in READS or operation.startswith("info."), entry
        profile_of[entry["device"]] = operation
    # The unreachable, refused and changed-key devices ran nothing at all.
    assert {"sim-001", "sim-002", "sim-003"}.isdisjoint(profile_of)
