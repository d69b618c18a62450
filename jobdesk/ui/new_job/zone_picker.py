"""The time-zone picker: the laptop's zone and the recently used ones first, then all,
found by typing any part of a name ("zur", "new york").

A field engineer schedules for the same few plants again and again; scrolling through
some 600 names to reach Europe/Zurich every time is what this avoids.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from zoneinfo import available_timezones

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSettings, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QCompleter, QWidget

_RECENT_KEY = "newJob/recentZones"
RECENT_MAX = 5
_SEARCH_ROLE = int(Qt.ItemDataRole.UserRole) + 1


class RecentZones:
    """The zones of the last scheduled jobs created here, newest first, kept with the
    window's own state (window.ini next to the settings file, as the window keeps it)."""

    def __init__(self, config_path: Path) -> None:
        self._settings = QSettings(str(config_path.with_name("window.ini")),
                                   QSettings.Format.IniFormat)

    def zones(self) -> list[str]:
        value = self._settings.value(_RECENT_KEY, [])
        names = [value] if isinstance(value, str) else list(value or [])
        known = available_timezones()
        return [name for name in names if name in known][:RECENT_MAX]

    def remember(self, zone: str) -> None:
        zones = [zone, *(z for z in self.zones() if z != zone)][:RECENT_MAX]
        self._settings.setValue(_RECENT_KEY, zones)
        self._settings.sync()


def _search_text(zone: str) -> str:
    """What typing is matched against: the name, and the name with spaces for "_"."""
    return f"{zone} {zone.replace('_', ' ')}"


class _ZoneCompleter(QCompleter):
    """Matches typed words anywhere in a name; inserts the name itself, not the search
    text the match was made on."""

    def pathFromIndex(self, index: QModelIndex | QPersistentModelIndex) -> str:
        return str(index.data(Qt.ItemDataRole.DisplayRole))


class ZonePicker(QComboBox):
    """An editable combo: first the laptop's zone and `recent`, a separator, then every
    IANA zone; typing opens a list of the names that contain what was typed."""

    def __init__(self, local: str, recent: Sequence[str], parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMaxVisibleItems(16)
        first = [local, *(zone for zone in recent if zone != local)]
        for zone in first:
            self.addItem(zone)
            tip = "This laptop's zone" if zone == local else "Used for a recent job"
            self.setItemData(self.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.insertSeparator(self.count())
        every = sorted(available_timezones())
        self.addItems(every)
        self.leading = first

        names = QStandardItemModel(self)
        for zone in [*first, *(z for z in every if z not in first)]:
            item = QStandardItem(zone)
            item.setData(_search_text(zone), _SEARCH_ROLE)
            names.appendRow(item)
        completer = _ZoneCompleter(names, self)
        completer.setCompletionRole(_SEARCH_ROLE)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        completer.setMaxVisibleItems(12)
        self.setCompleter(completer)
        self.setCurrentText(local)
        self.setToolTip("The plant's time zone: windows are read in it. Type any part of "
                        "its name (\"zur\", \"new york\") to find it")
