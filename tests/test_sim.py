"""The simulated fleet: deterministic keys and fault plans, its inventory, its shell and
its command-line entry point."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from jobdesk.domain.inventory import parse_inventory_csv
from jobdesk.sim import FaultSpecError, SimFleet, host_key, main, parse_faults
from jobdesk.sim.device import read_image_header
from jobdesk.sim.shell import split_line
from tests.sim_fixtures import make_driver, record, running

ROOT = Path(__file__).resolve().parents[1]
NAMES = [f"sim-{i:03d}" for i in range(20)]


def test_host_keys_follow_the_seed() -> None:
    fp = lambda seed, index, **kw: host_key(seed, index, **kw).get_fingerprint()  # noqa: E731
    assert fp(1, 0) == fp(1, 0)
    assert len({fp(1, 0), fp(1, 1), fp(2, 0), fp(1, 0, changed=True)}) == 4
    assert host_key(1, 0).algorithm == b"ssh-ed25519"


def test_fault_targets() -> None:
    plan = parse_faults("offline@3,slow:2@5-6,auth@sim-010,flapping", NAMES, seed=1)
    assert [i for i, f in enumerate(plan) if f.offline] == [3]
    assert [i for i, f in enumerate(plan) if f.slow_s == 2.0] == [5, 6]
    assert [i for i, f in enumerate(plan) if f.auth] == [10]
    assert all(f.flapping for f in plan)
    assert plan[3].names == ["offline", "flapping"]


def test_a_share_is_chosen_by_the_seed() -> None:
    picks = lambda seed: [i for i, f in enumerate(parse_faults("disk-full@25%", NAMES, seed))  # noqa: E731
                          if f.disk_full]
    assert len(picks(1)) == 5 and picks(1) == picks(1)
    assert any(picks(1) != picks(s) for s in range(2, 6))


def test_fault_arguments() -> None:
    plan = parse_faults(
        "fail-step:firmware_install:5:flash: write error@0,hang@1,hang:info@2,"
        "wrong-firmware:1.0@3,reboot:9@4,slow@5",
        NAMES,
        seed=0,
    )
    assert plan[0].fails("firmware_install") == (5, "flash: write error")
    assert plan[0].fails("reboot") is None
    assert plan[1].hangs("config_apply") and plan[1].hangs("command")
    assert plan[2].hangs("info.model") and not plan[2].hangs("reboot")
    assert plan[3].wrong_firmware == "1.0" and plan[4].reboot_s == 9.0
    assert plan[5].slow_s == 5.0


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("explode", "unknown fault 'explode'"),
        ("offline@99", "outside 0-19"),
        ("offline@nobody", "no device named 'nobody'"),
        ("slow:fast", "not a number"),
        ("hang:dance", "unknown operation 'dance'"),
        ("fail-step", "needs an operation"),
        ("auth:1", "takes no argument"),
        ("offline@120%", "cannot exceed"),
    ],
)
def test_bad_fault_specs(spec: str, problem: str) -> None:
    with pytest.raises(FaultSpecError, match=problem):
        parse_faults(spec, NAMES, seed=0)


def test_inventory_is_what_devices_import_reads(tmp_path: Path) -> None:
    fleet = SimFleet(
        3, base_port=21000, faults="offline@1", profiles=("netmodule", "generic-linux")
    )
    path = tmp_path / "inv.csv"
    fleet.write_inventory(path)
    text = path.read_text()
    assert text.splitlines()[0] == "name,host,port,user,profile,tags"
    parsed = parse_inventory_csv(text)
    assert parsed.rejected == []
    assert [(d.name, d.port, d.profile) for d in parsed.devices] == [
        ("sim-000", 21000, "netmodule"),
        ("sim-001", 21001, "generic-linux"),
        ("sim-002", 21002, "netmodule"),
    ]
    assert set(parsed.devices[1].tags) == {"sim", "generic-linux", "offline"}


def test_ports_stay_below_the_ephemeral_range() -> None:
    with pytest.raises(ValueError, match="32767"):
        SimFleet(10, base_port=32760)


def test_the_shell_splits_like_a_shell() -> None:
    assert split_line("a 'b; c' && d \"e f\"; g || h") == [
        (";", ["a", "b; c"]), ("&&", ["d", "e f"]), (";", ["g"]), ("||", ["h"])
    ]


def test_firmware_headers() -> None:
    assert read_image_header(b"JOBDESK-FIRMWARE version=2.0 model=NB800\n\0\0") == {
        "version": "2.0", "model": "NB800"
    }
    assert read_image_header(b"random bytes")["version"].startswith("unknown-")


def test_shell_basics_and_unknown_commands(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(1) as fleet:
            driver = make_driver(tmp_path)
            session = await driver.connect(record(fleet, driver), timeout=5)
            run = lambda line: session.run(line, timeout=5)  # noqa: E731
            assert (await run("echo -n a; echo b c")).output == "ab c\n"
            assert (await run("false && echo no || echo yes")).output == "yes\n"
            assert (await run("true; exit 7; echo never")).exit_status == 7
            assert (await run("uname -a")).output.startswith("Linux sim-000 ")
            missing = await run("frobnicate --all")
            assert missing.exit_status == 127 and "not found" in missing.output
            assert (await run("cat /a | grep x")).exit_status == 2
            await session.close()

    asyncio.run(scenario())


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition the fleet's own loop makes true, yielding to it meanwhile."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


def test_reboot_closes_the_port_until_it_is_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(1, reboot_seconds=0.5) as fleet:
            driver = make_driver(tmp_path)
            device = record(fleet, driver)
            session = await driver.connect(device, timeout=5)
            await session.reboot(timeout=5)
            node = fleet.nodes[0]
            await _until(lambda: not node.listening)
            await _until(lambda: node.listening)
            assert fleet.devices[0].reboots == 1

    asyncio.run(scenario())


def test_command_line_prints_ready_and_stops_on_sigterm(tmp_path: Path) -> None:
    base = random.randrange(22000, 31000)
    inventory = tmp_path / "fleet.csv"
    with subprocess.Popen(
        [sys.executable, "-m", "jobdesk.sim", "--devices", "5", "--base-port", str(base),
         "--seed", "3", "--faults", "offline@0", "--inventory", str(inventory)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline() == "ready\n"
            assert len(inventory.read_text().splitlines()) == 6
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()


def test_command_line_refuses_a_bad_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--devices", "2", "--faults", "melt@0"]) == 2
    assert "unknown fault 'melt'" in capsys.readouterr().err
