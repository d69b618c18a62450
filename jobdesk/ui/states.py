"""How states look: a colour *and* a shape for each, so colour is never the only cue."""

from __future__ import annotations

import math
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

# state -> (colour, shape)
LOOK: dict[str, tuple[str, str]] = {
    "Scheduled": ("#6b7280", "clock"),
    "Running": ("#2563eb", "play"),
    "Paused": ("#d97706", "pause"),
    "Succeeded": ("#16a34a", "check"),
    "Failed": ("#dc2626", "cross"),
    "Partially Succeeded": ("#ea580c", "half"),
    "Cancelled Manually": ("#57534e", "slash"),
    "Cancelled": ("#57534e", "slash"),
    "Replaced": ("#7c3aed", "arrows"),
    "Unknown": ("#9ca3af", "question"),
    "Rescheduled": ("#d97706", "retry"),
    # step statuses
    "Pending": ("#9ca3af", "dot"),
    "Completed": ("#16a34a", "check"),
    "Skipped": ("#0891b2", "skip"),
    "Not run": ("#b8bcc4", "slash"),  # a step of a finished task that never ran
}


def colour(state: str) -> QColor:
    return QColor(LOOK.get(state, LOOK["Unknown"])[0])


@cache
def tint(state: str) -> QColor:
    """A light background for a state's cell."""
    base = colour(state)
    return QColor.fromHsl(base.hslHue(), min(base.hslSaturation(), 160), 238)


HEADER_SIZE = 18  # the state's picture beside a job's state in the detail pane


def prepare_looks() -> None:
    """Draw every state's icon, picture and tint once (they are cached): drawing one
    takes the window's thread ~25 calls into Qt."""
    for state in LOOK:
        icon(state)
        _drawn(state, HEADER_SIZE)
        tint(state)


@cache
def icon(state: str, size: int = 16) -> QIcon:
    return QIcon(_drawn(state, size))


def pixmap(state: str, size: int = 16) -> QPixmap:
    """The state's picture: a copy of the one drawn once (Qt copies it only if the caller
    paints on it), so no caller can change what the others get."""
    return QPixmap(_drawn(state, size))


@cache
def _drawn(state: str, size: int) -> QPixmap:
    colour_name, shape = LOOK.get(state, LOOK["Unknown"])
    image = QPixmap(size, size)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    _draw(painter, shape, QColor(colour_name), QRectF(0, 0, size, size))
    painter.end()
    return image


def _draw(painter: QPainter, shape: str, fill: QColor, box: QRectF) -> None:
    s = box.width()
    inner = box.adjusted(s * 0.06, s * 0.06, -s * 0.06, -s * 0.06)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(fill)
    painter.drawEllipse(inner)
    white = QPen(QColor("white"), max(1.5, s * 0.13))
    white.setCapStyle(Qt.PenCapStyle.RoundCap)
    white.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(white)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    c = inner.center()
    r = inner.width() / 2
    if shape == "check":
        path = QPainterPath(QPointF(c.x() - r * 0.45, c.y()))
        path.lineTo(c.x() - r * 0.1, c.y() + r * 0.35)
        path.lineTo(c.x() + r * 0.5, c.y() - r * 0.35)
        painter.drawPath(path)
    elif shape == "cross":
        d = r * 0.4
        painter.drawLine(QPointF(c.x() - d, c.y() - d), QPointF(c.x() + d, c.y() + d))
        painter.drawLine(QPointF(c.x() - d, c.y() + d), QPointF(c.x() + d, c.y() - d))
    elif shape == "play":
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("white"))
        path = QPainterPath(QPointF(c.x() - r * 0.3, c.y() - r * 0.45))
        path.lineTo(c.x() + r * 0.5, c.y())
        path.lineTo(c.x() - r * 0.3, c.y() + r * 0.45)
        path.closeSubpath()
        painter.drawPath(path)
    elif shape == "pause":
        d = r * 0.22
        painter.drawLine(QPointF(c.x() - d, c.y() - r * 0.4), QPointF(c.x() - d, c.y() + r * 0.4))
        painter.drawLine(QPointF(c.x() + d, c.y() - r * 0.4), QPointF(c.x() + d, c.y() + r * 0.4))
    elif shape == "clock":
        painter.drawLine(c, QPointF(c.x(), c.y() - r * 0.55))
        painter.drawLine(c, QPointF(c.x() + r * 0.4, c.y()))
    elif shape == "half":
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("white"))
        painter.drawPie(inner.adjusted(r * 0.3, r * 0.3, -r * 0.3, -r * 0.3), 90 * 16, 180 * 16)
    elif shape == "slash":
        d = r * 0.45
        painter.drawLine(QPointF(c.x() - d, c.y() + d), QPointF(c.x() + d, c.y() - d))
    elif shape == "arrows":
        d = r * 0.45
        painter.drawLine(QPointF(c.x() - d, c.y() - d * 0.4), QPointF(c.x() + d, c.y() - d * 0.4))
        painter.drawLine(QPointF(c.x() + d, c.y() + d * 0.4), QPointF(c.x() - d, c.y() + d * 0.4))
    elif shape == "retry":
        rect = QRectF(c.x() - r * 0.45, c.y() - r * 0.45, r * 0.9, r * 0.9)
        painter.drawArc(rect, 30 * 16, 280 * 16)
        tip = QPointF(c.x() + r * 0.45 * math.cos(math.radians(30)),
                      c.y() - r * 0.45 * math.sin(math.radians(30)))
        painter.drawLine(tip, QPointF(tip.x(), tip.y() - r * 0.3))
    elif shape == "skip":
        painter.drawLine(QPointF(c.x() - r * 0.4, c.y()), QPointF(c.x() + r * 0.4, c.y()))
        painter.drawLine(QPointF(c.x() + r * 0.1, c.y() - r * 0.3),
                         QPointF(c.x() + r * 0.4, c.y()))
        painter.drawLine(QPointF(c.x() + r * 0.1, c.y() + r * 0.3),
                         QPointF(c.x() + r * 0.4, c.y()))
    elif shape == "dot":
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("white"))
        painter.drawEllipse(c, r * 0.25, r * 0.25)
    else:  # question
        font = painter.font()
        font.setBold(True)
        font.setPixelSize(int(s * 0.7))
        painter.setFont(font)
        painter.drawText(inner, Qt.AlignmentFlag.AlignCenter, "?")
