"""Job types and the steps each one runs (spec B7).

A step's name is what a person types after `tasks skip-step`, so names are short, stable and
lower-case. The fix hint is what a technician can check or do on the device when the step
fails; the timeout bounds a step that hangs (the runtime may override it with a setting).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class JobType(StrEnum):
    CONFIG_UPDATE = "config-update"
    FIRMWARE_UPDATE = "firmware-update"
    CERTIFICATE_RENEWAL = "certificate-renewal"
    DEVICE_INFO = "device-info"
    REBOOT = "reboot"
    COMMAND = "command"

    @property
    def title(self) -> str:
        return _TITLES[self]

    @classmethod
    def parse(cls, text: str) -> JobType:
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(t.value for t in cls)
            raise ValueError(f"unknown job type {text!r}; use one of: {names}") from None


_TITLES = {
    JobType.CONFIG_UPDATE: "Configuration update",
    JobType.FIRMWARE_UPDATE: "Firmware update",
    JobType.CERTIFICATE_RENEWAL: "Certificate renewal",
    JobType.DEVICE_INFO: "Device info refresh",
    JobType.REBOOT: "Reboot",
    JobType.COMMAND: "Run command",
}


@dataclass(frozen=True)
class StepSpec:
    name: str
    title: str
    timeout_s: float
    fix_hint: str
    # A check that fails re-runs from this earlier step: retrying a verification alone
    # would only read the same outcome again (a command's exit status, a device's value).
    # It is the step verified, or the upload that step consumes, so the file is there.
    retry_from: str | None = None
    # Why a person may not skip the step (None: they may, after doing it by hand). A
    # step that only jobdesk can do — the connection every later step uses, the local CA's
    # signature, the write to its own database — cannot be done "by hand" instead.
    not_skippable: str | None = None

    @property
    def skippable(self) -> bool:
        return self.not_skippable is None


CONNECT = StepSpec(
    "connect",
    "Connect",
    30,
    "Check that the device is powered, reachable from this laptop (VPN, cable, address and "
    "port in the inventory) and that its SSH service runs.",
    not_skippable="every later step needs the connection; fix it and retry instead",
)
UPLOAD_SNIPPET = StepSpec(
    "upload-snippet",
    "Upload snippet",
    120,
    "Check free space on the device; a dropped upload is retried and resumes cleanly.",
)
APPLY_CONFIG = StepSpec(
    "apply",
    "Apply",
    120,
    "Log in and apply the snippet by hand to see the device's error; fix the snippet if a "
    "key or value is rejected (on a NetModule router `cli get KEY` shows whether a key "
    "exists; `cli -l` lists the commands this firmware has).",
)
VERIFY_VALUES = StepSpec(
    "verify-values",
    "Verify values",
    60,
    "Compare the device's running configuration with the snippet (NetModule: `cli get "
    "KEY`); another tool or person may have changed the same keys.",
    retry_from="upload-snippet",
)
CHECK_VERSION = StepSpec(
    "check-version",
    "Check version",
    60,
    "Read the firmware version on the device (NetModule: `cli status summary`; `jobdesk "
    "devices probe NAME` shows whether the profile reads it); if the image does not fit "
    "this model, choose the image built for it.",
)
UPLOAD_IMAGE = StepSpec(
    "upload-image",
    "Upload image",
    1800,
    "Check free space on the device and the link's stability; the checksum is verified "
    "after the upload.",
)
INSTALL_IMAGE = StepSpec(
    "install",
    "Install",
    900,
    "Log in and check the installer's message on the device; the image may be damaged or "
    "meant for another model (on a NetModule router `cli -l` shows whether this firmware "
    "has the update command the profile sends).",
)
REBOOT = StepSpec(
    "reboot",
    "Reboot",
    120,
    "Reboot the device by hand (power cycle if it does not answer), then skip this step.",
)
WAIT_ONLINE = StepSpec(
    "wait-online",
    "Wait online",
    600,
    "The device did not come back: check its power and console; it may be stuck in the "
    "boot loader or on the fallback image.",
)
VERIFY_VERSION = StepSpec(
    "verify-version",
    "Verify version",
    60,
    "The device runs another version than expected: it may have fallen back to the old "
    "image; check the boot log and flash again.",
    retry_from="upload-image",
)
CREATE_CSR = StepSpec(
    "create-csr",
    "Create key and request",
    120,
    "Check the device's clock, free space and that its crypto tools are installed.",
)
SIGN_CERTIFICATE = StepSpec(
    "sign",
    "Sign with the local CA",
    30,
    "The local CA could not sign the request: check that jobdesk's data folder is writable "
    "and the request names the device.",
    not_skippable="only jobdesk's local CA signs the request; fix the cause and retry",
)
INSTALL_CERTIFICATE = StepSpec(
    "install-certificate",
    "Install certificate",
    120,
    "Check free space and the certificate store on the device.",
)
VERIFY_FINGERPRINT = StepSpec(
    "verify-fingerprint",
    "Verify fingerprint",
    60,
    "The device serves another certificate than the one installed: restart its services "
    "or reboot it, then retry.",
    retry_from="install-certificate",
)
READ_INFO = StepSpec(
    "read-info",
    "Read info",
    60,
    "Check that the user in the inventory may read the device's status; `jobdesk devices "
    "probe NAME` shows what the device answers and what its profile understood.",
)
STORE_INFO = StepSpec(
    "store-info",
    "Store in inventory",
    30,
    "jobdesk could not write its database: check free disk space on this laptop.",
    not_skippable="only jobdesk writes its inventory; fix the cause and retry",
)
UPLOAD_SCRIPT = StepSpec(
    "upload-script",
    "Upload script",
    120,
    "Check free space on the device.",
)
RUN_COMMAND = StepSpec(
    "run",
    "Run",
    300,
    "Log in and run the command by hand to see its output.",
)
CHECK_EXIT = StepSpec(
    "check-exit",
    "Check exit status",
    10,
    "The command ended with a non-zero exit status; read its output in the step message.",
    retry_from="run",
)


@dataclass(frozen=True)
class JobTypeSpec:
    type: JobType
    steps: tuple[StepSpec, ...]
    needs_file: bool = False
    needs_command: bool = False
    needs_version: bool = False
    optional_file: bool = False

    def steps_for(self, *, has_file: bool) -> tuple[StepSpec, ...]:
        """The steps of one task; a command job uploads its script only when it has one."""
        if self.type is JobType.COMMAND and has_file:
            return (CONNECT, UPLOAD_SCRIPT, RUN_COMMAND, CHECK_EXIT)
        return self.steps


JOB_TYPES: dict[JobType, JobTypeSpec] = {
    JobType.CONFIG_UPDATE: JobTypeSpec(
        JobType.CONFIG_UPDATE, (CONNECT, UPLOAD_SNIPPET, APPLY_CONFIG, VERIFY_VALUES),
        needs_file=True,
    ),
    JobType.FIRMWARE_UPDATE: JobTypeSpec(
        JobType.FIRMWARE_UPDATE,
        (CONNECT, CHECK_VERSION, UPLOAD_IMAGE, INSTALL_IMAGE, REBOOT, WAIT_ONLINE, VERIFY_VERSION),
        needs_file=True,
        needs_version=True,
    ),
    JobType.CERTIFICATE_RENEWAL: JobTypeSpec(
        JobType.CERTIFICATE_RENEWAL,
        (CONNECT, CREATE_CSR, SIGN_CERTIFICATE, INSTALL_CERTIFICATE, VERIFY_FINGERPRINT),
    ),
    JobType.DEVICE_INFO: JobTypeSpec(JobType.DEVICE_INFO, (CONNECT, READ_INFO, STORE_INFO)),
    JobType.REBOOT: JobTypeSpec(JobType.REBOOT, (CONNECT, REBOOT, WAIT_ONLINE)),
    JobType.COMMAND: JobTypeSpec(
        JobType.COMMAND, (CONNECT, RUN_COMMAND, CHECK_EXIT), needs_command=True,
        optional_file=True,
    ),
}

STEPS_BY_NAME: dict[str, StepSpec] = {
    spec.name: spec
    for spec in (
        CONNECT, UPLOAD_SNIPPET, APPLY_CONFIG, VERIFY_VALUES, CHECK_VERSION, UPLOAD_IMAGE,
        INSTALL_IMAGE, REBOOT, WAIT_ONLINE, VERIFY_VERSION, CREATE_CSR, SIGN_CERTIFICATE,
        INSTALL_CERTIFICATE, VERIFY_FINGERPRINT, READ_INFO, STORE_INFO, UPLOAD_SCRIPT,
        RUN_COMMAND, CHECK_EXIT,
    )
}
