"""The device inventory as a table model: sorting and filtering in plain Python lists.

The model holds plain `DeviceRecord`s and sorts and filters them itself: a proxy model
would call back into Python for every comparison, and the inventory can hold a few
thousand routers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from functools import cache
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QRectF,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import QWidget

from jobdesk.domain.times import format_instant
from jobdesk.store.records import DeviceRecord
from jobdesk.ui import states
from jobdesk.ui.one_call import OneCallPerCell

Index = QModelIndex | QPersistentModelIndex

RECORD_ROLE = int(Qt.ItemDataRole.UserRole) + 1
"""`data(index, RECORD_ROLE)` is the row's `DeviceRecord`, for callers that need all of it."""


class Column(IntEnum):
    NAME = 0
    ADDRESS = 1
    PROFILE = 2
    MODEL = 3
    FIRMWARE = 4
    LAST_SEEN = 5
    CERTIFICATE = 6
    TAGS = 7


HEADERS = {
    Column.NAME: "Name",
    Column.ADDRESS: "Address",
    Column.PROFILE: "Profile",
    Column.MODEL: "Model",
    Column.FIRMWARE: "Firmware",
    Column.LAST_SEEN: "Last seen",
    Column.CERTIFICATE: "Certificate expires",
    Column.TAGS: "Tags",
}

# Expiry looks: text colour, cell tint. The text always says it too (never colour alone).
_EXPIRED = ("#b91c1c", "#fee2e2")
_EXPIRING = ("#92400e", "#fef3c7")


def local_time(value: datetime | None, now: datetime | None = None) -> str:
    """An instant in the laptop's zone, named ("28 Nov 06:10 CET"): the one format for
    people everywhere in the window."""
    return format_instant(value, now=now)


def address(record: DeviceRecord) -> str:
    """host:port, with an IPv6 address in brackets so the port stays readable."""
    host = record.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{record.port}"


def _natural(text: str) -> tuple[Any, ...]:
    """Sort key where "router-9" comes before "router-10" and 10.0.0.9 before 10.0.0.10."""
    parts = re.split(r"(\d+)", text.lower())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def expiry_note(expires: datetime | None, now: datetime, warn_before: timedelta) -> str | None:
    """Words for a certificate that has expired or expires within `warn_before`, else None."""
    if expires is None:
        return None
    left = expires - now
    if left <= timedelta(0):
        ago = -left
        return f"expired {ago.days} d ago" if ago.days >= 1 else "expired today"
    if left > warn_before:
        return None
    if left.days >= 1:
        return f"expires in {left.days} d"
    hours = max(1, int(left.total_seconds() // 3600))
    return f"expires in {hours} h"


@cache
def _warning_icon(size: int = 16) -> QIcon:
    """An amber triangle with "!": a shape, not only a colour, for "expires soon"."""
    image = QPixmap(size, size)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = float(size)
    path = QPainterPath(QPointF(s / 2, s * 0.06))
    path.lineTo(s * 0.96, s * 0.92)
    path.lineTo(s * 0.04, s * 0.92)
    path.closeSubpath()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#d97706"))
    painter.drawPath(path)
    painter.setBrush(QColor("white"))
    painter.drawRect(QRectF(s * 0.45, s * 0.34, s * 0.1, s * 0.32))
    painter.drawEllipse(QPointF(s / 2, s * 0.78), s * 0.06, s * 0.06)
    painter.end()
    return QIcon(image)


_SORT_KEYS: dict[Column, Callable[[DeviceRecord], Any]] = {
    Column.NAME: lambda r: _natural(r.name),
    Column.ADDRESS: lambda r: (_natural(r.host), r.port),
    Column.PROFILE: lambda r: r.profile.lower(),
    Column.MODEL: lambda r: r.model.lower() if r.model else None,
    Column.FIRMWARE: lambda r: _natural(r.firmware) if r.firmware else None,
    Column.LAST_SEEN: lambda r: r.last_seen_at,
    Column.CERTIFICATE: lambda r: r.cert_expires_at,
    Column.TAGS: lambda r: tuple(t.lower() for t in r.tags) or None,
}


class DevicesModel(OneCallPerCell, QAbstractTableModel):
    """The inventory as a table; sorting and filtering happen here, in plain Python lists.

    `set_devices` replaces the rows in place (dataChanged) when the visible devices are the
    same ones in the same order, which is what a periodic refresh gives, so selection and
    scroll position survive; otherwise it resets, and the view re-selects by name.
    """

    def __init__(
        self,
        now: Callable[[], datetime] | None = None,
        warn_before: timedelta = timedelta(days=30),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._now = now or (lambda: datetime.now(UTC))
        self._warn_before = warn_before
        self._all: list[DeviceRecord] = []  # sorted
        self._rows: list[DeviceRecord] = []  # sorted and filtered: what the view shows
        self._haystacks: dict[str, str] = {}
        self._words: list[str] = []
        self._sort_column = Column.NAME
        self._sort_order = Qt.SortOrder.AscendingOrder

    # --- the data -----------------------------------------------------------------------

    def set_devices(self, records: Iterable[DeviceRecord]) -> None:
        records = list(records)
        haystacks = {r.name: self._haystack(r) for r in records}
        new_all = self._sorted(records)
        new_rows = [r for r in new_all if self._matches(haystacks[r.name])]
        if [r.name for r in new_rows] == [r.name for r in self._rows]:
            self._all, self._rows, self._haystacks = new_all, new_rows, haystacks
            if new_rows:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(len(new_rows) - 1, len(Column) - 1)
                )
            return
        self.beginResetModel()
        self._all, self._rows, self._haystacks = new_all, new_rows, haystacks
        self.endResetModel()

    def set_filter(self, text: str) -> None:
        """Show only devices whose name, address, tags or model contain every word typed."""
        words = text.lower().split()
        if words == self._words:
            return
        self.beginResetModel()
        self._words = words
        self._rows = [r for r in self._all if self._matches(self._haystacks[r.name])]
        self.endResetModel()

    def devices(self) -> list[DeviceRecord]:
        """Every device loaded, shown or filtered out."""
        return list(self._all)

    def total_count(self) -> int:
        return len(self._all)

    def record(self, row: int) -> DeviceRecord:
        return self._rows[row]

    def row_of(self, name: str) -> int | None:
        for row, record in enumerate(self._rows):
            if record.name == name:
                return row
        return None

    @staticmethod
    def _haystack(record: DeviceRecord) -> str:
        return " ".join(
            [record.name, address(record), record.model or "", *record.tags]
        ).lower()

    def _matches(self, haystack: str) -> bool:
        return all(word in haystack for word in self._words)

    # --- sorting ------------------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in the model; the view's selection follows its devices to their new rows."""
        if not 0 <= column < len(Column):
            return
        self._sort_column, self._sort_order = Column(column), order
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        kept = [(self._rows[i.row()].name, i.column()) for i in persistent]
        self._all = self._sorted(self._all)
        self._rows = [r for r in self._all if self._matches(self._haystacks[r.name])]
        rows = {r.name: row for row, r in enumerate(self._rows)}
        self.changePersistentIndexList(
            persistent, [self.index(rows[name], column) for name, column in kept]
        )
        self.layoutChanged.emit()

    def _sorted(self, records: Sequence[DeviceRecord]) -> list[DeviceRecord]:
        """Sorted by the chosen column, ties by name; devices without a value go last."""
        key = _SORT_KEYS[self._sort_column]
        by_name = sorted(records, key=lambda r: _natural(r.name))
        present = [r for r in by_name if key(r) is not None]
        missing = [r for r in by_name if key(r) is None]
        descending = self._sort_order == Qt.SortOrder.DescendingOrder
        present.sort(key=key, reverse=descending)  # stable: ties stay in name order
        return present + missing

    # --- Qt's side ----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        if role == Qt.ItemDataRole.ToolTipRole and section == Column.CERTIFICATE:
            days = self._warn_before.days
            return f"Marked when the certificate has expired or expires within {days} days."
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        record = self._rows[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(record, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._details(record)
        if role == RECORD_ROLE:
            return record
        if column == Column.CERTIFICATE and role in (
            Qt.ItemDataRole.DecorationRole,
            Qt.ItemDataRole.ForegroundRole,
            Qt.ItemDataRole.BackgroundRole,
        ):
            return self._certificate_look(record, role)
        return None

    def _text(self, record: DeviceRecord, column: Column) -> str:
        if column == Column.NAME:
            return record.name
        if column == Column.ADDRESS:
            return address(record)
        if column == Column.PROFILE:
            return record.profile
        if column == Column.MODEL:
            return record.model or ""
        if column == Column.FIRMWARE:
            return record.firmware or ""
        if column == Column.LAST_SEEN:
            return local_time(record.last_seen_at, self._now()) if record.last_seen_at \
                else "never"
        if column == Column.CERTIFICATE:
            note = expiry_note(record.cert_expires_at, self._now(), self._warn_before)
            when = local_time(record.cert_expires_at, self._now())
            return f"{when} · {note}" if note else when
        return ", ".join(record.tags)

    def _certificate_look(self, record: DeviceRecord, role: int) -> Any:
        expires = record.cert_expires_at
        if expires is None:
            return None
        left = expires - self._now()
        if left > self._warn_before:
            return None
        expired = left <= timedelta(0)
        if role == Qt.ItemDataRole.DecorationRole:
            return states.icon("Failed") if expired else _warning_icon()
        text, tint = _EXPIRED if expired else _EXPIRING
        return QBrush(QColor(text if role == Qt.ItemDataRole.ForegroundRole else tint))

    def _details(self, record: DeviceRecord) -> str:
        """Everything known about the device, for the tooltip of any of its cells."""
        note = expiry_note(record.cert_expires_at, self._now(), self._warn_before)
        certificate = local_time(record.cert_expires_at) or "unknown"
        if note:
            certificate += f" ({note})"
        lines = [
            f"{record.name}  —  {record.user}@{address(record)}",
            f"Profile: {record.profile}",
            f"Key file: {record.key_path or 'default'}",
            f"Model: {record.model or 'unknown'}   Serial: {record.serial or 'unknown'}",
            f"Firmware: {record.firmware or 'unknown'}",
            f"Last seen: {local_time(record.last_seen_at) or 'never'}",
            f"Info updated: {local_time(record.info_updated_at) or 'never'}",
            f"Certificate expires: {certificate}",
        ]
        if record.cert_fingerprint:
            lines.append(f"Certificate fingerprint: {record.cert_fingerprint}")
        lines.append(f"Tags: {', '.join(record.tags) or 'none'}")
        return "\n".join(lines)
