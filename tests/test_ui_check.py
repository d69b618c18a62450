"""*Check devices…* in the New-job dialog: the verdict table, and dropping blocked devices.

The check runs on its own thread with the fake driver; the test waits for its result.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, Qt
from PySide6.QtWidgets import QLabel, QPushButton, QTableView

from jobdesk.domain.jobtypes import JobType
from jobdesk.ui.check_dialog import CheckDialog
from jobdesk.ui.context import AppContext
from jobdesk.ui.gateway import StoreGateway
from tests.fake_driver import FakeDriver
from tests.test_ui_new_job import (
    WAIT_MS,
    add_devices,
    checked_devices,
    child,
    choose_type,
    open_dialog,
    toggle_device,
)


def test_check_devices_shows_verdicts_and_drops_the_blocked(
        qtbot: Any, app_context: AppContext, gateway: StoreGateway) -> None:
    add_devices(app_context)
    driver = FakeDriver()
    driver.fail("rtr-002", "connect", "auth", "rtr-002 refused the login of user 'admin'")
    made: list[FakeDriver] = []
    app_context.driver_factory = lambda: made.append(driver) or driver
    dialog = open_dialog(qtbot, app_context, gateway)
    choose_type(dialog, JobType.REBOOT)
    check = child(dialog, QPushButton, "checkDevices")
    assert not check.isEnabled()  # no device chosen yet
    for name in ("rtr-001", "rtr-002", "rtr-003"):
        toggle_device(qtbot, dialog, name)
    assert check.isEnabled()  # no name, no schedule needed for a check

    qtbot.mouseClick(check, Qt.MouseButton.LeftButton)
    checker = dialog.findChild(CheckDialog, "checkDialog")
    assert checker is not None
    table = child(checker, QTableView, "checkTable")
    model = table.model()
    assert isinstance(model, QAbstractTableModel)
    qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=WAIT_MS)

    rows = [[model.index(r, c).data() for c in range(3)] for r in range(3)]
    assert [row[:2] for row in rows] == [
        ["rtr-001", "ready"], ["rtr-002", "blocked"], ["rtr-003", "ready"]]
    assert rows[1][2] == "authentication refused: rtr-002 refused the login of user 'admin'"
    assert model.index(1, 2).data(Qt.ItemDataRole.ToolTipRole) == "fake hint for connect"
    assert child(checker, QLabel, "checkStatus").text().startswith(
        "3 device(s): 2 ready, 0 skip, 1 blocked")
    assert made == [driver]  # one driver for the whole check
    assert [c for c in driver.calls if c[1] != "connect"] == []  # a reboot check only connects

    drop = child(checker, QPushButton, "dropBlocked")
    assert drop.isEnabled()
    qtbot.mouseClick(drop, Qt.MouseButton.LeftButton)
    assert checked_devices(dialog) == {"rtr-001", "rtr-003"}
    assert child(dialog, QLabel, "deviceCount").text().startswith("2 of 4 selected")
    assert not drop.isEnabled()
    checker.reject()


def test_a_check_refused_before_any_device_is_said_in_the_dialog(
        qtbot: Any, app_context: AppContext, gateway: StoreGateway, tmp_path: Any) -> None:
    add_devices(app_context)
    app_context.driver_factory = FakeDriver
    dialog = open_dialog(qtbot, app_context, gateway)
    choose_type(dialog, JobType.REBOOT)
    toggle_device(qtbot, dialog, "rtr-001")
    app_context.store.devices.remove("rtr-001")  # gone from the inventory meanwhile
    qtbot.mouseClick(child(dialog, QPushButton, "checkDevices"), Qt.MouseButton.LeftButton)
    checker = dialog.findChild(CheckDialog, "checkDialog")
    status = child(checker, QLabel, "checkStatus")
    qtbot.waitUntil(lambda: status.text().startswith("The check did not run:"), timeout=WAIT_MS)
    assert "rtr-001" in status.text()
    assert checker.model.rowCount() == 0
    assert not child(checker, QPushButton, "dropBlocked").isEnabled()
    checker.reject()
