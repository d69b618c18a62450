"""Real-sshd fleet benchmark: a device-info job over N OpenSSH servers on loopback.

Real OpenSSH `sshd` processes (a few daemons, each listening on up to 16 `Port` lines, the
most one sshd takes; key authentication only, as in tests/test_real_sshd.py) stand in for
N devices. Each device is imported with the `generic-linux` profile; the client key is the
runtime's default key (`~/.ssh/id_ed25519` of the benchmark's home), as on a laptop.

For each concurrency, interleaved and repeated, the benchmark measures as whole processes:

* jobdesk: `jobdesk jobs create --type device-info --tag sshd`, then `jobdesk run
  --until-done` with `max_parallel_devices` = the concurrency (fresh database and data
  folder each time; host keys are new, so trust on first use records N keys);
* bare asyncssh: this file as a subprocess (`--bare-worker`), one connection per device,
  the same concurrency and exactly the commands the profile's device information takes
  (its info commands and `cert_show`, 4 at a time, as jobdesk sends them), read from the
  profile itself; asyncssh's default cipher order (ChaCha20-Poly1305 first);
* bare, AES-GCM: the same script with jobdesk's cipher order (`cipher_preference()`), to
  show what jobdesk's own bookkeeping costs apart from the cipher it picks;
* Ansible, when `ansible-playbook` is found (`--ansible PATH` or on PATH): a play with one
  `raw` task per command, `gather_facts: false`, the same forks.

Wall and CPU (user + system of the process and the children it waited for, `wait4`); the
verdicts compare jobdesk with the bare script of the same repeat: median ratio over the
repeats, <= 1.2x wall and <= 1.5x CPU.

Usage: .venv/bin/python bench/sshd_bench.py [--devices 200] [--parallel 50,200]
       [--repeat 3] [--base-port 23000] [--ansible PATH] [--ansible-repeat 1] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from compiled import compile_jobdesk

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import fleet_bench as fb  # noqa: E402  (the same process measuring and environment)

SSHD = Path("/usr/sbin/sshd")
PORTS_PER_DAEMON = 16  # OpenSSH's MAX_LISTEN_SOCKS
PARALLEL_COMMANDS = 4  # as jobdesk.devices.session
WALL_RATIO_TARGET = 1.2
CPU_RATIO_TARGET = 1.5


# --- the bare asyncssh script ----------------------------------------------------------------


async def _bare_device(row: dict[str, str], key: Any, info: list[str], cert: str,
                       limit: asyncio.Semaphore, ciphers: list[str] | None) -> str | None:
    import asyncssh

    async def run(conn: asyncssh.SSHClientConnection, command: str) -> str:
        return str((await fb.bare_run(conn, command)).stdout)

    async with limit:
        try:
            async with asyncio.timeout(120):
                conn = await asyncssh.connect(
                    row["host"], int(row["port"]), username=row["user"], known_hosts=None,
                    client_keys=[key], agent_path=None, config=None, x509_trusted_certs=None,
                    **({"encryption_algs": ciphers} if ciphers else {}),
                )
                try:
                    reads = asyncio.Semaphore(PARALLEL_COMMANDS)

                    async def one(command: str) -> str:
                        async with reads:
                            return await run(conn, command)

                    outputs = await asyncio.gather(*(one(c) for c in [*info, cert]))
                    if not any(outputs):
                        return f"{row['name']}: no output"
                finally:
                    conn.close()
        except (OSError, asyncssh.Error, TimeoutError) as error:
            return f"{row['name']}: {type(error).__name__}: {error}"
    return None


async def _bare_main(args: argparse.Namespace) -> dict[str, Any]:
    import asyncssh

    rows = list(csv.DictReader(args.inventory.open(encoding="utf-8")))
    commands = json.loads(args.commands.read_text())
    key = asyncssh.read_private_key(str(args.key))
    limit = asyncio.Semaphore(args.parallel)
    ciphers = commands["ciphers"] if args.same_ciphers else None
    errors = await asyncio.gather(*(_bare_device(r, key, commands["info"], commands["cert"],
                                                 limit, ciphers) for r in rows))
    failed = [e for e in errors if e]
    return {"devices": len(rows), "failed": len(failed), "errors": failed[:5]}


def bare_worker(args: argparse.Namespace) -> int:
    result = asyncio.run(_bare_main(args))
    print(json.dumps(result))
    return 0 if not result["failed"] else 1


def profile_commands() -> dict[str, Any]:
    """The commands jobdesk sends for a device's information, from the profile itself."""
    from jobdesk.devices.profiles import ProfileLibrary
    from jobdesk.devices.ssh import cipher_preference

    profile = ProfileLibrary().get("generic-linux")
    info = sorted({source.template.source for source in profile.info.values()})
    return {"info": info, "cert": profile.render("cert_show"), "ciphers": cipher_preference()}


# --- the daemons ---------------------------------------------------------------------------


def start_daemons(work: Path, devices: int, base_port: int) -> list[subprocess.Popen[bytes]]:
    import asyncssh

    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation folder
    key = asyncssh.generate_private_key("ssh-ed25519")
    (work / "authorized_keys").write_bytes(key.export_public_key("openssh"))
    home_ssh = work / "client"
    home_ssh.mkdir()
    (home_ssh / "id_ed25519").write_bytes(key.export_private_key("openssh"))
    (home_ssh / "id_ed25519").chmod(0o600)
    # Bash runs ~/.bashrc for a command that arrives over SSH; root's on a developer box can
    # start a version manager's rehash (hundreds of processes at 50 devices at once). The
    # sessions get an empty home, so the measurement holds the device's commands only.
    (work / "device-home").mkdir()
    daemons = []
    for first in range(0, devices, PORTS_PER_DAEMON):
        number = first // PORTS_PER_DAEMON
        host_key = work / f"host{number}_ed25519"
        host_key.write_bytes(asyncssh.generate_private_key("ssh-ed25519")
                             .export_private_key("openssh"))
        host_key.chmod(0o600)
        ports = range(base_port + first, base_port + min(first + PORTS_PER_DAEMON, devices))
        config = work / f"sshd{number}_config"
        config.write_text(
            "".join(f"Port {p}\n" for p in ports)
            + f"ListenAddress 127.0.0.1\nHostKey {host_key}\n"
            f"PidFile {work / f'sshd{number}.pid'}\nAuthorizedKeysFile {work / 'authorized_keys'}\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nUseDNS no\n"
            "Subsystem sftp internal-sftp\nMaxStartups 400\nMaxSessions 20\nLogLevel ERROR\n"
            f"SetEnv HOME={work / 'device-home'}\n"
        )
        daemons.append(subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    deadline = time.monotonic() + 20
    for port in range(base_port, base_port + devices):
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or any(d.poll() is not None for d in daemons):
                stop_daemons(daemons)
                raise SystemExit(f"sshd did not listen on port {port} (port taken?)")
            time.sleep(0.05)
    return daemons


def stop_daemons(daemons: list[subprocess.Popen[bytes]]) -> None:
    for daemon in daemons:
        daemon.terminate()
    for daemon in daemons:
        daemon.wait(10)


def write_inventory(path: Path, devices: int, base_port: int) -> None:
    user = "root" if os.geteuid() == 0 else os.environ.get("USER", "root")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "host", "port", "user", "profile", "tags"])
        for index in range(devices):
            writer.writerow([f"gw{index:04d}", "127.0.0.1", base_port + index, user,
                             "generic-linux", "sshd"])


# --- one run of each tool --------------------------------------------------------------------


def _home(work: Path, client: Path) -> Path:
    home = work / "home"
    (home / ".ssh").mkdir(parents=True)
    shutil.copy(client / "id_ed25519", home / ".ssh" / "id_ed25519")
    (home / ".ssh" / "id_ed25519").chmod(0o600)
    return home


def run_jobdesk(work: Path, inventory: Path, client: Path, parallel: int) -> dict[str, Any]:
    home = _home(work, client)
    env = fb._env(home)
    config = work / "settings.toml"
    config.write_text(f"max_parallel_devices = {parallel}\n")
    db = work / "jobdesk.db"
    base = [*fb.jobdesk_command(), "--db", str(db), "--config", str(config)]
    imported = fb.measure([*base, "devices", "import", str(inventory)], env)
    if imported.returncode != 0:
        raise SystemExit(f"import failed: {imported.stderr.strip()}")
    create = fb.measure([*base, "jobs", "create", "--type", "device-info", "--name", "bench",
                         "--tag", "sshd", "--json"], env)
    if create.returncode != 0:
        raise SystemExit(f"jobs create failed: {create.stderr.strip()}")
    job_id = json.loads(create.stdout)["id"]
    ran = fb.measure([*base, "run", "--until-done", "--max-seconds", "300"], env)
    state, job_s, done, total = fb._job_seconds(db, job_id)
    ok = ran.returncode == 0 and state == "Succeeded" and done == total
    return {"wall": create.wall + ran.wall, "cpu": create.cpu + ran.cpu, "run_wall": ran.wall,
            "run_cpu": ran.cpu, "job_s": job_s, "rss": ran.maxrss_mb, "ok": ok,
            "end_ms": (ran.ended - fb.last_task_end(db, job_id)) * 1000,
            "note": "" if ok else f"{state} {done}/{total}: {ran.stderr[-300:]}"}


def run_bare(work: Path, inventory: Path, client: Path, commands: Path,
             parallel: int, same_ciphers: bool) -> dict[str, Any]:
    work.mkdir(parents=True)
    done = fb.measure([sys.executable, str(Path(__file__).resolve()), "--bare-worker",
                       "--inventory", str(inventory), "--key", str(client / "id_ed25519"),
                       "--commands", str(commands), "--parallel", str(parallel),
                       *(["--same-ciphers"] if same_ciphers else [])],
                      fb._env(work))
    ok = done.returncode == 0
    return {"wall": done.wall, "cpu": done.cpu, "rss": done.maxrss_mb, "ok": ok,
            "note": "" if ok else (done.stdout + done.stderr)[-300:]}


def run_ansible(ansible: str, work: Path, inventory: Path, client: Path,
                commands: dict[str, Any], parallel: int) -> dict[str, Any]:
    home = _home(work, client)
    hosts = work / "hosts.ini"
    with inventory.open(encoding="utf-8") as handle:
        lines = [f"{r['name']} ansible_host={r['host']} ansible_port={r['port']} "
                 f"ansible_user={r['user']}" for r in csv.DictReader(handle)]
    hosts.write_text("[sshd]\n" + "\n".join(lines) + "\n")
    tasks = [{"name": f"read {n}", "raw": c, "changed_when": False}
             for n, c in enumerate([*commands["info"], commands["cert"]])]
    tasks[-1]["failed_when"] = False  # no certificate on these hosts: jobdesk reads it anyway
    play = work / "play.yml"
    play.write_text(json.dumps([{"hosts": "sshd", "gather_facts": False, "tasks": tasks}]))
    env = fb._env(home)
    env.update(ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_PRIVATE_KEY_FILE=str(
        home / ".ssh" / "id_ed25519"), ANSIBLE_FORKS=str(parallel), LANG="C.UTF-8",
        ANSIBLE_LOCAL_TEMP=str(work / "tmp"), ANSIBLE_NOCOLOR="1")
    done = fb.measure([ansible, "-i", str(hosts), str(play)], env)
    ok = done.returncode == 0
    return {"wall": done.wall, "cpu": done.cpu, "rss": done.maxrss_mb, "ok": ok,
            "note": "" if ok else done.stdout[-300:]}


# --- report ----------------------------------------------------------------------------------


def report(results: list[dict[str, Any]], devices: int) -> bool:
    print(f"\n{devices} real sshd devices, device-info; median of the repeats "
          "(jobdesk wall = job created -> run ended)")
    print(f"{'tool':<14} {'parallel':>8} {'wall s':>8} {'CPU s':>7} {'CPU ms/dev':>10} "
          f"{'peak MB':>8} {'runs':>5}")
    ok = True
    for parallel in sorted({r["parallel"] for r in results}):
        mine = [r for r in results if r["parallel"] == parallel]
        for tool in ("bare asyncssh", "bare, AES-GCM", "jobdesk", "ansible"):
            rows = [r for r in mine if r["tool"] == tool]
            if not rows:
                continue
            wall = statistics.median(r["wall"] for r in rows)
            cpu = statistics.median(r["cpu"] for r in rows)
            rss = statistics.median(r["rss"] for r in rows)
            print(f"{tool:<14} {parallel:>8} {wall:8.2f} {cpu:7.2f} "
                  f"{cpu / devices * 1000:10.2f} {rss:8.1f} {len(rows):>5}"
                  + ("" if all(r["ok"] for r in rows) else "  FAILED"))
            ok = ok and all(r["ok"] for r in rows)
        ours = [r for r in mine if r["tool"] == "jobdesk"]
        if ours:
            print(f"  jobdesk run alone: {statistics.median(r['run_wall'] for r in ours):.2f} "
                  f"s wall, {statistics.median(r['run_cpu'] for r in ours):.2f} s CPU; exit "
                  f"after the last task's end: {max(r['end_ms'] for r in ours):.0f} ms (max)")
        pairs = [(o, b) for o in ours for b in mine
                 if b["tool"] == "bare asyncssh" and b["repeat"] == o["repeat"]]
        if not pairs:
            continue
        wall_ratio = statistics.median(o["wall"] / b["wall"] for o, b in pairs)
        cpu_ratio = statistics.median(o["cpu"] / b["cpu"] for o, b in pairs)
        ok = ok and wall_ratio <= WALL_RATIO_TARGET and cpu_ratio <= CPU_RATIO_TARGET
        same = [(o, b) for o in ours for b in mine
                if b["tool"] == "bare, AES-GCM" and b["repeat"] == o["repeat"]]
        if same:
            print(f"  (info) jobdesk / bare asyncssh with jobdesk's cipher order: "
                  f"{statistics.median(o['wall'] / b['wall'] for o, b in same):.2f}x wall, "
                  f"{statistics.median(o['cpu'] / b['cpu'] for o, b in same):.2f}x CPU")
        print(f"parallel {parallel}: jobdesk / bare asyncssh {wall_ratio:.2f}x wall "
              f"({'PASS' if wall_ratio <= WALL_RATIO_TARGET else 'FAIL'} <= "
              f"{WALL_RATIO_TARGET}x), {cpu_ratio:.2f}x CPU "
              f"({'PASS' if cpu_ratio <= CPU_RATIO_TARGET else 'FAIL'} <= {CPU_RATIO_TARGET}x)")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--parallel", default="50,200", help="comma-separated concurrencies")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--base-port", type=int, default=23000)
    parser.add_argument("--ansible", default=shutil.which("ansible-playbook"),
                        help="ansible-playbook to compare with (default: the one on PATH)")
    parser.add_argument("--ansible-repeat", type=int, default=1,
                        help="repeats that run the Ansible play too (it is slow: the first)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--bare-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--inventory", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--key", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--commands", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--same-ciphers", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_worker:
        args.parallel = int(args.parallel)
        return bare_worker(args)
    compile_jobdesk()  # as an installed copy has it (bench/compiled.py)
    if not SSHD.exists():
        raise SystemExit("needs /usr/sbin/sshd (apt-get install openssh-server)")
    if args.base_port + args.devices > 32768:
        raise SystemExit("keep the ports below 32768 (the ephemeral range)")
    if os.geteuid() != 0:
        raise SystemExit("sshd on many ports with key login as root: run as root")
    concurrencies = [int(p) for p in args.parallel.split(",") if p.strip()]
    work = Path(tempfile.mkdtemp(prefix="jobdesk-sshd-bench-"))
    inventory = work / "fleet.csv"
    write_inventory(inventory, args.devices, args.base_port)
    commands = profile_commands()
    commands_file = work / "commands.json"
    commands_file.write_text(json.dumps(commands))
    daemons = start_daemons(work, args.devices, args.base_port)
    client = work / "client"
    load = os.getloadavg()[0]
    print(f"{len(daemons)} sshd daemons, {args.devices} ports from {args.base_port}; "
          f"commands per device: {len(commands['info'])} info + cert_show; ansible: "
          f"{args.ansible or 'not found, skipped'}; load {load:.2f}", flush=True)
    results: list[dict[str, Any]] = []
    try:
        number = 0
        for repeat in range(args.repeat):
            for parallel in concurrencies:
                ansible = args.ansible and repeat < args.ansible_repeat
                tools = ["bare asyncssh", "bare, AES-GCM", "jobdesk"] + (
                    ["ansible"] if ansible else [])
                for tool in tools:
                    number += 1
                    where = work / f"{number}-{tool.split()[0].strip(',')}-{parallel}"
                    if tool == "jobdesk":
                        row = run_jobdesk(where, inventory, client, parallel)
                    elif tool == "ansible":
                        row = run_ansible(args.ansible, where, inventory, client, commands,
                                          parallel)
                    else:
                        row = run_bare(where, inventory, client, commands_file, parallel,
                                       same_ciphers=tool != "bare asyncssh")
                    row.update(tool=tool, parallel=parallel, repeat=repeat)
                    results.append(row)
                    print(f"  {tool:<14} parallel {parallel:>4}: {row['wall']:6.2f} s wall, "
                          f"{row['cpu']:6.2f} s CPU"
                          + ("" if row["ok"] else f"  FAILED {row['note']}"), flush=True)
    finally:
        stop_daemons(daemons)
    ok = report(results, args.devices)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return fb.leave(work, args.keep, ok)


if __name__ == "__main__":
    sys.exit(main())
