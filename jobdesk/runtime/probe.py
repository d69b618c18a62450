"""`jobdesk devices probe NAME`: ask a router only read commands and show what it answered
next to what its profile understood.

A new firmware generation may word its status output or its errors differently from the
one a profile was written for; a job would then fail at its second step. The probe is the
first thing to run against such a router: it sends the profile's status commands and one
`config_get` of `config.version` (the parameter every NetModule snippet carries), nothing
that changes the device, and says field by field whether the profile could read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobdesk.devices.profiles import Profile
from jobdesk.runtime.driver import DeviceSession

PROBE_KEY = "config.version"  # Connectivity Suite manual v2.6, 5.2.1: first line of a snippet


@dataclass(frozen=True)
class ProbeAnswer:
    """One read command, the router's answer, and what the profile made of it."""

    command: str
    exit_status: int
    output: str
    understood: dict[str, str] = field(default_factory=dict)  # field -> value read
    missed: dict[str, str] = field(default_factory=dict)  # field -> why it was not

    @property
    def ok(self) -> bool:
        return not self.missed


@dataclass(frozen=True)
class ProbeReport:
    device: str
    profile: str
    answers: tuple[ProbeAnswer, ...]

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.answers)


def probe_commands(profile: Profile) -> dict[str, list[str]]:
    """The read commands to send, each with the info fields it serves (in profile order)."""
    commands: dict[str, list[str]] = {}
    for info_field, source in profile.info.items():
        commands.setdefault(source.template.source, []).append(info_field)
    return commands


async def probe(session: DeviceSession, device: str, profile: Profile, *,
                timeout: float) -> ProbeReport:
    """Run the profile's read commands on an open session; nothing on the device changes."""
    answers: list[ProbeAnswer] = []
    for command, fields in probe_commands(profile).items():
        result = await session.run(command, timeout=timeout)
        answer = profile.answer(result.exit_status, result.output)
        understood: dict[str, str] = {}
        missed: dict[str, str] = {}
        for info_field in fields:
            source = profile.info[info_field]
            value = source.extract(answer.body) if answer.ok else None
            if value is not None:
                understood[info_field] = value
            elif not answer.ok:
                missed[info_field] = f"the command failed: {answer.message}"
            else:
                missed[info_field] = f"nothing matched {source.pick or 'the output'}"
        answers.append(ProbeAnswer(command, result.exit_status, result.output,
                                   understood, missed))
    if profile.has("config_get"):
        command = profile.render("config_get", key=PROBE_KEY)
        result = await session.run(command, timeout=timeout)
        answer = profile.answer(result.exit_status, result.output)
        value = answer.body.strip()
        if answer.ok and value:
            answers.append(ProbeAnswer(command, result.exit_status, result.output,
                                       {PROBE_KEY: value}))
        else:
            why = f"the command failed: {answer.message}" if not answer.ok else "empty answer"
            answers.append(ProbeAnswer(command, result.exit_status, result.output,
                                       missed={PROBE_KEY: why}))
    return ProbeReport(device, profile.name, tuple(answers))


def render(report: ProbeReport) -> str:
    """The report as text: each command, the router's words, then the profile's reading."""
    lines = [f"{report.device} (profile {report.profile}): read commands only"]
    for answer in report.answers:
        lines.append("")
        lines.append(f"$ {answer.command}")
        lines.append(f"  exit status {answer.exit_status}")
        output = answer.output.rstrip("\n")
        lines.extend(f"  | {line}" for line in (output.splitlines() or ["(no output)"]))
        for name, value in answer.understood.items():
            lines.append(f"  understood {name} = {value}")
        for name, why in answer.missed.items():
            lines.append(f"  NOT understood {name}: {why}")
    lines.append("")
    if report.ok:
        lines.append("the profile understood every answer")
    else:
        missed = sum(len(a.missed) for a in report.answers)
        lines.append(f"the profile did not understand {missed} field(s): adapt a copy of the "
                     "profile in your profiles folder (see docs/netmodule.md)")
    return "\n".join(lines)
