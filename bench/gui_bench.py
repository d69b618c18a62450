"""Window benchmark: launch, search, job detail and UI stalls of the jobdesk desktop window.

Runs offscreen (QT_QPA_PLATFORM=offscreen) and measures, each several times (median, max):

1. launch to first painted rows: a fresh process opens the window (`run_window`, exactly as
   `jobdesk` does, runtime included) on 100,000 jobs / 1,000,000 tasks; the clock starts in
   the launcher just before it starts the process and stops when the jobs table has painted
   real rows (not the "…" placeholder);
2. a search typed into the search box: from the debounce firing (the model's reload) to the
   filtered rows painted, and end to end (including the 150 ms debounce);
3. selecting a job with 1,000 tasks: until the detail pane holds the 1,000 tasks and painted;
4. the longest stall of the UI event loop (a 10 ms QTimer heartbeat) while the real runtime
   (RuntimeHost + Engine + SSH driver) drives 500 simulated devices (`jobdesk sim`, in a
   second process) through a config-update and a command job, max_parallel_devices 50 and 200;
5. peak memory (ru_maxrss) of the window process in 1 and 4.

Usage: .venv/bin/python bench/gui_bench.py [--runs 5] [--reps 10] [--fleet-runs 3]
       [--devices 500] [--parallel 50,200] [--skip-fleet] [--keep]

The 100,000-job database is store_bench's (generated with its generator, or reused from
$TMPDIR/jobdesk-bench/); the window works on a scratch copy of it with one more job of 1,000
tasks, so the cached database stays as store_bench expects it. The processes measured are
children of this script (`--child launch|ui|fleet`); each prints one `RESULT {json}` line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from compiled import compile_jobdesk

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TARGET_LAUNCH_S = 1.5
TARGET_SEARCH_MS = 100.0
TARGET_DETAIL_MS = 100.0
TARGET_STALL_MS = 50.0  # at 200 devices at once
TARGET_STALL_FEW_MS = 35.0  # at 50 at once (or fewer)
TARGET_RSS_MB = 300.0
HEARTBEAT_MS = 10
SNIPPET = "ntp.server = 10.0.0.1\nlan.name = plant floor 2\nsnmp.enabled = true\n"
RARE_TERMS = ("#4242", "#17", "#9031", "#555", "#2718", "#3141", "#8080", "#1999", "#6007",
              "#7321", "#4711", "#2024")
BROAD_TERMS = ("config", "command", "reboot", "firmware")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _report(result: dict[str, Any]) -> None:
    print("RESULT " + json.dumps(result), flush=True)


# --- children: the window processes ----------------------------------------------------


def _probed_run_window(db: Path, config: Path, hook: Any) -> int:
    """`run_window` exactly as `jobdesk` runs it; `hook(window)` runs once it is built."""
    import jobdesk.ui.app as app_module

    base = app_module.MainWindow

    class ProbedWindow(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            hook(self)

    app_module.MainWindow = ProbedWindow
    return app_module.run_window(db, config)


def _paint_watch(widget: Any, condition: Any, done: Any) -> Any:
    """Call `done(seconds)` once `widget` painted while `condition()` held.

    The filter sees the Paint event before the view paints; a zero-timer after it runs once
    the paint (and the backing store flush) is over, so the time taken then includes it.
    """
    from PySide6.QtCore import QEvent, QObject, QTimer

    class Watch(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.armed = False

        def eventFilter(self, obj: Any, event: Any) -> bool:
            if self.armed and event.type() == QEvent.Type.Paint and condition():
                self.armed = False
                QTimer.singleShot(0, lambda: done(time.perf_counter()))
            return False

    watch = Watch()
    widget.installEventFilter(watch)
    return watch


def child_launch(args: argparse.Namespace) -> int:
    """Figure 1: from the launcher's clock to the first real rows painted."""
    started_wall = args.t0
    interpreter_ready = time.time()
    marks: dict[str, float] = {"interpreter": interpreter_ready - started_wall}
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    marks["qt_imported"] = time.time() - started_wall
    state: dict[str, Any] = {}

    def finish_later() -> None:
        # The window keeps running (runtime included) a moment: the memory it settles at.
        marks["rss_at_paint_mb"] = _rss_mb()
        QTimer.singleShot(int(args.settle * 1000), finish)

    def finish() -> None:
        window = state["window"]
        _report({"launch_s": state["painted"], "marks": marks, "rss_mb": _rss_mb(),
                 "rows": window.model.rowCount()})
        os._exit(0)  # the runtime may be waiting on unreachable devices: do not wait for it

    def hook(window: Any) -> None:
        state["window"] = window
        marks["window_built"] = time.time() - started_wall
        model = window.model
        model.loaded.connect(lambda: marks.setdefault("ids_loaded", time.time() - started_wall))

        def real_rows() -> bool:
            first = model.job_id(0)
            return first is not None and model.record(first) is not None

        def painted(_perf: float) -> None:
            state["painted"] = time.time() - started_wall
            finish_later()

        state["watch"] = _paint_watch(window.table.viewport(), real_rows, painted)
        state["watch"].armed = True

    app = QApplication.instance() or QApplication(sys.argv[:1])
    marks["qapplication"] = time.time() - started_wall
    QTimer.singleShot(int(args.timeout * 1000), lambda: (_report({"error": "timeout"}),
                                                        os._exit(3)))
    if args.no_runtime:
        code = _window_without_runtime(app, args.db, args.config, hook)
    else:
        code = _probed_run_window(args.db, args.config, hook)
    del app
    return code


def _window_without_runtime(app: Any, db: Path, config: Path, hook: Any) -> int:
    """`run_window` minus the runtime: the same store, context, window and settings."""
    from PySide6.QtCore import QSettings

    from jobdesk import paths
    from jobdesk.runtime.clock import SystemClock
    from jobdesk.settings import load_settings
    from jobdesk.store import Store
    from jobdesk.ui.context import AppContext
    from jobdesk.ui.main_window import MainWindow

    store = Store(db)
    ctx = AppContext(store=store, settings=load_settings(config), clock=SystemClock(),
                     config_path=config, data_dir=paths.data_dir())
    window = MainWindow(ctx, runtime=None, settings=QSettings(
        str(config.with_name("window.ini")), QSettings.Format.IniFormat))
    hook(window)
    window.show()
    return app.exec()


class _Waiter:
    """Run the Qt event loop until a callback fires (or a timeout)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QEventLoop

        self.loop = QEventLoop()
        self.value: float | None = None

    def done(self, value: float) -> None:
        self.value = value
        self.loop.quit()

    def wait(self, seconds: float = 30.0) -> float:
        from PySide6.QtCore import QTimer

        if self.value is None:
            QTimer.singleShot(int(seconds * 1000), self.loop.quit)
            self.loop.exec()
        if self.value is None:
            raise TimeoutError("the window did not get there in time")
        return self.value


def child_ui(args: argparse.Namespace) -> int:
    """Figures 2 and 3 in one window (runtime off: the UI's own work only)."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from jobdesk.runtime.clock import SystemClock
    from jobdesk.settings import Settings
    from jobdesk.store import Store
    from jobdesk.ui.context import AppContext
    from jobdesk.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    store = Store(args.db)
    scratch = Path(tempfile.mkdtemp(prefix="jobdesk-gui-"))
    ctx = AppContext(store=store, settings=Settings(), clock=SystemClock(),
                     config_path=scratch / "settings.toml", data_dir=scratch)
    window = MainWindow(ctx, runtime=None,
                        settings=QSettings(str(scratch / "window.ini"),
                                           QSettings.Format.IniFormat))
    window.show()
    model, detail = window.model, window.detail
    loads = {"n": 0}
    model.loaded.connect(lambda: loads.__setitem__("n", loads["n"] + 1))
    fired: dict[str, float] = {}
    original_set_filter = model.set_filter

    def timed_set_filter(**kwargs: Any) -> None:  # the debounce fired: _apply_search
        fired["at"] = time.perf_counter()
        original_set_filter(**kwargs)

    model.set_filter = timed_set_filter  # type: ignore[method-assign]

    def rows_shown(expected_search: str, loads_before: int) -> Any:
        def check() -> bool:
            if model.search != expected_search or loads["n"] <= loads_before:
                return False
            if model.rowCount() == 0:
                return True
            first = model.job_id(0)
            return first is not None and model.record(first) is not None
        return check

    def until_painted(widget: Any, condition: Any) -> float:
        waiter = _Waiter()
        watch = _paint_watch(widget, condition, waiter.done)
        watch.armed = True
        widget.update()  # a paint is due in any case; the condition says if it counts
        try:
            return waiter.wait()
        finally:
            widget.removeEventFilter(watch)

    def painted_rows(search: str, loads_before: int) -> float:
        check = rows_shown(search, loads_before)
        if window.table.isVisible():
            return until_painted(window.table.viewport(), check)
        # no match: the window shows the empty-state label instead of the table
        return until_painted(window.empty_label, check)

    until_painted(window.table.viewport(), rows_shown("", 0))
    app.processEvents()

    search: list[dict[str, Any]] = []
    terms = [("rare", t) for t in RARE_TERMS[: args.reps]]
    terms += [("broad", BROAD_TERMS[i % len(BROAD_TERMS)]) for i in range(args.reps)]
    for kind, term in terms:
        fired.clear()
        before = loads["n"]
        typed = time.perf_counter()
        window.search.setText(term)
        end = painted_rows(term, before)
        result = {"kind": kind, "term": term, "rows": model.rowCount(),
                  "after_debounce_ms": (end - fired["at"]) * 1000,
                  "end_to_end_ms": (end - typed) * 1000}
        fired.clear()
        before = loads["n"]
        cleared = time.perf_counter()
        window.search.setText("")
        end = painted_rows("", before)
        result["clear_after_debounce_ms"] = (end - fired["at"]) * 1000
        result["clear_end_to_end_ms"] = (end - cleared) * 1000
        search.append(result)

    # Figure 3: select the 1,000-task job after another one, again and again.
    big = args.big_job
    other = model.job_id(1)
    breakdown: dict[str, float] = {}
    jobs = store.jobs
    original_detail = jobs.detail_since  # what the detail pane asks the store

    def timed_detail(job_id: int, since: Any) -> Any:  # runs on the store's worker thread
        started = time.perf_counter()
        result = original_detail(job_id, since)
        breakdown["query_ms"] = (time.perf_counter() - started) * 1000
        return result

    jobs.detail_since = timed_detail  # type: ignore[method-assign]
    original_arrived = detail._arrived

    def timed_arrived(request: int, record: Any) -> None:  # in the UI thread
        started = time.perf_counter()
        breakdown["arrived_at"] = started
        original_arrived(request, record)
        breakdown["apply_ms"] = (time.perf_counter() - started) * 1000

    detail._arrived = timed_arrived  # type: ignore[method-assign]

    def showing(job_id: int, tasks: int | None = None) -> Any:
        def check() -> bool:
            record = detail.record
            return (record is not None and record.id == job_id
                    and (tasks is None or detail.tasks_model.rowCount() == tasks))
        return check

    selects: list[dict[str, Any]] = []
    for _ in range(args.reps):
        window.select_job(other)
        until_painted(detail.tasks_view.viewport(), showing(other))
        app.processEvents()
        breakdown.clear()
        started = time.perf_counter()
        window.select_job(big)
        end = until_painted(detail.tasks_view.viewport(), showing(big, args.big_tasks))
        selects.append({"ms": (end - started) * 1000, "query_ms": breakdown["query_ms"],
                        "apply_ms": breakdown["apply_ms"],
                        "paint_ms": (end - breakdown["arrived_at"]) * 1000
                        - breakdown["apply_ms"],
                        "tasks": detail.tasks_model.rowCount()})
    _report({"search": search, "select": selects, "rss_mb": _rss_mb()})
    os._exit(0)


def child_fleet(args: argparse.Namespace) -> int:
    """Figure 4: heartbeat lateness while the runtime drives the simulated fleet."""
    from PySide6.QtCore import QObject, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    state: dict[str, Any] = {"late": [], "finished": {}, "worst_at": 0.0}
    job_ids = {int(j) for j in args.jobs.split(",")}

    class Heartbeat(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.timer = QTimer(self)
            self.timer.setTimerType(Qt.TimerType.PreciseTimer)
            self.timer.setInterval(HEARTBEAT_MS)
            self.timer.timeout.connect(self.beat)
            self.last = 0.0

        def start(self) -> None:
            self.last = time.perf_counter()
            self.timer.start()

        def beat(self) -> None:
            now = time.perf_counter()
            late = (now - self.last) * 1000 - HEARTBEAT_MS
            self.last = now
            state["late"].append(late)
            if late >= max(state["late"]):
                state["worst_at"] = now - state["t0"]

    heartbeat = Heartbeat()

    def on_finished(event: Any) -> None:
        state["finished"][event.job_id] = {
            "s": time.perf_counter() - state["t0"], "state": event.state, "system": event.system,
            "done": event.done, "total": event.total,
        }
        if not event.system and job_ids <= set(state["finished"]):
            QTimer.singleShot(0, finish)

    def finish() -> None:
        heartbeat.timer.stop()
        late = sorted(state["late"])
        window = state["window"]
        _report({
            "parallel": args.parallel, "beats": len(late), "worst_ms": late[-1],
            "p99_ms": late[int(0.99 * (len(late) - 1))], "median_ms": statistics.median(late),
            "worst_at_s": state["worst_at"], "wall_s": time.perf_counter() - state["t0"],
            "jobs": state["finished"], "rss_mb": _rss_mb(),
            "problems": state.get("problems", []),
        })
        window.close()  # the runtime stops; the process ends when the window has closed
        QTimer.singleShot(20_000, lambda: os._exit(0))

    def hook(window: Any) -> None:
        state["window"] = window
        state["t0"] = time.perf_counter()  # run_window starts the runtime right after
        window.runtime.jobFinished.connect(on_finished)
        window.runtime.problem.connect(
            lambda message: state.setdefault("problems", []).append(message))
        window.select_job(args.watch_job)  # the person watches the config job's tasks
        # The window starts its runtime once the first rows are painted; beat from then on,
        # so the window's own start-up (figure 1) is not counted as a stall under the fleet.
        start_runtime = window.runtime.start

        def start_with_heartbeat() -> None:
            heartbeat.start()
            start_runtime()

        window.runtime.start = start_with_heartbeat

    QTimer.singleShot(int(args.timeout * 1000), lambda: (_report({"error": "timeout", **{
        "finished": state["finished"]}}), os._exit(3)))
    _probed_run_window(args.db, args.config, hook)
    del app
    os._exit(0)


# --- the launcher -----------------------------------------------------------------------


def _child_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(QT_QPA_PLATFORM="offscreen", LANG="C.UTF-8", PYTHONPATH=str(ROOT),
               XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
               XDG_STATE_HOME=str(home / "state"), XDG_CACHE_HOME=str(home / "cache"))
    env.pop("DISPLAY", None)
    return env


def run_child(mode: str, extra: list[str], home: Path, timeout: float) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", mode, *extra]
    started = time.time()
    process = subprocess.Popen([*command, "--t0", repr(started)], env=_child_env(home),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    for line in out.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            if "error" in result:
                raise RuntimeError(f"{mode} child: {result}\n{err[-3000:]}")
            return result
    raise RuntimeError(f"{mode} child ended without a result (rc {process.returncode}):\n"
                       f"{err[-3000:]}")


def add_big_job(path: Path, seed: int) -> tuple[int, int]:
    """One more user job with a task on each of the 1,000 devices, by store_bench's generator.

    Returns (job id, tasks). The generator decides the job's type and outcome; the seed is
    the first from `seed` up that gives a user job of a type with five steps or more.
    """
    import store_bench as sb

    conn = sqlite3.connect(str(path))
    try:
        (n_jobs, last_task, last_step, devices, newest) = conn.execute(
            "SELECT (SELECT MAX(id) FROM job), (SELECT MAX(id) FROM task),"
            " (SELECT MAX(id) FROM step), (SELECT COUNT(*) FROM device),"
            " (SELECT MAX(created_at) FROM job)"
        ).fetchone()
        anchor = newest + sb.MINUTE
        job_id = n_jobs + 1
        for attempt in range(seed, seed + 1000):
            rows = sb._Rows(next_task=last_task + 1, next_step=last_step + 1)
            sb._add_job(rows, random.Random(attempt), job_id, job_id, devices, devices, anchor)
            job = rows.jobs[0]
            if not job[3] and len(rows.steps) >= 5 * devices:
                break
        with conn:
            conn.executemany(sb._INSERT_JOB, rows.jobs)
            conn.executemany(sb._INSERT_TASK, rows.tasks)
            conn.executemany(sb._INSERT_STEP, rows.steps)
            columns = {row[1] for row in conn.execute('PRAGMA table_info("job")')}
            if "next_attempt_at" in columns:
                conn.execute(
                    "UPDATE job SET next_attempt_at = (SELECT MIN(t.next_attempt_at) FROM task t"
                    " WHERE t.job_id = job.id AND t.next_attempt_at IS NOT NULL) WHERE id = ?",
                    (job_id,))
        print(f"  added job {job_id} ({job[2]}, {job[7]}): {len(rows.tasks):,} tasks, "
              f"{len(rows.steps):,} steps")
        return job_id, len(rows.tasks)
    finally:
        conn.close()


def summary(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), max(values)


def verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "FAIL"


class PortTaken(RuntimeError):
    pass


def start_sim(devices: int, base_port: int, inventory: Path,
              home: Path) -> subprocess.Popen[str]:
    jobdesk = Path(sys.executable).with_name("jobdesk")
    command = ([str(jobdesk)] if jobdesk.exists() else [sys.executable, "-m", "jobdesk"])
    process = subprocess.Popen(
        [*command, "sim", "--devices", str(devices), "--base-port", str(base_port),
         "--inventory", str(inventory)],
        env=_child_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if line != "ready":
        process.kill()
        error = process.stderr.read() if process.stderr else ""
        if "in use" in error:
            raise PortTaken(error.strip())
        raise RuntimeError(f"the simulator did not start: {line!r} {error}")
    return process


def fleet_database(path: Path, inventory: Path, snippet: Path, command_job: bool) -> list[int]:
    """A fresh database with the simulated fleet imported and the jobs to run."""
    from jobdesk.domain.inventory import parse_inventory_csv
    from jobdesk.domain.jobtypes import JobType
    from jobdesk.runtime.actions import JobRequest, JobService
    from jobdesk.runtime.clock import SystemClock
    from jobdesk.settings import Settings
    from jobdesk.store import Store

    for leftover in (path, path.with_name(path.name + "-wal"),
                     path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    clock = SystemClock()
    with Store(path) as store:
        parsed = parse_inventory_csv(inventory.read_text(encoding="utf-8-sig"))
        assert not parsed.rejected, parsed.rejected
        store.devices.upsert_many(parsed.devices, clock.now())
        names = [d.name for d in store.devices.list()]
        service = JobService(store, Settings(), clock)
        jobs = [service.create(JobRequest(f"APN config on {len(names)} routers",
                                          JobType.CONFIG_UPDATE, devices=names, file=snippet))]
        if command_job:
            jobs.append(service.create(JobRequest(f"Status on {len(names)} routers",
                                                  JobType.COMMAND, devices=names,
                                                  command="uname -a")))
    return [job.id for job in jobs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", choices=("launch", "ui", "fleet"), help=argparse.SUPPRESS)
    parser.add_argument("--t0", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--big-job", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--big-tasks", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--jobs-list", dest="jobs", default="", help=argparse.SUPPRESS)
    parser.add_argument("--watch-job", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--parallel-one", dest="parallel", type=int, default=50,
                        help=argparse.SUPPRESS)
    parser.add_argument("--no-runtime", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--settle", type=float, default=2.0, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=60.0, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, default=None,
                        help="the 100,000-job database (store_bench's; generated if missing)")
    parser.add_argument("--runs", type=int, default=5, help="launches measured (figure 1)")
    parser.add_argument("--reps", type=int, default=10, help="searches and selections (2, 3)")
    parser.add_argument("--fleet-runs", type=int, default=3, help="runs per parallelism (4)")
    parser.add_argument("--devices", type=int, default=500, help="simulated devices (4)")
    parser.add_argument("--parallel", dest="parallels", default="50,200",
                        help="max_parallel_devices values for figure 4")
    parser.add_argument("--base-port", type=int, default=26000, help="simulator's first port")
    parser.add_argument("--no-command-job", action="store_true",
                        help="figure 4 with the config-update job only")
    parser.add_argument("--skip-fleet", action="store_true", help="skip figure 4")
    parser.add_argument("--skip-window", action="store_true", help="skip figures 1-3")
    parser.add_argument("--keep", action="store_true",
                        help="keep the databases this run generated or copied")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args(argv)
    if args.child:
        return {"launch": child_launch, "ui": child_ui, "fleet": child_fleet}[args.child](args)
    compile_jobdesk()  # as an installed copy has it (bench/compiled.py)

    sys.path.insert(0, str(BENCH))
    import store_bench as sb

    work = Path(tempfile.gettempdir()) / "jobdesk-bench"
    big = args.db or work / "store-100000x10.sqlite"
    created: list[Path] = []
    homes = Path(tempfile.mkdtemp(prefix="jobdesk-gui-bench-"))
    rows: list[tuple[str, str, str, str, str]] = []  # figure, median, max, target, verdict
    failed = False
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, offscreen")
    try:
        if not args.skip_window:
            sb.prepare(big, 100_000, 10, 1_000, args.seed, created)
            scratch = big.with_name("gui-scratch.sqlite")
            print(f"copying {big.name} to {scratch.name} ...", flush=True)
            for path in sb._files_of(scratch):
                path.unlink(missing_ok=True)
            shutil.copyfile(big, scratch)
            created.append(scratch)
            big_job, big_tasks = add_big_job(scratch, args.seed)
            failed |= window_figures(args, scratch, big_job, big_tasks, homes, rows)
        if not args.skip_fleet:
            failed |= fleet_figures(args, homes, rows)
        print("\nSummary (median / max of the runs):")
        print(f"  {'figure':<58} {'median':>10} {'max':>10} {'target':>10}")
        for name, med, worst, target, result in rows:
            print(f"  {name:<58} {med:>10} {worst:>10} {target:>10}  {result}")
        return 1 if failed else 0
    finally:
        shutil.rmtree(homes, ignore_errors=True)
        if not args.keep:
            for path in created:
                for file in sb._files_of(path):
                    file.unlink(missing_ok=True)


def window_figures(args: argparse.Namespace, db: Path, big_job: int, big_tasks: int,
                   homes: Path, rows: list[tuple[str, str, str, str, str]]) -> bool:
    failed = False
    home = homes / "launch"
    config = home / "settings.toml"
    print(f"\n1. Launch to first painted rows ({args.runs} runs after one warm-up):")
    launches = []
    for run in range(args.runs + 1):
        result = run_child("launch", ["--db", str(db), "--config", str(config)], home, 60)
        marks = result["marks"]
        print(f"  {'warm-up' if run == 0 else f'run {run}'}: {result['launch_s']:.3f} s  "
              f"(interpreter {marks['interpreter']:.3f}, Qt imported {marks['qt_imported']:.3f}"
              f", window built {marks['window_built']:.3f}, ids "
              f"{marks.get('ids_loaded', float('nan')):.3f}; {result['rows']:,} rows; "
              f"RSS {marks['rss_at_paint_mb']:.0f} MB at paint, {result['rss_mb']:.0f} MB "
              f"{args.settle:g} s later)", flush=True)
        if run:
            launches.append(result)
    med, worst = summary([r["launch_s"] for r in launches])
    failed |= worst > TARGET_LAUNCH_S
    rows.append(("1. launch to first painted rows (100,000 jobs)", f"{med:.3f} s",
                 f"{worst:.3f} s", f"{TARGET_LAUNCH_S} s", verdict(worst, TARGET_LAUNCH_S)))
    med, worst = summary([r["rss_mb"] for r in launches])
    failed |= worst > TARGET_RSS_MB
    rows.append(("5. peak RSS, launch process", f"{med:.0f} MB", f"{worst:.0f} MB",
                 f"{TARGET_RSS_MB:.0f} MB", verdict(worst, TARGET_RSS_MB)))

    print(f"  the same without the runtime ({args.runs} runs):")
    bare = []
    for run in range(1, args.runs + 1):
        result = run_child("launch", ["--db", str(db), "--config", str(config), "--no-runtime"],
                           home, 60)
        print(f"  run {run}: {result['launch_s']:.3f} s (window built "
              f"{result['marks']['window_built']:.3f}, ids "
              f"{result['marks'].get('ids_loaded', float('nan')):.3f}; RSS "
              f"{result['rss_mb']:.0f} MB)", flush=True)
        bare.append(result)
    med, worst = summary([r["launch_s"] for r in bare])
    rows.append(("   launch, the same window without the runtime", f"{med:.3f} s",
                 f"{worst:.3f} s", "(info)", ""))
    med, worst = summary([r["rss_mb"] for r in bare])
    rows.append(("   peak RSS, launch without the runtime", f"{med:.0f} MB", f"{worst:.0f} MB",
                 "(info)", ""))

    print(f"\n2./3. Search and job detail ({args.reps} each, runtime off):", flush=True)
    result = run_child("ui", ["--db", str(db), "--reps", str(args.reps), "--big-job", str(big_job),
                              "--big-tasks", str(big_tasks)], homes / "ui", 300)
    for s in result["search"]:
        print(f"  search {s['term']!r:<12} {s['rows']:>6,} rows: after debounce "
              f"{s['after_debounce_ms']:6.1f} ms, end to end {s['end_to_end_ms']:6.1f} ms; "
              f"clearing it: {s['clear_after_debounce_ms']:6.1f} / "
              f"{s['clear_end_to_end_ms']:6.1f} ms")
    for kind in ("rare", "broad"):
        picked = [s for s in result["search"] if s["kind"] == kind]
        label = "few matches" if kind == "rare" else f"~{picked[0]['rows'] // 1000}k matches"
        med, worst = summary([s["after_debounce_ms"] for s in picked])
        failed |= worst > TARGET_SEARCH_MS
        rows.append((f"2. search ({label}), debounce fired -> rows painted",
                     f"{med:.1f} ms", f"{worst:.1f} ms", f"{TARGET_SEARCH_MS:g} ms",
                     verdict(worst, TARGET_SEARCH_MS)))
        med, worst = summary([s["end_to_end_ms"] for s in picked])
        rows.append((f"   search ({label}), end to end incl. 150 ms debounce",
                     f"{med:.1f} ms", f"{worst:.1f} ms", "(info)", ""))
    med, worst = summary([s["clear_after_debounce_ms"] for s in result["search"]])
    rows.append(("   clearing the search (all user jobs back), after debounce",
                 f"{med:.1f} ms", f"{worst:.1f} ms", "(info)", ""))
    for s in result["select"]:
        print(f"  select job {big_job} ({s['tasks']:,} tasks): {s['ms']:6.1f} ms (query "
              f"{s['query_ms']:.1f}, apply in the UI thread {s['apply_ms']:.1f}, then paint "
              f"{s['paint_ms']:.1f})")
    med, worst = summary([s["ms"] for s in result["select"]])
    failed |= worst > TARGET_DETAIL_MS
    rows.append((f"3. select a job with {big_tasks:,} tasks -> detail painted",
                 f"{med:.1f} ms", f"{worst:.1f} ms", f"{TARGET_DETAIL_MS:g} ms",
                 verdict(worst, TARGET_DETAIL_MS)))
    for part in ("query_ms", "apply_ms", "paint_ms"):
        med, worst = summary([s[part] for s in result["select"]])
        rows.append((f"   of which {part[:-3]}", f"{med:.1f} ms", f"{worst:.1f} ms",
                     "(info)", ""))
    print(f"  window process RSS: {result['rss_mb']:.0f} MB")
    return failed


def fleet_figures(args: argparse.Namespace, homes: Path,
                  rows: list[tuple[str, str, str, str, str]]) -> bool:
    failed = False
    home = homes / "fleet"
    home.mkdir(parents=True, exist_ok=True)
    inventory, snippet = home / "fleet.csv", home / "apn.cfg"
    snippet.write_text(SNIPPET)
    print(f"\n4. UI stalls while the runtime drives {args.devices} simulated devices:",
          flush=True)
    sim = None
    for base_port in [args.base_port, *random.sample(range(20000, 32000 - args.devices), 6)]:
        try:  # another fleet may be listening there (a colleague's `jobdesk sim`)
            sim = start_sim(args.devices, base_port, inventory, home / "sim")
            break
        except PortTaken as taken:
            print(f"  {taken}; trying another base port")
    if sim is None:
        raise RuntimeError("no free port range for the simulator")
    try:
        for parallel in [int(p) for p in args.parallels.split(",")]:
            results = []
            for run in range(1, args.fleet_runs + 1):
                run_home = home / f"p{parallel}-{run}"
                config = run_home / "config" / "jobdesk" / "settings.toml"
                config.parent.mkdir(parents=True)
                config.write_text(f"max_parallel_devices = {parallel}\n")
                db = run_home / "jobdesk.db"
                jobs = fleet_database(db, inventory, snippet, not args.no_command_job)
                result = run_child(
                    "fleet", ["--db", str(db), "--config", str(config), "--jobs-list",
                              ",".join(map(str, jobs)), "--watch-job", str(jobs[0]),
                              "--parallel-one", str(parallel), "--timeout", "600"],
                    run_home, 600)
                finished = ", ".join(
                    f"job {j} ({'system' if v['system'] else 'user'}) {v['state']} "
                    f"{v['done']}/{v['total']} at {v['s']:.1f} s"
                    for j, v in sorted(result["jobs"].items(), key=lambda kv: kv[1]["s"]))
                print(f"  parallel {parallel}, run {run}: worst {result['worst_ms']:.1f} ms "
                      f"(at {result['worst_at_s']:.1f} s), p99 {result['p99_ms']:.1f} ms, "
                      f"median {result['median_ms']:.2f} ms over {result['beats']:,} beats; "
                      f"wall {result['wall_s']:.1f} s; RSS {result['rss_mb']:.0f} MB\n"
                      f"    {finished}"
                      + (f"\n    problems: {result['problems'][:3]}" if result["problems"]
                         else ""), flush=True)
                results.append(result)
            med, worst = summary([r["worst_ms"] for r in results])
            target = TARGET_STALL_FEW_MS if parallel <= 50 else TARGET_STALL_MS
            failed |= worst > target
            rows.append((f"4. worst UI stall, {args.devices} devices, parallel {parallel}",
                         f"{med:.1f} ms", f"{worst:.1f} ms", f"{target:g} ms",
                         verdict(worst, target)))
            med, worst = summary([r["p99_ms"] for r in results])
            rows.append((f"   p99 heartbeat lateness, parallel {parallel}", f"{med:.1f} ms",
                         f"{worst:.1f} ms", "(info)", ""))
            med, worst = summary([r["wall_s"] for r in results])
            rows.append((f"   wall time until the user jobs finished, parallel {parallel}",
                         f"{med:.1f} s", f"{worst:.1f} s", "(info)", ""))
            med, worst = summary([r["rss_mb"] for r in results])
            failed |= worst > TARGET_RSS_MB
            rows.append((f"5. peak RSS, window with runtime, parallel {parallel}",
                         f"{med:.0f} MB", f"{worst:.0f} MB", f"{TARGET_RSS_MB:.0f} MB",
                         verdict(worst, TARGET_RSS_MB)))
    finally:
        sim.send_signal(signal.SIGTERM)
        try:
            sim.wait(10)
        except subprocess.TimeoutExpired:
            sim.kill()
    return failed


if __name__ == "__main__":
    sys.exit(main())
