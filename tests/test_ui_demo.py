"""`jobdesk demo`: every job state within seconds, an introduction that stays until
dismissed, and a clean end however the demo is closed (Ctrl+Q, SIGTERM, SIGINT)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from jobdesk.ui.demo import INTRO, open_demo_window
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]
EIGHT_STATES = {"Scheduled", "Running", "Paused", "Succeeded", "Failed",
                "Partially Succeeded", "Cancelled Manually", "Replaced"}


def shown_states(window: Any) -> set[str]:
    """The State column of the jobs list, as a person reads it."""
    model = window.model
    column = next(c for c in range(model.columnCount())
                  if model.headerData(c, Qt.Orientation.Horizontal) == "State")
    return {str(model.index(row, column).data()) for row in range(model.rowCount())}


def test_the_demo_shows_eight_states_within_10_s_and_cleans_up(qtbot: Any) -> None:
    window = open_demo_window(None, None)
    folder = Path(window.ctx.store.location.path).parent
    try:
        qtbot.waitUntil(lambda: shown_states(window) >= EIGHT_STATES, timeout=10_000)
        banner = window.banner
        assert banner.isVisible() and INTRO in banner.label.text()  # still there
        qtbot.mouseClick(banner.dismiss_button, Qt.MouseButton.LeftButton)
        assert not banner.isVisible()
    finally:
        with qtbot.waitSignal(window.closed, timeout=30_000):
            window.close()
    assert not folder.exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_closes_the_demo_as_ctrl_q_does(tmp_path: Path, signum: int) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen",
           "TMPDIR": str(temporary), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    demo = subprocess.Popen([sys.executable, "-m", "jobdesk", "demo"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        log = tmp_path / "state"

        def window_open() -> bool:
            return any("window on" in path.read_text(encoding="utf-8")
                       for path in log.rglob("jobdesk.log"))

        wait_for(window_open, timeout=30)
        made = [p.name for p in temporary.iterdir()]
        assert len(made) == 1 and made[0].startswith("jobdesk-demo-")
        demo.send_signal(signum)
        _, errors = demo.communicate(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0, errors
    assert "Traceback" not in errors
    assert list(temporary.iterdir()) == []  # the database and its folder are gone
