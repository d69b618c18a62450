"""The state of one simulated device and what each profile operation does to it.

State is plain data (config values, files, firmware, certificate, boot id) so tests can
look at it directly. Certificates and signing requests are real X.509 objects made with
`cryptography`, so the driver, the local CA and the inventory see what a router would send.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jobdesk.devices.profiles import Profile
from jobdesk.domain.payloads import (
    FIRMWARE_MAGIC,
    PayloadError,
    image_models,
    parse_snippet,
    read_image_header,
)
from jobdesk.sim.faults import DeviceFaults

MODELS = {"netmodule": ("NB800", "NB1601", "NB2800", "NG800"), "generic-linux": ("RPi-CM4",)}
FIRST_FIRMWARE = {"netmodule": "4.8.0.102", "generic-linux": "12"}
DEFAULT_CAPACITY = 256 << 20  # bytes of storage for uploads


def firmware_image(version: str, model: str | None = None, size: int = 0) -> bytes:
    """A firmware image the simulator understands: a header line, then padding."""
    header = FIRMWARE_MAGIC + f" version={version}".encode()
    if model:
        header += f" model={model}".encode()
    header += b"\n"
    return header + b"\0" * max(0, size - len(header))


def _self_signed(name: str, key: ec.EllipticCurvePrivateKey) -> str:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=90))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class SimDevice:
    index: int
    name: str
    port: int
    family: str  # "netmodule" (the emulated `cli`, jobdesk.sim.nrsw) or a profile's name
    # The profile a non-NetModule device answers by (its commands reversed); a NetModule
    # device has none: its `cli` is emulated from the documentation, not from a profile.
    profile: Profile | None
    faults: DeviceFaults
    model: str
    serial: str
    firmware: str
    capacity: int = DEFAULT_CAPACITY
    config: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytearray] = field(default_factory=dict)
    boot_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    booted_at: float = field(default_factory=time.monotonic)
    pending_firmware: str | None = None
    connections_seen: int = 0
    reboots: int = 0
    _key: ec.EllipticCurvePrivateKey | None = None
    _new_key: ec.EllipticCurvePrivateKey | None = None
    _cert_pem: str | None = None

    @classmethod
    def create(
        cls, index: int, name: str, port: int, profile: Profile | None, faults: DeviceFaults,
        seed: int,
    ) -> SimDevice:
        """A device of the profile's family; `profile=None` is an emulated NetModule router."""
        rng = random.Random(f"{seed}/device/{index}")
        family = profile.name if profile is not None else "netmodule"
        models = family if family in MODELS else "generic-linux"
        return cls(
            index=index,
            name=name,
            port=port,
            family=family,
            profile=profile,
            faults=faults,
            model=rng.choice(MODELS[models]),
            serial=f"SIM{seed % 1000:03d}{index:06d}",
            firmware=FIRST_FIRMWARE[models],
            capacity=0 if faults.disk_full else DEFAULT_CAPACITY,
        )

    # -- state ------------------------------------------------------------------------

    @property
    def uptime_s(self) -> float:
        return round(time.monotonic() - self.booted_at, 1)

    @property
    def free_space(self) -> int:
        return max(0, self.capacity - sum(len(d) for d in self.files.values()))

    @property
    def cert_pem(self) -> str:
        if self._cert_pem is None:  # made on first use: a thousand devices start fast
            self._key = ec.generate_private_key(ec.SECP256R1())
            self._cert_pem = _self_signed(self.name, self._key)
        return self._cert_pem

    def finish_reboot(self) -> None:
        """The device comes back: new boot id, and the installed image (or a wrong one)."""
        self.boot_id = str(uuid.uuid4())
        self.booted_at = time.monotonic()
        self.reboots += 1
        if self.pending_firmware is not None:
            wrong = self.faults.wrong_firmware
            if wrong is None:
                self.firmware = self.pending_firmware
            elif wrong:
                self.firmware = wrong
            self.pending_firmware = None

    def info_value(self, info_field: str) -> str:
        values = {
            "model": self.model,
            "serial": self.serial,
            "firmware": self.firmware,
            "boot_id": self.boot_id,
            "uptime_s": f"{self.uptime_s:.1f}",
        }
        return values[info_field]

    # -- operations: (exit status, output) ----------------------------------------------

    def info_output(self, command: list[str]) -> tuple[int, str]:
        """Print every info field this command serves, in the shape the profile parses."""
        lines: list[str] = []
        assert self.profile is not None, "an emulated NetModule router answers `cli status`"
        for info_field, source in self.profile.info.items():
            if source.template.match(command) is None:
                continue
            value = self.info_value(info_field)
            if source.pick is None or source.pick.startswith("word:"):
                index = int(source.pick.split(":")[1]) if source.pick else 0
                lines.append(" ".join(["-"] * index + [value]))
            else:
                lines.append(f"{source.pick.split(':', 1)[1]}: {value}")
        return 0, "\n".join(lines) + "\n"

    def sha256(self, path: str) -> tuple[int, str]:
        data = self.files.get(path)
        if data is None:
            return 1, f"sha256sum: {path}: No such file or directory\n"
        return 0, f"{hashlib.sha256(data).hexdigest()}  {path}\n"

    def config_get(self, key: str) -> tuple[int, str]:
        if key in self.faults.unknown_keys:
            return 2, f"cli: {key}: unknown key\n"
        if key not in self.config:
            return 1, f"cli: {key}: not set\n"
        return 0, self.config[key] + "\n"

    def config_set(self, key: str, value: str) -> tuple[int, str]:
        self.config[key] = value
        return 0, ""

    def config_dump(self) -> tuple[int, str]:
        return 0, "".join(f"{k} = {v}\n" for k, v in sorted(self.config.items()))

    def config_apply(
        self, path: str, known: Callable[[str], bool] | None = None
    ) -> tuple[int, str]:
        """Merge a `key=value` snippet; `known` tells which parameter names exist."""
        data = self.files.get(path)
        if data is None:
            return 1, f"{path}: No such file or directory\n"
        try:
            values = parse_snippet(bytes(data).decode("utf-8", errors="replace"))
        except PayloadError as error:
            return 2, f"configuration rejected: {error}\n"
        exists = known or (lambda key: key not in self.faults.unknown_keys)
        unknown = sorted(k for k in values if not exists(k))
        if unknown:
            return 2, f"configuration rejected: unknown parameter {unknown[0]}\n"
        self.config.update(values)
        return 0, f"applied {len(values)} value(s)\n"

    def firmware_install(self, path: str) -> tuple[int, str]:
        data = self.files.get(path)
        if data is None:
            return 1, f"{path}: No such file or directory\n"
        header = read_image_header(data)
        models = image_models(header)
        if models and self.model not in models:
            listed = self.profile.incompatible_exit if self.profile is not None else ()
            status = min(listed, default=1)
            built_for = ",".join(sorted(models))
            return status, f"image is for {built_for}, this device is {self.model}\n"
        self.pending_firmware = header.get("version", "unknown")
        return 0, f"installed {self.pending_firmware}; active after reboot\n"

    def csr_create(self, common_name: str) -> tuple[int, str]:
        self._new_key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(
            self._new_key, hashes.SHA256()
        )
        return 0, csr.public_bytes(serialization.Encoding.PEM).decode()

    def cert_install(self, cert_path: str, ca_path: str) -> tuple[int, str]:
        cert_data, ca_data = self.files.get(cert_path), self.files.get(ca_path)
        if cert_data is None or ca_data is None:
            return 1, "certificate or CA file missing\n"
        try:
            cert = x509.load_pem_x509_certificate(bytes(cert_data))
            x509.load_pem_x509_certificate(bytes(ca_data))
        except ValueError:
            return 2, "not a PEM certificate\n"
        key = self._new_key or self._key
        if key is None or cert.public_key() != key.public_key():
            return 3, "the certificate does not match the device key\n"
        self._key, self._new_key = key, None
        self._cert_pem = bytes(cert_data).decode()
        return 0, "certificate installed\n"

    def cert_show(self) -> tuple[int, str]:
        return 0, self.cert_pem
