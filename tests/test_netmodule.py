"""The `netmodule` profile against the emulated NRSW `cli` (jobdesk/sim/nrsw.py), which is
written from docs/netmodule.md and never reads the profile: a profile command outside the
documented table, or an answer the profile misreads, fails here."""

from __future__ import annotations

import asyncio
import re
import shlex
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobdesk.devices.profiles import ProfileLibrary, parse_profile
from jobdesk.domain.jobtypes import JobType
from jobdesk.runtime.driver import DeviceSession
from jobdesk.runtime.probe import probe, render
from jobdesk.sim import nrsw
from tests.fault_tools import Fleet, Jobdesk
from tests.sim_fixtures import make_driver, record, running
from tests.test_sim_jobs import NEW_FIRMWARE, run, sim_engine

DOCS = Path(__file__).resolve().parent.parent / "docs" / "netmodule.md"
PROFILE = ProfileLibrary().get("netmodule")


def profile_command_lines() -> list[tuple[str, str]]:
    """(operation or info field, command template) for every command the profile sends."""
    lines = [(op, t.source) for op, t in PROFILE.commands.items()]
    lines += [(f"info.{name}", s.template.source) for name, s in PROFILE.info.items()]
    return lines


@pytest.mark.parametrize("operation,template", profile_command_lines())
def test_every_profile_command_is_in_the_documented_table(operation: str, template: str) -> None:
    """The table in docs/netmodule.md holds each command with the source it rests on."""
    table = [line for line in DOCS.read_text().splitlines() if line.startswith("|")]
    rows = [row for row in table if f"`{template}`" in row]
    assert rows, f"{operation}: `{template}` is not in the table of {DOCS.name}"
    assert all(re.search(r"(NRSW-CLI|CS-2\.6|proc\(5\)|BusyBox|UNVERIFIED)", row) for row in rows)


@pytest.mark.parametrize("operation,template", [
    (op, t) for op, t in profile_command_lines() if t.startswith("cli ")
])
def test_every_cli_command_of_the_profile_is_one_the_emulated_router_knows(
    operation: str, template: str
) -> None:
    argv = shlex.split(template)
    values = ["/tmp/x" if re.fullmatch(r"\{\w+\}", w) else w for w in argv]
    found = nrsw.find(values[1:])
    assert found is not None, f"{operation}: the emulated NRSW cli does not know {template!r}"


def test_the_simulator_emulates_the_router_instead_of_loading_the_profile() -> None:
    async def scenario() -> None:
        async with running(2, profiles=("netmodule", "generic-linux")) as fleet:
            netmodule, linux = fleet.devices
            assert netmodule.profile is None and netmodule.family == "netmodule"
            assert linux.profile is not None and linux.profile.name == "generic-linux"

    asyncio.run(scenario())


async def _cli(session: DeviceSession, command: str) -> tuple[int, str]:
    result = await session.run(command, timeout=5)
    return result.exit_status, result.output


def test_each_documented_output_format(tmp_path: Path) -> None:
    """What a user sees from each command: the list, a value, the status summary, the
    `OK:` line of a change and the `ERROR:` line of an unknown parameter or command."""

    async def scenario() -> None:
        async with running(1, faults="unknown-key:snmp.enabled") as fleet:
            driver = make_driver(tmp_path)
            session = await driver.connect(record(fleet, driver), timeout=5)
            device = fleet.devices[0]
            status, listing = await _cli(session, "cli -l")
            assert status == 0 and "cli get KEY" in listing and "cli status summary" in listing
            assert listing.count("\n") == len(nrsw.COMMANDS)
            assert await _cli(session, "cli get config.version") == (0, "1.8\n")
            assert await _cli(session, "cli get admin.password") == (0, "admin01\n")
            status, summary = await _cli(session, "cli status summary")
            assert status == 0
            assert f"Product: {device.model}\n" in summary
            assert f"Software: {device.firmware}\n" in summary
            assert await _cli(session, "cli set usb.status 1") == (0, "OK: usb.status set\n")
            assert device.config["usb.status"] == "1"
            assert await _cli(session, "cli get snmp.enabled") == (
                1, "ERROR: unknown parameter snmp.enabled\n")
            assert await _cli(session, "cli set 'Not A Name' 1") == (
                1, "ERROR: unknown parameter Not A Name\n")
            assert await _cli(session, "cat /proc/sys/kernel/random/boot_id") == (
                0, device.boot_id + "\n")
            status, uptime = await _cli(session, "cat /proc/uptime")
            assert status == 0 and len(uptime.split()) == 2 and float(uptime.split()[0]) >= 0
            assert await _cli(session, "cli status -h") == (0, "Usage: cli status summary\n")
            status, pem = await _cli(session, "cli cert show")
            assert status == 0 and pem.startswith("-----BEGIN CERTIFICATE-----")
            await session.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("command", [
    "cli config apply /tmp/a.cfg",  # what the profile sent before it was checked
    "cli firmware install /tmp/a.img",
    "cli status",
    "cli get",
    "cli update firmware /tmp/a.img",
    "cli reboot now",
])
def test_a_command_outside_the_documented_table_is_answered_with_the_device_error(
    tmp_path: Path, command: str
) -> None:
    async def scenario() -> None:
        async with running(1) as fleet:
            driver = make_driver(tmp_path)
            session = await driver.connect(record(fleet, driver), timeout=5)
            status, output = await _cli(session, command)
            assert status == 1
            assert output.startswith("ERROR: unknown command: ") and "cli -l" in output
            assert fleet.devices[0].reboots == 0
            await session.close()

    asyncio.run(scenario())


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
               min_size=1).filter(str.strip))
def test_an_error_status_line_fails_even_with_exit_status_0(message: str) -> None:
    answer = PROFILE.answer(0, f"some progress\nERROR: {message}\n")
    assert not answer.ok and answer.message == message.strip()


def test_an_ok_status_line_is_not_part_of_the_data() -> None:
    answer = PROFILE.answer(0, "OK: done\nProduct: NB800\n")
    assert answer.ok and answer.body == "Product: NB800\n" and answer.message == "done"
    assert PROFILE.answer(0, "1.8\n").body == "1.8\n"


def test_a_profile_refuses_a_broken_status_line_section(tmp_path: Path) -> None:
    where = tmp_path / "netmodule.toml"
    source = PROFILE.source.read_text().replace('unknown_key = "(?i)unknown parameter"',
                                                'unknown_key = "(unclosed"')
    with pytest.raises(ValueError, match=r"status_line\.unknown_key is not a pattern"):
        parse_profile("netmodule", source, where)


def test_the_routers_error_message_becomes_the_steps_message(tmp_path: Path) -> None:
    snippet = "config.version=1.8\nusb.status=1\nsnmp.enabled=1\n"

    async def scenario() -> None:
        async with sim_engine(tmp_path, faults="unknown-key:snmp.enabled") as h:
            job = h.create("usb", JobType.CONFIG_UPDATE, file=h.file("usb.cfg", snippet))
            await h.attempt()
            step = h.failed_step(job.id)
            assert step.name == "apply"
            assert step.message.endswith(
                "exited with 1: configuration rejected: unknown parameter snmp.enabled")
            assert h.sim.config["usb.status"] == "0"  # nothing of a rejected snippet applied

    run(scenario)


def test_the_connectivity_suite_snippet_applies_and_verifies(tmp_path: Path) -> None:
    """The manual's own example snippet, end to end against the emulated router."""
    snippet = "config.version=1.8\nusb.status=1\nusb.0.enabled=1\n"

    async def scenario() -> None:
        async with sim_engine(tmp_path) as h:
            job = h.create("usb", JobType.CONFIG_UPDATE, file=h.file("usb.cfg", snippet))
            await h.attempt()
            task = h.task(job.id)
            assert task.state == "Succeeded", task
            assert task.steps[-1].message == "3 value(s) verified"
            assert (h.sim.config["usb.status"], h.sim.config["usb.0.enabled"]) == ("1", "1")

    run(scenario)


def test_the_software_version_changes_only_through_update_and_reboot(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path) as h:
            before = h.sim.firmware
            driver = make_driver(tmp_path / "probe")
            session = await driver.connect(record(h.fleet, driver), timeout=5)
            h.sim.files["/tmp/fw.img"] = bytearray(h.image().read_bytes())
            status, output = await _cli(session, "cli update software /tmp/fw.img")
            assert status == 0 and output.startswith("OK: ")
            assert h.sim.firmware == before  # active only after the reboot
            await session.close()
            await driver.aclose()
            job = h.create("reboot", JobType.REBOOT)
            await h.attempt()
            assert h.task(job.id).state == "Succeeded"
            assert h.sim.firmware == NEW_FIRMWARE

    run(scenario)


def test_probe_shows_the_answers_and_what_the_profile_understood(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(1) as fleet:
            driver = make_driver(tmp_path)
            session = await driver.connect(record(fleet, driver), timeout=5)
            device = fleet.devices[0]
            report = await probe(session, device.name, PROFILE, timeout=5)
            text = render(report)
            assert report.ok, text
            assert "$ cli status summary" in text and f"  | Product: {device.model}" in text
            assert f"understood firmware = {device.firmware}" in text
            assert "understood config.version = 1.8" in text
            assert text.endswith("the profile understood every answer")
            # A profile written for other labels says which field it missed, and why.
            other = parse_profile("netmodule", PROFILE.source.read_text().replace(
                "line:Software", "line:Firmware"), PROFILE.source)
            report = await probe(session, device.name, other, timeout=5)
            assert not report.ok
            assert "NOT understood firmware: nothing matched line:Firmware" in render(report)
            await session.close()

    asyncio.run(scenario())


def test_devices_probe_on_the_command_line_reads_only(tmp_path: Path) -> None:
    """`jobdesk devices probe` against `jobdesk sim` in its own process: the answers are
    printed, nothing but read commands reaches the router, an offline one is one line."""
    fleet = Fleet(tmp_path, 2, faults="offline@1")
    try:
        jobdesk = Jobdesk(tmp_path, tmp_path / "jobdesk.db")
        jobdesk("devices", "import", str(fleet.inventory))
        result = jobdesk("devices", "probe", "sim-000")
        assert "$ cli get config.version" in result.stdout
        assert "understood firmware = 4.8.0.102" in result.stdout
        assert result.stdout.rstrip().endswith("the profile understood every answer")
        sent = [e["command"] for e in fleet.entries() if e["kind"] == "exec"]
        assert sent and all(PROFILE.match(shlex.split(c)) is not None for c in sent)
        assert {PROFILE.match(shlex.split(c))[0] for c in sent} <= {  # type: ignore[index]
            "config_get", "info.model", "info.serial", "info.firmware", "info.boot_id",
            "info.uptime_s"}
        offline = jobdesk("devices", "probe", "sim-001", "--timeout", "3", ok=False)
        assert offline.returncode != 0 and "sim-001" in offline.stderr
        assert len(offline.stderr.strip().splitlines()) == 1
    finally:
        fleet.stop()
