"""A banner across the top of the window for conditions that last: the database refuses
writes, or a device profile of the user's cannot be used.

A status-bar message disappears after a few seconds; these stay until the condition is
gone, so a person who looks up from the device in their hands still sees why nothing
moves. A notice that is only information (the demo's introduction) may be dismissed
with the banner's close button; the others stay while their condition lasts.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget


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
        self.dismiss_button = QToolButton()
        self.dismiss_button.setObjectName("bannerDismiss")
        self.dismiss_button.setText("✕")
        self.dismiss_button.setAutoRaise(True)
        self.dismiss_button.setToolTip("Dismiss this note")
        self.dismiss_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.dismiss_button)
        self._notices: dict[str, str] = {}
        self._dismissable: set[str] = set()
        self._show()

    def set_notice(self, key: str, text: str | None, *, dismissable: bool = False) -> None:
        """Show `text` under `key` (replacing what was there); None removes it. A
        dismissable notice goes when the person clicks the banner's close button."""
        if text:
            self._notices[key] = text
        else:
            self._notices.pop(key, None)
        if text and dismissable:
            self._dismissable.add(key)
        else:
            self._dismissable.discard(key)
        self._show()

    def dismiss(self) -> None:
        """Remove the dismissable notices; conditions that last stay."""
        for key in self._dismissable:
            self._notices.pop(key, None)
        self._dismissable.clear()
        self._show()

    def _show(self) -> None:
        self.label.setText("\n".join(self._notices.values()))
        self.dismiss_button.setVisible(bool(self._dismissable))
        self.setVisible(bool(self._notices))

    def notice(self, key: str) -> str | None:
        return self._notices.get(key)
