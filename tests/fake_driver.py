"""A scripted in-memory device driver for tests of the engine and the CLI.

It implements the runtime's driver interface with devices that keep state (config values,
firmware, boot id, certificate), and lets a test script faults and delays per device and
operation, or hold an operation at a gate until the test opens it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jobdesk.runtime.driver import (
    AuthenticationRefused,
    CommandResult,
    ConfigValues,
    DeviceError,
    DeviceInfo,
    DeviceTimeout,
    HostKeyMismatch,
    Unreachable,
)
from jobdesk.store.records import DeviceRecord

ERRORS: dict[str, type[DeviceError]] = {
    "unreachable": Unreachable,
    "auth": AuthenticationRefused,
    "hostkey": HostKeyMismatch,
    "timeout": DeviceTimeout,
}


@dataclass
class Fault:
    error: str
    message: str = "scripted fault"
    times: int | None = None  # None: every time


@dataclass
class FakeDevice:
    name: str
    firmware: str = "1.0"
    config: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    boot_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    key: Any = None
    cert_pem: str | None = None
    staged_firmware: str | None = None
    wrong_firmware_after_reboot: str | None = None
    # What a pre-flight check reads besides the above.
    model: str = "FAKE-1"
    free_space: int | None = 1 << 30
    unknown_keys: set[str] = field(default_factory=set)
    cert_expires_at: datetime | None = None
    host_key_known: bool = True


class FakeDriver:
    def __init__(self, script: str | None = None) -> None:
        self.devices: dict[str, FakeDevice] = {}
        self.faults: dict[tuple[str, str], Fault] = {}
        self.delays: dict[tuple[str, str], float] = {}
        self.gates: dict[tuple[str, str], asyncio.Event] = {}
        self.entered: dict[tuple[str, str], asyncio.Event] = {}
        self.calls: list[tuple[str, str]] = []
        self.firmware_images: dict[str, str] = {}  # sha256 -> version string in the image
        if script:
            self._load(json.loads(Path(script).read_text()))

    def _load(self, data: dict[str, Any]) -> None:
        for item in data.get("faults", []):
            self.faults[(item["device"], item["op"])] = Fault(
                item["error"], item.get("message", "scripted fault"), item.get("times")
            )
        for item in data.get("delays", []):
            self.delays[(item["device"], item["op"])] = float(item["seconds"])
        for name, version in data.get("firmware", {}).items():
            self.device(name).firmware = version
        for name, facts in data.get("devices", {}).items():
            state = self.device(name)
            for key, value in facts.items():
                if key == "unknown_keys":
                    value = set(value)
                elif key == "cert_expires_at":
                    value = datetime.fromisoformat(value)
                elif key not in ("model", "free_space", "config", "host_key_known"):
                    raise ValueError(f"fake device field {key!r} is not scriptable")
                setattr(state, key, value)

    def device(self, name: str) -> FakeDevice:
        return self.devices.setdefault(name, FakeDevice(name))

    def fail(self, device: str, op: str, error: str, message: str = "scripted fault",
             times: int | None = None) -> None:
        self.faults[(device, op)] = Fault(error, message, times)

    def gate(self, device: str, op: str) -> tuple[asyncio.Event, asyncio.Event]:
        """Hold `op` on `device` until the returned gate is set; `entered` is set on arrival."""
        self.gates[(device, op)] = asyncio.Event()
        self.entered[(device, op)] = asyncio.Event()
        return self.entered[(device, op)], self.gates[(device, op)]

    def count(self, device: str, op: str) -> int:
        return sum(1 for call in self.calls if call == (device, op))

    async def _enter(self, device: str, op: str) -> None:
        self.calls.append((device, op))
        if (device, op) in self.entered:
            self.entered[(device, op)].set()
        if (device, op) in self.gates:
            await self.gates[(device, op)].wait()
        delay = self.delays.get((device, op))
        if delay:
            await asyncio.sleep(delay)
        fault = self.faults.get((device, op))
        if fault is not None:
            if fault.times is not None:
                if fault.times <= 0:
                    return
                fault.times -= 1
            if fault.error == "command":
                from jobdesk.runtime.driver import CommandFailed

                raise CommandFailed(fault.message, exit_status=7, output=fault.message)
            raise ERRORS[fault.error](fault.message, fix_hint=f"fake hint for {op}")

    async def connect(self, device: DeviceRecord, *, timeout: float,
                      record_host_key: bool = True) -> FakeSession:
        await self._enter(device.name, "connect")
        session = FakeSession(self, self.device(device.name))
        if not session.state.host_key_known:
            if record_host_key:
                session.state.host_key_known = True
            else:
                session.new_host_key = f"SHA256:fake-{device.name}"
        return session

    async def wait_online(
        self, device: DeviceRecord, previous_boot_id: str | None, *, timeout: float
    ) -> tuple[FakeSession, DeviceInfo]:
        await self._enter(device.name, "wait_online")
        state = self.device(device.name)
        session = FakeSession(self, state)
        return session, await session.read_info(timeout=timeout)

    async def aclose(self) -> None:
        return None


class FakeSession:
    def __init__(self, driver: FakeDriver, state: FakeDevice) -> None:
        self.driver = driver
        self.state = state
        self.new_host_key: str | None = None

    async def _op(self, op: str) -> None:
        await self.driver._enter(self.state.name, op)

    async def run(self, command: str, *, timeout: float) -> CommandResult:
        await self._op("run")
        if command.startswith("exit "):
            return CommandResult(int(command.split()[1]), "bye\n")
        return CommandResult(0, f"ran: {command}\n")

    async def upload(self, source: Path | bytes, remote_path: str, *, sha256: str,
                     timeout: float) -> bool:
        existing = self.state.files.get(remote_path)
        if existing is not None and hashlib.sha256(existing).hexdigest() == sha256:
            return False
        await self._op("upload")
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            from jobdesk.runtime.driver import VerificationFailed

            raise VerificationFailed(f"{remote_path} arrived with another checksum")
        self.state.files[remote_path] = data
        return True

    async def read_info(self, *, timeout: float) -> DeviceInfo:
        await self._op("read_info")
        fingerprint = None
        if self.state.cert_pem:
            cert = x509.load_pem_x509_certificate(self.state.cert_pem.encode())
            fingerprint = cert.fingerprint(hashes.SHA256()).hex()
        return DeviceInfo(
            model=self.state.model, serial=f"SN-{self.state.name}",
            firmware=self.state.firmware, boot_id=self.state.boot_id, uptime_s=1.0,
            cert_fingerprint=fingerprint, cert_expires_at=self.state.cert_expires_at,
        )

    async def apply_config(self, remote_path: str, *, timeout: float) -> None:
        await self._op("apply_config")
        from jobdesk.domain.payloads import parse_snippet

        self.state.config.update(parse_snippet(self.state.files[remote_path].decode()))

    async def read_config(self, keys: list[str], *, timeout: float) -> ConfigValues:
        await self._op("read_config")
        unknown = {k for k in keys if k in self.state.unknown_keys}
        return ConfigValues(
            {k: self.state.config[k] for k in keys if k in self.state.config},
            {k: "exit status 2: unknown key" for k in unknown}, unknown,
        )

    async def free_space(self, folder: str, *, timeout: float) -> int | None:
        await self._op("free_space")
        return self.state.free_space

    async def install_firmware(self, remote_path: str, *, timeout: float) -> None:
        await self._op("install_firmware")
        image = self.state.files[remote_path]
        self.state.staged_firmware = image.decode().strip().removeprefix("FIRMWARE ")

    async def reboot(self, *, timeout: float) -> None:
        await self._op("reboot")
        if self.state.staged_firmware:
            self.state.firmware = (
                self.state.wrong_firmware_after_reboot or self.state.staged_firmware
            )
            self.state.staged_firmware = None
        self.state.boot_id = uuid.uuid4().hex

    async def create_csr(self, common_name: str, *, timeout: float) -> str:
        await self._op("create_csr")
        self.state.key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .sign(self.state.key, hashes.SHA256())
        )
        return csr.public_bytes(serialization.Encoding.PEM).decode()

    async def install_certificate(self, cert_pem: str, ca_pem: str, *, timeout: float) -> None:
        await self._op("install_certificate")
        self.state.cert_pem = cert_pem

    async def certificate_fingerprint(self, *, timeout: float) -> str:
        await self._op("certificate_fingerprint")
        assert self.state.cert_pem
        cert = x509.load_pem_x509_certificate(self.state.cert_pem.encode())
        return cert.fingerprint(hashes.SHA256()).hex()

    async def close(self) -> None:
        return None


def create(script: str | None = None) -> FakeDriver:
    """Factory named in settings (`driver = "tests.fake_driver:create"`)."""
    return FakeDriver(script)
