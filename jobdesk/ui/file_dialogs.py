"""File dialogs that never open the files they list.

Qt's file dialog guesses each listed file's type by reading its first bytes. If the
database's folder is shown, the window's process opens and closes the database file (and
its -wal and -shm): closing any descriptor of a file drops every POSIX lock the process
holds on it, and a second jobdesk process then believes it is alone and deletes the WAL
under the window's feet (SQLite's "How To Corrupt" page, section 2.2). So the dialogs here
use an icon provider that decides by name alone, and Qt's own dialog (a platform dialog
runs in-process too and sniffs the same way).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QFileInfo, Qt
from PySide6.QtGui import QAbstractFileIconProvider, QIcon
from PySide6.QtWidgets import QApplication, QFileDialog, QStyle, QWidget


class NameOnlyIconProvider(QAbstractFileIconProvider):
    """Icons and type names from the file name only: no file is ever opened."""

    def __init__(self) -> None:
        super().__init__()
        style = QApplication.style()
        self._folder = style.standardIcon(QStyle.StandardPixmap.SP_DirIcon)
        self._file = style.standardIcon(QStyle.StandardPixmap.SP_FileIcon)
        self._drive = style.standardIcon(QStyle.StandardPixmap.SP_DriveHDIcon)

    def icon(self, what: object) -> QIcon:  # type: ignore[override]
        if isinstance(what, QFileInfo):
            if what.isRoot():
                return self._drive
            return self._folder if what.isDir() else self._file
        if what == QAbstractFileIconProvider.IconType.Folder:
            return self._folder
        if what == QAbstractFileIconProvider.IconType.Drive:
            return self._drive
        return self._file

    def type(self, info: QFileInfo) -> str:
        if info.isDir():
            return "Folder"
        suffix = info.suffix()
        return f"{suffix.upper()} file" if suffix else "File"


def choose_file(
    parent: QWidget,
    title: str,
    directory: str,
    name_filter: str,
    on_chosen: Callable[[str], None],
) -> QFileDialog:
    """Open a file dialog that never reads the files it lists; `on_chosen(path)` follows.

    Window-modal and not blocking: the window keeps painting and the runtime's events
    keep arriving while a person browses.
    """
    dialog = QFileDialog(parent, title, directory, name_filter)
    dialog.setObjectName("fileDialog")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.setOption(QFileDialog.Option.DontUseCustomDirectoryIcons, True)
    dialog.setIconProvider(NameOnlyIconProvider())
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(on_chosen)
    dialog.open()
    return dialog
