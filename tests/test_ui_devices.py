"""The devices page: model contract, dialogs, and every action through the real store.

Each action goes through the StoreGateway's worker thread, so tests wait for its
callbacks with `qtbot.waitUntil`; no modal dialog is ever left blocking (message boxes
and file choosers are monkeypatched, our own dialogs are opened non-blocking).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from jobdesk.domain.inventory import make_device
from jobdesk.domain.jobtypes import JobType
from jobdesk.runtime.actions import JobRequest
from jobdesk.store.records import DeviceRecord
from jobdesk.ui.device_dialog import DeviceDialog, split_tags
from jobdesk.ui.devices_model import (
    RECORD_ROLE,
    Column,
    DevicesModel,
    expiry_note,
    local_time,
)
from jobdesk.ui.devices_view import DevicesPage, DevicesView
from tests.conftest import START

WAIT_MS = 5000


def record(name: str, **fields: Any) -> DeviceRecord:
    values: dict[str, Any] = {
        "id": abs(hash(name)) % 100000, "host": "10.0.0.1", "port": 22, "user": "admin",
        "profile": "netmodule", "tags": (),
    }
    values.update(fields)
    return DeviceRecord(name=name, **values)


def add(app_context: Any, name: str, host: str = "10.0.0.1", tags: tuple[str, ...] = ()) -> None:
    app_context.store.devices.add(make_device(name, host, tags=tags), app_context.clock.now())


@pytest.fixture
def view(qtbot: Any, app_context: Any, gateway: Any) -> DevicesView:
    widget = DevicesView(app_context, gateway)
    qtbot.addWidget(widget)
    widget.resize(1100, 500)
    widget.show()
    return widget


def load(qtbot: Any, view: DevicesView, count: int) -> None:
    view.reload()
    qtbot.waitUntil(lambda: view.model.total_count() == count and not view._loading,
                    timeout=WAIT_MS)


def names_shown(view: DevicesView) -> list[str]:
    return [view.model.record(row).name for row in range(view.model.rowCount())]


def select(view: DevicesView, *names: str) -> None:
    view.select_names(names)


# --- the model --------------------------------------------------------------------------------


def sample_records() -> list[DeviceRecord]:
    return [
        record("router-10", host="10.0.0.10", model="NB800", firmware="4.8.0.102",
               last_seen_at=START - timedelta(hours=1), tags=("lte", "site1"),
               cert_expires_at=START + timedelta(days=12)),
        record("router-9", host="10.0.0.9", port=2222, model="NB1601",
               cert_expires_at=START - timedelta(days=3)),
        record("router-2", host="fd00::2", profile="generic-linux", tags=("site2",),
               cert_expires_at=START + timedelta(days=300)),
    ]


def test_model_passes_the_qt_model_tester(qtmodeltester: Any, app_context: Any) -> None:
    model = DevicesModel(app_context.clock.now)
    model.set_devices(sample_records())
    qtmodeltester.check(model)
    model.sort(Column.CERTIFICATE, Qt.SortOrder.DescendingOrder)
    model.set_filter("router-1")
    qtmodeltester.check(model)


def test_model_shows_addresses_times_and_certificate_warnings_in_words(
    qapp: Any, app_context: Any,
) -> None:
    model = DevicesModel(app_context.clock.now, timedelta(days=30))
    model.set_devices(sample_records())
    assert names_shown_model(model) == ["router-2", "router-9", "router-10"]  # natural order

    def cell(name: str, column: Column, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = model.row_of(name)
        assert row is not None
        return model.data(model.index(row, column), role)

    assert cell("router-9", Column.ADDRESS) == "10.0.0.9:2222"
    assert cell("router-2", Column.ADDRESS) == "[fd00::2]:22"
    assert cell("router-10", Column.LAST_SEEN) == local_time(START - timedelta(hours=1))
    assert len(cell("router-10", Column.LAST_SEEN)) == len("2026-12-01 22:05")
    assert cell("router-9", Column.LAST_SEEN) == "never"
    assert cell("router-10", Column.CERTIFICATE).endswith("expires in 12 d")
    assert cell("router-9", Column.CERTIFICATE).endswith("expired 3 d ago")
    assert "expire" not in cell("router-2", Column.CERTIFICATE)
    assert cell("router-10", Column.TAGS) == "lte, site1"
    for name in ("router-10", "router-9"):
        assert cell(name, Column.CERTIFICATE, Qt.ItemDataRole.DecorationRole) is not None
        assert cell(name, Column.CERTIFICATE, Qt.ItemDataRole.ForegroundRole) is not None
    assert cell("router-2", Column.CERTIFICATE, Qt.ItemDataRole.DecorationRole) is None
    tip = cell("router-10", Column.NAME, Qt.ItemDataRole.ToolTipRole)
    assert "NB800" in tip and "expires in 12 d" in tip and "lte, site1" in tip
    assert cell("router-9", Column.NAME, RECORD_ROLE).port == 2222


def names_shown_model(model: DevicesModel) -> list[str]:
    return [model.record(row).name for row in range(model.rowCount())]


def test_expiry_note_wording() -> None:
    month = timedelta(days=30)
    assert expiry_note(None, START, month) is None
    assert expiry_note(START + timedelta(days=31), START, month) is None
    assert expiry_note(START + timedelta(days=30), START, month) == "expires in 30 d"
    assert expiry_note(START + timedelta(hours=5), START, month) == "expires in 5 h"
    assert expiry_note(START - timedelta(hours=5), START, month) == "expired today"


def test_model_filters_by_name_address_tag_and_model(qapp: Any, app_context: Any) -> None:
    model = DevicesModel(app_context.clock.now)
    model.set_devices(sample_records())
    for text, expected in [
        ("site2", ["router-2"]),
        ("nb16", ["router-9"]),
        ("10.0.0.1", ["router-10"]),
        (":2222", ["router-9"]),
        ("router site", ["router-2", "router-10"]),
        ("", ["router-2", "router-9", "router-10"]),
    ]:
        model.set_filter(text)
        assert names_shown_model(model) == expected, text


# --- the dialog -------------------------------------------------------------------------------


def test_dialog_validates_in_words_and_gates_ok(qtbot: Any) -> None:
    dialog = DeviceDialog(taken_names=["known"])
    qtbot.addWidget(dialog)
    assert not dialog.ok_button.isEnabled()
    assert "name and host" in dialog.message.text()
    qtbot.keyClicks(dialog.name_edit, "bad name!")
    qtbot.keyClicks(dialog.host_edit, "10.0.0.5")
    assert not dialog.ok_button.isEnabled()
    assert "name 'bad name!'" in dialog.message.text()
    dialog.name_edit.setText("known")
    assert "exists already" in dialog.message.text()
    dialog.name_edit.setText("fresh")
    dialog.tags_edit.setText("a b")
    assert "tag 'a b'" in dialog.message.text()
    dialog.tags_edit.setText("site1; lte, spare")
    assert dialog.ok_button.isEnabled() and dialog.message.text() == ""
    device = dialog.device()
    assert (device.name, device.port, device.user, device.profile) == (
        "fresh", 22, "admin", "netmodule"
    )
    assert device.tags == ("lte", "site1", "spare")
    assert split_tags(" a ,, b;c ") == ("a", "b", "c")


# --- the view ---------------------------------------------------------------------------------


def test_add_a_device_by_typing_in_the_dialog(qtbot: Any, view: DevicesView,
                                              app_context: Any) -> None:
    load(qtbot, view, 0)
    assert "No devices yet" in view.count_label.text()
    view.add_action.trigger()
    dialog = view.dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.name_edit, "site12-router")
    qtbot.keyClicks(dialog.host_edit, "192.168.12.1")
    dialog.port_spin.setValue(2222)
    qtbot.keyClicks(dialog.tags_edit, "site12; lte")
    assert dialog.ok_button.isEnabled()
    with qtbot.waitSignal(view.devicesChanged, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    stored = app_context.store.devices.get("site12-router")
    assert (stored.host, stored.port, stored.tags) == ("192.168.12.1", 2222, ("lte", "site12"))
    qtbot.waitUntil(lambda: view.selected_names() == ["site12-router"], timeout=WAIT_MS)
    assert view.dialog is None  # accepted, closed and deleted


def test_a_refused_add_keeps_the_dialog_open_with_the_reason(
    qtbot: Any, view: DevicesView, app_context: Any
) -> None:
    load(qtbot, view, 0)
    view.add_action.trigger()
    dialog = view.dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.name_edit, "twin")
    qtbot.keyClicks(dialog.host_edit, "10.0.0.7")
    add(app_context, "twin")  # someone else got there first
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "exists already" in dialog.message.text(), timeout=WAIT_MS)
    assert dialog.isVisible() and dialog.ok_button.isEnabled()
    dialog.reject()


def test_edit_changes_host_and_tags(qtbot: Any, view: DevicesView, app_context: Any) -> None:
    add(app_context, "r1", tags=("old",))
    add(app_context, "r2")
    load(qtbot, view, 2)
    select(view, "r1")
    assert view.edit_action.isEnabled()
    view.edit_action.trigger()
    dialog = view.dialog
    assert dialog is not None and dialog.name_edit.isReadOnly()
    assert dialog.tags_edit.text() == "old"
    dialog.host_edit.clear()
    qtbot.keyClicks(dialog.host_edit, "10.9.9.9")
    dialog.tags_edit.clear()
    qtbot.keyClicks(dialog.tags_edit, "new, site3")
    with qtbot.waitSignal(view.devicesChanged, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    stored = app_context.store.devices.get("r1")
    assert (stored.host, stored.tags) == ("10.9.9.9", ("new", "site3"))
    qtbot.waitUntil(
        lambda: view.model.data(view.model.index(0, Column.ADDRESS)) == "10.9.9.9:22",
        timeout=WAIT_MS,
    )
    assert view.selected_names() == ["r1"]


def test_remove_asks_first(qtbot: Any, view: DevicesView, app_context: Any,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("r1", "r2", "r3"):
        add(app_context, name)
    load(qtbot, view, 3)
    questions: list[str] = []
    answer = QMessageBox.StandardButton.No

    def ask(parent: Any, title: str, text: str, *args: Any) -> QMessageBox.StandardButton:
        questions.append(text)
        return answer

    monkeypatch.setattr(QMessageBox, "question", ask)
    select(view, "r1", "r3")
    view.remove_action.trigger()
    assert "r1, r3" in questions[-1]
    qtbot.wait(50)
    assert len(app_context.store.devices.list()) == 3  # "No" keeps them

    answer = QMessageBox.StandardButton.Yes
    with qtbot.waitSignal(view.devicesChanged, timeout=WAIT_MS):
        view.remove_action.trigger()
    assert [d.name for d in app_context.store.devices.list()] == ["r2"]
    qtbot.waitUntil(lambda: names_shown(view) == ["r2"], timeout=WAIT_MS)
    assert "Removed r1, r3" in view.message()


def test_remove_shows_the_refusal_for_a_device_with_open_tasks(
    qtbot: Any, view: DevicesView, app_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(app_context, "busy")
    add(app_context, "idle")
    job = app_context.service.create(
        JobRequest(name="reboot busy", type=JobType.REBOOT, devices=["busy"])
    )
    load(qtbot, view, 2)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args: QMessageBox.StandardButton.Yes)
    select(view, "busy", "idle")
    view.remove_action.trigger()
    qtbot.waitUntil(lambda: "Not removed" in view.message(), timeout=WAIT_MS)
    message = view.message()
    assert "'busy' has open tasks" in message and str(job.id) in message
    assert "cancel them first" in message and "Removed 1 device" in message
    assert [d.name for d in app_context.store.devices.list()] == ["busy"]


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_keeps_good_lines_and_reports_the_bad_one(
    qtbot: Any, view: DevicesView, app_context: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add(app_context, "r1", host="10.0.0.1")
    load(qtbot, view, 1)
    path = write_csv(tmp_path, (
        "name,host,port,user,profile,tags\n"
        "r1,10.1.0.1,22,admin,netmodule,site1\n"
        "r2,10.1.0.2,99999,admin,netmodule,site1\n"
        "r3,10.1.0.3,22,admin,netmodule,site1;lte\n"
    ))
    with qtbot.waitSignal(view.devicesChanged, timeout=WAIT_MS):
        choose(view, path)
    report = view.import_report
    assert report is not None and report.isVisible()
    assert report.result.added == 1 and report.result.updated == 1
    assert "1 device added, 1 updated" in report.summary.text()
    table = report.rejected_table
    assert table.rowCount() == 1
    assert table.item(0, 0).data(Qt.ItemDataRole.DisplayRole) == 3
    assert "port 99999 is outside 1-65535" in table.item(0, 1).text()
    assert {d.name: d.host for d in app_context.store.devices.list()} == {
        "r1": "10.1.0.1", "r3": "10.1.0.3",
    }
    qtbot.waitUntil(lambda: names_shown(view) == ["r1", "r3"], timeout=WAIT_MS)
    report.close()


def test_import_with_a_wrong_header_imports_nothing(
    qtbot: Any, view: DevicesView, app_context: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    load(qtbot, view, 0)
    path = write_csv(tmp_path, "name,address\nr1,10.0.0.1\n")
    choose(view, path)
    qtbot.waitUntil(lambda: view.import_report is not None, timeout=WAIT_MS)
    report = view.import_report
    assert report is not None
    assert report.summary.text().startswith("Nothing was imported from fleet.csv")
    assert "missing column(s) host" in report.summary.text()
    assert app_context.store.devices.list() == []
    assert view.import_action.isEnabled()
    report.close()


def test_cancelling_the_file_chooser_does_nothing(qtbot: Any, view: DevicesView) -> None:
    view.import_action.trigger()
    dialog = view.file_dialog
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()
    with qtbot.waitSignal(dialog.finished, timeout=WAIT_MS):
        dialog.reject()
    assert view.import_report is None and view.import_action.isEnabled()


def choose(view: DevicesView, path: Path) -> None:
    """Import through the real file dialog, as a person picks the file in it."""
    view.import_action.trigger()
    dialog = view.file_dialog
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()
    dialog.selectFile(str(path))
    dialog.accept()


def test_create_job_emits_the_selected_names(qtbot: Any, view: DevicesView,
                                             app_context: Any) -> None:
    for name in ("a1", "a2", "a3"):
        add(app_context, name)
    load(qtbot, view, 3)
    assert not view.create_job_action.isEnabled()
    select(view, "a3", "a1")
    assert "2 selected" in view.count_label.text()
    with qtbot.waitSignal(view.createJobRequested, timeout=WAIT_MS) as blocker:
        view.create_job_action.trigger()
    assert blocker.args == [["a1", "a3"]]


def test_sorting_by_a_column_orders_rows_and_keeps_the_selection(
    qtbot: Any, view: DevicesView, app_context: Any
) -> None:
    add(app_context, "b", host="10.0.0.30")
    add(app_context, "c", host="10.0.0.4")
    add(app_context, "a", host="10.0.0.200")
    load(qtbot, view, 3)
    assert names_shown(view) == ["a", "b", "c"]
    select(view, "b")
    view.table.sortByColumn(Column.ADDRESS, Qt.SortOrder.AscendingOrder)
    assert names_shown(view) == ["c", "b", "a"]  # 10.0.0.4 < .30 < .200
    view.table.sortByColumn(Column.ADDRESS, Qt.SortOrder.DescendingOrder)
    assert names_shown(view) == ["a", "b", "c"]
    view.table.sortByColumn(Column.NAME, Qt.SortOrder.DescendingOrder)
    assert names_shown(view) == ["c", "b", "a"]
    assert view.selected_names() == ["b"]


def test_filter_and_reload_keep_the_selection_by_name(
    qtbot: Any, view: DevicesView, app_context: Any
) -> None:
    add(app_context, "east-1", tags=("east",))
    add(app_context, "east-2", tags=("east",))
    add(app_context, "west-1", tags=("west",))
    load(qtbot, view, 3)
    select(view, "east-2")
    qtbot.keyClicks(view.filter_edit, "east")
    assert names_shown(view) == ["east-1", "east-2"]
    assert view.selected_names() == ["east-2"]
    assert "2 of 3 shown" in view.count_label.text()
    add(app_context, "east-0", tags=("east",))
    load(qtbot, view, 4)
    assert names_shown(view) == ["east-0", "east-1", "east-2"]
    assert view.selected_names() == ["east-2"]
    current = view.table.currentIndex()
    assert view.model.record(current.row()).name == "east-2"
    view.filter_edit.clear()
    assert view.selected_names() == ["east-2"]


def test_context_menu_offers_the_same_actions(qtbot: Any, view: DevicesView,
                                              app_context: Any) -> None:
    add(app_context, "r1")
    load(qtbot, view, 1)
    select(view, "r1")
    menu = view.context_menu()
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts == ["Create job…", "Add…", "Edit…", "Remove…", "History…", "Import CSV…",
                     "Refresh"]
    assert all(a.isEnabled() for a in menu.actions())
    menu.deleteLater()


# --- following the store ----------------------------------------------------------------------


def test_the_page_loads_on_first_show_without_refresh(
    qtbot: Any, app_context: Any, gateway: Any
) -> None:
    for name in ("r1", "r2", "r3"):
        add(app_context, name)
    page = DevicesPage(app_context, gateway)
    qtbot.addWidget(page)
    assert page.model.total_count() == 0  # nothing read before it is shown
    page.show()
    qtbot.waitUntil(lambda: page.model.total_count() == 3, timeout=WAIT_MS)
    assert page.count_label.text() == "3 devices"


def test_a_device_report_shows_its_new_firmware_and_last_seen(
    qtbot: Any, view: DevicesView, app_context: Any
) -> None:
    add(app_context, "r1")
    load(qtbot, view, 1)
    select(view, "r1")
    assert view.model.data(view.model.index(0, Column.LAST_SEEN)) == "never"
    device = app_context.store.devices.get("r1")
    app_context.store.devices.update_info(device.id, START, model="NB800", firmware="4.9.0")
    view.device_changed(device.id)  # what the runtime's DeviceChanged event calls
    qtbot.waitUntil(
        lambda: view.model.data(view.model.index(0, Column.FIRMWARE)) == "4.9.0",
        timeout=WAIT_MS)
    assert view.model.data(view.model.index(0, Column.MODEL)) == "NB800"
    assert view.model.data(view.model.index(0, Column.LAST_SEEN)) == local_time(START, START)
    assert view.selected_names() == ["r1"]  # a refresh keeps the selection


def test_an_import_made_elsewhere_appears_while_the_page_is_shown(
    qtbot: Any, app_context: Any, gateway: Any
) -> None:
    page = DevicesPage(app_context, gateway, poll_ms=50)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: "No devices yet" in page.count_label.text(), timeout=WAIT_MS)
    app_context.store.devices.upsert_many(
        [make_device(f"r{i}", "10.0.0.1") for i in range(25)], START)
    qtbot.waitUntil(lambda: page.model.total_count() == 25, timeout=WAIT_MS)
    assert page.count_label.text() == "25 devices"


def test_a_change_while_hidden_shows_when_the_page_is_shown_again(
    qtbot: Any, view: DevicesView, app_context: Any
) -> None:
    load(qtbot, view, 0)
    view.hide()
    add(app_context, "r1")
    view.device_changed()
    view.show()
    qtbot.waitUntil(lambda: view.model.total_count() == 1, timeout=WAIT_MS)


def test_runtime_device_reports_reach_the_window_as_a_signal(harness: Any) -> None:
    """The engine announces a device's new info; the runtime host turns that into
    `deviceChanged`, which `DevicesPage.follow` connects."""
    from jobdesk.runtime.events import DeviceChanged

    h = harness
    h.add_devices("r1")
    h.driver.device("r1").firmware = "3.1"
    h.service.create(JobRequest("info", JobType.DEVICE_INFO, devices=["r1"]))
    h.run(h.cycle())
    device = h.store.devices.get("r1")
    assert DeviceChanged(device.id) in h.events


# --- password, history, actions --------------------------------------------------------------


def test_a_password_typed_in_the_dialog_goes_to_the_secret_store(
    qtbot: Any, view: DevicesView, app_context: Any
) -> None:
    from jobdesk.devices.secrets import SecretStore

    load(qtbot, view, 0)
    view.add_action.trigger()
    dialog = view.dialog
    assert dialog is not None
    secrets = SecretStore(app_context.data_dir)
    expected = ("system keyring" if secrets.backend == "keyring"
                else str(app_context.data_dir / "secrets.json"))
    qtbot.waitUntil(lambda: expected in dialog.password_note.text(), timeout=WAIT_MS)
    assert dialog.password_edit.echoMode() == dialog.password_edit.EchoMode.Password
    qtbot.keyClicks(dialog.name_edit, "pw-router")
    qtbot.keyClicks(dialog.host_edit, "10.0.0.8")
    qtbot.keyClicks(dialog.password_edit, "s3cret pass")
    with qtbot.waitSignal(view.devicesChanged, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert SecretStore(app_context.data_dir).get_password("pw-router") == "s3cret pass"
    assert "Its password is kept in" in view.message()
    assert "s3cret" not in view.message()


def test_history_lists_the_jobs_of_the_selected_device(
    qtbot: Any, view: DevicesView, app_context: Any
) -> None:
    from jobdesk.runtime.actions import JobService
    from jobdesk.settings import Settings

    add(app_context, "r1")
    add(app_context, "r2")
    jobs = JobService(app_context.store, Settings(), app_context.clock)
    first = jobs.create(JobRequest("reboot both", JobType.REBOOT, devices=["r1", "r2"]))
    jobs.cancel_job(first.id)
    second = jobs.create(JobRequest("reboot r1", JobType.REBOOT, devices=["r1"]))
    load(qtbot, view, 2)
    assert not view.history_action.isEnabled()  # nothing selected
    select(view, "r1")
    assert view.history_action.isEnabled()
    view.history_action.trigger()
    dialog = view.history
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.entry_count() == 2, timeout=WAIT_MS)
    assert [dialog.table.item(row, 0).text() for row in range(2)] == [
        str(second.id), str(first.id)]
    assert dialog.table.item(1, 3).text() == "Cancelled Manually"
    assert "2 jobs touched r1" in dialog.summary.text()
    with qtbot.waitSignal(view.showJobRequested, timeout=WAIT_MS) as shown:
        dialog.table.itemDoubleClicked.emit(dialog.table.item(1, 1))
    assert shown.args == [first.id]


def test_page_actions_are_enabled_only_when_they_can_act(
    qtbot: Any, view: DevicesView, app_context: Any
) -> None:
    add(app_context, "r1")
    add(app_context, "r2")
    load(qtbot, view, 2)
    actions = {a.text(): a for a in view.page_actions()}
    assert list(actions) == ["Add…", "Edit…", "Remove…", "Import CSV…", "Refresh",
                             "History…", "Create job…"]

    def enabled() -> set[str]:
        return {text for text, action in actions.items() if action.isEnabled()}

    assert enabled() == {"Add…", "Import CSV…", "Refresh"}
    select(view, "r1")
    assert enabled() == set(actions)
    select(view, "r1", "r2")
    assert enabled() == {"Add…", "Remove…", "Import CSV…", "Refresh", "Create job…"}
    select(view)
    assert view.history_action.toolTip() == "Select one device first"
    assert view.remove_action.toolTip() == "Select devices first"
    select(view, "r2")
    assert view.history_action.toolTip() == "The jobs that touched the selected device"
