"""Add or edit one device: the same validation as the CLI and the CSV import, as you type.

The dialog checks every keystroke with `make_device`, so the words a field engineer sees
here are the very words a rejected CSV line gets; OK stays disabled until the entry is
valid. It never touches the store: the caller saves the entry (off the UI thread) and,
when it defers acceptance, reports a refusal back with `show_error` so the dialog stays
open with everything typed still in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from jobdesk.domain.inventory import (
    DEFAULT_PORT,
    DEFAULT_PROFILE,
    DEFAULT_USER,
    DeviceInput,
    InventoryError,
    make_device,
)
from jobdesk.store.records import DeviceRecord
from jobdesk.ui.file_dialogs import choose_file

PROFILES = ("netmodule", "generic-linux")
_TAG_SEPARATORS = re.compile(r"[,;]")

_ERROR_STYLE = "color: #b91c1c;"
_HINT_STYLE = ""  # the normal text colour: a hint is not an error


def split_tags(text: str) -> tuple[str, ...]:
    """Tags as people type them: separated by commas or semicolons, blanks ignored."""
    return tuple(t.strip() for t in _TAG_SEPARATORS.split(text) if t.strip())


class DeviceDialog(QDialog):
    """Add a device (`existing=None`) or edit one (its name, the identity, is read-only).

    With `defer_accept=True`, OK emits `submitted(DeviceInput)` and waits: the caller
    saves and then calls `accept()` or `show_error(message)`. Without it, OK simply
    accepts and the caller reads `device()`.
    """

    submitted = Signal(object)  # DeviceInput

    def __init__(
        self,
        existing: DeviceRecord | None = None,
        *,
        taken_names: Iterable[str] = (),
        profiles: Iterable[str] = PROFILES,
        defer_accept: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._profiles = tuple(dict.fromkeys(profiles))
        self._editing = existing is not None
        self._defer_accept = defer_accept
        # Only an add can collide with another device; an edit keeps its own name.
        self._taken = set() if self._editing else {n.lower() for n in taken_names}
        self._device: DeviceInput | None = None
        self._busy = False
        self.setWindowTitle(f"Edit {existing.name}" if existing else "Add device")
        self.setModal(True)

        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("name")
        self.name_edit.setPlaceholderText("e.g. site12-router")
        self.host_edit = QLineEdit()
        self.host_edit.setObjectName("host")
        self.host_edit.setPlaceholderText("host name or IP address")
        self.port_spin = QSpinBox()
        self.port_spin.setObjectName("port")
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(DEFAULT_PORT)
        self.user_edit = QLineEdit(DEFAULT_USER)
        self.user_edit.setObjectName("user")
        self.profile_combo = QComboBox()
        self.profile_combo.setObjectName("profile")
        self.profile_combo.setEditable(True)
        self.profile_combo.addItems(list(self._profiles))
        self.profile_combo.setCurrentText(DEFAULT_PROFILE)
        self.tags_edit = QLineEdit()
        self.tags_edit.setObjectName("tags")
        self.tags_edit.setPlaceholderText("comma- or semicolon-separated, e.g. site12, lte")
        self.key_edit = QLineEdit()
        self.key_edit.setObjectName("key_path")
        self.key_edit.setPlaceholderText("optional")
        self.key_edit.setToolTip(
            "A private key file for this device; empty means the SSH agent or default keys"
        )
        self.key_edit.setClearButtonEnabled(True)
        browse = QPushButton("Browse…")
        browse.setObjectName("browse_key")
        browse.clicked.connect(self._choose_key)
        key_row = QHBoxLayout()
        key_row.setContentsMargins(0, 0, 0, 0)
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(browse)
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText(
            "leave empty to keep the stored one" if self._editing else "optional")
        self.password_edit.setToolTip(
            "The SSH password, for devices that take no key; it never goes to the database")
        self.password_note = QLabel("Where the password is kept is being checked…")
        self.password_note.setObjectName("passwordStore")
        self.password_note.setWordWrap(True)
        self.password_note.setStyleSheet("color: palette(dark);")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("&Name:", self.name_edit)
        form.addRow("&Host:", self.host_edit)
        form.addRow("&Port:", self.port_spin)
        form.addRow("&User:", self.user_edit)
        form.addRow("P&rofile:", self.profile_combo)
        form.addRow("&Tags:", self.tags_edit)
        key_label = QLabel("Private &key file:")
        key_label.setBuddy(self.key_edit)  # a row holding a layout gets no buddy by itself
        form.addRow(key_label, key_row)
        form.addRow("Pass&word:", self.password_edit)
        form.addRow("", self.password_note)

        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Save" if self._editing else "Add")
        self.buttons.accepted.connect(self._on_ok)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)

        if existing is not None:
            self._fill(existing)

        for edit in (self.name_edit, self.host_edit, self.user_edit, self.tags_edit,
                     self.key_edit):
            edit.textChanged.connect(self._validate)
        self.port_spin.valueChanged.connect(self._validate)
        self.profile_combo.currentTextChanged.connect(self._validate)
        (self.host_edit if self._editing else self.name_edit).setFocus()
        self._validate()

    def _fill(self, record: DeviceRecord) -> None:
        self.name_edit.setText(record.name)
        self.name_edit.setReadOnly(True)
        # A read-only line edit looks editable in most styles; the window colour says "fixed".
        self.name_edit.setStyleSheet("QLineEdit { background: palette(window); }")
        self.name_edit.setToolTip("A device's name is its identity and cannot be changed.")
        self.host_edit.setText(record.host)
        self.port_spin.setValue(record.port)
        self.user_edit.setText(record.user)
        self.profile_combo.setCurrentText(record.profile)
        self.tags_edit.setText(", ".join(record.tags))
        self.key_edit.setText(record.key_path or "")

    def set_password_store(self, backend: str) -> None:
        """Say where a typed password goes: `backend` is `SecretStore.backend` ("keyring" or
        "file PATH"); the file store is named, since it is weaker than a keyring."""
        if backend == "keyring":
            text = "A password typed here is kept in the system keyring."
        else:
            path = backend.removeprefix("file ")
            text = (f"No system keyring here: a password typed here is kept in {path}, "
                    "readable only by you (mode 0600).")
        self.password_note.setText(text)

    def password(self) -> str | None:
        """The password typed, or None when the field is empty (keep what is stored)."""
        return self.password_edit.text() or None

    @property
    def editing(self) -> bool:
        """True when editing an existing device (its name fixed), False when adding one."""
        return self._editing

    def device(self) -> DeviceInput:
        """The validated entry; only meaningful once OK is enabled."""
        if self._device is None:
            raise InventoryError(self.message.text() or "the entry is not valid")
        return self._device

    @Slot()
    def _validate(self) -> None:
        """Check the whole entry; say what is wrong in words and gate OK on it."""
        self._device = None
        name, host = self.name_edit.text().strip(), self.host_edit.text().strip()
        if not name or not host:
            missing = " and ".join(
                label for label, value in (("name", name), ("host", host)) if not value
            )
            self._say(f"Enter the device's {missing}.", error=False)
            return
        try:
            device = make_device(
                name,
                host,
                self.port_spin.value(),
                self.user_edit.text(),
                self.profile_combo.currentText(),
                split_tags(self.tags_edit.text()),
                self.key_edit.text().strip() or None,
                known_profiles=self._profiles,
            )
        except InventoryError as error:
            self._say(f"The {error}.", error=True)
            return
        if device.name.lower() in self._taken:
            self._say(f"A device named {device.name!r} exists already; edit that one "
                      "instead.", error=True)
            return
        self._device = device
        self._say("", error=False)

    def _say(self, text: str, *, error: bool) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(_ERROR_STYLE if error else _HINT_STYLE)
        self.ok_button.setEnabled(self._device is not None and not self._busy)

    def show_error(self, message: str) -> None:
        """The caller's save was refused: keep the dialog open and say why."""
        self.set_busy(False)
        self.message.setText(message)
        self.message.setStyleSheet(_ERROR_STYLE)

    def set_busy(self, busy: bool) -> None:
        """While the caller saves, OK is disabled so a double click cannot save twice."""
        self._busy = busy
        self.ok_button.setEnabled(self._device is not None and not busy)

    @Slot()
    def _on_ok(self) -> None:
        if self._device is None or self._busy:
            return
        if self._defer_accept:
            self.set_busy(True)
            self.submitted.emit(self._device)
        else:
            self.accept()

    @Slot()
    def _choose_key(self) -> None:
        self.file_dialog = choose_file(self, "Private key file", self.key_edit.text(),
                                       "All files (*)", self._key_chosen)

    @Slot(str)
    def _key_chosen(self, path: str) -> None:
        if path:
            self.key_edit.setText(path)
