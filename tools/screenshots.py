"""The README's screenshot: the demo on a laptop-sized screen, its failed job selected.

Run on an X server of the screen size to show (the window opens as it would there):

    xvfb-run -a -s '-screen 0 1366x768x24' python tools/screenshots.py \\
        --size 1366x768 --out docs/main-window.png

The demo runs as usual (a simulated fleet, a temporary database). Once a job has failed —
a Failed job, else one that ended Partially Succeeded, else one whose task waits to be
flashed again — it is selected; the detail pane opens on its failed task and step, and the
window is saved when the fix hint is there.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from jobdesk.store.records import JobRecord
from jobdesk.ui.app import qt_application
from jobdesk.ui.demo import run_demo
from jobdesk.ui.main_window import MainWindow

WANTED = ("Failed", "Partially Succeeded")  # in this order of preference
POLL_MS = 250


class Shooter(QObject):
    """Follows the demo window until it shows a failed job, then saves it and quits."""

    def __init__(self, size: tuple[int, int] | None, out: Path, timeout: float) -> None:
        super().__init__()
        self._size = size
        self._out = out
        self._deadline = time.monotonic() + timeout
        self._window: MainWindow | None = None
        self._job: int | None = None
        self.failed = False
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._look)

    def start(self) -> None:
        self._timer.start()

    def _look(self) -> None:
        window = self._window or next((w for w in QApplication.topLevelWidgets()
                                       if isinstance(w, MainWindow) and w.isVisible()), None)
        if window is None:
            return
        if self._window is None:
            self._window = window
            if self._size is not None:
                window.resize(*self._size)
        late = time.monotonic() > self._deadline
        if self._job is None:
            job = failed_job(window.model.cached_records(), late=late)
            if job is None:
                return self._give_up() if late else None
            self._job = job.id
            window.select_job(job.id)
            return
        detail = window.detail
        if detail.record is None or detail.record.id != self._job:
            return
        if not detail.fix_hint.text() and not late:
            return  # the failed step's message and hint arrive with the task's steps
        self._timer.stop()
        QTimer.singleShot(800, self._save)  # queued scrolls and repaints settle

    def _save(self) -> None:
        assert self._window is not None
        self._out.parent.mkdir(parents=True, exist_ok=True)
        self._window.grab().save(str(self._out))
        size = self._window.size()
        print(f"saved {self._out} ({size.width()}×{size.height()}, job {self._job})")
        self._window.close()

    def _give_up(self) -> None:
        self._timer.stop()
        self.failed = True
        print("no failed job appeared in time", file=sys.stderr)
        if self._window is not None:
            self._window.close()


def failed_job(records: list[JobRecord], *, late: bool) -> JobRecord | None:
    for state in WANTED:
        for record in records:
            if record.state == state and not record.system:
                return record
    if late:  # the retried firmware job: its task failed and waits to be flashed again
        return next((r for r in records if r.type == "firmware-update" and r.state
                     == "Running"), None)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", help="resize the window to WIDTHxHEIGHT (default: as it "
                        "opens on the screen)")
    parser.add_argument("--out", type=Path, default=Path("docs/main-window.png"),
                        help="the PNG to write (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=90.0,
                        help="seconds to wait for a failed job (default: %(default)s)")
    args = parser.parse_args(argv)
    size = tuple(int(n) for n in args.size.lower().split("x")) if args.size else None
    qt_application()
    shooter = Shooter(size, args.out, args.timeout)  # type: ignore[arg-type]
    QTimer.singleShot(0, shooter.start)  # runs once the demo's event loop does
    code = run_demo(None)
    return 1 if shooter.failed else code


if __name__ == "__main__":
    sys.exit(main())
