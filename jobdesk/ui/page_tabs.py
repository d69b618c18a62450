"""The window's pages (Jobs, Devices) under a row of tabs.

Why not `QTabWidget`: it repaints all of itself whenever something inside it asks for a
new layout, and a label does that each time its text changes length (a job's state, its
next run, the count of jobs listed). While the runtime drives a fleet that was a repaint
of the whole window every few seconds, 40-70 ms of the window's thread each, waiting for
the interpreter behind the runtime for every widget that paints in Python. A tab bar over
a stack lays the pages out the same way and repaints only what changed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QStackedWidget, QTabBar, QVBoxLayout, QWidget


class PageTabs(QWidget):
    """Pages shown one at a time, chosen by their tab (or Ctrl+Tab, Ctrl+Shift+Tab)."""

    currentChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tab_bar = QTabBar()
        self.tab_bar.setObjectName("pageTabs")
        self.tab_bar.setDocumentMode(True)
        self.tab_bar.setExpanding(False)
        self.stack = QStackedWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.tab_bar)
        layout.addWidget(self.stack, 1)
        self.tab_bar.currentChanged.connect(self._show)
        for keys, step in (("Ctrl+Tab", 1), ("Ctrl+Shift+Tab", -1)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda step=step: self._step(step))

    def addTab(self, page: QWidget, title: str) -> int:
        self.stack.addWidget(page)
        return self.tab_bar.addTab(title)

    def count(self) -> int:
        return self.stack.count()

    def currentIndex(self) -> int:
        return self.tab_bar.currentIndex()

    def setCurrentIndex(self, index: int) -> None:
        self.tab_bar.setCurrentIndex(index)

    def currentWidget(self) -> QWidget:
        return self.stack.currentWidget()

    def setCurrentWidget(self, page: QWidget) -> None:
        self.setCurrentIndex(self.stack.indexOf(page))

    def widget(self, index: int) -> QWidget:
        return self.stack.widget(index)

    def tabText(self, index: int) -> str:
        return self.tab_bar.tabText(index)

    def _show(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self.currentChanged.emit(index)

    def _step(self, step: int) -> None:
        if self.count():
            self.setCurrentIndex((self.currentIndex() + step) % self.count())
