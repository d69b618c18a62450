"""A rollout's batches at a glance (spec B8): one painted segment per batch.

The detail pane shows where a rollout stands from the view the store keeps with the job
(`rollout["view"]`: batches, current_batch, waiting_for), not from the tasks: the store
already decided which batch is current and whether a person must act, and the window must
not decide it a second time. One widget paints every segment, so a rollout of a thousand
batches of one costs one paint, not a thousand child widgets.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from jobdesk.ui import states

__all__ = ["BatchLook", "RolloutBar", "batch_looks", "batch_text"]


class BatchLook(StrEnum):
    DONE = "done"  # each task finished or failed at least once
    CURRENT = "current"  # its tasks may start, or are running
    HELD = "held"  # the current batch, held until a person continues
    WAITING = "waiting"  # not reached yet (or never, once the job ended)


# The state colours the rest of the window uses, so "done" reads like Succeeded and a batch
# held for a person like Paused; a batch not reached is lighter than any state.
_FILL: dict[BatchLook, QColor] = {
    BatchLook.DONE: states.colour("Succeeded"),
    BatchLook.CURRENT: states.colour("Running"),
    BatchLook.HELD: states.colour("Paused"),
    BatchLook.WAITING: QColor("#d1d5db"),
}
_WORDS = {BatchLook.DONE: "done", BatchLook.CURRENT: "in progress",
          BatchLook.HELD: "waits for a person", BatchLook.WAITING: "not started"}
_GAP = 2.0  # between segments, where each is wide enough to keep one
_MIN_SEGMENT_FOR_GAP = 6.0


def _view(rollout: dict[str, Any] | None) -> dict[str, Any]:
    return (rollout or {}).get("view") or {}


def batch_looks(rollout: dict[str, Any] | None, *, finished: bool) -> list[BatchLook]:
    """How each batch looks, from the stored view.

    The stored `current_batch` is the lowest batch not done, kept at the last batch once all
    are done; so a finished job shows every batch up to it as done (a job cancelled midway
    leaves the later ones "not started"), and a live one shows the current batch as in
    progress, or held when the rollout waits for a person.
    """
    view = _view(rollout)
    count = int(view.get("batches") or 0)
    if count <= 0:
        return []
    current = min(max(int(view.get("current_batch") or 1), 1), count)
    looks: list[BatchLook] = []
    for number in range(1, count + 1):
        if number < current or (finished and number == current):
            looks.append(BatchLook.DONE)
        elif number == current:
            looks.append(BatchLook.HELD if view.get("waiting_for") else BatchLook.CURRENT)
        else:
            looks.append(BatchLook.WAITING)
    return looks


def batch_text(rollout: dict[str, Any] | None, *, finished: bool) -> str:
    """The words beside the bar: which batch, and how the attempts went so far."""
    view = _view(rollout)
    count = int(view.get("batches") or 0)
    if count <= 0:
        return ""
    current = min(max(int(view.get("current_batch") or 1), 1), count)
    if not finished:
        where = f"batch {current} of {count}"
    elif current == count:
        where = f"all {count} batches done" if count > 1 else "batch 1 of 1 done"
    else:
        where = f"ended in batch {current} of {count}"
    attempted, failed = int(view.get("attempted") or 0), int(view.get("failed") or 0)
    return f"{where} · {attempted} attempted, {failed} failed"


class RolloutBar(QWidget):
    """A row of segments, one per batch: done (green), current (blue), held for a person
    (amber), not started (grey). Colour is not the only cue: the text beside the bar says
    which batch is current, and the tooltip names each batch's look."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._looks: list[BatchLook] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(60)

    def set_looks(self, looks: Sequence[BatchLook]) -> None:
        looks = list(looks)
        if looks == self._looks:
            return
        self._looks = looks
        self.setToolTip(self._tooltip())
        self.update()

    def looks(self) -> list[BatchLook]:
        return list(self._looks)

    def sizeHint(self) -> QSize:
        return QSize(240, max(self.fontMetrics().height() - 2, 12))

    def minimumSizeHint(self) -> QSize:
        return QSize(60, 10)

    def segment_rects(self) -> list[QRectF]:
        """Where each batch is painted: equal widths (a batch of one device must stay
        visible beside one of nine hundred), separated by a gap while there is room."""
        count = len(self._looks)
        if count == 0:
            return []
        width, height = float(self.width()), float(self.height())
        gap = _GAP if (width - _GAP * (count - 1)) / count >= _MIN_SEGMENT_FOR_GAP else 0.0
        segment = (width - gap * (count - 1)) / count
        return [QRectF(i * (segment + gap), 0.0, segment, height) for i in range(count)]

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        radius = 2.0
        for rect, look in zip(self.segment_rects(), self._looks, strict=True):
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_FILL[look])
            painter.drawRoundedRect(rect, radius, radius)
            if look is BatchLook.HELD and rect.width() >= _MIN_SEGMENT_FOR_GAP:
                # A held batch also differs in shape: an outline, not only a colour.
                pen = QPen(_FILL[look].darker(140), 1.5)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRoundedRect(rect.adjusted(0.75, 0.75, -0.75, -0.75), radius, radius)
        painter.end()

    def _tooltip(self) -> str:
        if len(self._looks) > 12:
            done = self._looks.count(BatchLook.DONE)
            return f"{len(self._looks)} batches, {done} done"
        return "\n".join(f"Batch {n}: {_WORDS[look]}"
                         for n, look in enumerate(self._looks, start=1))
