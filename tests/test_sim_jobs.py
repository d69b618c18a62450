"""Jobs end to end: the Engine with the real SSH driver against an in-process simulated fleet.

The runtime and the simulator share one asyncio loop. Timing decisions (retries, expiry,
the runtime lease) come from a FakeClock the test moves; the network runs in real time, so
every step is bounded by a short step timeout and the tests check that a fault ends an
attempt within it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from jobdesk.devices import SshDriver
from jobdesk.domain.inventory import make_device
from jobdesk.domain.jobtypes import STEPS_BY_NAME, JobType
from jobdesk.domain.rollout import AbortAction, RolloutPolicy, parse_batches
from jobdesk.runtime.actions import JobRequest, JobService
from jobdesk.runtime.ca import LocalCA, fingerprint
from jobdesk.runtime.engine import Engine
from jobdesk.runtime.events import Event, NeedsAttention
from jobdesk.settings import Settings
from jobdesk.sim import SimFleet, firmware_image, host_key
from jobdesk.sim.device import FIRST_FIRMWARE, SimDevice
from jobdesk.sim.nrsw import DOCUMENTED_DEFAULTS
from jobdesk.sim.sftp import MemorySFTPServer
from jobdesk.store import Store
from jobdesk.store.models import RuntimeLease, Step
from jobdesk.store.records import JobRecord, TaskRecord
from tests.conftest import FakeClock
from tests.sim_fixtures import PASSWORD, make_driver, start_fleet

STEP_TIMEOUT = 3  # seconds, every step (connect included) unless a test says otherwise
SLACK = 1.5  # seconds a failing attempt may take beyond its step timeout
RETRY = timedelta(seconds=Settings().retry_interval_s)
OLD_FIRMWARE = FIRST_FIRMWARE["netmodule"]
NEW_FIRMWARE = "4.9.0.7"
SNIPPET = "ntp.server = 10.0.0.1\nlan.name = plant floor 2\nsnmp.enabled = true\n"
SIM_OPERATIONS = ("config_apply", "firmware_install", "csr_create", "cert_install")


@pytest.fixture
def ops(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, str]]:
    """What the simulated devices were asked to do: (device, operation) -> count.

    Counts the profile operations that change a device and every SFTP file opened for
    writing ("upload"), for every device of every fleet started during the test.
    """
    seen: Counter[tuple[str, str]] = Counter()
    for name in SIM_OPERATIONS:
        original = getattr(SimDevice, name)

        def counted(self: SimDevice, *args: Any, _run: Any = original, _name: str = name,
                    **kwargs: Any) -> Any:
            seen[(self.name, _name)] += 1
            return _run(self, *args, **kwargs)

        monkeypatch.setattr(SimDevice, name, counted)
    original_open = MemorySFTPServer.open

    def open_counted(self: MemorySFTPServer, path: bytes, pflags: int, attrs: Any) -> Any:
        handle = original_open(self, path, pflags, attrs)
        if handle.writable:
            seen[(self.device.name, "upload")] += 1
        return handle

    monkeypatch.setattr(MemorySFTPServer, "open", open_counted)
    return seen


@dataclass
class SimHarness:
    tmp: Path
    fleet: SimFleet
    store: Store
    clock: FakeClock
    settings: Settings
    driver: SshDriver
    ca: LocalCA
    engine: Engine
    events: list[Event] = field(default_factory=list)

    @property
    def service(self) -> JobService:
        return JobService(self.store, self.settings, self.clock)

    @property
    def sim(self) -> SimDevice:
        return self.fleet.devices[0]

    def new_engine(self) -> Engine:
        return Engine(self.store, self.settings, self.clock, self.driver, self.ca,
                      self.events.append, system_jobs=False)

    def create(self, name: str, job_type: JobType, **options: Any) -> JobRecord:
        devices = options.pop("devices", [d.name for d in self.fleet.devices])
        return self.service.create(JobRequest(name, job_type, devices=devices, **options))

    def task(self, job_id: int, index: int = 0) -> TaskRecord:
        return self.store.jobs.detail(job_id).tasks[index]

    def steps(self, job_id: int, index: int = 0) -> dict[str, str]:
        return {s.name: s.status for s in self.task(job_id, index).steps}

    def failed_step(self, job_id: int, index: int = 0) -> Any:
        (step,) = [s for s in self.task(job_id, index).steps if s.status == "Failed"]
        return step

    async def attempt(self) -> float:
        """One runtime pass at the clock's time; waits for its attempts, returns seconds."""
        started = time.monotonic()
        await self.engine.run_pass()
        await self.engine.drain()
        return time.monotonic() - started

    async def run_job(self, job_id: int, *, retries: int = 0) -> TaskRecord:
        """Attempt, then retry a Rescheduled task (moving the clock) up to `retries` times."""
        await self.attempt()
        for _ in range(retries):
            if self.task(job_id).state != "Rescheduled":
                break
            self.clock.advance(seconds=RETRY.total_seconds())
            await self.attempt()
        return self.task(job_id)

    def file(self, name: str, data: bytes | str) -> Path:
        path = self.tmp / name
        if isinstance(data, str):
            path.write_text(data)
        else:
            path.write_bytes(data)
        return path

    def image(self, version: str = NEW_FIRMWARE, model: str | None = None) -> Path:
        return self.file(f"fw-{version}.img",
                         firmware_image(version, model=model or self.sim.model, size=200_000))


@asynccontextmanager
async def sim_engine(
    tmp: Path,
    devices: int = 1,
    *,
    faults: str | None = None,
    step_timeout: int = STEP_TIMEOUT,
    reboot_seconds: float = 0.3,
    seed: int = 0,
) -> AsyncIterator[SimHarness]:
    """A fleet, a database holding its inventory, and a started Engine with the SSH driver."""
    fleet = await start_fleet(devices, faults=faults, seed=seed, reboot_seconds=reboot_seconds)
    store = Store(tmp / "jobdesk.db")
    clock = FakeClock()
    driver = make_driver(tmp, reconnect_delay=0.1)
    for row in fleet.rows():
        device = make_device(row["name"], row["host"], row["port"], row["user"],
                             row["profile"], tuple(row["tags"].split(";")))
        store.devices.add(device, clock.now())
        driver.secrets.set_password(row["name"], PASSWORD)
    settings = Settings(step_timeout_s=step_timeout)
    ca = LocalCA(tmp / "ca")
    h = SimHarness(tmp, fleet, store, clock, settings, driver, ca, engine=None)  # type: ignore[arg-type]
    h.engine = h.new_engine()
    await h.engine.start()
    try:
        yield h
    finally:
        await h.engine.shutdown()
        await h.driver.aclose()
        await h.fleet.stop()
        store.close()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())  # type: ignore[arg-type]


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


def applied(device: SimDevice) -> bool:
    """Whether a snippet changed the device's configuration (it starts with defaults)."""
    return device.config != DOCUMENTED_DEFAULTS


def hint_of(step: str) -> str:
    return STEPS_BY_NAME[step].fix_hint


# --- every job type on a healthy fleet ---------------------------------------------------


def test_config_update_values_are_read_back_from_the_device(
    tmp_path: Path, ops: Counter[tuple[str, str]]
) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path, 2) as h:
            job = h.create("ntp", JobType.CONFIG_UPDATE, file=h.file("ntp.cfg", SNIPPET))
            await h.attempt()
            detail = h.store.jobs.detail(job.id)
            assert detail.state == "Succeeded"
            for index, sim in enumerate(h.fleet.devices):
                task = h.task(job.id, index)
                assert task.state == "Succeeded" and task.attempts == 1
                assert [s.status for s in task.steps] == ["Completed"] * 4
                assert task.steps[-1].message == "3 value(s) verified"
                assert sim.config == {
                    **DOCUMENTED_DEFAULTS, "ntp.server": "10.0.0.1", "lan.name": "plant floor 2",
                    "snmp.enabled": "true",
                }
                assert bytes(sim.files[f"/tmp/jobdesk-job{job.id}-snippet.cfg"]) == SNIPPET.encode()
                assert not [p for p in sim.files if p.endswith(".part")]
                assert ops[(sim.name, "config_apply")] == 1

    run(scenario)


def test_firmware_update_installs_reboots_and_verifies(
    tmp_path: Path, ops: Counter[tuple[str, str]]
) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path) as h:
            sim = h.sim
            boot_before = sim.boot_id
            job = h.create("fw", JobType.FIRMWARE_UPDATE, file=h.image(), version=NEW_FIRMWARE)
            task = await h.run_job(job.id)
            assert task.state == "Succeeded", task
            assert set(h.steps(job.id).values()) == {"Completed"}
            assert sim.firmware == NEW_FIRMWARE
            assert sim.boot_id != boot_before and sim.reboots == 1
            record = h.store.devices.get(sim.name)
            assert (record.firmware, record.boot_id) == (NEW_FIRMWARE, sim.boot_id)
            assert ops[(sim.name, "upload")] == 1 and ops[(sim.name, "firmware_install")] == 1

            # The same version again: check-version finds it and nothing is sent or rebooted.
            again = h.create("fw again", JobType.FIRMWARE_UPDATE, file=h.image(),
                             version=NEW_FIRMWARE)
            task = await h.run_job(again.id)
            assert task.state == "Succeeded"
            assert [s.status for s in task.steps] == ["Completed"] * 2 + ["Skipped"] * 5
            assert f"firmware {NEW_FIRMWARE} is installed already" in task.reason
            assert ops[(sim.name, "upload")] == 1 and sim.reboots == 1

    run(scenario)


def test_certificate_renewal_installs_a_cert_signed_by_the_local_ca(
    tmp_path: Path, ops: Counter[tuple[str, str]]
) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path) as h:
            sim = h.sim
            old = fingerprint(sim.cert_pem)
            job = h.create("cert", JobType.CERTIFICATE_RENEWAL)
            task = await h.run_job(job.id)
            assert task.state == "Succeeded", task
            assert "csr" in task.context and "certificate" in task.context
            served = sim.cert_pem
            record = h.store.devices.get(sim.name)
            assert record.cert_fingerprint == fingerprint(served) != old
            cert = x509.load_pem_x509_certificate(served.encode())
            ca = x509.load_pem_x509_certificate(h.ca.cert_pem.encode())
            cert.verify_directly_issued_by(ca)  # raises unless the local CA signed it
            assert cert.subject.rfc4514_string() == f"CN={sim.name}"
            assert record.cert_expires_at == cert.not_valid_after_utc
            assert ops[(sim.name, "csr_create")] == 1 and ops[(sim.name, "cert_install")] == 1

    run(scenario)


def test_device_info_fills_the_inventory(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path) as h:
            sim = h.sim
            job = h.create("info", JobType.DEVICE_INFO)
            assert (await h.run_job(job.id)).state == "Succeeded"
            record = h.store.devices.get(sim.name)
            assert (record.model, record.serial, record.firmware, record.boot_id) == (
                sim.model, sim.serial, sim.firmware, sim.boot_id,
            )
            assert record.cert_fingerprint == fingerprint(sim.cert_pem)
            assert record.cert_expires_at is not None
            assert record.info_updated_at == h.clock.now()

    run(scenario)


def test_reboot_comes_back_with_a_new_boot_id(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path) as h:
            boot_before = h.sim.boot_id
            job = h.create("reboot", JobType.REBOOT)
            task = await h.run_job(job.id)
            assert task.state == "Succeeded", task
            assert h.sim.boot_id != boot_before and h.sim.reboots == 1
            assert h.sim.boot_id in task.steps[-1].message

    run(scenario)


def test_command_with_and_without_a_script_and_a_failing_exit_status(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path) as h:
            plain = h.create("uname", JobType.COMMAND, command="uname -a")
            task = await h.run_job(plain.id)
            assert task.state == "Succeeded"
            assert [s.name for s in task.steps] == ["connect", "run", "check-exit"]
            assert task.context["output"] == f"Linux {h.sim.name} 5.15.0-sim aarch64\n"

            script = h.file("check.sh", "# a comment\necho from the script\nhostname\n")
            scripted = h.create("script", JobType.COMMAND, file=script)
            task = await h.run_job(scripted.id)
            assert task.state == "Succeeded", task
            assert [s.name for s in task.steps] == ["connect", "upload-script", "run",
                                                    "check-exit"]
            assert task.context["output"] == f"from the script\n{h.sim.name}\n"
            remote = f"/tmp/jobdesk-job{scripted.id}-script"
            assert bytes(h.sim.files[remote]) == script.read_bytes()

            failing = h.create("fails", JobType.COMMAND, command="echo disk check failed; exit 4")
            task = await h.run_job(failing.id)
            assert task.state == "Rescheduled" and task.current_step == "check-exit"
            step = h.failed_step(failing.id)
            assert step.name == "check-exit"
            assert step.message == "command failed: exit status 4: disk check failed"
            assert task.reason == step.message and step.fix_hint == hint_of("check-exit")

    run(scenario)


# --- each fault: the right state, step, reason and hint, within the step timeout ----------


@pytest.mark.parametrize(
    ("faults", "timeout", "state", "step", "reason", "hint"),
    [
        pytest.param("offline", STEP_TIMEOUT, "Rescheduled", "connect",
                     "unreachable: sim-000 (127.0.0.1:", hint_of("connect"), id="offline"),
        pytest.param("auth", STEP_TIMEOUT, "Failed", "connect",
                     "authentication refused: sim-000", "stored password", id="auth"),
        pytest.param("slow:0.7", 1, "Rescheduled", "upload-snippet", "timeout",
                     hint_of("upload-snippet"), id="slow-over-timeout"),
        pytest.param("hang", 1, "Rescheduled", "upload-snippet", "timeout",
                     hint_of("upload-snippet"), id="hang-everything"),
        pytest.param("hang:config_apply", 1, "Rescheduled", "apply", "timeout",
                     hint_of("apply"), id="hang-apply"),
        pytest.param("fail-step:config_apply:4:value rejected by firmware", STEP_TIMEOUT,
                     "Rescheduled", "apply",
                     "config_apply on sim-000 exited with 4: value rejected by firmware",
                     hint_of("apply"), id="fail-step"),
        # The device's own answer, not "ntp.server is None, expected '10.0.0.1'".
        pytest.param("fail-step:config_get:1:parameter not readable", STEP_TIMEOUT,
                     "Rescheduled", "verify-values",
                     "reading lan.name failed: exit status 1: parameter not readable",
                     hint_of("verify-values"), id="fail-config-get"),
        pytest.param("drop-upload", STEP_TIMEOUT, "Rescheduled", "upload-snippet",
                     "unreachable: the connection was lost while uploading to sim-000",
                     hint_of("upload-snippet"),
                     id="drop-upload"),
        pytest.param("disk-full", STEP_TIMEOUT, "Failed", "upload-snippet",
                     "no space left on sim-000", "Free space on the device", id="disk-full"),
    ],
)
def test_a_fault_ends_the_attempt_at_its_step(
    tmp_path: Path, faults: str, timeout: int, state: str, step: str, reason: str, hint: str
) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path, faults=faults, step_timeout=timeout) as h:
            job = h.create("ntp", JobType.CONFIG_UPDATE, file=h.file("ntp.cfg", SNIPPET))
            elapsed = await h.attempt()
            assert elapsed < timeout + SLACK
            task = h.task(job.id)
            assert task.state == state, task
            assert task.attempts == 1 and task.current_step == step
            failed = h.failed_step(job.id)
            assert failed.name == step and reason in failed.message
            assert task.reason == failed.message
            assert hint in failed.fix_hint
            if state == "Rescheduled":
                assert task.next_attempt_at == h.clock.now() + RETRY
            else:
                assert task.next_attempt_at is None
                assert any(isinstance(e, NeedsAttention) and e.step == step for e in h.events)
            if step != "verify-values":  # only a verification runs after the apply
                assert h.sim.config == DOCUMENTED_DEFAULTS

    run(scenario)


def test_slow_device_under_the_timeout_finishes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path, faults="slow:0.3", step_timeout=2) as h:
            job = h.create("ntp", JobType.CONFIG_UPDATE, file=h.file("ntp.cfg", SNIPPET))
            elapsed = await h.attempt()
            assert h.task(job.id).state == "Succeeded"
            assert elapsed >= 0.3 * 4  # sha256 twice, apply, the reads: the fault was real
            assert h.sim.config["ntp.server"] == "10.0.0.1"

    run(scenario)


def test_flapping_device_succeeds_after_a_retry(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path, faults="flapping") as h:
            # The fleet drops every second connection: use up the first one.
            device = h.store.devices.get(h.sim.name)
            await (await h.driver.connect(device, timeout=STEP_TIMEOUT)).close()
            job = h.create("ntp", JobType.CONFIG_UPDATE, file=h.file("ntp.cfg", SNIPPET))
            await h.attempt()
            task = h.task(job.id)
            assert task.state == "Rescheduled" and task.current_step == "connect"
            assert task.reason.startswith("unreachable: ")
            h.clock.advance(minutes=4)
            await h.attempt()
            assert h.task(job.id).attempts == 1  # not before the retry interval
            task = await h.run_job(job.id, retries=3)
            assert task.state == "Succeeded" and task.attempts == 2
            assert h.sim.config["ntp.server"] == "10.0.0.1"

    run(scenario)


def test_changed_host_key_fails_at_once_and_names_the_fingerprints(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path, seed=7) as h:
            port = h.sim.port
            first = h.create("info", JobType.DEVICE_INFO)
            assert (await h.run_job(first.id)).state == "Succeeded"  # key recorded
            known = (tmp_path / "known_hosts").read_text()
            assert known.startswith(f"[127.0.0.1]:{port} ssh-ed25519 ")
            await h.fleet.stop()
            h.fleet = SimFleet(1, base_port=port, seed=7, faults="hostkey")
            await h.fleet.start()
            job = h.create("ntp", JobType.CONFIG_UPDATE, file=h.file("ntp.cfg", SNIPPET))
            assert await h.attempt() < STEP_TIMEOUT
            task = h.task(job.id)
            assert task.state == "Failed" and task.attempts == 1
            step = h.failed_step(job.id)
            assert step.name == "connect"
            assert step.message.startswith("host key changed: sim-000 (127.0.0.1:")
            assert host_key(7, 0, changed=True).get_fingerprint("sha256") in step.message
            assert host_key(7, 0).get_fingerprint("sha256") in step.message
            assert f"ssh-keygen -R '[127.0.0.1]:{port}'" in step.fix_hint
            assert (tmp_path / "known_hosts").read_text() == known  # never auto-accepted
            assert any(isinstance(e, NeedsAttention) for e in h.events)
            assert h.fleet.devices[0].config == DOCUMENTED_DEFAULTS

    run(scenario)


def test_dropped_upload_is_retried_and_resumes_once_the_link_holds(
    tmp_path: Path, ops: Counter[tuple[str, str]]
) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path, faults="drop-upload") as h:
            job = h.create("ntp", JobType.CONFIG_UPDATE, file=h.file("ntp.cfg", SNIPPET))
            task = await h.run_job(job.id, retries=1)  # the fault holds: the retry fails too
            assert task.state == "Rescheduled" and task.attempts == 2
            assert task.current_step == "upload-snippet"
            assert h.steps(job.id)["connect"] == "Completed"
            h.sim.faults.drop_upload = False  # the link is repaired
            task = await h.run_job(job.id, retries=1)
            assert task.state == "Succeeded" and task.attempts == 3
            assert h.sim.config["lan.name"] == "plant floor 2"
            assert ops[(h.sim.name, "upload")] == 3

    run(scenario)


def test_dropped_uploads_leave_no_partial_files_behind(tmp_path: Path) -> None:
    """Retries reuse one temporary name, so a dropped link leaves no partial image behind."""

    async def scenario() -> None:
        async with sim_engine(tmp_path, faults="drop-upload") as h:
            job = h.create("fw", JobType.FIRMWARE_UPDATE, file=h.image(), version=NEW_FIRMWARE)
            await h.run_job(job.id, retries=1)
            assert h.task(job.id).attempts == 2
            h.sim.faults.drop_upload = False
            assert (await h.run_job(job.id, retries=1)).state == "Succeeded"
            leftovers = sorted(p for p in h.sim.files if p.endswith(".part"))
            assert leftovers == []

    run(scenario)


def test_reboot_longer_than_the_wait_online_timeout_is_rescheduled(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path, faults="reboot:30", step_timeout=2) as h:
            job = h.create("reboot", JobType.REBOOT)
            elapsed = await h.attempt()
            assert elapsed < 2 * 2 + SLACK  # reboot step + wait-online
            task = h.task(job.id)
            assert task.state == "Rescheduled" and task.current_step == "wait-online"
            step = h.failed_step(job.id)
            assert "timeout" in step.message
            assert step.fix_hint  # the driver's or the step's: power, console, boot loader
            assert "console" in step.fix_hint
            assert task.next_attempt_at == h.clock.now() + RETRY
            assert h.steps(job.id)["reboot"] == "Completed"

    run(scenario)


def test_wrong_firmware_after_reboot_is_flashed_again_from_the_upload(
    tmp_path: Path, ops: Counter[tuple[str, str]]
) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path, faults="wrong-firmware") as h:
            job = h.create("fw", JobType.FIRMWARE_UPDATE, file=h.image(), version=NEW_FIRMWARE)
            task = await h.run_job(job.id, retries=1)
            # B3: retried until the job expires; B1: each attempt from the upload on.
            assert task.state == "Rescheduled" and task.attempts == 2
            assert task.current_step == "verify-version"
            first, second = (runs for _, runs in task.attempts_history())
            assert [r.name for r in first][-1] == [r.name for r in second][-1] == (
                "verify-version")
            assert second[0].name == "upload-image"
            assert second[0].message == "already on the device"  # checked by checksum
            assert all(runs[-1].status == "Failed" for runs in (first, second))
            step = h.failed_step(job.id)
            assert step.message == (
                f"verification failed: the device runs {OLD_FIRMWARE}, expected {NEW_FIRMWARE}"
            )
            assert step.fix_hint == hint_of("verify-version")
            assert h.sim.reboots == 2 and ops[(h.sim.name, "firmware_install")] == 2
            assert h.store.devices.get(h.sim.name).firmware != NEW_FIRMWARE

    run(scenario)


def test_image_for_another_model_fails_at_install_without_retry(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path) as h:
            image = h.image(model="NOT-THIS-MODEL")
            job = h.create("fw", JobType.FIRMWARE_UPDATE, file=image, version=NEW_FIRMWARE)
            task = await h.run_job(job.id, retries=2)
            assert task.state == "Failed" and task.attempts == 1
            step = h.failed_step(job.id)
            assert step.name == "install" and step.message.startswith("incompatible: ")
            assert "image is for NOT-THIS-MODEL" in step.message
            assert step.fix_hint == "Use the image built for this model."
            assert h.sim.reboots == 0 and h.sim.firmware == OLD_FIRMWARE

    run(scenario)


@pytest.mark.parametrize("step_name", ["upload-image", "install"])
def test_firmware_faults_at_the_upload_and_install_steps(tmp_path: Path, step_name: str) -> None:
    faults = {"upload-image": "disk-full", "install": "fail-step:firmware_install:5:flash write"
              " error"}[step_name]

    async def scenario() -> None:
        async with sim_engine(tmp_path, faults=faults) as h:
            job = h.create("fw", JobType.FIRMWARE_UPDATE, file=h.image(), version=NEW_FIRMWARE)
            await h.attempt()
            task = h.task(job.id)
            step = h.failed_step(job.id)
            assert step.name == step_name == task.current_step
            if step_name == "upload-image":
                assert task.state == "Failed" and "no space left" in step.message
                assert "space" in step.fix_hint.lower()
            else:
                assert task.state == "Rescheduled"
                assert "firmware_install on sim-000 exited with 5: flash write error" in (
                    step.message)
                assert step.fix_hint == hint_of("install")
            assert h.sim.reboots == 0

    run(scenario)


# --- cancel and crash --------------------------------------------------------------------


def test_cancel_during_a_slow_upload_finishes_that_step_and_starts_no_other(
    tmp_path: Path, ops: Counter[tuple[str, str]]
) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path, faults="slow:0.8") as h:
            job = h.create("ntp", JobType.CONFIG_UPDATE, file=h.file("ntp.cfg", SNIPPET))
            await h.engine.run_pass()
            await eventually(lambda: h.steps(job.id)["upload-snippet"] == "Running")
            await asyncio.sleep(0.3)  # inside the upload (two checksums at 0.8 s each)
            assert h.service.cancel_job(job.id).state == "Cancelled Manually"
            assert h.task(job.id).state == "Running"  # the step is not interrupted
            await h.engine.drain()
            assert h.steps(job.id) == {
                "connect": "Completed", "upload-snippet": "Completed",
                "apply": "Pending", "verify-values": "Pending",
            }
            task = h.task(job.id)
            assert task.state == "Cancelled" and task.reason == "cancelled by a person"
            assert bytes(h.sim.files[f"/tmp/jobdesk-job{job.id}-snippet.cfg"]) == SNIPPET.encode()
            assert ops[(h.sim.name, "config_apply")] == 0 and h.sim.config == DOCUMENTED_DEFAULTS
            h.clock.advance(minutes=10)
            await h.attempt()  # nothing runs for a cancelled job
            assert h.task(job.id).attempts == 1 and ops[(h.sim.name, "config_apply")] == 0

    run(scenario)


async def _crash(engine: Engine) -> None:
    """Abandon a runtime as a crash would: its attempts stop and record nothing."""
    attempts = list(engine._attempts.values())
    for attempt in attempts:
        attempt.cancel()
    await asyncio.gather(*attempts, return_exceptions=True)
    engine._db_thread.shutdown(wait=True)  # no lease release, no interrupt records
    # The process is gone: its lease names a pid that no longer runs.
    RuntimeLease.update(pid=2**22 + 4321).execute()


def test_crash_during_a_firmware_update_resumes_without_reflashing(
    tmp_path: Path, ops: Counter[tuple[str, str]]
) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path, reboot_seconds=1.0) as h:
            sim = h.sim
            job = h.create("fw", JobType.FIRMWARE_UPDATE, file=h.image(), version=NEW_FIRMWARE)
            await h.engine.run_pass()
            await eventually(lambda: h.steps(job.id)["wait-online"] == "Running")
            await _crash(h.engine)
            assert h.task(job.id).state == "Running"  # as the crash left it
            await eventually(lambda: sim.firmware == NEW_FIRMWARE)  # the device came back

            h.clock.advance(seconds=90)
            h.engine = h.new_engine()
            await h.engine.start()  # recover_interrupted
            task = h.task(job.id)
            assert task.state == "Rescheduled" and task.reason == "interrupted"
            assert task.next_attempt_at == h.clock.now()
            wait = task.steps[5]
            assert (wait.name, wait.status) == ("wait-online", "Pending")
            assert wait.message == "interrupted: this step did not finish and runs again"

            task = await h.run_job(job.id)
            assert task.state == "Succeeded" and task.attempts == 2, task
            assert ops[(sim.name, "upload")] == 1
            assert ops[(sim.name, "firmware_install")] == 1
            assert sim.reboots == 1 and sim.firmware == NEW_FIRMWARE
            assert h.store.devices.get(sim.name).firmware == NEW_FIRMWARE

    run(scenario)


def test_crash_during_the_reboot_step_does_not_reboot_an_updated_device_again(
    tmp_path: Path, ops: Counter[tuple[str, str]]
) -> None:
    """The reboot step re-run after a crash finds the target version and a new boot id."""

    async def scenario() -> None:
        async with sim_engine(tmp_path, reboot_seconds=1.0) as h:
            sim = h.sim
            job = h.create("fw", JobType.FIRMWARE_UPDATE, file=h.image(), version=NEW_FIRMWARE)
            await h.engine.run_pass()
            await eventually(lambda: h.steps(job.id)["wait-online"] == "Running")
            await _crash(h.engine)
            # As a crash right after the device accepted `reboot` leaves the record: the
            # reboot step Running, wait-online not started.
            steps = {s.name: s.id for s in h.task(job.id).steps}
            Step.update(status="Running", completed_at=None).where(
                Step.id == steps["reboot"]).execute()
            Step.update(status="Pending", started_at=None).where(
                Step.id == steps["wait-online"]).execute()
            await eventually(lambda: sim.firmware == NEW_FIRMWARE)

            h.clock.advance(seconds=90)
            h.engine = h.new_engine()
            await h.engine.start()
            task = await h.run_job(job.id)
            assert task.state == "Succeeded", task
            assert ops[(sim.name, "firmware_install")] == 1
            await asyncio.sleep(1.5)  # longer than a reboot the attempt might have requested
            # Already on the target version: no second reboot, and the boot the task
            # reported (wait-online) is the one the device runs now.
            assert sim.reboots == 1
            assert h.store.devices.get(sim.name).boot_id == sim.boot_id

    run(scenario)


# --- safe rollouts (B8) on the simulated fleet ----------------------------------------------


def test_a_canary_that_fails_stops_the_rollout_before_the_second_batch(
    tmp_path: Path, ops: Counter[tuple[str, str]]
) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path, 4, faults="fail-step:config_apply:4:rejected@0") as h:
            job = h.create("ntp", JobType.CONFIG_UPDATE, file=h.file("ntp.cfg", SNIPPET),
                           rollout=RolloutPolicy(batches=parse_batches("1,100%"),
                                                 abort_above=0.0))
            await h.attempt()
            h.clock.advance(seconds=30)
            await h.attempt()
            record = h.store.jobs.get(job.id)
            assert record.state == "Paused"
            assert record.rollout_reason == "rollout stopped: 1 of 1 failed, above 0%"
            canary, *rest = h.fleet.devices
            assert ops[(canary.name, "upload")] == 1
            for device in rest:  # never touched: no upload, no command that changes it
                assert ops[(device.name, "upload")] == 0 and device.config == DOCUMENTED_DEFAULTS

    run(scenario)


def test_approval_gates_each_batch_on_the_simulated_fleet(
    tmp_path: Path, ops: Counter[tuple[str, str]]
) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path, 3) as h:
            job = h.create("ntp", JobType.CONFIG_UPDATE, file=h.file("ntp.cfg", SNIPPET),
                           rollout=RolloutPolicy(batches=parse_batches("1"), approve=True))
            await h.attempt()
            first, second, third = h.fleet.devices
            assert applied(first) and not applied(second) and not applied(third)
            assert h.store.jobs.get(job.id).rollout_reason == (
                "waiting for approval of batch 2 of 3")
            h.service.continue_rollout(job.id)
            await h.attempt()
            assert applied(second) and not applied(third)
            h.service.continue_rollout(job.id)
            await h.attempt()
            assert applied(third) and h.store.jobs.get(job.id).state == "Succeeded"

    run(scenario)


def test_the_threshold_cancels_the_rest_and_the_rate_paces_starts_on_the_simulated_fleet(
    tmp_path: Path, ops: Counter[tuple[str, str]]
) -> None:
    async def scenario() -> None:
        async with sim_engine(tmp_path, 6, faults="fail-step:config_apply:4:rejected@0-1") as h:
            policy = RolloutPolicy(abort_above=20.0, abort_min=2,
                                   abort_action=AbortAction.CANCEL, max_concurrent=2,
                                   max_attempts=1)
            devices = [d.name for d in h.fleet.devices]
            job = h.create("ntp", JobType.CONFIG_UPDATE, file=h.file("ntp.cfg", SNIPPET),
                           devices=devices[:4], rollout=policy)
            await h.attempt()
            found = {t.device: t for t in h.store.jobs.detail(job.id).tasks}
            assert [found[name].state for name in devices[:4]] == [
                "Failed", "Failed", "Cancelled", "Cancelled"]
            assert found[devices[2]].reason == "rollout stopped: 2 of 2 failed, above 20%"
            assert all(ops[(name, "upload")] == 0 for name in devices[2:4])

            paced = h.create("ntp2", JobType.CONFIG_UPDATE, file=h.file("ntp.cfg", SNIPPET),
                             devices=devices[4:], rollout=RolloutPolicy(max_per_minute=1))
            await h.attempt()
            await h.attempt()
            assert [ops[(name, "upload")] for name in devices[4:]] == [1, 0]
            h.clock.advance(seconds=61)
            await h.attempt()
            assert [ops[(name, "upload")] for name in devices[4:]] == [1, 1]
            assert h.store.jobs.get(paced.id).state == "Succeeded"

    run(scenario)
