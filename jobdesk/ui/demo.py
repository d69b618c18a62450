"""`jobdesk demo`: the window on a fresh database with a simulated fleet inside the process.

About 25 simulated routers listen on free loopback ports (two offline, one slow, one that
comes back from a firmware update on the wrong version, one that refuses the login), and
sample jobs reach every job state a person meets (Scheduled, Running, Paused, Succeeded,
Failed, Partially Succeeded, Cancelled Manually, Replaced) within seconds, while the
runtime works on them for real, over SSH. Closing the window (Ctrl+Q, the window's close
button, SIGTERM or SIGINT) stops the fleet; a temporary database and its folder are
removed.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from jobdesk import paths
from jobdesk.domain.inventory import make_device
from jobdesk.domain.jobtypes import JobType
from jobdesk.domain.rollout import RolloutPolicy, parse_batches
from jobdesk.domain.schedule import Scheduled, local_zone_name
from jobdesk.logs import log_to_file
from jobdesk.runtime.actions import JobRequest, JobService
from jobdesk.runtime.clock import SystemClock
from jobdesk.settings import Settings
from jobdesk.sim.background import BackgroundFleet
from jobdesk.sim.device import firmware_image
from jobdesk.store import Store

if TYPE_CHECKING:
    from jobdesk.ui.main_window import MainWindow

log = logging.getLogger(__name__)

DEVICES = 25
FAULTS = ("offline@sim-003,offline@sim-017,slow:3@sim-010,wrong-firmware@sim-021,"
          "auth@sim-022")
SEED = 7
REBOOT_SECONDS = 1.5  # short, so the firmware jobs end within seconds
NORTH = [f"sim-{i:03d}" for i in range(12)]
SOUTH = [f"sim-{i:03d}" for i in range(12, DEVICES)]


def demo_command() -> list[str]:
    """How to start the demo as a program of its own (in a bundle, the bundle itself)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "demo"]
    return [sys.executable, "-m", "jobdesk", "demo"]


def launch_demo() -> subprocess.Popen[bytes]:
    return subprocess.Popen(demo_command(), stdin=subprocess.DEVNULL, start_new_session=True)


def tonight(now: datetime, zone: str) -> Scheduled:
    """A nightly 22:00–04:00 window for a week, starting with a night that has not begun."""
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo(zone))
    first: date = local.date()
    if local.time() >= time(22, 0) or local.time() < time(4, 0):
        first = first + timedelta(days=1)
    return Scheduled(first, first + timedelta(days=6), time(22, 0), time(4, 0),
                     frozenset(range(7)), zone)


def import_fleet(store: Store, fleet_rows: list[dict[str, str]]) -> None:
    """The inventory, added or updated: the fleet listens on new ports at every start."""
    devices = []
    for row in fleet_rows:
        site = "depot-north" if row["name"] in NORTH else "depot-south"
        devices.append(make_device(row["name"], row["host"], row["port"], row["user"],
                                   row["profile"], [*row["tags"].split(";"), site]))
    store.devices.upsert_many(devices, SystemClock().now())


def seed_demo(store: Store, folder: Path, settings: Settings) -> None:
    """The sample jobs; the runtime then makes them come true."""
    clock = SystemClock()
    service = JobService(store, settings, clock)
    snippet = folder / "ntp-and-syslog.cfg"
    snippet.write_text("ntp.server = 10.20.0.1\nsyslog.server = 10.20.0.5\n", encoding="utf-8")
    image = folder / "router-fw-4.9.0.img"
    image.write_bytes(firmware_image("4.9.0", size=256 * 1024))

    service.create(JobRequest(
        "Certificates — depot south", JobType.CERTIFICATE_RENEWAL, devices=SOUTH[:5]))
    service.create(JobRequest(  # sim-022 refuses the login: Partially Succeeded
        "Firmware 4.9.0 — pilot", JobType.FIRMWARE_UPDATE,
        devices=[*SOUTH[7:9], "sim-022"], file=image, version="4.9.0"))
    service.create(JobRequest(  # waits for a person after its first batch: Paused
        "Diagnostics — approve each batch", JobType.COMMAND, devices=NORTH[:3],
        command="uname -a", rollout=RolloutPolicy(batches=parse_batches("1"), approve=True)))
    # Comes back on the old firmware: with one attempt allowed the job ends Failed, its
    # failed step carrying the message and the fix hint.
    service.create(JobRequest(
        "Firmware 4.9.0 — sim-021", JobType.FIRMWARE_UPDATE, devices=["sim-021"],
        file=image, version="4.9.0", rollout=RolloutPolicy(max_attempts=1)))
    service.create(JobRequest(
        "NTP and syslog servers", JobType.CONFIG_UPDATE, tags=["sim"], file=snippet))
    zone = local_zone_name()
    service.create(JobRequest(
        "Firmware 4.9.0 — depot north", JobType.FIRMWARE_UPDATE, tags=["depot-north"],
        file=image, version="4.9.0", schedule=tonight(clock.now(), zone)))
    cancelled = service.create(JobRequest(
        "Reboot after maintenance", JobType.REBOOT, tags=["depot-south"],
        schedule=tonight(clock.now(), zone)))
    service.cancel_job(cancelled.id)
    logs = dict(type=JobType.COMMAND, devices=SOUTH[11:13], command="uname -a",
                schedule=tonight(clock.now(), zone))
    service.create(JobRequest("Collect logs — first plan", **logs))
    service.create(JobRequest("Collect logs", **logs, replace=True))  # the first: Replaced


INTRO = (f"Demo: {DEVICES} simulated routers on 127.0.0.1 and sample jobs in every state; "
         "the runtime works on them over SSH. Closing the window stops them and deletes "
         "this demo's temporary database.")


def open_demo_window(db_path: Path | None, log_path: Path | None) -> MainWindow:
    """The demo's fleet, database and window; closing the window stops and removes them."""
    from jobdesk.ui.app import open_window

    temporary = db_path is None
    folder = Path(tempfile.mkdtemp(prefix="jobdesk-demo-")) if temporary else (
        db_path.parent / f"{db_path.stem}-demo")
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "demo.db" if db_path is None else db_path
    settings = Settings()
    fleet = BackgroundFleet(DEVICES, seed=SEED, faults=FAULTS, reboot_seconds=REBOOT_SECONDS)

    def finished() -> None:
        fleet.stop()
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)

    try:
        started = fleet.start()
        with Store(database) as store:
            first_time = store.devices.count() == 0
            import_fleet(store, started.rows())
            if first_time:
                seed_demo(store, folder, settings)
        # The demo keeps its own known hosts and CA: simulated keys stay out of the user's.
        window = open_window(database=database, config_path=folder / "settings.toml",
                             data_dir=folder / "data", log_path=log_path, settings=settings,
                             on_closed=finished)
    except BaseException:
        finished()
        raise
    window.setWindowTitle("jobdesk — demo (simulated fleet)")
    window.banner.set_notice("demo", INTRO, dismissable=True)
    return window


def run_demo(db_path: Path | None, *, quit_after: float | None = None) -> int:
    """Open the demo window; returns the application's exit code."""
    from PySide6.QtCore import QTimer

    from jobdesk.ui.app import install_error_dialog, qt_application
    from jobdesk.ui.quit_signals import QuitOnSignals

    app = qt_application()
    log_path = log_to_file(paths.log_dir())
    install_error_dialog(log_path)
    # SIGTERM (a session ending, `kill`) and SIGINT (Ctrl+C in the terminal) close the
    # window as Ctrl+Q does: running steps finish, the fleet stops, the folder goes. Caught
    # from before the window opens: one arriving while it opened (its runtime already
    # running) was a KeyboardInterrupt that left the process hanging. It is acted on from
    # the event loop, when the window exists.
    window: MainWindow | None = None

    def close_window() -> None:
        if window is not None:
            window.close()

    signals = QuitOnSignals(close_window, parent=app)
    window = open_demo_window(db_path, log_path)
    if quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), window.close)
    try:
        return app.exec()
    finally:
        signals.restore()
