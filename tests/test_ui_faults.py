"""The window beside other processes: a file dialog on the database's folder while the
command line writes, and the banner while the database refuses writes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QFileSystemModel

from jobdesk.domain.inventory import make_device
from jobdesk.runtime.ca import LocalCA
from jobdesk.runtime.clock import SystemClock
from jobdesk.runtime.engine import Engine
from jobdesk.settings import Settings
from jobdesk.store import Store
from jobdesk.store.faults import FaultKind, StoreFault
from jobdesk.ui.context import AppContext
from jobdesk.ui.main_window import MainWindow
from jobdesk.ui.runtime_host import RuntimeHost
from tests.fake_driver import FakeDriver

ROOT = Path(__file__).resolve().parents[1]
WAIT_MS = 15000


@pytest.fixture
def live_window(qtbot, tmp_path: Path) -> Iterator[MainWindow]:
    """The real window with its runtime thread, on a database in a folder of files."""
    database = tmp_path / "work" / "a.db"
    store = Store(database)
    store.devices.add(make_device("r1", "10.0.0.1"), SystemClock().now())
    ctx = AppContext(store=store, settings=Settings(), clock=SystemClock(),
                     config_path=tmp_path / "settings.toml", data_dir=tmp_path / "data")
    engine = Engine(store, ctx.settings, ctx.clock, FakeDriver(), LocalCA(tmp_path / "ca"),
                    system_jobs=False)
    host = RuntimeHost(engine)
    # Not handed to qtbot: it would delete the window before this fixture's teardown, while
    # the runtime and store threads still run.
    window = MainWindow(ctx, runtime=host)
    window.show()
    host.start()
    qtbot.waitUntil(lambda: window.runtime_label.text() == "Runtime running", timeout=WAIT_MS)
    yield window
    if window.isVisible():
        with qtbot.waitSignal(host.stopped, timeout=WAIT_MS):
            window.close()
    store.close()


def deleted_database_files(database: Path) -> list[str]:
    """Files of the database this process still has open although they were deleted."""
    found = []
    for descriptor in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{descriptor}")
        except OSError:
            continue
        if target.startswith(str(database)) and target.endswith("(deleted)"):
            found.append(target)
    return found


def test_a_file_dialog_on_the_database_folder_while_the_cli_writes_loses_nothing(
    qtbot, live_window: MainWindow, tmp_path: Path
) -> None:
    window = live_window
    database = window.ctx.store.path
    window.pages.setCurrentWidget(window.devices)
    window.devices.import_action.trigger()
    dialog = window.devices.file_dialog
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()
    model = dialog.findChild(QFileSystemModel)
    assert model is not None
    dialog.setDirectory(str(database.parent))
    qtbot.waitUntil(lambda: model.index(str(database)).isValid(), timeout=WAIT_MS)
    listed = model.index(str(database))
    # What a painted row asks for: its icon and its type (Qt would sniff the file for both).
    for row in range(model.rowCount(listed.parent())):
        model.index(row, 0, listed.parent()).data(Qt.ItemDataRole.DecorationRole)
        model.type(model.index(row, 0, listed.parent()))
    qtbot.waitUntil(lambda: not model.fileIcon(listed).isNull(), timeout=WAIT_MS)
    with qtbot.waitSignal(dialog.finished, timeout=WAIT_MS):
        dialog.reject()

    other = subprocess.run(
        [sys.executable, "-m", "jobdesk.cli", "--db", str(database), "devices", "add", "r2",
         "--host", "10.0.0.2"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(tmp_path / "d"),
             "XDG_CONFIG_HOME": str(tmp_path / "c")},
    )
    assert other.returncode == 0, other.stderr
    assert deleted_database_files(database) == []

    added: list[object] = []
    store = window.ctx.store
    window.gateway.call(
        lambda: store.devices.add(make_device("r3", "10.0.0.3"), window.ctx.clock.now()),
        added.append,
    )
    qtbot.waitUntil(lambda: bool(added), timeout=WAIT_MS)
    with qtbot.waitSignal(window.runtime.stopped, timeout=WAIT_MS):
        window.close()
    store.close()

    # The .db file alone holds everything: the WAL was folded in on closing.
    assert not Path(f"{database}-wal").exists() or Path(f"{database}-wal").stat().st_size == 0
    with sqlite3.connect(database) as db:
        assert [n for (n,) in db.execute("SELECT name FROM device ORDER BY name")] == [
            "r1", "r2", "r3"
        ]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_choosing_the_database_itself_as_an_inventory_is_refused_without_opening_it(
    qtbot, live_window: MainWindow
) -> None:
    window = live_window
    window.devices.import_file(str(window.ctx.store.path))
    qtbot.waitUntil(lambda: window.devices.import_report is not None, timeout=WAIT_MS)
    report = window.devices.import_report
    assert "jobdesk's own database" in report.summary.text()
    report.close()


def test_the_banner_says_why_writes_fail_and_goes_when_they_work(
    qtbot, live_window: MainWindow
) -> None:
    window = live_window
    health = window.runtime.engine.health
    assert not window.banner.isVisible()
    fault = StoreFault(FaultKind.DISK_FULL, "disk full: free space on /mnt/x", "/mnt/x/a.db")
    window.runtime.engine._loop.call_soon_threadsafe(health.failed, fault)
    qtbot.waitUntil(window.banner.isVisible, timeout=WAIT_MS)
    assert "disk full: free space on /mnt/x" in window.banner.label.text()
    window.runtime.engine._loop.call_soon_threadsafe(health.recovered)
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=WAIT_MS)
