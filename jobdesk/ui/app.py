"""Starting the window: Qt application, store, runtime thread, and a last-resort handler.

An unexpected error anywhere in the window is logged and shown in words with the log's path;
the data stays safe because every change was already committed in its own transaction.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from jobdesk import __version__, paths
from jobdesk.logs import log_to_file
from jobdesk.runtime.ca import LocalCA
from jobdesk.runtime.clock import SystemClock
from jobdesk.runtime.engine import Engine
from jobdesk.runtime.loader import load_driver
from jobdesk.settings import load_settings
from jobdesk.store import Store
from jobdesk.ui import states
from jobdesk.ui.context import AppContext
from jobdesk.ui.main_window import MainWindow
from jobdesk.ui.runtime_host import RuntimeHost

log = logging.getLogger(__name__)


def _install_error_dialog(log_path: Path) -> None:
    def handle(kind: type[BaseException], error: BaseException,
               trace: TracebackType | None) -> None:
        log.error("unexpected error", exc_info=(kind, error, trace))
        if QApplication.instance() is None:
            traceback.print_exception(kind, error, trace)
            return
        QMessageBox.critical(
            None, "jobdesk: unexpected error",
            f"{kind.__name__}: {error}\n\njobdesk keeps working and your jobs are safe in "
            f"the database. The details are in the log:\n{log_path}",
        )

    sys.excepthook = handle


def run_window(db_path: Path | None, config_path: Path | None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("jobdesk")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(states.icon("Running", 64))
    log_path = log_to_file(paths.log_dir())
    _install_error_dialog(log_path)

    config = config_path or paths.default_config()
    settings = load_settings(config)
    database = db_path or paths.default_database()
    store = Store(database)
    clock = SystemClock()
    ctx = AppContext(store=store, settings=settings, clock=clock, db_path=database,
                     config_path=config, data_dir=paths.data_dir(), log_path=log_path)
    driver = load_driver(settings, paths.data_dir(), paths.profiles_dir())
    engine = Engine(store, settings, clock, driver, LocalCA(paths.data_dir() / "ca"))
    runtime = RuntimeHost(engine, on_close=driver.aclose)
    window_settings = QSettings(str(config.with_name("window.ini")), QSettings.Format.IniFormat)
    window = MainWindow(ctx, runtime=runtime, settings=window_settings)
    window.show()
    runtime.start()
    log.info("jobdesk %s started on %s", __version__, database)
    code = app.exec()
    store.close()
    return code
