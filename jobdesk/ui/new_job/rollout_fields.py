"""How a new job's devices are split into batches (spec B8), with approval and limits.

Two lines by default: the batches and what they mean for the devices chosen now;
approval, the failure threshold and the limits fold away behind a button.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from jobdesk.domain.rollout import (
    AbortAction,
    BatchSize,
    RolloutPolicy,
    batch_sizes,
    parse_batches,
)
from jobdesk.domain.rules import ActionRefused
from jobdesk.ui.new_job.words import sentence

# Rollout presets (B8): what the combo says, and the batches as `--batches` writes them
# (None: no batches, every task may start at once; "": the person types the sizes).
ROLLOUT_PRESETS: tuple[tuple[str, str | None], ...] = (
    ("All at once", None),
    ("One device first, then the rest", "1,100%"),
    ("1, then 10 %, then the rest", "1,10%,100%"),
    ("Custom…", ""),
)
_CUSTOM = len(ROLLOUT_PRESETS) - 1
_PREVIEW_BATCHES_MAX = 8


def batches_preview(batches: Sequence[BatchSize] | None, devices: int) -> str:
    """The line under the rollout's batches: how the devices chosen now would be split
    ("12 devices in 3 batches: 1 · 2 · 9"), so a percentage is seen as a device count."""
    if devices == 0:
        return "Choose devices to see the batches"
    noun = "device" if devices == 1 else "devices"
    if not batches:
        return f"{devices} {noun}, all at once"
    sizes = batch_sizes(batches, devices)
    shown = [str(size) for size in sizes]
    if len(shown) > _PREVIEW_BATCHES_MAX:
        shown = [*shown[:_PREVIEW_BATCHES_MAX - 2], "…", shown[-1]]
    count = len(sizes)
    return f"{devices} {noun} in {count} batch{'es' if count != 1 else ''}: " + " · ".join(shown)


def _row(*parts: QWidget | str | int) -> QHBoxLayout:
    """One line of the rollout's options: widgets, words between them, spacing (an int)."""
    row = QHBoxLayout()
    row.setSpacing(6)
    for part in parts:
        if isinstance(part, int):
            row.addSpacing(part)
        else:
            row.addWidget(QLabel(part) if isinstance(part, str) else part)
    row.addStretch(1)
    return row


class RolloutFields(QWidget):
    """B8 in two lines. No group box (its title and frame cost 35 pixels): with the options
    open the dialog still fits a 768-pixel-high screen under a title bar and a panel."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rolloutBox")
        self._build()
        self._wire()

    def _build(self) -> None:
        box = self
        layout = QVBoxLayout(box)
        margin = self.style().pixelMetric(self.style().PixelMetric.PM_LayoutLeftMargin)
        layout.setContentsMargins(margin, 0, margin, 0)
        layout.setSpacing(4)

        top = QHBoxLayout()
        self._preset = QComboBox(box)
        self._preset.setObjectName("rolloutPreset")
        for text, sizes in ROLLOUT_PRESETS:
            self._preset.addItem(text, sizes)
        self._preset.setToolTip("Batches start one after the other, in device-name order; "
                                "the next starts when each task of the current one has "
                                "finished or failed once")
        preset_label = QLabel("&Rollout:", box)
        preset_label.setBuddy(self._preset)
        self._sizes = QLineEdit(box)
        self._sizes.setObjectName("rolloutSizes")
        self._sizes.setPlaceholderText("e.g. 1,5,25%")
        self._sizes.setToolTip("Tasks per batch, counts or percentages of the devices, the "
                               "last one repeating: 1,10%,25%")
        self._sizes.setMinimumWidth(120)
        self._sizes.setMaximumWidth(180)
        self._batch_preview = QLabel(box)
        self._batch_preview.setObjectName("rolloutPreview")
        self._batch_preview.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        # Never wider than the dialog already is: a long custom rollout must not widen it.
        self._batch_preview.setSizePolicy(QSizePolicy.Policy.Ignored,
                                          QSizePolicy.Policy.Preferred)
        self._more = QToolButton(box)
        self._more.setObjectName("rolloutMore")
        self._more.setCheckable(True)
        self._more.setAutoRaise(True)
        self._more.setArrowType(Qt.ArrowType.RightArrow)
        self._more.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._more.setToolTip("Approval after each batch, a stop on failures, and limits")
        top.addWidget(preset_label)
        top.addWidget(self._preset)
        top.addWidget(self._sizes)
        top.addStretch(1)
        top.addWidget(self._more)
        layout.addLayout(top)
        layout.addWidget(self._batch_preview)

        self._sizes_error = QLabel(box)
        self._sizes_error.setObjectName("rolloutError")
        self._sizes_error.setWordWrap(True)
        self._sizes_error.setTextFormat(Qt.TextFormat.PlainText)
        self._sizes_error.setStyleSheet("color: #b91c1c;")  # readable on light and dark
        layout.addWidget(self._sizes_error)

        self._rollout_options = QWidget(box)
        self._rollout_options.setObjectName("rolloutOptions")
        options = QVBoxLayout(self._rollout_options)
        options.setContentsMargins(0, 0, 0, 0)
        options.setSpacing(2)
        self._approve = QCheckBox("Wait for my a&pproval after each batch", box)
        self._approve.setObjectName("rolloutApprove")
        options.addLayout(_row(self._approve))

        self._abort = QCheckBox("Stop wh&en more than", box)
        self._abort.setObjectName("rolloutAbort")
        self._abort_above = self._spin("rolloutAbortAbove", 0, 99, 20, " %")
        self._abort_min = self._spin("rolloutAbortMin", 1, 100_000, 1)
        self._abort_action = QComboBox(box)
        self._abort_action.setObjectName("rolloutAbortAction")
        self._abort_action.addItem("Pause", AbortAction.PAUSE.value)
        self._abort_action.addItem("Cancel the rest", AbortAction.CANCEL.value)
        self._abort_action.setToolTip("Pause: nothing new starts until you continue. Cancel "
                                      "the rest: tasks not started yet are cancelled")
        options.addLayout(_row(
            self._abort, self._abort_above, "of attempted devices fail, after at least",
            self._abort_min, "attempted, then", self._abort_action))

        self._rate = QCheckBox("At most", box)
        self._rate.setObjectName("rolloutRate")
        self._rate_value = self._spin("rolloutRateValue", 1, 100_000, 10)
        self._concurrent = QCheckBox("At most", box)
        self._concurrent.setObjectName("rolloutConcurrent")
        self._concurrent_value = self._spin("rolloutConcurrentValue", 1, 100_000, 5)
        self._attempts = QCheckBox("Give &up after", box)
        self._attempts.setObjectName("rolloutAttempts")
        self._attempts_value = self._spin("rolloutAttemptsValue", 1, 1000, 3)
        self._attempts.setToolTip("Without it, a failed task is retried until the job expires")
        options.addLayout(_row(
            self._rate, self._rate_value, "starts per minute", 16,
            self._concurrent, self._concurrent_value, "at once", 16,
            self._attempts, self._attempts_value, "failed attempts"))
        layout.addWidget(self._rollout_options)
        self._rollout_options.setVisible(False)
        self._rollout_switches = (self._abort, self._rate, self._concurrent, self._attempts)

    def _spin(self, name: str, low: int, high: int, value: int, suffix: str = "") -> QSpinBox:
        spin = QSpinBox(self)
        spin.setObjectName(name)
        spin.setRange(low, high)
        spin.setValue(value)
        spin.setSuffix(suffix)
        return spin

    def _wire(self) -> None:
        self._preset.currentIndexChanged.connect(self.changed)
        self._sizes.textChanged.connect(self.changed)
        self._more.toggled.connect(self._on_more_toggled)
        for switch in (self._approve, *self._rollout_switches):
            switch.toggled.connect(self.changed)
        for spin in (self._abort_above, self._abort_min, self._rate_value,
                     self._concurrent_value, self._attempts_value):
            spin.valueChanged.connect(self.changed)
        self._abort_action.currentIndexChanged.connect(self.changed)

    def _on_more_toggled(self, shown: bool) -> None:
        self._more.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self._rollout_options.setVisible(shown)
        self.changed.emit()

    # ---- reading --------------------------------------------------------------------------

    def _batches_text(self) -> str | None:
        """The batches as `--batches` writes them; None for "All at once"."""
        if self._preset.currentIndex() == _CUSTOM:
            return self._sizes.text()
        data = self._preset.currentData()
        return str(data) if data else None

    def _read_batches(self) -> tuple[tuple[BatchSize, ...], str | None]:
        text = self._batches_text()
        if text is None:
            return (), None
        if not text.strip():
            return (), "Give the rollout's batch sizes, e.g. 1,10%,100%"
        try:
            return parse_batches(text), None
        except ActionRefused as error:
            return (), sentence(str(error))

    def read(self) -> tuple[RolloutPolicy | None, str | None]:
        """The rollout from the fields, or why (in words) there is none. A form left at
        "All at once" with nothing ticked gives None: the job runs as before (B1–B7)."""
        batches, problem = self._read_batches()
        if problem is not None:
            return None, problem
        abort = self._abort.isChecked()
        try:
            policy = RolloutPolicy(
                batches=batches,
                approve=bool(batches) and self._approve.isChecked(),
                abort_above=float(self._abort_above.value()) if abort else None,
                abort_min=self._abort_min.value() if abort else 1,
                abort_action=AbortAction(self._abort_action.currentData()) if abort
                else AbortAction.PAUSE,
                max_per_minute=self._rate_value.value() if self._rate.isChecked() else None,
                max_concurrent=(self._concurrent_value.value()
                                if self._concurrent.isChecked() else None),
                max_attempts=(self._attempts_value.value()
                              if self._attempts.isChecked() else None),
            )
        except ActionRefused as error:
            return None, sentence(str(error))
        return (None if policy.is_default else policy), None

    def update_view(self, devices: int) -> None:
        """Redraw the preview and the options' enabled state for `devices` chosen devices."""
        custom = self._preset.currentIndex() == _CUSTOM
        self._sizes.setVisible(custom)
        batches, problem = self._read_batches()
        self._sizes_error.setText(problem if custom and problem else "")
        self._sizes_error.setVisible(custom and problem is not None)
        preview = "" if problem else batches_preview(batches, devices)
        self._batch_preview.setText(preview)
        self._batch_preview.setToolTip(preview)
        self._batch_preview.setVisible(problem is None)
        has_batches = self._batches_text() is not None
        self._approve.setEnabled(has_batches)
        self._approve.setToolTip("" if has_batches else
                                 "Approval is given per batch: choose batches first")
        for switch, values in ((self._abort, (self._abort_above, self._abort_min,
                                              self._abort_action)),
                               (self._rate, (self._rate_value,)),
                               (self._concurrent, (self._concurrent_value,)),
                               (self._attempts, (self._attempts_value,))):
            for widget in values:
                widget.setEnabled(switch.isChecked())
        on = sum(switch.isChecked() for switch in self._rollout_switches) + int(
            has_batches and self._approve.isChecked())
        # Folded away, the options still say whether any is on: none is forgotten.
        self._more.setText("Approval and limits" + (f" ({on} on)" if on else ""))

    def set_policy(self, policy: RolloutPolicy) -> None:
        """A duplicated job keeps its rollout: preset (or the sizes), options, limits."""
        text = ",".join(str(size) for size in policy.batches) or None
        index = next((i for i, (_, sizes) in enumerate(ROLLOUT_PRESETS) if sizes == text),
                     _CUSTOM)
        self._preset.setCurrentIndex(index)
        if index == _CUSTOM:
            self._sizes.setText(text or "")
        self._approve.setChecked(policy.approve)
        self._abort.setChecked(policy.abort_above is not None)
        if policy.abort_above is not None:
            self._abort_above.setValue(round(policy.abort_above))
            self._abort_min.setValue(policy.abort_min)
            self._abort_action.setCurrentIndex(
                self._abort_action.findData(policy.abort_action.value))
        for switch, spin, value in ((self._rate, self._rate_value, policy.max_per_minute),
                                    (self._concurrent, self._concurrent_value,
                                     policy.max_concurrent),
                                    (self._attempts, self._attempts_value,
                                     policy.max_attempts)):
            switch.setChecked(value is not None)
            if value is not None:
                spin.setValue(value)
