"""Device profiles: the shipped ones load, every value is quoted into one argument, and a
broken profile file is refused with its path and the problem."""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path

import pytest

from jobdesk.devices.profiles import (
    InfoSource,
    ProfileError,
    ProfileLibrary,
    Template,
    builtin_profiles_dir,
)
from jobdesk.sim.nrsw import DOCUMENTED_DEFAULTS
from tests.sim_fixtures import make_driver, record, running

EVIL = "x'; rm -rf / #$(reboot)`id` \"\n; echo pwned"
SHIPPED = ["generic-linux", "netmodule"]

GOOD = """
description = "test"
[commands]
sha256 = "sha256sum {path}"
config_get = "cli get {key}"
config_apply = "cli config apply {path}"
firmware_install = "cli firmware install {path}"
reboot = "cli reboot"
csr_create = "cli cert csr --cn {common_name}"
cert_install = "cli cert install {cert_path} --ca {ca_path}"
cert_show = "cli cert show"
[info]
firmware = { command = "cli status", pick = "line:firmware" }
boot_id = "cat /proc/sys/kernel/random/boot_id"
"""


def test_shipped_profiles_load() -> None:
    library = ProfileLibrary()
    assert library.names() == SHIPPED
    for name in SHIPPED:
        profile = library.get(name)
        assert profile.name == name and profile.description
        assert profile.source.parent == builtin_profiles_dir()


@pytest.mark.parametrize("name", SHIPPED)
def test_every_value_becomes_one_literal_argument(name: str) -> None:
    profile = ProfileLibrary().get(name)
    for operation, template in profile.commands.items():
        values = {slot: EVIL for slot in template.slots if slot}
        argv = shlex.split(profile.render(operation, **values))
        assert argv == [EVIL if slot else word for word, slot in zip(
            template.words, template.slots, strict=True
        )]
        assert profile.match(argv) == (operation, values)


def test_an_evil_value_reaches_the_device_as_one_literal_argument(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(1) as fleet:
            driver = make_driver(tmp_path)
            session = await driver.connect(record(fleet, driver), timeout=5)
            command = session.profile.render("config_set", key="lan.name", value=EVIL)
            assert (await session.run(command, timeout=5)).exit_status == 0
            assert fleet.devices[0].config == {**DOCUMENTED_DEFAULTS, "lan.name": EVIL}
            assert await session.read_config(["lan.name"], timeout=5) == {"lan.name": EVIL}
            await session.close()

    asyncio.run(scenario())


def test_nul_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        ProfileLibrary().get("netmodule").render("config_get", key="a\x00b")


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[commands\n", "not valid TOML"),
        (GOOD.replace("[info]", "[infos]"), "unknown section"),
        (GOOD + "\n[commands.x]\n", "unknown operation 'x'"),
        (GOOD.replace('reboot = "cli reboot"\n', ""), "lacks reboot"),
        (GOOD.replace("cli get {key}", "cli get {name}"), "unknown placeholder {name}"),
        (GOOD.replace("cli get {key}", "cli get key={key}"), "must be a whole word"),
        (GOOD.replace("cli get {key}", "cli get"), "must use {key}"),
        (GOOD.replace("cli get {key}", "cli get 'unclosed {key}"), "cannot split"),
        (GOOD.replace("line:firmware", "row:3"), "info.firmware must be"),
        (GOOD.replace("boot_id = ", "colour = "), "unknown field 'colour'"),
        (GOOD.replace('boot_id = "cat /proc/sys/kernel/random/boot_id"', ""), "lacks boot_id"),
        ('name = "other"\n' + GOOD, "differs from the file name"),
    ],
)
def test_a_bad_profile_names_the_file_and_the_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = write(tmp_path, "mine", text)
    with pytest.raises(ProfileError) as caught:
        ProfileLibrary(user_dir=tmp_path).get("mine")
    assert str(path) in str(caught.value)
    assert problem in str(caught.value)


def test_user_profiles_are_found_and_override_shipped_ones(tmp_path: Path) -> None:
    write(tmp_path, "mine", GOOD)
    write(tmp_path, "netmodule", GOOD.replace("cli reboot", "cli restart"))
    library = ProfileLibrary(user_dir=tmp_path)
    assert library.get("mine").render("reboot") == "cli reboot"
    assert library.get("netmodule").render("reboot") == "cli restart"
    assert library.names() == ["generic-linux", "mine", "netmodule"]


def test_an_unknown_profile_lists_the_available_ones(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="available: generic-linux, netmodule"):
        ProfileLibrary(user_dir=tmp_path).get("cisco")
    with pytest.raises(ProfileError, match="may hold only"):
        ProfileLibrary().get("../etc/passwd")


def test_a_pyinstaller_bundle_has_its_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "resources" / "profiles", "bundled", GOOD)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert builtin_profiles_dir() == tmp_path / "resources" / "profiles"
    assert ProfileLibrary().names() == ["bundled"]


def test_shell_variables_are_not_placeholders() -> None:
    template = Template.parse(
        "sh -c 'echo ${HOME} {not a placeholder}; cat \"$1\"' x {path}",
        frozenset({"path"}),
        "here",
    )
    assert template.slots == (None, None, None, None, "path")


def test_info_picks() -> None:
    whole = InfoSource(Template.parse("x", frozenset(), "t"))
    line = InfoSource(Template.parse("x", frozenset(), "t"), "line:VERSION_ID")
    word = InfoSource(Template.parse("x", frozenset(), "t"), "word:1")
    assert whole.extract("  NB800\x00\n") == "NB800"
    assert line.extract('NAME="Debian"\nVERSION_ID="12"\n') == "12"
    assert line.extract("VERSION_ID: 4.8\n") == "4.8"
    assert line.extract("OTHER=1\n") is None
    assert word.extract("12.5 40.1\n") == "40.1" and word.extract("1") is None
