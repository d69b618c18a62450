"""The SSH driver against the simulated fleet: every job type's operations, every fault
mapped to its typed error within the call's timeout, host-key trust and password storage."""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import time
from pathlib import Path

import pytest

from jobdesk.devices import SecretsError, SecretStore
from jobdesk.runtime.ca import LocalCA, fingerprint
from jobdesk.runtime.driver import (
    AuthenticationRefused,
    CommandFailed,
    DeviceTimeout,
    HostKeyMismatch,
    Incompatible,
    Unreachable,
    VerificationFailed,
)
from jobdesk.sim import SimFleet, firmware_image, host_key
from jobdesk.store.records import DeviceRecord
from tests.sim_fixtures import PASSWORD, make_driver, moved, record, records, running

T = 5.0  # seconds: every call below must give up well within this


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("profile", ["netmodule", "generic-linux"])
def test_every_operation_of_every_job_type(tmp_path: Path, profile: str) -> None:
    async def scenario() -> None:
        async with running(1, seed=3, profiles=(profile,), reboot_seconds=0.3) as fleet:
            driver = make_driver(tmp_path, reconnect_delay=0.1)
            device = record(fleet, driver)
            session = await driver.connect(device, timeout=T)

            result = await session.run("echo hello", timeout=T)
            assert (result.exit_status, result.output) == (0, "hello\n")
            assert (await session.run("exit 3", timeout=T)).exit_status == 3

            snippet = b"ntp.server = 10.0.0.1\nlan.name = plant floor 2\n"
            assert await session.upload(snippet, "/tmp/s.cfg", sha256=sha(snippet), timeout=T)
            assert not await session.upload(snippet, "/tmp/s.cfg", sha256=sha(snippet), timeout=T)
            await session.apply_config("/tmp/s.cfg", timeout=T)
            # An NRSW parameter that was never set reads as empty; a Linux file lacks it.
            unset = {"unset": ""} if profile == "netmodule" else {}
            assert await session.read_config(["ntp.server", "lan.name", "unset"], timeout=T) == {
                "ntp.server": "10.0.0.1",
                "lan.name": "plant floor 2",
                **unset,
            }

            before = await session.read_info(timeout=T)
            sim = fleet.device(device.name)
            assert (before.model, before.serial, before.firmware) == (
                sim.model, sim.serial, sim.firmware,
            )
            assert before.boot_id == sim.boot_id and before.cert_fingerprint
            assert before.uptime_s is not None and before.cert_expires_at is not None

            image = firmware_image("9.9.1", model=sim.model, size=300_000)
            assert await session.upload(image, "/tmp/fw.img", sha256=sha(image), timeout=T)
            await session.install_firmware("/tmp/fw.img", timeout=T)
            await session.reboot(timeout=T)
            await session.close()
            session, after = await driver.wait_online(device, before.boot_id, timeout=T)
            assert after.boot_id != before.boot_id
            assert after.firmware == "9.9.1"

            ca = LocalCA(tmp_path / "ca")
            csr = await session.create_csr(device.name, timeout=T)
            cert = ca.sign(csr, device.name)
            await session.install_certificate(cert, ca.cert_pem, timeout=T)
            assert await session.certificate_fingerprint(timeout=T) == fingerprint(cert)
            assert (await session.read_info(timeout=T)).cert_fingerprint == fingerprint(cert)
            await session.close()
            await driver.aclose()

    asyncio.run(scenario())


def test_upload_from_a_file_and_a_changed_file_is_sent_again(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(1) as fleet:
            driver = make_driver(tmp_path)
            session = await driver.connect(record(fleet, driver), timeout=T)
            local = tmp_path / "script.sh"
            local.write_bytes(b"echo one\n")
            digest = sha(local.read_bytes())
            assert await session.upload(local, "/tmp/x", sha256=digest, timeout=T)
            assert not await session.upload(local, "/tmp/x", sha256=digest, timeout=T)
            local.write_bytes(b"echo two\n")
            assert await session.upload(local, "/tmp/x", sha256=sha(b"echo two\n"), timeout=T)
            files = fleet.devices[0].files
            assert bytes(files["/tmp/x"]) == b"echo two\n"
            assert not [p for p in files if p.endswith(".part")]  # temp names renamed away
            result = await session.run("JOBDESK_SCRIPT=/tmp/x; export JOBDESK_SCRIPT; "
                                       "sh $JOBDESK_SCRIPT", timeout=T)
            assert result.output == "two\n"
            with pytest.raises(VerificationFailed, match="expected"):
                await session.upload(b"abc", "/tmp/y", sha256="0" * 64, timeout=T)
            assert "/tmp/y" not in files
            await session.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("fault", "error"), [("offline", Unreachable), ("auth", AuthenticationRefused)]
)
def test_connect_faults(tmp_path: Path, fault: str, error: type[Exception]) -> None:
    async def scenario() -> None:
        async with running(1, faults=fault) as fleet:
            driver = make_driver(tmp_path)
            started = time.monotonic()
            with pytest.raises(error) as caught:
                await driver.connect(record(fleet, driver), timeout=T)
            assert time.monotonic() - started < T
            assert PASSWORD not in str(caught.value) + str(caught.value.fix_hint)
            assert not caught.value.retryable or fault == "offline"

    asyncio.run(scenario())


def test_flapping_drops_every_other_connection(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(1, faults="flapping") as fleet:
            driver = make_driver(tmp_path)
            device = record(fleet, driver)
            outcomes = []
            for _ in range(4):
                try:
                    session = await driver.connect(device, timeout=T)
                except Unreachable:
                    outcomes.append("dropped")
                else:
                    outcomes.append("ok")
                    await session.close()
            assert outcomes == ["ok", "dropped", "ok", "dropped"]

    asyncio.run(scenario())


def test_hang_and_slow_time_out_within_the_timeout(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(2, faults="hang:config_apply@0,slow:3@1") as fleet:
            driver = make_driver(tmp_path)
            hung, slow = [await driver.connect(d, timeout=T) for d in records(fleet, driver)]
            assert (await hung.run("echo fine", timeout=T)).output == "fine\n"
            started = time.monotonic()
            with pytest.raises(DeviceTimeout, match=r"longer than 0\.5 s"):
                await hung.apply_config("/tmp/s.cfg", timeout=0.5)
            with pytest.raises(DeviceTimeout):
                await slow.read_info(timeout=0.5)
            assert time.monotonic() - started < 2.0
            assert (await hung.run("echo still usable", timeout=T)).exit_status == 0
            await hung.close()
            await slow.close()

    asyncio.run(scenario())


def test_a_cancelled_call_leaves_quickly_and_the_session_usable(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(1) as fleet:
            driver = make_driver(tmp_path)
            session = await driver.connect(record(fleet, driver), timeout=T)
            task = asyncio.create_task(session.run("sleep 60", timeout=120))
            await asyncio.sleep(0.2)
            task.cancel()
            started = time.monotonic()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert time.monotonic() - started < 1.0
            assert (await session.run("echo ok", timeout=T)).output == "ok\n"
            await session.close()

    asyncio.run(scenario())


def test_fail_step_gives_command_failed_with_status_and_output(tmp_path: Path) -> None:
    async def scenario() -> None:
        spec = "fail-step:config_apply:4:value rejected by firmware"
        async with running(1, faults=spec) as fleet:
            driver = make_driver(tmp_path)
            session = await driver.connect(record(fleet, driver), timeout=T)
            with pytest.raises(CommandFailed) as caught:
                await session.apply_config("/tmp/s.cfg", timeout=T)
            assert caught.value.exit_status == 4
            assert "value rejected by firmware" in caught.value.output
            assert "value rejected by firmware" in str(caught.value)
            await session.close()

    asyncio.run(scenario())


def test_upload_faults(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(2, faults="drop-upload@0,disk-full@1") as fleet:
            driver = make_driver(tmp_path)
            dropping, full = records(fleet, driver)
            data = b"x" * 100_000
            session = await driver.connect(dropping, timeout=T)
            with pytest.raises(Unreachable):
                await session.upload(data, "/tmp/a", sha256=sha(data), timeout=T)
            session = await driver.connect(full, timeout=T)
            with pytest.raises(VerificationFailed, match="no space") as caught:
                await session.upload(data, "/tmp/a", sha256=sha(data), timeout=T)
            assert not caught.value.retryable and caught.value.fix_hint
            await session.close()

    asyncio.run(scenario())


def test_firmware_faults_and_reboot_duration(tmp_path: Path) -> None:
    async def scenario() -> None:
        spec = "wrong-firmware@0,reboot:30@1"
        async with running(2, faults=spec, reboot_seconds=0.2) as fleet:
            driver = make_driver(tmp_path, reconnect_delay=0.1)
            wrong, long_boot = records(fleet, driver)
            sim = fleet.device(wrong.name)
            image = firmware_image("10.0", model=sim.model)
            session = await driver.connect(wrong, timeout=T)
            before = await session.read_info(timeout=T)
            await session.upload(image, "/tmp/fw", sha256=sha(image), timeout=T)
            await session.install_firmware("/tmp/fw", timeout=T)
            await session.reboot(timeout=T)
            session, after = await driver.wait_online(wrong, before.boot_id, timeout=T)
            assert after.boot_id != before.boot_id and after.firmware == before.firmware
            other = firmware_image("10.0", model="NOT-THIS-MODEL")
            await session.upload(other, "/tmp/fw2", sha256=sha(other), timeout=T)
            with pytest.raises(Incompatible):
                await session.install_firmware("/tmp/fw2", timeout=T)

            session = await driver.connect(long_boot, timeout=T)
            boot = (await session.read_info(timeout=T)).boot_id
            await session.reboot(timeout=T)
            started = time.monotonic()
            with pytest.raises(DeviceTimeout, match="not back within 1 s"):
                await driver.wait_online(long_boot, boot, timeout=1.0)
            assert time.monotonic() - started < 2.0

    asyncio.run(scenario())


def test_wait_online_insists_on_a_new_boot_id(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(1) as fleet:
            driver = make_driver(tmp_path, reconnect_delay=0.1)
            device = record(fleet, driver)
            boot = fleet.devices[0].boot_id
            with pytest.raises(DeviceTimeout, match="same boot id"):
                await driver.wait_online(device, boot, timeout=3.0)

    asyncio.run(scenario())


def test_unknown_host_and_unknown_profile(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(1) as fleet:
            driver = make_driver(tmp_path)
            device = record(fleet, driver)
            with pytest.raises(Unreachable):
                await driver.connect(moved(device, host="no-such-host.invalid"), timeout=T)
            with pytest.raises(Incompatible, match="no profile named 'cisco'"):
                await driver.connect(moved(device, profile="cisco"), timeout=T)

    asyncio.run(scenario())


def test_trust_on_first_use_then_refuse_a_changed_key(tmp_path: Path) -> None:
    async def scenario() -> None:
        known_hosts = tmp_path / "known_hosts"
        async with running(1, seed=7) as fleet:
            port = fleet.devices[0].port
            device = record(fleet, make_driver(tmp_path))
            session = await make_driver(tmp_path).connect(device, timeout=T)
            await session.close()
            text = known_hosts.read_text()
            assert text.startswith(f"[127.0.0.1]:{port} ssh-ed25519 ")
            # a new driver (a new run of jobdesk) trusts the recorded key
            session = await make_driver(tmp_path).connect(device, timeout=T)
            await session.close()
            assert known_hosts.read_text() == text
        new_key = host_key(7, 0, changed=True).get_fingerprint("sha256")
        # the same device (seed 7, index 0, same port) now offers another key
        async with SimFleet(1, base_port=port, seed=7, faults="hostkey"):
            driver = make_driver(tmp_path)
            with pytest.raises(HostKeyMismatch) as caught:
                await driver.connect(device, timeout=T)
            assert new_key in str(caught.value)
            assert host_key(7, 0).get_fingerprint("sha256") in str(caught.value)
            assert "ssh-keygen -R" in str(caught.value.fix_hint)
            assert not caught.value.retryable
            assert known_hosts.read_text() == text  # never auto-accepted
            assert driver.trust.forget("127.0.0.1", port) == 1  # a person checked the device
            session = await driver.connect(device, timeout=T)
            await session.close()
            assert len(known_lines(tmp_path)) == 1 and known_hosts.read_text() != text

    asyncio.run(scenario())


def test_a_hundred_devices_on_one_loop(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(100, profiles=("netmodule", "generic-linux")) as fleet:
            driver = make_driver(tmp_path)
            devices = records(fleet, driver)
            started = time.monotonic()

            async def visit(device: DeviceRecord) -> str | None:
                session = await driver.connect(device, timeout=20)
                info = await session.read_info(timeout=20)
                await session.close()
                return info.boot_id

            boot_ids = await asyncio.gather(*(visit(d) for d in devices))
            assert len(set(boot_ids)) == 100
            assert time.monotonic() - started < 20
            assert len(known_lines(tmp_path)) == 100

    asyncio.run(scenario())


def known_lines(tmp_path: Path) -> list[str]:
    return (tmp_path / "known_hosts").read_text().splitlines()


def test_secrets_file_is_private_and_never_leaks(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "data", use_keyring=False)
    assert store.get_password("r1") is None
    store.set_password("r1", PASSWORD)
    store.set_password("r2", "other")
    path = tmp_path / "data" / "secrets.json"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = SecretStore(tmp_path / "data", use_keyring=False)
    assert again.get_password("r1") == PASSWORD
    again.delete("r1")
    assert SecretStore(tmp_path / "data", use_keyring=False).get_password("r1") is None
    assert again.get_password("r2") == "other"

    path.write_text('{"r1": "' + PASSWORD + '"')  # truncated: not JSON
    with pytest.raises(SecretsError) as caught:
        SecretStore(tmp_path / "data", use_keyring=False).get_password("r1")
    assert PASSWORD not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_secrets_file_permissions_are_repaired(tmp_path: Path) -> None:
    if os.name != "posix":
        pytest.skip("file modes are POSIX only")
    (tmp_path / "secrets.json").write_text('{"r1": "pw"}')
    os.chmod(tmp_path / "secrets.json", 0o644)
    assert SecretStore(tmp_path, use_keyring=False).get_password("r1") == "pw"
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600


def test_refused_password_is_not_in_the_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(1, faults="auth") as fleet:
            driver = make_driver(tmp_path)
            device = record(fleet, driver)
            with pytest.raises(AuthenticationRefused) as caught:
                await driver.connect(device, timeout=T)
            text = f"{caught.value} {caught.value.fix_hint} {caught.value.__cause__!r}"
            assert PASSWORD not in text
            assert "admin" in str(caught.value)

    asyncio.run(scenario())


def test_missing_key_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(1) as fleet:
            driver = make_driver(tmp_path)
            device = moved(record(fleet), key_path=str(tmp_path / "nope"))
            with pytest.raises(AuthenticationRefused, match="cannot read the private key"):
                await driver.connect(device, timeout=T)

    asyncio.run(scenario())


def test_a_password_stored_by_another_process_is_used_at_once(tmp_path: Path) -> None:
    """`jobdesk devices set-password` while the window's runtime runs: the retry uses it."""
    runtime = SecretStore(tmp_path, use_keyring=False)
    command_line = SecretStore(tmp_path, use_keyring=False)
    command_line.set_password("r1", "old")
    assert runtime.get_password("r1") == "old"
    command_line.set_password("r1", "corrected-password")
    assert runtime.get_password("r1") == "corrected-password"
    command_line.delete("r1")
    assert runtime.get_password("r1") is None
