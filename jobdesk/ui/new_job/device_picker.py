"""Which devices a new job targets: a filterable, checkable list with tag shortcuts.

The inventory is read on the store's worker thread; the list is filled while detached
and swapped in, one reset instead of a signal per row, so a big fleet loads at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from jobdesk.store import Store
from jobdesk.store.records import DeviceRecord
from jobdesk.ui.context import AppContext
from jobdesk.ui.gateway import StoreGateway, while_alive
from jobdesk.ui.inventory_editor import InventoryEditor
from jobdesk.ui.new_job.words import names_text

_TAGS_ROLE = Qt.ItemDataRole.UserRole + 1


def _read_devices(store: Store) -> tuple[list[DeviceRecord], list[str]]:
    return store.devices.list(), store.devices.tags()


class DevicePicker(QGroupBox):
    """The "Target devices" box; `changed` whenever the checked devices change."""

    changed = Signal()

    def __init__(
        self,
        ctx: AppContext,
        gateway: StoreGateway,
        wanted: Sequence[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Target devices", parent)
        self._store = ctx.store
        self._gateway = gateway
        # With no devices yet, the picker offers to add some right here.
        self.editor = InventoryEditor(ctx, gateway, self)
        self.editor.changed.connect(self._on_inventory_changed)
        self.editor.message.connect(self._on_editor_message)
        self._wanted: set[str] = set(wanted)
        self._checked: set[str] = set()
        self._missing: list[str] = []
        self.loaded = False
        self.load_error: str | None = None
        self._bulk = False
        self._build()
        self._wire()

    def _build(self) -> None:
        layout = QVBoxLayout(self)

        self._filter = QLineEdit(self)
        self._filter.setObjectName("deviceFilter")
        self._filter.setPlaceholderText("Filter by name, address or tag")
        self._filter.setClearButtonEnabled(True)
        layout.addWidget(self._filter)

        self._model = QStandardItemModel(0, 3, self)
        self._model.setHorizontalHeaderLabels(["Device", "Address", "Tags"])
        self._proxy = QSortFilterProxyModel(self)
        self._proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._proxy.setFilterKeyColumn(-1)  # match name, address and tags alike
        self._proxy.setSourceModel(self._model)

        self._list = QTreeView(self)
        self._list.setObjectName("deviceList")
        self._list.setModel(self._proxy)
        self._list.setRootIsDecorated(False)
        self._list.setUniformRowHeights(True)  # constant cost per row for big fleets
        self._list.setAlternatingRowColors(True)
        self._list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self._list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._list.setMinimumWidth(320)
        header = self._list.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self._list, 1)

        self._empty = QFrame(self)
        self._empty.setObjectName("noDevices")
        self._empty.setFrameShape(QFrame.Shape.StyledPanel)
        empty = QVBoxLayout(self._empty)
        self._empty_text = QLabel(
            "No devices yet. Import your inventory from a CSV file (name,host,port,user,"
            "profile,tags) or add a device; it is checked for this job at once.", self._empty)
        self._empty_text.setObjectName("noDevicesText")
        self._empty_text.setWordWrap(True)
        self.import_button = QPushButton("&Import CSV…", self._empty)
        self.import_button.setObjectName("importDevices")
        self.add_button = QPushButton("A&dd device…", self._empty)
        self.add_button.setObjectName("addDevice")
        offer = QHBoxLayout()
        offer.addWidget(self.import_button)
        offer.addWidget(self.add_button)
        offer.addStretch(1)
        empty.addWidget(self._empty_text)
        empty.addLayout(offer)
        self._empty.hide()
        layout.addWidget(self._empty)

        tags = QHBoxLayout()
        self._tag_picker = QComboBox(self)
        self._tag_picker.setObjectName("tagPicker")
        self._tag_picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._tag_picker.setMinimumContentsLength(10)
        self._tag_picker.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._select_tag = QPushButton("Check &all with tag", self)
        self._select_tag.setObjectName("selectTag")
        tag_label = QLabel("Ta&g:", self)
        tag_label.setBuddy(self._tag_picker)
        tags.addWidget(tag_label)
        tags.addWidget(self._tag_picker, 1)
        tags.addWidget(self._select_tag)
        layout.addLayout(tags)

        counts = QHBoxLayout()
        self._count = QLabel("Loading devices…", self)
        self._count.setObjectName("deviceCount")
        self._count.setWordWrap(True)
        self._check_shown = QPushButton("Check s&hown", self)
        self._check_shown.setObjectName("checkShown")
        self._check_shown.setToolTip("Check every device the filter shows")
        self._clear = QPushButton("C&lear", self)
        self._clear.setObjectName("clearDevices")
        self._clear.setToolTip("Uncheck every device")
        counts.addWidget(self._count, 1)
        counts.addWidget(self._check_shown)
        counts.addWidget(self._clear)
        layout.addLayout(counts)

    def _wire(self) -> None:
        self._filter.textChanged.connect(self._on_filter)
        self._model.itemChanged.connect(self._on_item_changed)
        self._select_tag.clicked.connect(self._check_tag)
        self._check_shown.clicked.connect(self._check_visible)
        self._clear.clicked.connect(self._uncheck_all)
        self.import_button.clicked.connect(self.editor.import_csv)
        self.add_button.clicked.connect(lambda: self.editor.add_device([]))

    # ---- public -------------------------------------------------------------------------

    def checked(self) -> list[str]:
        """The checked devices' names, sorted."""
        return sorted(self._checked)

    def load(self) -> None:
        """Read the inventory on the worker thread; the checked devices stay checked."""
        self._wanted |= self._checked
        self._gateway.call(
            partial(_read_devices, self._store),
            while_alive(self)(self._on_devices_loaded),
            while_alive(self)(self._on_devices_failed),
        )

    def uncheck(self, names: Sequence[str]) -> None:
        """Untick these devices (those a check found blocked)."""
        dropped = set(names)
        rows = [row for row in range(self._model.rowCount())
                if self._model.item(row, 0).text() in dropped]
        self._set_checked(rows, Qt.CheckState.Unchecked)

    def update_count(self) -> None:
        if self.load_error:
            self._count.setText(self.load_error)
            return
        if not self.loaded:
            self._count.setText("Loading devices…")
            return
        text = f"{len(self._checked)} of {self._model.rowCount()} selected"
        if self._missing:
            text += f"; no longer in the inventory: {names_text(self._missing)}"
        self._count.setText(text)
        self._select_tag.setEnabled(self._tag_picker.count() > 0)

    # ---- loading --------------------------------------------------------------------------

    def _on_devices_loaded(self, result: tuple[list[DeviceRecord], list[str]]) -> None:
        devices, tags = result
        model = QStandardItemModel(0, 3, self)
        model.setHorizontalHeaderLabels(["Device", "Address", "Tags"])
        known: set[str] = set()
        self._checked = set()
        for device in devices:
            known.add(device.name)
            name = QStandardItem(device.name)
            name.setCheckable(True)
            name.setEditable(False)
            name.setData(device.tags, _TAGS_ROLE)
            if device.name in self._wanted:
                name.setCheckState(Qt.CheckState.Checked)
                self._checked.add(device.name)
            address = QStandardItem(
                device.host if device.port == 22 else f"{device.host}:{device.port}"
            )
            address.setEditable(False)
            tag_item = QStandardItem(", ".join(device.tags))
            tag_item.setEditable(False)
            model.appendRow([name, address, tag_item])
        # Filled while detached, then swapped in: one reset instead of a signal per row.
        old = self._model
        self._model = model
        self._model.itemChanged.connect(self._on_item_changed)
        self._proxy.setSourceModel(model)
        old.deleteLater()
        self._missing = sorted(self._wanted - known)
        self._tag_picker.clear()
        self._tag_picker.addItems(tags)
        self.loaded = True
        self._empty.setVisible(not devices)
        self.changed.emit()

    def _on_inventory_changed(self, names: list[str] | None) -> None:
        """Devices were added here: read the list again, a device added by hand checked."""
        self._wanted.update(names or ())
        self.load()

    def _on_editor_message(self, text: str, error: bool) -> None:
        if error:
            self._empty_text.setText(text)

    def _on_devices_failed(self, message: str) -> None:
        self.load_error = f"Could not read the devices: {message}"
        self.changed.emit()

    # ---- checking -------------------------------------------------------------------------

    def _on_filter(self, text: str) -> None:
        self._proxy.setFilterFixedString(text.strip())

    def _on_item_changed(self, item: QStandardItem) -> None:
        if item.column() != 0:
            return
        if item.checkState() == Qt.CheckState.Checked:
            self._checked.add(item.text())
        else:
            self._checked.discard(item.text())
        if not self._bulk:
            self.changed.emit()

    def _set_checked(self, rows: Sequence[int], state: Qt.CheckState) -> None:
        """Check or uncheck many rows, refreshing the form once rather than per row."""
        self._bulk = True
        try:
            for row in rows:
                item = self._model.item(row, 0)
                if item is not None and item.checkState() != state:
                    item.setCheckState(state)
        finally:
            self._bulk = False
        self.changed.emit()

    def _check_tag(self) -> None:
        tag = self._tag_picker.currentText()
        if not tag:
            return
        rows = [
            row
            for row in range(self._model.rowCount())
            if tag in (self._model.item(row, 0).data(_TAGS_ROLE) or ())
        ]
        self._set_checked(rows, Qt.CheckState.Checked)

    def _check_visible(self) -> None:
        rows = [
            self._proxy.mapToSource(self._proxy.index(row, 0)).row()
            for row in range(self._proxy.rowCount())
        ]
        self._set_checked(rows, Qt.CheckState.Checked)

    def _uncheck_all(self) -> None:
        self._set_checked(range(self._model.rowCount()), Qt.CheckState.Unchecked)

