"""jobdesk's local certificate authority, which signs the requests devices create.

The CA key never leaves the laptop's data folder (mode 0600); device keys never leave the
devices: only signing requests and certificates travel.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jobdesk.paths import private_folder

CA_LIFETIME = timedelta(days=3650)
DEVICE_CERT_LIFETIME = timedelta(days=365)


class SigningRefused(ValueError):
    pass


def fingerprint(cert_pem: str) -> str:
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    return cert.fingerprint(hashes.SHA256()).hex()


def not_after(cert_pem: str) -> datetime:
    return x509.load_pem_x509_certificate(cert_pem.encode()).not_valid_after_utc


class LocalCA:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.key_path = folder / "ca-key.pem"
        self.cert_path = folder / "ca-cert.pem"
        self._key: ec.EllipticCurvePrivateKey | None = None
        self._cert: x509.Certificate | None = None

    def _load_or_create(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        if self._key is not None and self._cert is not None:
            return self._key, self._cert
        if self.key_path.exists() and self.cert_path.exists():
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
        else:
            key, cert = self._create()
        self._key, self._cert = key, cert
        return key, cert

    def _create(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        private_folder(self.folder)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jobdesk local CA")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256())
        )
        key_bytes = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key_bytes)
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return key, cert

    @property
    def cert_pem(self) -> str:
        _, cert = self._load_or_create()
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    def sign(self, csr_pem: str, expected_name: str) -> str:
        """Sign a device's request; refuse one that is malformed or names another device."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode())
        except ValueError as error:
            raise SigningRefused(f"the signing request is not valid PEM: {error}") from error
        if not csr.is_signature_valid:
            raise SigningRefused("the signing request's signature does not verify")
        names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        common_name = names[0].value if names else None
        if common_name != expected_name:
            raise SigningRefused(
                f"the request names {common_name!r}, not the device {expected_name!r}"
            )
        key, ca_cert = self._load_or_create()
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(ca_cert.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + DEVICE_CERT_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM).decode()
