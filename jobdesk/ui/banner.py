"""A banner across the top of the window for conditions that last: the database refuses
writes, or a device profile of the user's cannot be used.

A status-bar message disappears after a few seconds; these stay until the condition is
gone, so a person who looks up from the device in their hands still sees why nothing
moves.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget


class Banner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setStyleSheet(
            "#banner { background: #fff4ce; border: 1px solid #e0c36c; border-radius: 3px; }"
            "#banner QLabel { color: #4d3b00; }"
        )
        self.label = QLabel()
        self.label.setObjectName("bannerText")
        self.label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label)
        self._notices: dict[str, str] = {}
        self.hide()

    def set_notice(self, key: str, text: str | None) -> None:
        """Show `text` under `key` (replacing what was there); None removes it."""
        if text:
            self._notices[key] = text
        else:
            self._notices.pop(key, None)
        self.label.setText("\n".join(self._notices.values()))
        self.setVisible(bool(self._notices))

    def notice(self, key: str) -> str | None:
        return self._notices.get(key)
