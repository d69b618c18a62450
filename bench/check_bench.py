"""Pre-flight check benchmark: `jobdesk check` over a simulated fleet, against one bare round.

The simulator runs in a second process (`jobdesk sim --devices N --record F`), as in
`fleet_bench.py`, whose helpers this reuses. Measured in the same run:

* jobdesk: `jobdesk check --type config-update --tag sim --file SNIPPET --json` with
  `max_parallel_devices` at its default (50) unless `--parallel` says otherwise, on a fresh
  database and data folder (every host key is new: accepted, not recorded). Per device it
  connects, reads the snippet's 4 keys (`cli get`, 4 at a time) and the upload folder's free
  space (SFTP statvfs), and closes. Wall time and CPU of the `jobdesk check` process;
* bare round: one "connection round" as a plain asyncssh script at the same concurrency:
  connect, `cli get ntp.server`, close — the least any per-device check can cost;
* bare, same reads: the same script making exactly the reads `jobdesk check` makes (4
  `cli get`, 4 at a time, and an SFTP statvfs, side by side), for jobdesk's own overhead.

It then checks that every verdict is `ready`, that the simulator's record holds no upload
and only reading commands, and that no known_hosts entry was written.

Usage: .venv/bin/python bench/check_bench.py [--devices 1000] [--parallel 50]
       [--base-port 24000] [--repeat 1] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet_bench import _env, jobdesk_command, measure, start_sim, stop_sim

ROOT = Path(__file__).resolve().parent.parent
SNIPPET = ("ntp.server = 10.0.0.1\nlan.name = bench\nsnmp.enabled = true\n"
           "syslog.host = 10.0.0.9\n")
READS = {"config_get", "config_dump", "cert_show", "sha256"}
KEYS = ("ntp.server", "lan.name", "snmp.enabled", "syslog.host")


async def _bare_device(row: dict[str, str], limit: asyncio.Semaphore, same: bool) -> str | None:
    """One connection round (connect, one command, close); with `same`, the very reads
    `jobdesk check` makes: 4 `cli get` (4 at a time) and an SFTP statvfs, side by side."""
    import asyncssh

    async def get(conn: asyncssh.SSHClientConnection, key: str) -> None:
        process = await conn.create_process(f"cli get {shlex.quote(key)}",
                                            stderr=asyncssh.STDOUT, encoding="utf-8")
        try:
            await process.wait()
        finally:
            process.close()

    async def free(conn: asyncssh.SSHClientConnection) -> None:
        sftp = await conn.start_sftp_client()
        try:
            await sftp.statvfs("/tmp")
        finally:
            sftp.exit()

    async with limit:
        try:
            async with asyncio.timeout(60):
                conn = await asyncssh.connect(
                    row["host"], int(row["port"]), username=row["user"], known_hosts=None,
                    client_keys=None, agent_path=None, config=None, x509_trusted_certs=None)
                try:
                    if same:
                        await asyncio.gather(*(get(conn, k) for k in KEYS), free(conn))
                    else:
                        await get(conn, KEYS[0])
                finally:
                    conn.close()
        except (OSError, asyncssh.Error, TimeoutError) as error:
            return f"{row['name']}: {type(error).__name__}: {error}"
    return None


async def _bare_main(inventory: Path, parallel: int, same: bool) -> dict[str, Any]:
    rows = list(csv.DictReader(inventory.open(encoding="utf-8")))
    limit = asyncio.Semaphore(parallel)
    started = time.perf_counter()
    errors = [e for e in await asyncio.gather(*(_bare_device(r, limit, same) for r in rows))
              if e]
    return {"seconds": time.perf_counter() - started, "failed": len(errors),
            "errors": errors[:5]}


def record_problems(record: Path) -> list[str]:
    """Anything in the simulator's record that is not a read."""
    from jobdesk.devices.profiles import ProfileLibrary
    from jobdesk.sim.record import read_record

    profile = ProfileLibrary().get("netmodule")
    problems = []
    for entry in read_record(record):
        if entry["kind"] != "exec":
            problems.append(f"{entry['device']}: {entry['kind']} {entry.get('path')}")
            continue
        matched = profile.match(shlex.split(entry["command"]))
        operation = matched[0] if matched else "command"
        if operation not in READS and not operation.startswith("info."):
            problems.append(f"{entry['device']}: {entry['command']}")
    return problems


def run_check(work: Path, inventory: Path, parallel: int | None) -> dict[str, Any]:
    home = work / "home"
    home.mkdir(parents=True)
    config = work / "settings.toml"
    config.write_text(f"max_parallel_devices = {parallel}\n" if parallel else "")
    env = _env(home)
    base = [*jobdesk_command(), "--db", str(work / "jobdesk.db"), "--config", str(config)]
    imported = measure([*base, "devices", "import", str(inventory)], env)
    if imported.returncode != 0:
        raise SystemExit(f"import failed: {imported.stderr.strip()}")
    snippet = work / "bench.cfg"
    snippet.write_text(SNIPPET)
    ran = measure([*base, "check", "--type", "config-update", "--tag", "sim", "--file",
                   str(snippet), "--json"], env)
    verdicts = json.loads(ran.stdout) if ran.returncode in (0, 4) else []
    counts: dict[str, int] = {}
    for verdict in verdicts:
        counts[verdict["verdict"]] = counts.get(verdict["verdict"], 0) + 1
    recorded = list((home / "data").rglob("known_hosts"))
    return {"wall": ran.wall, "cpu": ran.cpu, "rss": ran.maxrss_mb, "exit": ran.returncode,
            "counts": counts, "known_hosts": [str(p) for p in recorded if p.stat().st_size],
            "stderr": ran.stderr[-300:]}


def run_bare(work: Path, inventory: Path, parallel: int, same: bool) -> dict[str, Any]:
    work.mkdir(parents=True)
    done = measure([sys.executable, str(Path(__file__).resolve()), "--bare-worker",
                    "--inventory", str(inventory), "--parallel", str(parallel),
                    *(["--same-reads"] if same else [])], _env(work))
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = {"seconds": float("nan"), "failed": -1, "errors": [done.stderr[-300:]]}
    return {"wall": done.wall, "cpu": done.cpu, "failed": result["failed"],
            "errors": result["errors"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=None,
                        help="max_parallel_devices (default: the setting's default, 50)")
    parser.add_argument("--base-port", type=int, default=24000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--bare-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--inventory", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--same-reads", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_worker:
        result = asyncio.run(_bare_main(args.inventory, args.parallel, args.same_reads))
        print(json.dumps(result))
        return 0 if not result["failed"] else 1

    from jobdesk.settings import Settings

    parallel = args.parallel or Settings().max_parallel_devices
    work = Path(tempfile.mkdtemp(prefix="jobdesk-check-bench-"))
    inventory = work / "fleet.csv"
    record = work / "record.jsonl"
    sim = start_sim(args.devices, args.base_port, inventory, _env(work / "sim-home"),
                    record=record)
    ok = True
    lines = []
    try:
        print(f"simulator ready: {args.devices} devices from port {args.base_port}; "
              f"work folder {work}", flush=True)
        for repeat in range(args.repeat):
            bare = run_bare(work / f"bare-{repeat}", inventory, parallel, same=False)
            same = run_bare(work / f"same-{repeat}", inventory, parallel, same=True)
            ours = run_check(work / f"check-{repeat}", inventory, args.parallel)
            good = (ours["exit"] == 0 and ours["counts"] == {"ready": args.devices}
                    and not ours["known_hosts"] and bare["failed"] == 0
                    and same["failed"] == 0)
            ok = ok and good
            lines.append((ours, bare, same))
            print(f"  run {repeat + 1}: check {ours['wall']:.2f} s wall, {ours['cpu']:.2f} s "
                  f"CPU; bare round {bare['wall']:.2f} s; bare same reads {same['wall']:.2f} s"
                  f"{'' if good else '  FAILED ' + json.dumps([ours, bare, same])[:600]}",
                  flush=True)
    finally:
        sim_cpu = stop_sim(sim)
    problems = record_problems(record)
    ok = ok and not problems
    print(f"\n{args.devices} devices, `jobdesk check --type config-update` (4 keys + free "
          f"space), parallel {parallel}")
    header = (f"{'what':<24} {'wall s':>7} {'CPU s':>7} {'CPU ms/dev':>10} {'x bare':>7} "
              f"{'peak MB':>8}")
    print(header)
    print("-" * len(header))
    for ours, bare, same in lines:
        print(f"{'jobdesk check':<24} {ours['wall']:7.2f} {ours['cpu']:7.2f} "
              f"{ours['cpu'] / args.devices * 1000:10.2f} {ours['wall'] / bare['wall']:7.2f} "
              f"{ours['rss']:8.1f}")
        for label, row in (("bare, same reads", same), ("bare round (connect+1)", bare)):
            print(f"{label:<24} {row['wall']:7.2f} {row['cpu']:7.2f} "
                  f"{row['cpu'] / args.devices * 1000:10.2f} "
                  f"{row['wall'] / bare['wall']:7.2f}")
    print(f"verdicts: {lines[-1][0]['counts']}; known_hosts written: "
          f"{lines[-1][0]['known_hosts'] or 'none'}")
    print(f"record: {len(problems)} upload(s) or changing command(s)"
          + (f": {problems[:5]}" if problems else ""))
    print(f"simulator process: {sim_cpu:.1f} s CPU over the whole benchmark")
    print("PASS" if ok else "FAIL")
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
