"""Column widths from the font, so no default header is clipped ("Last triggere").

Fixed pixel widths were chosen on one screen with one font; on another they cut headers
and times. A column is as wide as its header (with room for the sort arrow) or a typical
value, whichever is wider; a state column also holds its icon.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView

HORIZONTAL = Qt.Orientation.Horizontal

SAMPLE_TIME = "28 Nov 06:10 CEST"
"""A time as the tables show it, at its widest (this year's, a four-letter zone)."""

HEADER_PADDING = 30  # the sort indicator and the section's margins
CELL_PADDING = 14
ICON_ROOM = 24
ICON_COLUMNS = frozenset({"State", "Status"})


def header_width(view: QTableView, title: str) -> int:
    """The width at which a column's header text is shown whole."""
    return view.horizontalHeader().fontMetrics().horizontalAdvance(title) + HEADER_PADDING


def fit_columns(view: QTableView, samples: Mapping[str, str]) -> None:
    """Size every column by its header and its sample value (columns without a sample
    by their header); the last column stretches as the view set it to."""
    model = view.model()
    cells = view.fontMetrics()
    for column in range(model.columnCount()):
        title = str(model.headerData(column, HORIZONTAL) or "")
        sample = samples.get(title, "")
        width = max(header_width(view, title), cells.horizontalAdvance(sample) + CELL_PADDING
                    + (ICON_ROOM if title in ICON_COLUMNS else 0))
        view.setColumnWidth(column, width)


def clipped_headers(view: QTableView) -> list[str]:
    """The visible columns whose header text does not fit their width (for tests and for
    a person wondering why a title is cut)."""
    model = view.model()
    return [
        str(model.headerData(column, HORIZONTAL))
        for column in range(model.columnCount())
        if not view.isColumnHidden(column)
        and view.columnWidth(column) < header_width(view, str(model.headerData(
            column, HORIZONTAL))) - HEADER_PADDING + 12
    ]

