"""Fleet benchmark: one configuration-update job over a simulated fleet, against bare asyncssh.

The simulator runs in a second process (`jobdesk sim --devices N --base-port P --inventory F`).
For each concurrency (default 50 and 200) the benchmark measures, in the same run:

* jobdesk: `jobdesk jobs create` then `jobdesk run --until-done` with `max_parallel_devices`
  set to the concurrency, in a fresh database and data folder; wall time from creating the
  job to the end of the run, the job's own time (creation to its last state change, read
  from the store), CPU seconds of both processes and the peak RSS of the runtime;
* bare: this file run as a subprocess (`--bare-worker`), a plain asyncssh script that sends
  exactly what jobdesk's netmodule profile sends for a config update, with the same
  concurrency: connect; `sha256sum FINAL`; SFTP put to a temporary name; `sha256sum TEMP`;
  SFTP rename; `cli update config FINAL`; `cli get KEY` for every key (4 at a time); close.

Every run sends a snippet with a content of its own, so no run finds the file already on the
devices (which would skip the upload). Devices' information is marked fresh in the database
before `jobdesk run` (as in a fleet in use), so the runtime does not add its device-info
refresh system job for 1,000 freshly imported devices (`--with-system-jobs` keeps it).

Usage: .venv/bin/python bench/fleet_bench.py [--devices 1000] [--parallel 50,200]
       [--base-port 24000] [--repeat 1] [--profile] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiled import compile_jobdesk

ROOT = Path(__file__).resolve().parent.parent
KEYS = ("ntp.server", "lan.name", "snmp.enabled", "syslog.host")
PARALLEL_COMMANDS = 4  # as jobdesk.devices.session: config_get reads in flight per device
WALL_TARGET_S = 15.0
WALL_RATIO_TARGET = 1.2  # jobdesk / bare asyncssh, wall and CPU, median over the repeats
CPU_RATIO_TARGET = 1.5
END_TARGET_MS = 100.0  # `run --until-done` exits within this of the last task's end


def snippet_text(label: str) -> str:
    return (
        f"# fleet benchmark, run {label}\n"
        "ntp.server = 10.0.0.1\n"
        f"lan.name = bench {label}\n"
        "snmp.enabled = true\n"
        "syslog.host = 10.0.0.9\n"
    )


# --- the bare asyncssh script ----------------------------------------------------------------


async def bare_run(conn: Any, command: str) -> Any:
    """One command as the bare scripts run it (an asyncssh process, output as text)."""
    import asyncssh

    process = await conn.create_process(command, stderr=asyncssh.STDOUT, encoding="utf-8",
                                        errors="replace")
    try:
        return await process.wait()
    finally:
        process.close()


async def _bare_device(
    row: dict[str, str], data: bytes, digest: str, remote: str, limit: asyncio.Semaphore
) -> str | None:
    import asyncssh

    def q(text: str) -> str:
        return shlex.quote(text)

    run = bare_run
    async with limit:
        try:
            async with asyncio.timeout(120):
                conn = await asyncssh.connect(
                    row["host"], int(row["port"]), username=row["user"], known_hosts=None,
                    client_keys=None, agent_path=None, config=None, x509_trusted_certs=None,
                )
                try:
                    found = await run(conn, f"sha256sum {q(remote)}")
                    if found.exit_status != 0 or str(found.stdout).split()[:1] != [digest]:
                        temp = f"{remote}.jobdesk-bare.part"
                        sftp = await conn.start_sftp_client()
                        try:
                            async with sftp.open(temp, "wb") as handle:
                                await handle.write(data)
                            check = await run(conn, f"sha256sum {q(temp)}")
                            if str(check.stdout).split()[:1] != [digest]:
                                return f"{row['name']}: checksum mismatch"
                            await sftp.posix_rename(temp, remote)
                        finally:
                            sftp.exit()
                    applied = await run(conn, f"cli update config {q(remote)}")
                    if applied.exit_status != 0:
                        return f"{row['name']}: apply exited {applied.exit_status}"
                    reads = asyncio.Semaphore(PARALLEL_COMMANDS)

                    async def get(key: str) -> str:
                        async with reads:
                            return str((await run(conn, f"cli get {q(key)}")).stdout).strip()

                    values = await asyncio.gather(*(get(k) for k in KEYS))
                    if values[0] != "10.0.0.1":
                        return f"{row['name']}: read back {values[0]!r}"
                finally:
                    conn.close()
        except (OSError, asyncssh.Error, TimeoutError) as error:
            return f"{row['name']}: {type(error).__name__}: {error}"
    return None


async def _bare_main(inventory: Path, snippet: Path, parallel: int, job_id: int) -> dict[str, Any]:
    import csv
    import hashlib

    rows = list(csv.DictReader(inventory.open(encoding="utf-8")))
    data = snippet.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    remote = f"/tmp/jobdesk-job{job_id}-snippet.cfg"
    limit = asyncio.Semaphore(parallel)
    started = time.perf_counter()
    errors = await asyncio.gather(*(_bare_device(r, data, digest, remote, limit) for r in rows))
    failed = [e for e in errors if e]
    return {"seconds": time.perf_counter() - started, "devices": len(rows),
            "failed": len(failed), "errors": failed[:5]}


def bare_worker(args: argparse.Namespace) -> int:
    result = asyncio.run(_bare_main(args.inventory, args.snippet, args.parallel, args.job_id))
    print(json.dumps(result))
    return 0 if not result["failed"] else 1


# --- measuring child processes ---------------------------------------------------------------


@dataclass
class Measured:
    wall: float
    cpu: float
    maxrss_mb: float
    returncode: int
    stdout: str
    stderr: str
    ended: float = 0.0  # time.time() when the child was reaped


def measure(command: list[str], env: dict[str, str], timeout: float = 600) -> Measured:
    """Run a child to its end; wall time, CPU (user+system) and peak RSS from wait4."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=ROOT)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        ended = time.time()
        out.seek(0)
        err.seek(0)
        return Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                        process.returncode, out.read(), err.read(), ended)


def jobdesk_command() -> list[str]:
    script = Path(sys.executable).with_name("jobdesk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "jobdesk.cli"]


# --- one jobdesk run -------------------------------------------------------------------------


@dataclass
class Row:
    tool: str
    parallel: int
    wall: float  # creating the job -> end of the run (jobdesk) / whole script (bare)
    job_s: float | None  # jobdesk: job created_at -> its last state change, from the store
    cpu: float
    maxrss_mb: float
    ok: bool
    note: str = ""
    parts: dict[str, float] = field(default_factory=dict)
    repeat: int = 0


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        # A headless benchmark box: no keyring daemon; passwords would go to the file.
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        PYTHONPATH=str(ROOT),
    )
    env.pop("SSH_AUTH_SOCK", None)
    return env


def _prepare(work: Path, inventory: Path, parallel: int, fresh_info: bool) -> dict[str, Any]:
    home = work / "home"
    home.mkdir(parents=True)
    config = work / "settings.toml"
    config.write_text(f"max_parallel_devices = {parallel}\n")
    db = work / "jobdesk.db"
    env = _env(home)
    base = [*jobdesk_command(), "--db", str(db), "--config", str(config)]
    done = measure([*base, "devices", "import", str(inventory)], env)
    if done.returncode != 0:
        raise SystemExit(f"import failed: {done.stderr.strip()}")
    if fresh_info:
        from jobdesk.runtime.clock import SystemClock
        from jobdesk.store import Store

        with Store(db) as store:
            now = SystemClock().now()
            for device in store.devices.list():
                store.devices.update_info(device.id, now, firmware="4.8.0.102")
    return {"env": env, "base": base, "db": db}


def _job_seconds(db: Path, job_id: int) -> tuple[str, float, int, int]:
    from jobdesk.store import Store
    from jobdesk.store.models import Job

    with Store(db) as store:
        job = Job.get_by_id(job_id)
        record = store.jobs.get(job_id)
        return (record.state, (job.updated_at - job.created_at).total_seconds(),
                record.progress_done, record.progress_total)


def last_task_end(db: Path, job_id: int) -> float:
    """When the job's last task reached its end (its last change), as time.time()."""
    from peewee import fn

    from jobdesk.store import Store
    from jobdesk.store.models import Task

    with Store(db):
        last = (Task.select(fn.MAX(Task.updated_at).alias("last"))
                .where(Task.job == job_id).get().last)
        return last.timestamp()


def run_jobdesk(work: Path, inventory: Path, parallel: int, label: str, *, fresh_info: bool,
                profile: Path | None) -> Row:
    prepared = _prepare(work, inventory, parallel, fresh_info)
    env, base, db = prepared["env"], prepared["base"], prepared["db"]
    snippet = work / "bench.cfg"
    snippet.write_text(snippet_text(label))
    create = measure([*base, "jobs", "create", "--type", "config-update", "--name", "bench",
                      "--tag", "sim", "--file", str(snippet), "--json"], env)
    if create.returncode != 0:
        raise SystemExit(f"jobs create failed: {create.stderr.strip()}")
    job_id = json.loads(create.stdout)["id"]
    runner = [*base, "run", "--until-done", "--max-seconds", "300"]
    if profile is not None:
        runner = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "jobdesk.cli",
                  *runner[len(jobdesk_command()):]]
    ran = measure(runner, env)
    state, job_s, done, total = _job_seconds(db, job_id)
    ok = ran.returncode == 0 and state == "Succeeded" and done == total
    note = "" if ok else f"exit {ran.returncode}, {state} {done}/{total}: {ran.stderr[-300:]}"
    return Row("jobdesk", parallel, create.wall + ran.wall, job_s, create.cpu + ran.cpu,
               ran.maxrss_mb, ok, note,
               {"create_wall": create.wall, "run_wall": ran.wall, "run_cpu": ran.cpu,
                "create_cpu": create.cpu,
                "end_ms": (ran.ended - last_task_end(db, job_id)) * 1000})


def run_bare(work: Path, inventory: Path, parallel: int, label: str) -> Row:
    work.mkdir(parents=True)
    snippet = work / "bench.cfg"
    snippet.write_text(snippet_text(label))
    env = _env(work)
    done = measure([sys.executable, str(Path(__file__).resolve()), "--bare-worker",
                    "--inventory", str(inventory), "--snippet", str(snippet),
                    "--parallel", str(parallel), "--job-id", "1"], env)
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = {"seconds": float("nan"), "failed": -1, "errors": [done.stderr[-300:]]}
    ok = done.returncode == 0 and result["failed"] == 0
    return Row("bare asyncssh", parallel, done.wall, None, done.cpu, done.maxrss_mb, ok,
               "" if ok else "; ".join(result.get("errors", []))[:300],
               {"in_script": result["seconds"]})


# --- the simulator ---------------------------------------------------------------------------


def start_sim(devices: int, base_port: int, inventory: Path, env: dict[str, str], *,
              record: Path | None = None) -> subprocess.Popen[str]:
    command = [*jobdesk_command(), "sim", "--devices", str(devices), "--base-port",
               str(base_port), "--inventory", str(inventory)]
    if record is not None:
        command += ["--record", str(record)]
    sim = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=env, cwd=ROOT)
    assert sim.stdout is not None
    line = sim.stdout.readline()
    if line.strip() != "ready":
        sim.kill()
        _, err = sim.communicate()
        raise SystemExit(f"the simulator did not start: {line!r} {err.strip()}")
    return sim


def stop_sim(sim: subprocess.Popen[str]) -> float:
    """Stop the simulator; returns its CPU seconds."""
    sim.terminate()
    _, _, usage = os.wait4(sim.pid, 0)
    sim.returncode = 0
    return usage.ru_utime + usage.ru_stime


def leave(work: Path, keep: bool, ok: bool) -> int:
    """Keep or remove the work folder; the exit status (0 only when every target passed)."""
    if keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


# --- report ----------------------------------------------------------------------------------


def print_table(rows: list[Row], devices: int) -> None:
    print(f"\n{devices} devices, one config-update job; wall = job created -> run ended")
    header = (f"{'tool':<14} {'parallel':>8} {'wall s':>8} {'job s':>7} {'CPU s':>7} "
              f"{'CPU ms/dev':>10} {'peak MB':>8}  ok")
    print(header)
    print("-" * len(header))
    for row in rows:
        job = f"{row.job_s:7.2f}" if row.job_s is not None else f"{'':>7}"
        print(f"{row.tool:<14} {row.parallel:>8} {row.wall:8.2f} {job} {row.cpu:7.2f} "
              f"{row.cpu / devices * 1000:10.2f} {row.maxrss_mb:8.1f}  "
              f"{'yes' if row.ok else 'NO ' + row.note}")
    for row in rows:
        if row.parts:
            parts = ", ".join(f"{k} {v:.2f}" for k, v in row.parts.items())
            print(f"  {row.tool} @{row.parallel}: {parts}")


def verdicts(rows: list[Row]) -> bool:
    """Each repeat's jobdesk run against the bare run next to it; the median of the ratios
    is judged, so a drift in the machine's speed between repeats cancels out."""
    ok = True
    for parallel in sorted({r.parallel for r in rows}):
        ours = {r.repeat: r for r in rows if r.tool == "jobdesk" and r.parallel == parallel}
        bare = {r.repeat: r for r in rows if r.tool != "jobdesk" and r.parallel == parallel}
        pairs = [(ours[k], bare[k]) for k in sorted(ours) if k in bare]
        if not pairs:
            continue
        wall = statistics.median(o.wall for o, _ in pairs)
        wall_ratio = statistics.median(o.wall / b.wall for o, b in pairs)
        cpu_ratio = statistics.median(o.cpu / b.cpu for o, b in pairs)
        end_ms = max(o.parts["end_ms"] for o, _ in pairs)
        checks = [("whole job", wall, WALL_TARGET_S, f"{wall:.2f} s", f"< {WALL_TARGET_S:g} s"),
                  ("wall vs bare", wall_ratio, WALL_RATIO_TARGET, f"{wall_ratio:.2f}x",
                   f"<= {WALL_RATIO_TARGET:g}x"),
                  ("CPU vs bare", cpu_ratio, CPU_RATIO_TARGET, f"{cpu_ratio:.2f}x",
                   f"<= {CPU_RATIO_TARGET:g}x"),
                  ("exit after the last task", end_ms, END_TARGET_MS, f"{end_ms:.0f} ms",
                   f"<= {END_TARGET_MS:g} ms")]
        passed = [value <= target for _, value, target, _, _ in checks]
        ok = ok and all(passed) and all(r.ok for pair in pairs for r in pair)
        print(f"parallel {parallel} (median of {len(pairs)}): " + "; ".join(
            f"{name} {shown} ({'PASS' if good else 'FAIL'} {target})"
            for (name, _, _, shown, target), good in zip(checks, passed, strict=True)))
    return ok


def print_profile(path: Path, top: int = 25) -> None:
    import pstats

    print(f"\ncProfile of `jobdesk run` ({path}), by own time:")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(top)
    print("by cumulative time:")
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--parallel", default="50,200", help="comma-separated concurrencies")
    parser.add_argument("--base-port", type=int, default=24000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each tool and concurrency")
    parser.add_argument("--with-system-jobs", action="store_true",
                        help="leave the imported devices' info stale (the runtime refreshes it)")
    parser.add_argument("--profile", action="store_true",
                        help="also run jobdesk once under cProfile (last concurrency)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--bare-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--inventory", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--snippet", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--job-id", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_worker:
        args.parallel = int(args.parallel)
        return bare_worker(args)
    compile_jobdesk()  # as an installed copy has it (bench/compiled.py)

    if args.base_port + args.devices > 32768:
        raise SystemExit("keep the simulator's ports below 32768 (the ephemeral range)")
    concurrencies = [int(p) for p in args.parallel.split(",") if p.strip()]
    work = Path(tempfile.mkdtemp(prefix="jobdesk-fleet-bench-"))
    inventory = work / "fleet.csv"
    sim = start_sim(args.devices, args.base_port, inventory, _env(work / "sim-home"))
    rows: list[Row] = []
    try:
        print(f"simulator ready: {args.devices} devices from port {args.base_port} "
              f"(pid {sim.pid}); work folder {work}", flush=True)
        number = 0
        for repeat in range(args.repeat):
            for parallel in concurrencies:
                for tool in ("bare", "jobdesk"):
                    number += 1
                    label = f"{number}-{tool}-{parallel}-{repeat}"
                    where = work / label
                    if tool == "bare":
                        row = run_bare(where, inventory, parallel, label)
                    else:
                        row = run_jobdesk(where, inventory, parallel, label,
                                          fresh_info=not args.with_system_jobs, profile=None)
                    row.repeat = repeat
                    rows.append(row)
                    print(f"  {row.tool:<14} parallel {parallel:>4}: {row.wall:6.2f} s wall, "
                          f"{row.cpu:6.2f} s CPU{'' if row.ok else '  FAILED ' + row.note}",
                          flush=True)
        profile_path = None
        if args.profile:
            number += 1
            profile_path = work / "run.prof"
            row = run_jobdesk(work / f"{number}-profile", inventory, concurrencies[-1],
                              f"{number}-profile", fresh_info=not args.with_system_jobs,
                              profile=profile_path)
            print(f"  profiled jobdesk run: {row.wall:.2f} s wall (cProfile overhead included)")
    finally:
        sim_cpu = stop_sim(sim)
    print_table(rows, args.devices)
    print(f"simulator process: {sim_cpu:.1f} s CPU over the whole benchmark")
    ok = verdicts(rows)
    if profile_path is not None:
        print_profile(profile_path)
    own = resource.getrusage(resource.RUSAGE_SELF)
    print(f"(benchmark driver itself: {own.ru_utime + own.ru_stime:.1f} s CPU)")
    return leave(work, args.keep, ok)


if __name__ == "__main__":
    sys.exit(main())
