"""Starting the window: Qt application, store, runtime thread, and a last-resort handler.

An unexpected error anywhere in the window is logged and shown in words with the log's path;
the data stays safe because every change was already committed in its own transaction.
"""

from __future__ import annotations

import atexit
import gc
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QMessageLogContext, QSettings, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from jobdesk import __version__, paths
from jobdesk.devices.profiles import ProfileLibrary
from jobdesk.logs import log_to_file
from jobdesk.resources import resource_path
from jobdesk.runtime.ca import LocalCA
from jobdesk.runtime.clock import SystemClock
from jobdesk.runtime.engine import Engine
from jobdesk.runtime.loader import database_password, load_driver
from jobdesk.settings import Settings, load_settings
from jobdesk.store import Store
from jobdesk.store.location import Location, parse_location
from jobdesk.ui.context import AppContext
from jobdesk.ui.main_window import MainWindow
from jobdesk.ui.runtime_host import RuntimeHost

log = logging.getLogger(__name__)
# Middle-generation passes between two full ones (Python's default is 10); see open_window.
FULL_PASS_EVERY = 100


def _qt_message(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
    """Qt's own warnings go to jobdesk's log instead of the terminal."""
    if "propagateSizeHints" in message:
        return  # the offscreen platform's harmless complaint
    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
    }.get(kind, logging.ERROR)
    logging.getLogger("qt").log(level, "%s", message)


def qt_application() -> QApplication:
    qInstallMessageHandler(_qt_message)
    # Qt still logs while it unloads plugins after Python has finalized; a Python handler
    # would then crash the process at exit.
    atexit.register(qInstallMessageHandler, None)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("jobdesk")
    app.setApplicationVersion(__version__)
    icon = resource_path("jobdesk.svg")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def install_error_dialog(log_path: Path) -> None:
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


def open_window(
    *,
    database: Path | str | Location,
    config_path: Path,
    data_dir: Path,
    log_path: Path | None,
    settings: Settings | None = None,
    window_settings: QSettings | None = None,
    on_closed: Callable[[], None] | None = None,
    system_jobs: bool = True,
) -> MainWindow:
    """Open the store, start the runtime in its thread and show the window."""
    settings = settings or load_settings(config_path)
    store = Store(database, database_password(data_dir))
    clock = SystemClock()
    ctx = AppContext(store=store, settings=settings, clock=clock,
                     config_path=config_path, data_dir=data_dir, log_path=log_path,
                     profiles_dir=paths.profiles_dir())
    driver = load_driver(settings, data_dir, paths.profiles_dir())
    engine = Engine(store, settings, clock, driver, LocalCA(data_dir / "ca"),
                    system_jobs=system_jobs, give_way=ctx.give_way)
    runtime = RuntimeHost(engine, on_close=driver.aclose, give_way=ctx.give_way)
    window = MainWindow(ctx, runtime=runtime, settings=window_settings)
    problems = ProfileLibrary(user_dir=ctx.profiles_dir).problems()
    for problem in problems:
        log.warning("%s", problem)
    window.show_profile_problems(problems)
    if on_closed is not None:
        window.closed.connect(on_closed)
    window.closed.connect(store.close)
    window.show()
    # Everything built so far lives as long as the window: keep it out of the garbage
    # collector's full passes, which otherwise pause every thread for tens of ms.
    gc.collect()
    gc.freeze()
    # Full passes a tenth as often: each holds the interpreter, and so this thread, 20-45 ms
    # with 200 devices at once (4-5 in a 500-device run, none now). Closed SSH connections
    # are freed by reference counting (devices/ssh.py), so little waits for a full pass:
    # 6,900 objects in a 1,000-task run. The younger generations keep their thresholds.
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_PASS_EVERY)
    # The runtime's threads hand the interpreter back to this one within 0.2 ms instead of
    # 5: a repaint calls into Python (and Qt calls that release the interpreter return to
    # it) hundreds of times, each waiting up to this long while the runtime is busy. Worst
    # stall with 200 devices at once: 85 ms median at 1 ms, 61 ms at 0.2 ms (bench/README).
    sys.setswitchinterval(0.0002)
    window.start_runtime()
    log.info("jobdesk %s window on %s", __version__, store.location)
    return window


def run_window(database: str | None, config_path: Path | None) -> int:
    app = qt_application()
    log_path = log_to_file(paths.log_dir())
    install_error_dialog(log_path)
    config = config_path or paths.default_config()
    window_settings = QSettings(str(config.with_name("window.ini")), QSettings.Format.IniFormat)
    settings = load_settings(config)
    location = parse_location(database or settings.database or paths.default_database())
    window = open_window(database=location, config_path=config, settings=settings,
                         data_dir=paths.data_dir(), log_path=log_path,
                         window_settings=window_settings)
    code = app.exec()
    del window
    return code
