"""Team benchmark: runtimes sharing one PostgreSQL database over a simulated fleet.

A throwaway PostgreSQL cluster (Debian's `postgresql` package, started as in the tests) and
a simulated fleet (`jobdesk sim --record`) in processes of their own. Then:

1. one configuration-update job over the fleet, driven by 1 and then by 3 `jobdesk run`
   processes (each `max_parallel_devices` 50): wall time from the runtimes' start to the
   last one's exit, the CPU of each runtime, and, from the simulator's record, how often
   each device received its snippet (must be exactly once);
2. claim latency: 3 processes each claiming batches of 32 from 1,000 due tasks at once
   (`TaskQueue.claim_due`, one transaction each), p50/p95 of a claim, and that no task was
   claimed twice;
3. a kill: 3 runtimes, one killed with SIGKILL mid-run. Everything finishes, the time
   until its running tasks were taken over is measured, and the record shows which
   devices received their snippet twice (only those whose step was in flight).

Usage: .venv/bin/python bench/team_bench.py [--devices 1000] [--base-port 24000]
       [--lease 20] [--keep]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fleet_bench import _env, jobdesk_command, snippet_text, start_sim, stop_sim  # noqa: E402

from jobdesk.sim.record import read_record  # noqa: E402
from tests.postgres_cluster import Cluster, find_binaries  # noqa: E402


def _database(cluster: Cluster, work: Path, name: str, inventory: Path,
              settings: str) -> dict[str, Any]:
    url = cluster.new_database()
    home = work / name
    home.mkdir(parents=True)
    config = home / "settings.toml"
    config.write_text(settings)
    env = _env(home)
    base = [*jobdesk_command(), "--db", url, "--config", str(config)]
    subprocess.run([*base, "devices", "import", str(inventory)], env=env, check=True,
                   capture_output=True, cwd=ROOT)
    from jobdesk.runtime.clock import SystemClock
    from jobdesk.store import Store

    with Store(url) as store:  # a fleet in use: no info refresh jobs for all of it
        now = SystemClock().now()
        store.db.execute_sql("UPDATE device SET info_updated_at = %s, firmware = '4.8.0.102'",
                             (int(now.timestamp() * 1_000_000),))
    snippet = home / "bench.cfg"
    snippet.write_text(snippet_text(name))
    created = subprocess.run(
        [*base, "jobs", "create", "--type", "config-update", "--name", name, "--tag", "sim",
         "--file", str(snippet), "--json"],
        env=env, check=True, capture_output=True, text=True, cwd=ROOT)
    return {"url": url, "base": base, "env": env, "job": json.loads(created.stdout)["id"]}


def _start_runtimes(db: dict[str, Any], count: int) -> list[subprocess.Popen[str]]:
    return [subprocess.Popen([*db["base"], "run", "--until-done", "--max-seconds", "900"],
                             env=db["env"], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, text=True) for _ in range(count)]


def _wait_all(runtimes: list[subprocess.Popen[str]]) -> list[tuple[int, float]]:
    """(exit code, CPU seconds) of each runtime, by wait4."""
    results = []
    for runtime in runtimes:
        _, status, usage = os.wait4(runtime.pid, 0)
        runtime.returncode = os.waitstatus_to_exitcode(status)
        results.append((runtime.returncode, usage.ru_utime + usage.ru_stime))
    return results


def _deliveries(record: Path, since: int, job_id: int) -> Counter[str]:
    """Per device: how often the job's snippet arrived (uploads to its path)."""
    target = f"/tmp/jobdesk-job{job_id}-snippet.cfg"
    return Counter(e["device"] for e in read_record(record)[since:]
                   if e["kind"] == "upload" and e["path"].startswith(target))


def _job_state(db: dict[str, Any]) -> str:
    shown = subprocess.run([*db["base"], "jobs", "show", str(db["job"]), "--json"],
                           env=db["env"], capture_output=True, text=True, cwd=ROOT, check=True)
    return str(json.loads(shown.stdout)["state"])


def phase_runtimes(cluster: Cluster, work: Path, inventory: Path, record: Path,
                   devices: int, count: int) -> dict[str, Any]:
    db = _database(cluster, work, f"runtimes-{count}", inventory, "")
    since = len(read_record(record))
    started = time.perf_counter()
    results = _wait_all(_start_runtimes(db, count))
    wall = time.perf_counter() - started
    delivered = _deliveries(record, since, db["job"])
    return {
        "runtimes": count, "wall_s": round(wall, 2),
        "cpu_s": [round(cpu, 2) for _, cpu in results],
        "exit_codes": [code for code, _ in results], "state": _job_state(db),
        "devices_delivered": len(delivered), "delivered_twice": sum(
            1 for n in delivered.values() if n > 1),
        "exactly_once": len(delivered) == devices and set(delivered.values()) == {1},
    }


def _claimer(url: str, name: str, out: Any) -> None:
    from jobdesk.runtime.clock import SystemClock
    from jobdesk.store import Store

    store = Store(url)
    clock = SystemClock()
    durations, claimed = [], []
    while True:
        began = time.perf_counter()
        attempts, _ = store.queue.claim_due(name, clock.now(), 32, refresh=False)
        durations.append((time.perf_counter() - began) * 1000)
        if not attempts:
            break
        claimed.extend(a.task.id for a in attempts)
    store.close()
    out.put((durations, claimed))


def phase_claims(cluster: Cluster, work: Path, inventory: Path) -> dict[str, Any]:
    db = _database(cluster, work, "claims", inventory, "")
    queue: Any = multiprocessing.get_context("spawn").Queue()
    workers = [multiprocessing.get_context("spawn").Process(
        target=_claimer, args=(db["url"], f"bench:{n}:x", queue)) for n in range(3)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join()
    durations = sorted(d for ds, _ in results for d in ds)
    claimed = Counter(t for _, ts in results for t in ts)
    return {
        "claims": len(durations), "tasks_claimed": len(claimed),
        "claimed_twice": sum(1 for n in claimed.values() if n > 1),
        "p50_ms": round(statistics.median(durations), 2),
        "p95_ms": round(durations[int(len(durations) * 0.95) - 1], 2),
    }


def phase_kill(cluster: Cluster, work: Path, inventory: Path, record: Path, devices: int,
               lease: int) -> dict[str, Any]:
    db = _database(cluster, work, "kill", inventory, f"claim_lease_s = {lease}\n")
    since = len(read_record(record))
    from jobdesk.store import Store

    runtimes = _start_runtimes(db, 3)
    victim = runtimes[0]
    with Store(db["url"]) as store:
        def held_by_victim() -> int:
            (count,) = store.db.execute_sql(
                "SELECT COUNT(*) FROM task WHERE state = 'Running' AND claimed_by LIKE %s",
                (f"%:{victim.pid}:%",)).fetchone()
            return int(count)

        while held_by_victim() < 10:
            time.sleep(0.05)
        held = held_by_victim()
        victim.send_signal(signal.SIGKILL)
        killed = time.perf_counter()
        while held_by_victim():
            time.sleep(0.05)
        taken_over = time.perf_counter() - killed
    results = _wait_all(runtimes)
    delivered = _deliveries(record, since, db["job"])
    return {
        "victim_held": held, "taken_over_s": round(taken_over, 2), "lease_s": lease,
        "survivors_exit": [code for code, _ in results[1:]], "state": _job_state(db),
        "devices_delivered": len(delivered), "all_delivered": len(delivered) == devices,
        "delivered_twice": sum(1 for n in delivered.values() if n > 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--base-port", type=int, default=24000)
    parser.add_argument("--lease", type=int, default=20,
                        help="claim_lease_s for the kill phase (default 20)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    binaries = find_binaries()
    if binaries is None:
        raise SystemExit("PostgreSQL is needed: apt-get install postgresql")
    work = Path(tempfile.mkdtemp(prefix="jobdesk-team-bench-"))
    inventory, record = work / "fleet.csv", work / "record.jsonl"
    cluster = Cluster(binaries)
    env = _env(work / "sim-home")
    sim = start_sim(args.devices, args.base_port, inventory, env, record=record)
    report: dict[str, Any] = {"devices": args.devices}
    try:
        for count in (1, 3):
            report[f"runtimes_{count}"] = phase_runtimes(cluster, work, inventory, record,
                                                         args.devices, count)
            print(json.dumps(report[f"runtimes_{count}"]), flush=True)
        report["claims"] = phase_claims(cluster, work, inventory)
        print(json.dumps(report["claims"]), flush=True)
        report["kill"] = phase_kill(cluster, work, inventory, record, args.devices,
                                    args.lease)
        print(json.dumps(report["kill"]), flush=True)
    finally:
        stop_sim(sim)
        cluster.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    ok = (all(report[f"runtimes_{n}"]["exactly_once"] for n in (1, 3))
          and report["claims"]["claimed_twice"] == 0
          and report["kill"]["all_delivered"] and report["kill"]["state"] == "Succeeded"
          and report["kill"]["taken_over_s"] <= args.lease + 5)
    print(json.dumps(report, indent=1))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
