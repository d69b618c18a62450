"""`jobdesk --self-test`: prove an installation works, end to end, without a screen.

It opens the real window offscreen on a temporary database, starts one simulated device in
the process, runs a configuration update on it through the runtime and the SSH driver, and
checks the device has the values. It prints `self-test OK` and exits 0, or says what failed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

TIMEOUT_S = 60


def run_self_test() -> int:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt starts: no screen needed
    from PySide6.QtCore import QTimer

    from jobdesk.domain.inventory import make_device
    from jobdesk.domain.jobtypes import JobType
    from jobdesk.runtime.actions import JobRequest, JobService
    from jobdesk.runtime.clock import SystemClock
    from jobdesk.runtime.events import JobFinished
    from jobdesk.settings import Settings
    from jobdesk.sim.background import BackgroundFleet
    from jobdesk.store import Store
    from jobdesk.ui.app import open_window, qt_application

    app = qt_application()
    folder = Path(tempfile.mkdtemp(prefix="jobdesk-selftest-"))
    outcome: dict[str, str] = {}
    fleet = BackgroundFleet(1, seed=1)
    try:
        device = fleet.start().rows()[0]
        settings = Settings()
        database = folder / "selftest.db"
        snippet = folder / "check.cfg"
        snippet.write_text("selftest.value = 42\n", encoding="utf-8")
        with Store(database) as store:
            store.devices.add(
                make_device(device["name"], device["host"], device["port"], device["user"],
                            device["profile"]),
                SystemClock().now(),
            )
            job = JobService(store, settings, SystemClock()).create(
                JobRequest("self-test", JobType.CONFIG_UPDATE, devices=[device["name"]],
                           file=snippet)
            )
        window = open_window(database=database, config_path=folder / "settings.toml",
                             data_dir=folder / "data", log_path=None, settings=settings,
                             system_jobs=False)
        assert window.runtime is not None

        def finished(event: JobFinished) -> None:
            if event.job_id == job.id:
                outcome["state"] = event.state
                window.close()

        def too_slow() -> None:
            outcome.setdefault("state", f"not finished within {TIMEOUT_S} s")
            window.close()

        window.runtime.jobFinished.connect(finished)
        window.closed.connect(app.quit)
        QTimer.singleShot(TIMEOUT_S * 1000, too_slow)
        app.exec()
        value = fleet.fleet.device(device["name"]).config.get("selftest.value") \
            if fleet.fleet else None
    except Exception as error:  # every failure is reported in words
        print(f"self-test FAILED: {type(error).__name__}: {error}")
        return 1
    finally:
        fleet.stop()
        shutil.rmtree(folder, ignore_errors=True)
    if outcome.get("state") != "Succeeded":
        print(f"self-test FAILED: the job ended {outcome.get('state', 'without a state')}")
        return 1
    if value != "42":
        print(f"self-test FAILED: the device reports selftest.value = {value!r}, not '42'")
        return 1
    print("self-test OK")
    return 0
